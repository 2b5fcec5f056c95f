// Package panics records a panic that kills the program on the panicking
// goroutine's active span, ends that span and flushes every span, before the
// runtime prints the panic and exits with status 2. The exit integration
// makes the runtime call OverlayGenPanic there, from any goroutine; this
// package sets it. It only exists under overlay-gen's overlay.
//
// A //dd:span function's span has recorded the panic already as it unwound
// (package spans); the active span is then the one the function ran in, or
// the one its goroutine inherited from the goroutine that started it.
package panics

import (
	"fmt"
	"runtime"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

func init() {
	runtime.OverlayGenPanic = fatal
}

// fatal is called with the value of a panic no deferred call recovered. It
// must not panic itself: whatever fails, the runtime goes on to print the
// original panic.
func fatal(v any) {
	defer func() { _ = recover() }()
	if ctx := otelrt.GoroutineContext(); ctx != nil {
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			err := fmt.Errorf("panic: %v", v)
			span.RecordError(err, trace.WithStackTrace(true))
			span.SetStatus(codes.Error, err.Error())
			span.End()
		}
	}
	otelrt.Shutdown()
}
