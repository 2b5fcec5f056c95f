// Package hook connects logrus, as overlay-gen rewrites it, to logrustrace:
// Entry.log calls logrus.OverlayGenFields and Entry.write
// logrus.OverlayGenExport, which this package sets.
//
// overlay-gen links it into programs that use logrus; it only exists under
// overlay-gen's overlay (both variables are declarations the logrus
// integration injects).
package hook

import (
	"github.com/sirupsen/logrus"

	"overlay-gen.invalid/logrustrace"
)

func init() {
	logrus.OverlayGenFields = logrustrace.Fields
	logrus.OverlayGenExport = logrustrace.Export
}
