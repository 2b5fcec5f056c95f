package otelrt

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func recorded(t *testing.T) (trace.Tracer, *tracetest.SpanRecorder) {
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	return layered{provider}.Tracer("test"), recorder
}

func names(recorder *tracetest.SpanRecorder) map[string]trace.SpanContext {
	found := map[string]trace.SpanContext{}
	for _, span := range recorder.Ended() {
		found[span.Name()] = span.Parent()
	}
	return found
}

var client = trace.WithSpanKind(trace.SpanKindClient)

func TestAClientSpanInsideAClientSpanIsNotRecorded(t *testing.T) {
	tracer, recorder := recorded(t)
	ctx, request := tracer.Start(context.Background(), "request", trace.WithSpanKind(trace.SpanKindServer))
	ctx, search := tracer.Start(ctx, "search products", client)
	httpCtx, http := tracer.Start(ctx, "POST", client)
	if http.IsRecording() || !http.SpanContext().Equal(search.SpanContext()) {
		t.Fatalf("the nested client span is recorded, or is not the outer one's context: %v", http.SpanContext())
	}
	if !InClientSpan(httpCtx) {
		t.Fatal("a layer below the suppressed one would record")
	}
	_, deeper := tracer.Start(trace.ContextWithSpan(httpCtx, http), "dial", client)
	if deeper.IsRecording() {
		t.Fatal("a client span under the suppressed one is recorded")
	}
	_, internal := tracer.Start(httpCtx, "parse", trace.WithSpanKind(trace.SpanKindInternal))
	internal.End()
	deeper.End()
	http.End()
	search.End()
	_, after := tracer.Start(ctx, "GET", client) // the outer span has ended: a new operation
	after.End()
	request.End()

	got := names(recorder)
	for _, name := range []string{"request", "search products", "parse", "GET"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s not recorded: %v", name, got)
		}
	}
	if _, ok := got["POST"]; ok {
		t.Errorf("POST recorded")
	}
	if got["parse"].SpanID() != search.SpanContext().SpanID() {
		t.Errorf("an internal span under the suppressed one is not the outer span's child")
	}
}

func TestAClientSpanUnderAnotherSpanInsideAClientSpanIsRecorded(t *testing.T) {
	tracer, recorder := recorded(t)
	ctx, outer := tracer.Start(context.Background(), "batch", client)
	ctx, step := tracer.Start(ctx, "step", trace.WithSpanKind(trace.SpanKindInternal))
	_, inner := tracer.Start(ctx, "GET", client)
	if !inner.IsRecording() {
		t.Fatal("a client span whose parent is not a client span is suppressed")
	}
	inner.End()
	step.End()
	outer.End()
	if len(recorder.Ended()) != 3 {
		t.Fatalf("%d spans recorded, want 3", len(recorder.Ended()))
	}
}

func TestASampledOutClientSpanSuppressesNothing(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder), sdktrace.WithSampler(sdktrace.NeverSample()))
	tracer := layered{provider}.Tracer("test")
	ctx, outer := tracer.Start(context.Background(), "outer", client)
	if InClientSpan(ctx) || outer.IsRecording() {
		t.Fatal("a sampled-out span counts as an outer client span")
	}
}

func TestAClientSpanInsideAProducerSpanIsNotRecorded(t *testing.T) {
	tracer, recorder := recorded(t)
	ctx, send := tracer.Start(context.Background(), "send orders", trace.WithSpanKind(trace.SpanKindProducer))
	if !send.IsRecording() {
		t.Fatal("the producer span is not recorded")
	}
	httpCtx, http := tracer.Start(ctx, "POST", client)
	if http.IsRecording() || !http.SpanContext().Equal(send.SpanContext()) {
		t.Fatalf("the client span under the producer span is recorded, or is not its context: %v", http.SpanContext())
	}
	_, again := tracer.Start(httpCtx, "send retries", trace.WithSpanKind(trace.SpanKindProducer))
	if !again.IsRecording() {
		t.Fatal("a producer span is suppressed")
	}
	again.End()
	http.End()
	send.End()
	got := names(recorder)
	if _, ok := got["POST"]; ok || len(got) != 2 {
		t.Errorf("recorded %v, want send orders and send retries", got)
	}
}
