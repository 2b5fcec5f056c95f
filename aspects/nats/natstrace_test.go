package natstrace

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// recording installs a provider whose spans the test reads, and the W3C propagator.
func recording(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	previous, previousPropagator := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	tracer = otel.Tracer(ScopeName)
	t.Cleanup(func() {
		otel.SetTracerProvider(previous)
		otel.SetTextMapPropagator(previousPropagator)
		tracer = otel.Tracer(ScopeName)
	})
	return recorder
}

func attributes(span sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	found := map[attribute.Key]attribute.Value{}
	for _, kv := range span.Attributes() {
		found[kv.Key] = kv.Value
	}
	return found
}

func TestCarrierReadsKeysWhateverTheirCase(t *testing.T) {
	h := nats.Header{"Traceparent": {"00-abc"}, "Other": {"x", "y"}}
	c := Carrier(h)
	if got := c.Get("traceparent"); got != "00-abc" {
		t.Errorf("Get(traceparent) = %q", got)
	}
	if got := c.Get("other"); got != "x" {
		t.Errorf("Get(other) = %q", got)
	}
	if got := c.Get("missing"); got != "" {
		t.Errorf("Get(missing) = %q", got)
	}
	c.Set("tracestate", "k=v")
	if h["tracestate"][0] != "k=v" || len(c.Keys()) != 3 {
		t.Errorf("after Set: %v", h)
	}
	if Carrier(nil).Get("traceparent") != "" {
		t.Error("a nil header has no values")
	}
}

func TestWildcardSubjects(t *testing.T) {
	for subject, want := range map[string]bool{
		"orders":       false,
		"orders.*":     true,
		"orders.>":     true,
		"a.*.c":        true,
		"orders.eu":    false,
		"star*.x":      false, // a token with a star is no wildcard
		"_INBOX.abc.*": true,
	} {
		if got := wildcard(subject); got != want {
			t.Errorf("wildcard(%q) = %v, want %v", subject, got, want)
		}
	}
}

func TestInboxes(t *testing.T) {
	if !isInbox("_INBOX.abc.def") || isInbox("orders") || isInbox("INBOX.x") {
		t.Error("an inbox is a subject under _INBOX.")
	}
}

func TestErrorTypes(t *testing.T) {
	for err, want := range map[error]string{
		nats.ErrNoResponders: "nats.ErrNoResponders",
		nats.ErrTimeout:      "nats.ErrTimeout",
		fmt.Errorf("request: %w", nats.ErrBadSubject):  "nats.ErrBadSubject",
		context.DeadlineExceeded:                       "context.DeadlineExceeded",
		errors.New("something else"):                   "_OTHER",
		&customError{}:                                 "*natstrace.customError",
		fmt.Errorf("wrapped: %w", errors.New("plain")): "_OTHER",
	} {
		if got := errorType(err); got != want {
			t.Errorf("errorType(%v) = %q, want %q", err, got, want)
		}
	}
}

type customError struct{}

func (*customError) Error() string { return "custom" }

func TestServerAttributesComeFromTheURLWithoutCredentials(t *testing.T) {
	got := urlAttributes("nats://user:s3cret@nats.example.com:4333")
	if len(got) != 2 || got[0].Value.AsString() != "nats.example.com" || got[1].Value.AsInt64() != 4333 {
		t.Errorf("urlAttributes = %v", got)
	}
	if urlAttributes("") != nil || urlAttributes("::bad") != nil {
		t.Error("no URL, no attributes")
	}
}

func TestAMessageHandledWhileTheConnectionDrainsNamesTheLastServer(t *testing.T) {
	var server lastServer
	if server.attributes("") != nil {
		t.Error("no server seen yet, no attributes")
	}
	first := server.attributes("nats://127.0.0.1:4222")
	if got := server.attributes(""); len(got) != 2 || got[1] != first[1] {
		t.Errorf("while draining: %v, want %v", got, first)
	}
	if got := server.attributes("nats://10.0.0.2:4223"); got[0].Value.AsString() != "10.0.0.2" || got[1].Value.AsInt64() != 4223 {
		t.Errorf("after a reconnect elsewhere: %v", got)
	}
	if got := server.attributes(""); got[1].Value.AsInt64() != 4223 {
		t.Errorf("draining after the reconnect: %v", got)
	}
}

func TestPublishWithoutAConnectionSendsTheMessageUnchanged(t *testing.T) {
	recorder := recording(t)
	m := &nats.Msg{Subject: "orders", Data: []byte("1234")}
	sent, end := Publish(nil, nil, m, "publish")
	end(nats.ErrInvalidConnection)
	if sent != m {
		t.Error("without a server that supports headers the message goes out as it was")
	}
	spans := recorder.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	span := spans[0]
	if span.Name() != "publish orders" || span.SpanKind() != trace.SpanKindProducer || span.Status().Code != codes.Error {
		t.Errorf("span %s %v %v", span.Name(), span.SpanKind(), span.Status())
	}
	attrs := attributes(span)
	if attrs["messaging.system"].AsString() != "nats" || attrs["messaging.destination.name"].AsString() != "orders" ||
		attrs["messaging.message.body.size"].AsInt64() != 4 || attrs["error.type"].AsString() != "nats.ErrInvalidConnection" {
		t.Errorf("attributes %v", attrs)
	}
}

func TestAReplyToAnInboxIsNamedWithoutItsSubject(t *testing.T) {
	recorder := recording(t)
	_, end := Publish(nil, nil, &nats.Msg{Subject: "_INBOX.abc.def"}, "publish")
	end(nil)
	span := recorder.Ended()[0]
	attrs := attributes(span)
	if span.Name() != "publish" || !attrs["messaging.destination.temporary"].AsBool() || !attrs["messaging.destination.anonymous"].AsBool() {
		t.Errorf("span %s %v", span.Name(), attrs)
	}
}

func TestAReplyWithNoActiveSpanIsUnderItsRequest(t *testing.T) {
	recorder := recording(t)
	ctx, producer := otel.Tracer("test").Start(context.Background(), "request")
	request := &nats.Msg{Subject: "prices", Reply: "_INBOX.x", Header: nats.Header{}}
	otel.GetTextMapPropagator().Inject(ctx, Carrier(request.Header))
	producer.End()

	reply := &nats.Msg{Subject: "_INBOX.x"}
	done := Reply(request, reply)
	_, end := Publish(nil, nil, reply, "publish")
	end(nil)
	done()
	span := recorder.Ended()[1]
	if span.Parent().SpanID() != producer.SpanContext().SpanID() {
		t.Errorf("the reply's parent is %v, not the request's span", span.Parent().SpanID())
	}
	if _, ok := replies.Load(reply); ok {
		t.Error("the reply stays registered")
	}
}

func TestProcessIsTheChildOfTheProducerAndActiveInTheCallback(t *testing.T) {
	recorder := recording(t)
	ctx, producer := otel.Tracer("test").Start(context.Background(), "publish")
	m := &nats.Msg{Subject: "invoices.eu", Data: []byte("x"), Header: nats.Header{}}
	otel.GetTextMapPropagator().Inject(ctx, Carrier(m.Header))
	producer.End()

	called := false
	cb := Process(nil, "invoices.*", "billing", func(got *nats.Msg) { called = got == m })
	cb(m)
	if !called {
		t.Fatal("the callback did not get the message")
	}
	span := recorder.Ended()[1]
	if span.Name() != "process invoices.*" || span.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("span %s %v", span.Name(), span.SpanKind())
	}
	if span.Parent().SpanID() != producer.SpanContext().SpanID() || span.SpanContext().TraceID() != producer.SpanContext().TraceID() {
		t.Error("the process span is not the producer's child")
	}
	attrs := attributes(span)
	if attrs["messaging.destination.name"].AsString() != "invoices.eu" || attrs["messaging.destination.template"].AsString() != "invoices.*" ||
		attrs["messaging.consumer.group.name"].AsString() != "billing" || attrs["messaging.operation.type"].AsString() != "process" {
		t.Errorf("attributes %v", attrs)
	}
	if Process(nil, "x", "", nil) != nil {
		t.Error("a nil callback stays nil: Subscribe refuses it")
	}
}

func TestAPanickingCallbackIsRecordedAndGoesOn(t *testing.T) {
	recorder := recording(t)
	cb := Process(nil, "orders", "", func(*nats.Msg) { panic("boom") })
	defer func() {
		if recover() == nil {
			t.Error("the panic did not go on")
		}
		span := recorder.Ended()[0]
		if span.Status().Code != codes.Error || span.Status().Description != "panic: boom" {
			t.Errorf("status %v", span.Status())
		}
	}()
	cb(&nats.Msg{Subject: "orders"})
}

func TestAnInboxSubscriptionTracesOnlyMessagesWithAContext(t *testing.T) {
	recorder := recording(t)
	called := 0
	cb := Process(nil, "_INBOX.abc.*", "", func(*nats.Msg) { called++ })
	cb(&nats.Msg{Subject: "_INBOX.abc.1"}) // a server's answer: no span
	ctx, producer := otel.Tracer("test").Start(context.Background(), "publish")
	m := &nats.Msg{Subject: "orders.eu", Header: nats.Header{}}
	otel.GetTextMapPropagator().Inject(ctx, Carrier(m.Header))
	producer.End()
	cb(m) // a stream's message, delivered to the inbox under its own subject
	if called != 2 {
		t.Fatalf("the callback ran %d times", called)
	}
	spans := recorder.Ended()
	if len(spans) != 2 || spans[1].Name() != "process orders.eu" {
		t.Fatalf("spans %v", spans)
	}
	if _, ok := attributes(spans[1])["messaging.destination.template"]; ok {
		t.Error("an inbox pattern is no template")
	}
}
