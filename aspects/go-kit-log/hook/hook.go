// Package hook connects go-kit/log, as overlay-gen rewrites it, to gokitlog:
// the Log methods of the loggers log.NewLogfmtLogger and log.NewJSONLogger
// return call log.OverlayGenKeyvals, which this package sets.
//
// overlay-gen links it into programs and test binaries that use go-kit/log;
// it only exists under overlay-gen's overlay (log.OverlayGenKeyvals is one of
// the declarations the go-kit-log integration injects).
package hook

import (
	"github.com/go-kit/log"

	"overlay-gen.invalid/gokitlog"
)

func init() {
	log.OverlayGenKeyvals = gokitlog.Keyvals
}
