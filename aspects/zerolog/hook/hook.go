// Package hook connects zerolog, as overlay-gen rewrites it, to
// zerologtrace: zerolog's (*Event).msg calls zerolog.OverlayGenEvent, which
// this package sets.
//
// overlay-gen links it into programs that use zerolog; it only exists under
// overlay-gen's overlay (zerolog.OverlayGenEvent is one of the declarations
// the zerolog integration injects).
package hook

import (
	"github.com/rs/zerolog"

	"overlay-gen.invalid/zerologtrace"
)

func init() {
	zerolog.OverlayGenEvent = zerologtrace.Event
}
