// Package hook connects zap, as overlay-gen rewrites it, to zaptrace:
// zapcore.OverlayGenFields, called by every CheckedEntry.Write, is a
// declaration the zap integration injects; this package sets it. (zap.New
// calls zaptrace.Core itself: zaptrace imports zapcore, not zap, so zap can
// import it, and a Logger built before any init function has run is teed too.)
//
// overlay-gen links it into programs and test binaries that use zap; it only
// exists under overlay-gen's overlay.
package hook

import (
	"go.uber.org/zap/zapcore"

	"overlay-gen.invalid/zaptrace"
)

func init() {
	zapcore.OverlayGenFields = zaptrace.Fields
}
