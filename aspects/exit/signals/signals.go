// Package signals lets overlay-gen's runtime ask os/signal whether the
// program itself is notified of SIGINT or SIGTERM, wherever it called
// signal.Notify: the runtime flushes spans on those signals, then leaves them
// to the program, or stops it as the signal would have. The exit integration
// adds OverlayGenHandled to os/signal; this package, linked into programs
// that use os/signal, hands it to the runtime. It only exists under
// overlay-gen's overlay.
package signals

import (
	"os/signal"

	"overlay-gen.invalid/otelrt"
)

func init() {
	otelrt.SetSignalCheck(signal.OverlayGenHandled)
}
