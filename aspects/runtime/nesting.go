package otelrt

// One logical call, one CLIENT span. Libraries are layered: gorm runs its
// queries through database/sql, which may run them through pgx; the
// Elasticsearch and AWS clients send HTTP requests; each layer's
// instrumentation would start a CLIENT span of its own, and one operation
// would look like two or three. The outermost layer knows the most (the
// table gorm queried, the index Elasticsearch searched), so its span is the
// one recorded: a CLIENT span started while the context's active span is a
// CLIENT span that was started through this provider is not recorded. Its
// context is the outer span's, so what the inner layer propagates (an HTTP
// request's traceparent) names the span that was recorded.
//
// This is the OpenTelemetry Java agent's "span-kind" suppression, applied to
// every tracer of the program, the program's own included: a CLIENT span a
// program starts by hand around a library call is that call's span.
//
// A PRODUCER span is an outer layer too: a message sent over HTTP (SQS's
// SendMessage through the AWS SDK) is one send, whose HTTP request is how it
// travels, not a second operation. A PRODUCER span is always recorded.

import (
	"context"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// flushing is what the SDK's provider offers beyond trace.TracerProvider
// that instrumentation packages look for (fasthttp's flushes on exit).
type flushing interface {
	trace.TracerProvider
	ForceFlush(context.Context) error
}

// layered is the TracerProvider the runtime installs: the SDK's, with nested
// CLIENT spans suppressed.
type layered struct{ flushing }

func (p layered) Tracer(name string, options ...trace.TracerOption) trace.Tracer {
	return layeredTracer{inner: p.flushing.Tracer(name, options...)}
}

type layeredTracer struct {
	embedded.Tracer
	inner trace.Tracer
}

// clientKey holds, in the context a recording CLIENT or PRODUCER span
// started with, that span.
type clientKey struct{}

func (t layeredTracer) Start(ctx context.Context, name string, options ...trace.SpanStartOption) (context.Context, trace.Span) {
	config := trace.NewSpanStartConfig(options...)
	kind := config.SpanKind()
	if kind != trace.SpanKindClient && kind != trace.SpanKindProducer {
		return t.inner.Start(ctx, name, options...)
	}
	if kind == trace.SpanKindClient && InClientSpan(ctx) {
		outer := trace.SpanFromContext(ctx)
		return ctx, trace.SpanFromContext(trace.ContextWithSpanContext(context.Background(), outer.SpanContext()))
	}
	ctx, span := t.inner.Start(ctx, name, options...)
	if !span.IsRecording() {
		return ctx, span // sampled out: nothing to suppress under it
	}
	return context.WithValue(ctx, clientKey{}, span), span
}

// InClientSpan reports whether ctx's active span is a CLIENT (or PRODUCER)
// span that is still recording: a CLIENT span started in ctx would be
// suppressed.
// Instrumentation that would do work for its span only (parse a statement,
// read a connection's address) can ask first.
func InClientSpan(ctx context.Context) bool {
	if ctx == nil {
		return false
	}
	outer, ok := ctx.Value(clientKey{}).(trace.Span)
	// The active span is the outer one, or the suppressed span standing for
	// it (same ID), not a span started under it; span values are compared by
	// ID: not every span type is comparable.
	return ok && outer.IsRecording() && trace.SpanFromContext(ctx).SpanContext().SpanID() == outer.SpanContext().SpanID()
}
