//go:build !unix

package otelrt

import (
	"context"
	"os"
	"os/signal"
)

// Without Unix signals, spans are flushed when main returns and on Exit only.
func watchSignals() {}

// SetSignalCheck does nothing without Unix signals.
func SetSignalCheck(check func(sig os.Signal, own chan<- os.Signal) bool) {}

// Notify stands in for signal.Notify in instrumented code.
func Notify(c chan<- os.Signal, sig ...os.Signal) { signal.Notify(c, sig...) }

// NotifyContext stands in for signal.NotifyContext in instrumented code.
func NotifyContext(parent context.Context, sig ...os.Signal) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, sig...)
}
