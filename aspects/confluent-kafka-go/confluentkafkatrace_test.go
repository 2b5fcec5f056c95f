package confluentkafkatrace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
	"overlay-gen.invalid/otelrt/kafkamsg"
)

// The package's tracer binds to the first provider installed: one for the
// whole run, whose spans go to the current test's recorder.
var current struct {
	sync.Mutex
	recorder *tracetest.SpanRecorder
}

type forward struct{}

func (forward) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) {
	current.Lock()
	defer current.Unlock()
	current.recorder.OnStart(ctx, s)
}

func (forward) OnEnd(s sdktrace.ReadOnlySpan) {
	current.Lock()
	defer current.Unlock()
	current.recorder.OnEnd(s)
}

func (forward) Shutdown(context.Context) error   { return nil }
func (forward) ForceFlush(context.Context) error { return nil }

func TestMain(m *testing.M) {
	current.recorder = tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(forward{})))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	os.Exit(m.Run())
}

func record(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	recorder := tracetest.NewSpanRecorder()
	current.Lock()
	current.recorder = recorder
	current.Unlock()
	return recorder
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

func message(topic string, partition int32, offset kafka.Offset, headers ...kafka.Header) *kafka.Message {
	return &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: partition, Offset: offset},
		Value: []byte("v"), Headers: headers}
}

func TestProduceSendsACopyWithTheSpansContextAndEndsAtTheReport(t *testing.T) {
	recorder := record(t)
	p := &kafka.Producer{}
	NewProducer(&kafka.ConfigMap{"bootstrap.servers": "PLAINTEXT://broker.example:9093"}, p)
	defer ProducerClosed(p)
	msg := message("orders", kafka.PartitionAny, 0, kafka.Header{Key: "source", Value: []byte("web")})
	msg.Opaque = "mine"
	sent, delivered, produced := Produce(p, msg, false)
	if sent == msg || len(msg.Headers) != 1 || sent.Opaque != "mine" {
		t.Fatalf("the program's message was not left alone: %+v, sent %+v", msg, sent)
	}
	carrier := kafkamsg.HeaderCarrier(&sent.Headers)
	if carrier.Get("source") != "web" || carrier.Get("traceparent") == "" {
		t.Fatalf("headers sent: %v", sent.Headers)
	}
	produced(nil)
	if n := len(recorder.Ended()); n != 0 {
		t.Fatalf("%d spans ended before the delivery report", n)
	}
	report := message("orders", 0, 41)
	delivered(report)
	delivered(report) // once
	ended := recorder.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans ended, want 1", len(ended))
	}
	span := ended[0]
	if span.Name() != "send orders" || span.SpanKind() != trace.SpanKindProducer {
		t.Fatalf("span %q kind %v", span.Name(), span.SpanKind())
	}
	want := map[string]any{
		"messaging.system": "kafka", "messaging.operation.type": "send", "messaging.operation.name": "send",
		"messaging.destination.name": "orders", "server.address": "broker.example", "server.port": int64(9093),
		"messaging.destination.partition.id": "0", "messaging.kafka.offset": int64(41),
	}
	if got := attrs(span); !reflect.DeepEqual(got, want) {
		t.Fatalf("attributes %v, want %v", got, want)
	}
	if fmt.Sprint(span.SpanContext().SpanID()) != carrier.Get("traceparent")[36:52] {
		t.Fatalf("traceparent %q is not span %v", carrier.Get("traceparent"), span.SpanContext().SpanID())
	}
}

func TestProduceUnderAnActiveSpanIsItsChildButNotFromTheChannel(t *testing.T) {
	recorder := record(t)
	goroutineStore(t)
	ctx, parent := otel.Tracer("test").Start(context.Background(), "parent")
	restore := otelrt.Activate(ctx)
	_, delivered, _ := Produce(&kafka.Producer{}, message("a", kafka.PartitionAny, 0), false)
	delivered(message("a", 0, 0))
	_, delivered, _ = Produce(&kafka.Producer{}, message("b", kafka.PartitionAny, 0), true)
	delivered(message("b", 0, 1))
	restore()
	parent.End()
	ended := recorder.Ended()
	if ended[0].Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("send a: parent %v, want %v", ended[0].Parent().SpanID(), parent.SpanContext().SpanID())
	}
	if ended[1].Parent().IsValid() {
		t.Fatalf("send b (ProduceChannel): parent %v, want none", ended[1].Parent().SpanID())
	}
}

func TestAForwardedMessageLinksToItsEarlierContext(t *testing.T) {
	recorder := record(t)
	earlier := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	sent, delivered, _ := Produce(&kafka.Producer{}, message("a", 0, 0, kafka.Header{Key: "traceparent", Value: []byte(earlier)},
		kafka.Header{Key: "traceparent", Value: []byte("stale")}), false)
	delivered(message("a", 0, 0))
	span := recorder.Ended()[0]
	if links := span.Links(); len(links) != 1 || links[0].SpanContext.SpanID().String() != "b7ad6b7169203331" {
		t.Fatalf("links %v", links)
	}
	if len(sent.Headers) != 1 || string(sent.Headers[0].Value) == earlier {
		t.Fatalf("headers %v: one traceparent, the send span's", sent.Headers)
	}
}

func TestRefusedUndeliveredAndFailedMessages(t *testing.T) {
	recorder := record(t)
	ErrorName = func(code kafka.ErrorCode) string {
		if code == kafka.ErrMsgSizeTooLarge {
			return "MSG_SIZE_TOO_LARGE"
		}
		return ""
	}
	defer func() { ErrorName = nil }()
	_, _, produced := Produce(&kafka.Producer{}, message("a", 0, 0), false)
	produced(kafka.NewError(kafka.ErrMsgSizeTooLarge, "too large", false))
	_, delivered, _ := Produce(&kafka.Producer{}, message("b", 0, 0), false)
	delivered(nil)
	_, delivered, _ = Produce(&kafka.Producer{}, message("c", 0, 0), false)
	failed := message("c", 0, kafka.OffsetInvalid)
	failed.TopicPartition.Error = kafka.NewError(kafka.ErrUnknown, "", false)
	delivered(failed)
	wantTypes := []string{"MSG_SIZE_TOO_LARGE", "_OTHER", "_OTHER"}
	ended := recorder.Ended()
	if len(ended) != 3 {
		t.Fatalf("%d spans ended, want 3", len(ended))
	}
	for i, span := range ended {
		got := attrs(span)
		if span.Status().Code != codes.Error || got["error.type"] != wantTypes[i] || len(span.Events()) != 1 {
			t.Errorf("%s: status %v, error.type %v, events %v", span.Name(), span.Status(), got["error.type"], span.Events())
		}
		if _, ok := got["messaging.kafka.offset"]; ok {
			t.Errorf("%s: an offset on a failed message", span.Name())
		}
	}
	if ended[1].Status().Description != ErrNotDelivered.Error() {
		t.Errorf("undelivered: %q", ended[1].Status().Description)
	}
}

func TestNoSpanForAMessageProduceRefusesItself(t *testing.T) {
	recorder := record(t)
	for _, msg := range []*kafka.Message{nil, {}, message("", 0, 0)} {
		sent, delivered, produced := Produce(&kafka.Producer{}, msg, false)
		if sent != msg || delivered != nil || produced != nil {
			t.Fatalf("%v: not passed through", msg)
		}
	}
	if n := len(recorder.Started()); n != 0 {
		t.Fatalf("%d spans started", n)
	}
}

func TestProcessSpansEndAtTheNextPollTheCommitOrClose(t *testing.T) {
	recorder := record(t)
	goroutineStore(t)
	c := &kafka.Consumer{}
	NewConsumer(&kafka.ConfigMap{"bootstrap.servers": "127.0.0.1:9092", "group.id": "billing"}, c)

	// A message produced under a span: the process span is its child, active while it is handled.
	sent, delivered, _ := Produce(&kafka.Producer{}, message("orders", 0, 0), false)
	delivered(message("orders", 0, 0))
	send := recorder.Ended()[0]
	polled := Poll(c)
	polled(message("orders", 0, 0, sent.Headers...))
	active := otelrt.GoroutineContext()
	if active == nil || trace.SpanContextFromContext(active).TraceID() != send.SpanContext().TraceID() {
		t.Fatalf("the process span is not active, or not in the send span's trace")
	}
	// The next Poll ends it; an event that is no message starts nothing.
	Poll(c)(kafka.PartitionEOF{})
	ended := recorder.Ended()
	if len(ended) != 2 || ended[1].Name() != "process orders" || ended[1].Parent().SpanID() != send.SpanContext().SpanID() {
		t.Fatalf("after the second Poll: %d spans ended", len(ended))
	}
	if otelrt.GoroutineContext() != nil {
		t.Fatalf("the goroutine's active span was not put back")
	}
	want := map[string]any{
		"messaging.system": "kafka", "messaging.operation.type": "process", "messaging.operation.name": "process",
		"messaging.destination.name": "orders", "messaging.consumer.group.name": "billing",
		"server.address": "127.0.0.1", "server.port": int64(9092),
		"messaging.destination.partition.id": "0", "messaging.kafka.offset": int64(0),
	}
	if got := attrs(ended[1]); !reflect.DeepEqual(got, want) {
		t.Fatalf("attributes %v, want %v", got, want)
	}

	// CommitMessage (or StoreMessage) of the message ends its span.
	Poll(c)(message("orders", 0, 1))
	Commit(c, message("orders", 0, 1))
	if n := len(recorder.Ended()); n != 3 {
		t.Fatalf("after the commit: %d spans ended, want 3", n)
	}

	// A message with an error has no span; Close ends what is open, and polls nothing more.
	errored := message("orders", 0, 2)
	errored.TopicPartition.Error = errors.New("broken")
	Poll(c)(errored)
	Poll(c)(message("orders", 0, 3))
	closed := Close(c)
	if n := len(recorder.Ended()); n != 4 {
		t.Fatalf("after Close: %d spans ended, want 4", n)
	}
	if Poll(c) != nil {
		t.Fatalf("a closing Consumer's Poll starts spans")
	}
	closed()
	if _, ok := consumers.Load(c); ok {
		t.Fatalf("the closed Consumer is still known")
	}
	if n := len(recorder.Started()); n != 4 { // send, and three of the four messages polled
		t.Fatalf("%d spans started, want 4", n)
	}
}

func TestServerAttributes(t *testing.T) {
	for _, tc := range []struct {
		servers string
		want    string
	}{
		{"127.0.0.1:9092", "[server.address=127.0.0.1 server.port=9092]"},
		{"SSL://kafka.example", "[server.address=kafka.example server.port=9092]"},
		{"[::1]:9094", "[server.address=::1 server.port=9094]"},
		{"[::1]", "[server.address=::1 server.port=9092]"},
		{"a:1, b:2", "[]"},
		{"", "[]"},
	} {
		var got []string
		for _, kv := range kafkamsg.Server(brokers(&kafka.ConfigMap{"bootstrap.servers": tc.servers})) {
			got = append(got, fmt.Sprintf("%s=%v", kv.Key, kv.Value.AsInterface()))
		}
		if fmt.Sprint(got) != tc.want {
			t.Errorf("%q: %v, want %s", tc.servers, got, tc.want)
		}
	}
	if got := brokers(&kafka.ConfigMap{"metadata.broker.list": "x:1"}); fmt.Sprint(got) != "[x:1]" {
		t.Errorf("metadata.broker.list: %v", got)
	}
}
