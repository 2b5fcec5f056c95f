// Package otelrt is the OpenTelemetry runtime that overlay-gen links into
// every instrumented program; the other integrations' Go code builds on it.
// Injected code calls it; nothing else should.
//
// Init, called first thing in main, builds the TracerProvider from the
// standard OTEL_* environment variables (and the MeterProvider and
// LoggerProvider: metrics.go, logs.go): the exporter (OTEL_TRACES_EXPORTER,
// OTEL_EXPORTER_OTLP_*) through the contrib autoexport package, the
// propagators (OTEL_PROPAGATORS) through autoprop, the sampler
// (OTEL_TRACES_SAMPLER) through the SDK, and the resource (OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES) on top of a default service name: the program's
// binary name. OTEL_SDK_DISABLED=true leaves OpenTelemetry's no-op provider
// in place. Spans are flushed when main returns (the function Init returns),
// on Exit (which stands in for os.Exit) and on SIGINT or SIGTERM.
//
// The provider it installs records one CLIENT span per logical call: one
// started inside another is not recorded (nesting.go).
//
// It also keeps the goroutine's active span (Activate, Parent), which the
// goroutines integration stores in runtime.g: code that passes no context
// still nests under the span its goroutine is in.
package otelrt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/contrib/propagators/autoprop"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

const shutdownTimeout = 5 * time.Second

var (
	initOnce     sync.Once
	shutdownOnce sync.Once
	provider     *sdktrace.TracerProvider
)

// Init installs the TracerProvider (once) and returns the function that
// flushes and stops it, for main to defer.
func Init() func() {
	initOnce.Do(install)
	return Shutdown
}

func install() {
	if disabled, _ := parseBool(os.Getenv("OTEL_SDK_DISABLED")); disabled {
		return
	}
	ctx := context.Background()
	exporter, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		warn("tracing is off: %v", err)
		return
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", serviceName())),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // last: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		warn("resource: %v", err) // res still holds what could be detected
	}
	options := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if !autoexport.IsNoneSpanExporter(exporter) {
		options = append(options, sdktrace.WithBatcher(exporter))
	}
	installLogs(ctx, res)
	if meters := installMetrics(ctx, res); meters != nil {
		options = append(options, sdktrace.WithSpanProcessor(newSpanMetrics(meters)),
			sdktrace.WithSampler(recordingAll{samplerFromEnv()}))
	}
	provider = sdktrace.NewTracerProvider(options...)
	otel.SetTracerProvider(layered{flushing: provider})
	otel.SetTextMapPropagator(autoprop.NewTextMapPropagator())
	watchSignals()
}

// A signal's provider, flushed and stopped at exit: spans first, then the
// metrics (the last spans are measured as they end), then the logs.
type signalProvider struct {
	signal   string
	provider interface {
		ForceFlush(context.Context) error
		Shutdown(context.Context) error
	}
}

// installed are the providers Init installed, in the order they are flushed.
func installed() []signalProvider {
	var out []signalProvider
	if provider != nil {
		out = append(out, signalProvider{"spans", provider})
	}
	if meterProvider != nil {
		out = append(out, signalProvider{"metrics", meterProvider})
	}
	if loggerProvider != nil {
		out = append(out, signalProvider{"logs", loggerProvider})
	}
	return out
}

// Shutdown flushes the spans, metrics and logs that are still buffered and
// stops the providers. Only the first call does anything.
func Shutdown() {
	shutdownOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		for _, p := range installed() {
			if err := p.provider.Shutdown(ctx); err != nil {
				warn("flushing %s: %v", p.signal, err)
			}
		}
	})
}

// flush exports what is buffered without stopping the providers.
func flush() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, p := range installed() {
		if err := p.provider.ForceFlush(ctx); err != nil {
			warn("flushing %s: %v", p.signal, err)
		}
	}
}

// Exit stands in for os.Exit in instrumented code: spans are flushed first.
func Exit(code int) {
	Shutdown()
	os.Exit(code)
}

func serviceName() string {
	name := filepath.Base(os.Args[0])
	return strings.TrimSuffix(name, filepath.Ext(name))
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func warn(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "overlay-gen: "+format+"\n", args...)
}

// --- the goroutine's active span ---------------------------------------------

// The goroutine-local context: set by overlay-gen.invalid/otelrt/goroutine,
// which reaches a field overlay-gen adds to runtime.g. Without it (the
// integration switched off) there is none.
var (
	goroutineContext    = func() context.Context { return nil }
	setGoroutineContext = func(context.Context) {}
)

// SetGoroutineStore installs the goroutine-local context's accessors.
func SetGoroutineStore(load func() context.Context, store func(context.Context)) {
	goroutineContext, setGoroutineContext = load, store
}

// GoroutineContext is the context of the current goroutine's active span, or nil.
func GoroutineContext() context.Context { return goroutineContext() }

// Activate makes ctx the goroutine's active span context and returns the
// function that puts the previous one back. A span that starts without
// handing its context to the code it runs (a server's handler, an annotated
// function) activates it, and restores the previous one when it ends.
func Activate(ctx context.Context) (restore func()) {
	previous := goroutineContext()
	setGoroutineContext(ctx)
	return func() { setGoroutineContext(previous) }
}

// Parent is ctx when it holds a span, else ctx with the goroutine's active
// span, if there is one: code that passes no context still nests.
func Parent(ctx context.Context) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	if trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	if active := goroutineContext(); active != nil {
		if span := trace.SpanFromContext(active); span.SpanContext().IsValid() {
			return trace.ContextWithSpan(ctx, span)
		}
	}
	return ctx
}
