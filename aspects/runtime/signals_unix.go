//go:build unix

package otelrt

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// A program that handles SIGINT or SIGTERM itself keeps doing so; one that
// does not is stopped by them. Either way the spans are flushed first. Which
// signals are the program's, os/signal says when the exit integration
// rewrote it (SetSignalCheck: every caller of signal.Notify counts, and
// signal.Stop undoes it); otherwise the program's own signal.Notify calls
// reach Notify (overlay-gen rewrites them) and are recorded.
var (
	signalsMu      sync.Mutex
	programSignals = map[os.Signal]bool{}
	programAll     bool
)

var watched = []os.Signal{syscall.SIGINT, syscall.SIGTERM}

// handled reports whether a channel other than the runtime's own is
// notified of sig.
var handled = func(sig os.Signal, own chan<- os.Signal) bool { return handledByProgram(sig) }

// SetSignalCheck replaces the record of rewritten signal.Notify calls with
// check, which asks os/signal itself; it is called before main runs.
func SetSignalCheck(check func(sig os.Signal, own chan<- os.Signal) bool) { handled = check }

func watchSignals() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, watched...)
	go func() {
		for sig := range ch {
			if handled(sig, ch) {
				flush()
				continue
			}
			Shutdown()
			signal.Stop(ch) // the default action again, unless the program registered since
			_ = syscall.Kill(syscall.Getpid(), sig.(syscall.Signal))
			return
		}
	}()
}

func handledByProgram(sig os.Signal) bool {
	signalsMu.Lock()
	defer signalsMu.Unlock()
	return programAll || programSignals[sig]
}

func record(sigs []os.Signal) {
	signalsMu.Lock()
	defer signalsMu.Unlock()
	if len(sigs) == 0 {
		programAll = true
	}
	for _, s := range sigs {
		programSignals[s] = true
	}
}

// Notify stands in for signal.Notify in instrumented code.
func Notify(c chan<- os.Signal, sig ...os.Signal) {
	record(sig)
	signal.Notify(c, sig...)
}

// NotifyContext stands in for signal.NotifyContext in instrumented code.
func NotifyContext(parent context.Context, sig ...os.Signal) (context.Context, context.CancelFunc) {
	record(sig)
	return signal.NotifyContext(parent, sig...)
}
