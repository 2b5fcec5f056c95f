// Command pgo is built with profile-guided optimization: go build's default
// -pgo=auto uses default.pgo beside the main package, which the tests write
// by running the plain build with PGO_PROFILE=default.pgo.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"example.com/pgo/work"
)

func main() {
	if path := os.Getenv("PGO_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			panic(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			panic(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	fmt.Println("sum:", work.Sum(300_000_000))
}
