// Package hook sets the hook variable the log integration injects into
// package log to logtrace.Record. overlay-gen links it into every program
// and test binary that uses package log; it only builds under overlay-gen's
// overlay, where package log has the variable.
package hook

import (
	"log"

	"overlay-gen.invalid/logtrace"
)

func init() {
	log.OverlayGenRecord = logtrace.Record
}
