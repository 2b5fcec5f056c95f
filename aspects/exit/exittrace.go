// Package exittrace flushes overlay-gen's spans when the program exits
// through os.Exit, wherever it is called: the program, a dependency or the
// standard library (log.Fatal, a flag error, a test binary's end). It
// registers otelrt.Shutdown with the runtime's exit hooks, through a function
// the exit integration adds to package os. It only exists under overlay-gen's
// overlay.
package exittrace

import (
	"os"

	"overlay-gen.invalid/otelrt"
)

func init() {
	os.OverlayGenAtExit(flush)
}

// flush runs inside os.Exit; a panic there would make the runtime throw, so
// none leaves it.
func flush() {
	defer func() { _ = recover() }()
	otelrt.Shutdown()
}
