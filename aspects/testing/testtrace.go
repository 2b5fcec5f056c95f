// Package testtrace traces test binaries: the testing integration adds hooks
// to package testing, and this package, which every instrumented _test.go
// file imports, sets them. The tracer starts with the test binary; every test
// and subtest is a span named after it, active in its goroutine and carried
// by t.Context(); the exit integration flushes the spans when the binary
// exits. It only exists under overlay-gen's overlay.
package testtrace

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// ScopeName is the instrumentation scope of the tests' spans.
const ScopeName = "overlay-gen/testing"

var tracer = otel.Tracer(ScopeName)

func init() {
	testing.OverlayGenMain = func() { otelrt.Init() } // the exit hook flushes
	testing.OverlayGenTest = start
}

// start begins the span of the test called name (TestFoo, TestFoo/case):
// a child of parent's span (the parent test's), else of the goroutine's
// active span, else a root.
func start(ctx, parent context.Context, name string) (context.Context, func(failed, skipped bool)) {
	if ctx == nil {
		ctx = context.Background()
	}
	from := ctx
	if parent != nil {
		if span := trace.SpanFromContext(parent); span.SpanContext().IsValid() {
			from = trace.ContextWithSpan(ctx, span)
		}
	}
	ctx, span := tracer.Start(otelrt.Parent(from), name, trace.WithAttributes(attribute.String("test.case.name", name)))
	restore := otelrt.Activate(ctx)
	return ctx, func(failed, skipped bool) {
		defer restore()
		switch {
		case failed:
			span.SetAttributes(attribute.String("test.case.result.status", "fail"))
			span.SetStatus(codes.Error, "test failed")
		case skipped: // the conventions' result status is pass or fail
		default:
			span.SetAttributes(attribute.String("test.case.result.status", "pass"))
		}
		span.End()
	}
}
