// Command app is a workspace module: it imports example.com/greeting, which
// the module proxy serves too, but the build links the workspace's copy.
package main

import (
	"fmt"

	"example.com/greeting"
)

func main() {
	fmt.Println(greeting.Hello("workspace"))
}
