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
// does not is stopped by them. Either way the spans are flushed first. The
// program's own signal.Notify calls reach Notify (overlay-gen rewrites them),
// so the runtime knows which signals are the program's.
var (
	signalsMu      sync.Mutex
	programSignals = map[os.Signal]bool{}
	programAll     bool
)

var watched = []os.Signal{syscall.SIGINT, syscall.SIGTERM}

func watchSignals() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, watched...)
	go func() {
		for sig := range ch {
			if handledByProgram(sig) {
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
