package kafkamsg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

func TestMain(m *testing.M) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	os.Exit(m.Run())
}

// recorded is a tracer whose spans the recorder gets.
func recorded(t *testing.T) (trace.Tracer, *tracetest.SpanRecorder) {
	t.Helper()
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	return provider.Tracer("test"), recorder
}

// goroutineStore gives otelrt a goroutine-local store for the test (one goroutine: one variable).
func goroutineStore(t *testing.T) {
	t.Helper()
	var current context.Context
	otelrt.SetGoroutineStore(func() context.Context { return current }, func(ctx context.Context) { current = ctx })
	t.Cleanup(func() {
		otelrt.SetGoroutineStore(func() context.Context { return nil }, func(context.Context) {})
	})
}

func attrs(span sdktrace.ReadOnlySpan) map[string]any {
	found := map[string]any{}
	for _, kv := range span.Attributes() {
		found[string(kv.Key)] = kv.Value.AsInterface()
	}
	return found
}

// A library's header type, as the Kafka clients have them.
type header struct {
	Key   string
	Value []byte
}

func TestCarrierReplacesAKeyOnceAndAppendsNewOnes(t *testing.T) {
	hs := []header{
		{Key: "traceparent", Value: []byte("old")},
		{Key: "source", Value: []byte("web")},
		{Key: "traceparent", Value: []byte("older")},
	}
	c := HeaderCarrier(&hs)
	if got := c.Get("traceparent"); got != "old" {
		t.Fatalf("Get reads the first header of a key: %q", got)
	}
	c.Set("traceparent", "new")
	c.Set("tracestate", "k=v")
	want := []header{
		{Key: "traceparent", Value: []byte("new")},
		{Key: "source", Value: []byte("web")},
		{Key: "tracestate", Value: []byte("k=v")},
	}
	if !reflect.DeepEqual(hs, want) {
		t.Fatalf("headers %v, want %v", hs, want)
	}
	if keys := c.Keys(); !reflect.DeepEqual(keys, []string{"traceparent", "source", "tracestate"}) {
		t.Fatalf("Keys: %v", keys)
	}
	if got := c.Get("TraceParent"); got != "" {
		t.Fatalf("keys are case-sensitive: %q", got)
	}
}

func TestSendInjectsItsContextAndLinksAnEarlierOne(t *testing.T) {
	tracer, recorder := recorded(t)
	parentCtx, parent := tracer.Start(context.Background(), "parent")
	earlier := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	hs := []header{{Key: "traceparent", Value: []byte(earlier)}, {Key: "source", Value: []byte("web")}}
	c := HeaderCarrier(&hs)
	Send(tracer, parentCtx, "orders", false, c, Server([]string{"broker.example:9093"})...).End()
	span := recorder.Ended()[0]
	if span.Name() != "send orders" || span.SpanKind() != trace.SpanKindProducer || span.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("%q %v, parent %v", span.Name(), span.SpanKind(), span.Parent().SpanID())
	}
	want := map[string]any{
		"messaging.system": "kafka", "messaging.operation.type": "send", "messaging.operation.name": "send",
		"messaging.destination.name": "orders", "server.address": "broker.example", "server.port": int64(9093),
	}
	if got := attrs(span); !reflect.DeepEqual(got, want) {
		t.Fatalf("attributes %v, want %v", got, want)
	}
	if links := span.Links(); len(links) != 1 || links[0].SpanContext.SpanID().String() != "b7ad6b7169203331" {
		t.Fatalf("links %v", links)
	}
	if want := fmt.Sprintf("00-%s-%s-01", span.SpanContext().TraceID(), span.SpanContext().SpanID()); c.Get("traceparent") != want || len(hs) != 2 {
		t.Fatalf("headers %v, want the span's traceparent %q", hs, want)
	}

	// No topic known, no value.
	Send(tracer, context.Background(), "", true, HeaderCarrier(new([]header))).End()
	span = recorder.Ended()[1]
	want = map[string]any{
		"messaging.system": "kafka", "messaging.operation.type": "send", "messaging.operation.name": "send",
		"messaging.kafka.message.tombstone": true,
	}
	if got := attrs(span); span.Name() != "send" || !reflect.DeepEqual(got, want) || span.Parent().IsValid() {
		t.Fatalf("%q: attributes %v, want %v", span.Name(), got, want)
	}
}

func TestRecordError(t *testing.T) {
	tracer, recorder := recorded(t)
	_, span := tracer.Start(context.Background(), "send orders")
	RecordError(span, errors.New("broken"), "_OTHER")
	span.End()
	ended := recorder.Ended()[0]
	if ended.Status().Code != codes.Error || ended.Status().Description != "broken" || attrs(ended)["error.type"] != "_OTHER" || len(ended.Events()) != 1 {
		t.Fatalf("%v %v %v", ended.Status(), attrs(ended), ended.Events())
	}
}

func TestErrorType(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, "*net.OpError"},
		{fmt.Errorf("dialing: %w", &net.OpError{Op: "dial", Err: errors.New("refused")}), "*net.OpError"},
		{fmt.Errorf("a: %w, b: %w", errors.New("x"), errors.New("y")), "_OTHER"},
		{errors.New("no type of its own"), "_OTHER"},
	} {
		if got := ErrorType(c.err); got != c.want {
			t.Errorf("ErrorType(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestServer(t *testing.T) {
	for _, c := range []struct {
		brokers []string
		want    []attribute.KeyValue
	}{
		{[]string{"127.0.0.1:39092"}, []attribute.KeyValue{attribute.String("server.address", "127.0.0.1"), attribute.Int("server.port", 39092)}},
		{[]string{"kafka.example"}, []attribute.KeyValue{attribute.String("server.address", "kafka.example"), attribute.Int("server.port", 9092)}},
		{[]string{"[::1]:9093"}, []attribute.KeyValue{attribute.String("server.address", "::1"), attribute.Int("server.port", 9093)}},
		{[]string{"a:1", "b:2"}, nil},
		{nil, nil},
	} {
		if got := Server(c.brokers); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Server(%v) = %v, want %v", c.brokers, got, c.want)
		}
	}
	if SpanName("process", "orders") != "process orders" || SpanName("send", "") != "send" {
		t.Error("SpanName")
	}
}

func TestProcessSpanIsTheProducersChildAndActiveUntilTheNextCall(t *testing.T) {
	tracer, recorder := recorded(t)
	goroutineStore(t)
	tracker := NewTracker(tracer)
	c := tracker.Consumer("billing", Server([]string{"broker.example"})...)
	producerCtx, producer := tracer.Start(context.Background(), "send orders")
	hs := []header{{Key: "source", Value: []byte("web")}}
	otel.GetTextMapPropagator().Inject(producerCtx, HeaderCarrier(&hs))
	producer.End()

	c.Start(context.Background(), Position{"orders", 3, 7}, HeaderCarrier(&hs), false)
	active := trace.SpanFromContext(otelrt.GoroutineContext())
	if !active.SpanContext().IsValid() || !active.IsRecording() {
		t.Fatal("no process span is active on the goroutine")
	}
	_, child := tracer.Start(otelrt.Parent(context.Background()), "bill")
	child.End()

	NewTracker(tracer).EndActive() // another integration's: not its span
	if otelrt.GoroutineContext() == nil || len(recorder.Ended()) != 2 {
		t.Fatal("another Tracker ended the span")
	}
	tracker.EndActive() // the next call
	if !c.Next() {
		t.Fatal("an open consumer is closing")
	}
	if otelrt.GoroutineContext() != nil {
		t.Fatal("the goroutine's previous active context is not back")
	}

	spans := recorder.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want producer, bill, process", len(spans))
	}
	process := spans[2]
	if process.Name() != "process orders" || process.SpanKind() != trace.SpanKindConsumer {
		t.Fatalf("%q %v", process.Name(), process.SpanKind())
	}
	if process.Parent().SpanID() != producer.SpanContext().SpanID() || !process.Parent().IsRemote() {
		t.Fatal("the process span is not the producer's child")
	}
	if len(process.Links()) != 1 || process.Links()[0].SpanContext.SpanID() != producer.SpanContext().SpanID() {
		t.Fatalf("links %v", process.Links())
	}
	if spans[1].Parent().SpanID() != process.SpanContext().SpanID() {
		t.Fatal("the handler's span is not the process span's child")
	}
	want := map[string]any{
		"messaging.system": "kafka", "messaging.operation.type": "process", "messaging.operation.name": "process",
		"messaging.destination.name": "orders", "messaging.destination.partition.id": "3", "messaging.kafka.offset": int64(7),
		"messaging.consumer.group.name": "billing", "server.address": "broker.example", "server.port": int64(9092),
	}
	if got := attrs(process); !reflect.DeepEqual(got, want) {
		t.Fatalf("attributes %v, want %v", got, want)
	}
}

func TestSettleEndsTheCommittedMessagesSpans(t *testing.T) {
	tracer, recorder := recorded(t)
	goroutineStore(t)
	c := NewTracker(tracer).Consumer("")
	c.Start(nil, Position{"orders", 0, 1}, HeaderCarrier(new([]header)), false)
	c.Settle(Position{"orders", 0, 2}, Position{"other", 0, 1})
	if n := len(recorder.Ended()); n != 0 {
		t.Fatalf("%d spans ended by the commit of other messages", n)
	}
	c.Settle(Position{"orders", 0, 1})
	spans := recorder.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans after the commit", len(spans))
	}
	if otelrt.GoroutineContext() != nil {
		t.Fatal("the commit on the handling goroutine does not put its previous context back")
	}
	if _, ok := attrs(spans[0])["messaging.consumer.group.name"]; ok {
		t.Fatal("a consumer without group names one")
	}
	if spans[0].Parent().IsValid() {
		t.Fatal("a message without creation context under no span is a root")
	}
}

func TestTheSameMessageAgainEndsItsEarlierSpan(t *testing.T) {
	tracer, recorder := recorded(t)
	c := NewTracker(tracer).Consumer("")
	c.Start(nil, Position{"orders", 0, 5}, HeaderCarrier(new([]header)), false)
	c.Start(nil, Position{"orders", 0, 5}, HeaderCarrier(new([]header)), false)
	if n := len(recorder.Ended()); n != 1 {
		t.Fatalf("%d spans ended, want the first", n)
	}
}

func TestCloseEndsTheSpansStillOpenAndAnAmbientSpanIsLinked(t *testing.T) {
	tracer, recorder := recorded(t)
	c := NewTracker(tracer).Consumer("", Server([]string{"a:1"})...)
	ambientCtx, ambient := tracer.Start(context.Background(), "request")
	producerCtx, producer := tracer.Start(context.Background(), "send orders")
	var hs []header
	otel.GetTextMapPropagator().Inject(producerCtx, HeaderCarrier(&hs))

	// No goroutine store here: the consumer's next call would end it; Close does first.
	c.Start(ambientCtx, Position{"orders", 0, 4}, HeaderCarrier(&hs), true)
	c.Close()
	spans := recorder.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	process := spans[0]
	if process.Parent().SpanID() != producer.SpanContext().SpanID() {
		t.Fatal("not the producer's child")
	}
	links := process.Links()
	if len(links) != 2 || links[1].SpanContext.SpanID() != ambient.SpanContext().SpanID() {
		t.Fatalf("links %v: want the creation context and the ambient span", links)
	}
	if attrs(process)["messaging.kafka.message.tombstone"] != true {
		t.Fatal("a message without value is a tombstone")
	}
	if c.Next() {
		t.Fatal("a closed consumer is not closing")
	}
}

func TestWithoutGoroutineStoreTheConsumersNextCallEndsTheSpan(t *testing.T) {
	tracer, recorder := recorded(t)
	tracker := NewTracker(tracer)
	c := tracker.Consumer("")
	c.Start(context.Background(), Position{"orders", 0, 0}, HeaderCarrier(new([]header)), false)
	if n := len(recorder.Ended()); n != 0 {
		t.Fatalf("%d spans ended early", n)
	}
	tracker.EndActive()
	c.Next()
	if n := len(recorder.Ended()); n != 1 {
		t.Fatalf("%d spans ended by the next call, want 1", n)
	}
}
