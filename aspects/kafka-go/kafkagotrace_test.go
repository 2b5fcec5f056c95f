package kafkagotrace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
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

// record gives the test a recorder of its own, of the spans it ends.
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

func header(headers []kafka.Header, key string) (string, int) {
	value, n := "", 0
	for _, h := range headers {
		if h.Key == key {
			if n == 0 {
				value = string(h.Value)
			}
			n++
		}
	}
	return value, n
}

func TestWriteInjectsIntoCopiesAndEndsAtCompletion(t *testing.T) {
	recorder := record(t)
	w := &kafka.Writer{Addr: kafka.TCP("broker.example:9093"), Topic: "orders", RequiredAcks: kafka.RequireAll}
	parentCtx, parent := otel.Tracer("test").Start(context.Background(), "parent")
	callers := []kafka.Message{
		{Value: []byte("one"), Headers: []kafka.Header{{Key: "source", Value: []byte("web")}}},
		{Value: []byte("two")},
	}
	sent, end := Write(w, parentCtx, callers)

	if len(callers[0].Headers) != 1 || callers[1].Headers != nil {
		t.Fatalf("the caller's messages were written to: %v", callers)
	}
	if len(sent) != 2 {
		t.Fatalf("%d messages to send", len(sent))
	}
	for i, m := range sent {
		if _, n := header(m.Headers, "traceparent"); n != 1 {
			t.Fatalf("message %d: %d traceparent headers", i, n)
		}
	}
	if source, _ := header(sent[0].Headers, "source"); source != "web" {
		t.Fatalf("the message's own header is lost: %v", sent[0].Headers)
	}
	if n := len(recorder.Ended()); n != 0 {
		t.Fatalf("%d spans ended before the batch reported", n)
	}

	// kafka-go's batch holds copies of the messages, with what the broker answered.
	batch := append([]kafka.Message(nil), sent...)
	for i := range batch {
		batch[i].Topic, batch[i].Partition, batch[i].Offset = "orders", 2, int64(40+i)
	}
	Written(batch, nil)
	var noError error
	end(&noError)

	spans := recorder.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	for i, span := range spans {
		if span.Name() != "send orders" || span.SpanKind() != trace.SpanKindProducer {
			t.Fatalf("span %d: %q %v", i, span.Name(), span.SpanKind())
		}
		if span.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Fatalf("span %d is not the caller's span's child", i)
		}
		want := map[string]any{
			"messaging.system": "kafka", "messaging.operation.type": "send", "messaging.operation.name": "send",
			"messaging.destination.name": "orders", "server.address": "broker.example", "server.port": int64(9093),
			"messaging.destination.partition.id": "2", "messaging.kafka.offset": int64(40 + i),
		}
		if got := attrs(span); !reflect.DeepEqual(got, want) {
			t.Fatalf("span %d: attributes %v, want %v", i, got, want)
		}
		traceparent, _ := header(sent[i].Headers, "traceparent")
		if want := fmt.Sprintf("00-%s-%s-01", span.SpanContext().TraceID(), span.SpanContext().SpanID()); traceparent != want {
			t.Fatalf("message %d carries %q, want its span's %q", i, traceparent, want)
		}
	}
}

func TestWriteOfAnAsyncWriterLeavesTheSpansToTheBatches(t *testing.T) {
	recorder := record(t)
	w := &kafka.Writer{Addr: kafka.TCP("a:1", "b:2"), Topic: "orders", Async: true}
	sent, end := Write(w, context.Background(), []kafka.Message{{Value: []byte("v")}})
	var noError error
	end(&noError)
	if n := len(recorder.Ended()); n != 0 {
		t.Fatalf("%d spans ended when WriteMessages returned", n)
	}
	Written(sent, nil)
	spans := recorder.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	// No server for a Writer of two brokers; no partition or offset without acknowledgements.
	want := map[string]any{
		"messaging.system": "kafka", "messaging.operation.type": "send", "messaging.operation.name": "send",
		"messaging.destination.name": "orders",
	}
	if got := attrs(spans[0]); !reflect.DeepEqual(got, want) {
		t.Fatalf("attributes %v, want %v", got, want)
	}
}

func TestWriteThatFailsEndsEachSpanWithItsError(t *testing.T) {
	recorder := record(t)
	w := &kafka.Writer{Addr: kafka.TCP("a:1"), Topic: "orders", Async: true}
	msgs := []kafka.Message{{Value: []byte("v")}, {}}
	_, end := Write(w, context.Background(), msgs)
	err := error(kafka.MessageTooLargeError{Message: msgs[0]})
	end(&err)
	spans := recorder.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	for _, span := range spans {
		if span.Status().Code != codes.Error || attrs(span)["error.type"] != "MESSAGE_SIZE_TOO_LARGE" {
			t.Fatalf("%v %v", span.Status(), attrs(span))
		}
	}
	if attrs(spans[1])["messaging.kafka.message.tombstone"] != true {
		t.Fatalf("a message without value is a tombstone: %v", attrs(spans[1]))
	}

	// A synchronous call's WriteErrors: each message its own.
	recorder = record(t)
	w = &kafka.Writer{Addr: kafka.TCP("a:1"), Topic: "orders"}
	_, end = Write(w, context.Background(), []kafka.Message{{Value: []byte("a")}, {Value: []byte("b")}})
	err = kafka.WriteErrors{nil, kafka.NotLeaderForPartition}
	end(&err)
	spans = recorder.Ended()
	if len(spans) != 2 || spans[0].Status().Code != codes.Unset || attrs(spans[1])["error.type"] != "NOT_LEADER_FOR_PARTITION" {
		t.Fatalf("%v / %v", spans[0].Status(), attrs(spans[1]))
	}
}

func TestWriteLinksTheContextAForwardedMessageCarried(t *testing.T) {
	recorder := record(t)
	earlier := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	w := &kafka.Writer{Addr: kafka.TCP("a:1"), Topic: "orders"}
	sent, end := Write(w, context.Background(), []kafka.Message{{Headers: []kafka.Header{{Key: "traceparent", Value: []byte(earlier)}}}})
	Written(sent, nil)
	var noError error
	end(&noError)
	span := recorder.Ended()[0]
	if got, n := header(sent[0].Headers, "traceparent"); n != 1 || got == earlier {
		t.Fatalf("the old traceparent stays: %q (%d)", got, n)
	}
	if len(span.Links()) != 1 || span.Links()[0].SpanContext.SpanID().String() != "b7ad6b7169203331" {
		t.Fatalf("links %v", span.Links())
	}
	if span.Parent().IsValid() {
		t.Fatal("the forwarded context is no parent")
	}
}

func newReader(t *testing.T, config kafka.ReaderConfig) *kafka.Reader {
	t.Helper()
	r := kafka.NewReader(config) // connects on the first fetch only
	t.Cleanup(func() { Close(r); _ = r.Close() })
	return r
}

// fetched is what the hooks do around a FetchMessage call that returns m.
func fetched(r *kafka.Reader, ctx context.Context, m kafka.Message) {
	_, end := Receive(r, ctx)
	var noError error
	end(&m, &noError)
}

// The process spans' rules are kafkamsg's (tested there); these tests are of
// what kafka-go hands them: the Reader's configuration, its messages, the
// context of its calls.

func TestProcessSpanOfAFetchedMessageEndsAtTheNextFetch(t *testing.T) {
	recorder := record(t)
	goroutineStore(t)
	r := newReader(t, kafka.ReaderConfig{Brokers: []string{"broker.example"}, GroupID: "billing", Topic: "orders"})
	producerCtx, producer := otel.Tracer("test").Start(context.Background(), "send orders")
	headers := []kafka.Header{{Key: "source", Value: []byte("web")}}
	otel.GetTextMapPropagator().Inject(producerCtx, kafkamsg.HeaderCarrier(&headers))
	producer.End()

	fetched(r, context.Background(), kafka.Message{Topic: "orders", Partition: 3, Offset: 7, Value: []byte("v"), Headers: headers})
	if otelrt.GoroutineContext() == nil {
		t.Fatal("no process span is active on the goroutine")
	}
	_, end := Receive(r, context.Background()) // the next call
	if otelrt.GoroutineContext() != nil {
		t.Fatal("the goroutine's previous active context is not back")
	}
	errEOF := io.EOF
	end(nil, &errEOF) // returned no message: no span

	spans := recorder.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want producer, process", len(spans))
	}
	process := spans[1]
	if process.Name() != "process orders" || process.Parent().SpanID() != producer.SpanContext().SpanID() {
		t.Fatalf("%q, parent %v: not the producer's child", process.Name(), process.Parent().SpanID())
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

func TestReadMessagesOwnCommitEndsNothingTheProgramsDoes(t *testing.T) {
	recorder := record(t)
	goroutineStore(t)
	r := newReader(t, kafka.ReaderConfig{Brokers: []string{"a:1", "b:2"}, GroupID: "billing", Topic: "orders"})
	m := kafka.Message{Topic: "orders", Offset: 1}

	// ReadMessage: its inner FetchMessage and CommitMessages see the context it marked.
	inner, end := Receive(r, context.Background())
	_, innerEnd := Receive(r, inner)
	var noError error
	innerEnd(&m, &noError)
	Commit(r, inner, []kafka.Message{m})
	end(&m, &noError)
	if n := len(recorder.Ended()); n != 0 {
		t.Fatalf("%d spans ended inside ReadMessage", n)
	}
	if otelrt.GoroutineContext() == nil {
		t.Fatal("ReadMessage's message has no active span")
	}

	Commit(r, context.Background(), []kafka.Message{{Topic: "orders", Offset: 1}})
	spans := recorder.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans after the program's commit", len(spans))
	}
	if _, ok := attrs(spans[0])["server.address"]; ok {
		t.Fatal("a Reader of two brokers names a server")
	}
}

func TestCloseEndsTheSpansStillOpenAndTheCallsSpanIsLinked(t *testing.T) {
	recorder := record(t)
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{"a:1"}, Topic: "orders"})
	defer r.Close()
	ambientCtx, ambient := otel.Tracer("test").Start(context.Background(), "request")
	producerCtx, _ := otel.Tracer("test").Start(context.Background(), "send orders")
	var headers []kafka.Header
	otel.GetTextMapPropagator().Inject(producerCtx, kafkamsg.HeaderCarrier(&headers))

	// No goroutine store here: the Reader's next call would end it; Close does first.
	fetched(r, ambientCtx, kafka.Message{Topic: "orders", Offset: 4, Headers: headers})
	Close(r)
	spans := recorder.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	process := spans[0]
	links := process.Links()
	if len(links) != 2 || links[1].SpanContext.SpanID() != ambient.SpanContext().SpanID() {
		t.Fatalf("links %v: want the creation context and the span of the call's context", links)
	}
	if _, ok := attrs(process)["messaging.consumer.group.name"]; ok {
		t.Fatal("a Reader without GroupID names a group")
	}
	if attrs(process)["messaging.kafka.message.tombstone"] != true {
		t.Fatal("a message without value is a tombstone")
	}
}

func TestWithoutGoroutineStoreTheReadersNextCallEndsTheSpan(t *testing.T) {
	recorder := record(t)
	r := newReader(t, kafka.ReaderConfig{Brokers: []string{"a:1"}, Topic: "orders"})
	fetched(r, context.Background(), kafka.Message{Topic: "orders", Offset: 0, Value: []byte("v")})
	if n := len(recorder.Ended()); n != 0 {
		t.Fatalf("%d spans ended early", n)
	}
	fetched(r, context.Background(), kafka.Message{Topic: "orders", Offset: 1, Value: []byte("v")})
	if n := len(recorder.Ended()); n != 1 {
		t.Fatalf("%d spans ended by the next call, want 1", n)
	}
}

func TestErrorTypes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{kafka.UnknownTopicOrPartition, "UNKNOWN_TOPIC_OR_PARTITION"},
		{fmt.Errorf("kafka.(*Client).Produce: %w", kafka.RequestTimedOut), "REQUEST_TIMED_OUT"},
		{kafka.MessageTooLargeError{}, "MESSAGE_SIZE_TOO_LARGE"},
		{context.Canceled, "context.Canceled"},
		{fmt.Errorf("fetching message: %w", context.DeadlineExceeded), "context.DeadlineExceeded"},
		{io.ErrClosedPipe, "io.ErrClosedPipe"},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, "*net.OpError"},
		{fmt.Errorf("dialing: %w", &net.OpError{Op: "dial", Err: errors.New("refused")}), "*net.OpError"},
		{errors.New("kafka.(*Writer).WriteMessages: cannot create a kafka writer with a nil address"), "_OTHER"},
		{kafka.Error(-2), "_OTHER"},
	} {
		if got := errorType(c.err); got != c.want {
			t.Errorf("errorType(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestServerAttributes(t *testing.T) {
	for _, c := range []struct {
		addr net.Addr
		want []attribute.KeyValue
	}{
		{kafka.TCP("127.0.0.1:39092"), []attribute.KeyValue{attribute.String("server.address", "127.0.0.1"), attribute.Int("server.port", 39092)}},
		{kafka.TCP("kafka.example"), []attribute.KeyValue{attribute.String("server.address", "kafka.example"), attribute.Int("server.port", 9092)}},
		{kafka.TCP("[::1]:9093"), []attribute.KeyValue{attribute.String("server.address", "::1"), attribute.Int("server.port", 9093)}},
		{kafka.TCP("a:1", "b:2"), nil},
		{nil, nil},
	} {
		if got := kafkamsg.Server(addresses(c.addr)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("the server of %v: %v, want %v", c.addr, got, c.want)
		}
	}
	if got := addresses(kafka.TCP("a:1", "b:2")); !reflect.DeepEqual(got, []string{"a:1", "b:2"}) {
		t.Errorf("addresses of two: %v", got)
	}
}
