// Command app is an example under a _-prefixed directory: only a pattern
// that names it (./_examples/app) reaches it.
package main

import (
	"fmt"

	"example.com/underscore"
)

func main() {
	fmt.Println(underscore.Greeting())
}
