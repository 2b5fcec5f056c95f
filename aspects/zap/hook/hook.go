// Package hook connects zap, as overlay-gen rewrites it, to zaptrace:
// zapcore.OverlayGenFields (called by every CheckedEntry.Write) and
// zap.OverlayGenCore (called by zap.New) are declarations the zap
// integration injects; this package sets them.
//
// overlay-gen links it into programs and test binaries that use zap; it only
// exists under overlay-gen's overlay.
package hook

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"overlay-gen.invalid/zaptrace"
)

func init() {
	zapcore.OverlayGenFields = zaptrace.Fields
	zap.OverlayGenCore = zaptrace.Core
}
