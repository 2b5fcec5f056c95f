package kgotrace

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestKotelSpanNamesGiveTheOperation(t *testing.T) {
	r := &kgo.Record{Topic: "a b"} // a topic name kotel puts before a space
	for name, want := range map[string]string{
		"a b publish": "send", "a b receive": "receive", "a b process": "process",
	} {
		op, ok := kotelOperation(name, r)
		if !ok || op.name != want {
			t.Errorf("kotelOperation(%q) = %v %v, want %s", name, op, ok, want)
		}
	}
	for _, name := range []string{"a b commit", "other publish", "a bpublish", "publish"} {
		if op, ok := kotelOperation(name, r); ok {
			t.Errorf("kotelOperation(%q) = %v, want none", name, op)
		}
	}
	if op, _ := kotelOperation("a b receive", r); op.kind != trace.SpanKindClient {
		t.Errorf("receive spans are CLIENT spans, got %v", op.kind)
	}
}

func TestAttributesLeaveKeyAndBodyOut(t *testing.T) {
	r := &kgo.Record{Topic: "orders", Key: []byte("secret-key"), Value: []byte("secret-body"), Partition: 3, Offset: 42}
	kotel := []attribute.KeyValue{
		attribute.String("messaging.kafka.message.key", "secret-key"),
		attribute.String("messaging.kafka.consumer.group", "billing"),
		attribute.String("messaging.kafka.client_id", "app-1"),
		attribute.String("messaging.source.name", "orders"),
	}
	got := attrMap(attributes(operations["process"], r, kotel))
	want := map[attribute.Key]any{
		"messaging.system": "kafka", "messaging.destination.name": "orders",
		"messaging.operation.type": "process", "messaging.operation.name": "process",
		"messaging.message.body.size": int64(11), "messaging.destination.partition.id": "3",
		"messaging.kafka.offset": int64(42), "messaging.consumer.group.name": "billing",
		"messaging.client.id": "app-1",
	}
	if len(got) != len(want) {
		t.Errorf("attributes %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k].AsInterface() != v {
			t.Errorf("%s = %v, want %v", k, got[k].AsInterface(), v)
		}
	}
	for _, v := range got {
		if s := v.Emit(); s == "secret-key" || s == "secret-body" {
			t.Errorf("a key or body is recorded: %v", got)
		}
	}

	// A producer's span: no consumer group, no partition or offset yet (sent adds them).
	got = attrMap(attributes(operations["publish"], &kgo.Record{Topic: "orders", Key: []byte("k")}, kotel[1:2]))
	if _, ok := got["messaging.consumer.group.name"]; ok {
		t.Errorf("a send span has a consumer group: %v", got)
	}
	if _, ok := got["messaging.kafka.offset"]; ok {
		t.Errorf("a send span has an offset before the answer: %v", got)
	}
	if !got["messaging.kafka.message.tombstone"].AsBool() {
		t.Errorf("a record with a key and no value is a tombstone: %v", got)
	}
	if got := attrMap(sent(&kgo.Record{Partition: 0, Offset: 7}, nil)); got["messaging.kafka.offset"].AsInt64() != 7 || got["messaging.destination.partition.id"].AsString() != "0" {
		t.Errorf("sent: %v", got)
	}
	if got := sent(&kgo.Record{Partition: 1, Offset: -1}, errors.New("boom")); len(got) != 1 {
		t.Errorf("a failed send has its partition only: %v", got)
	}
	if got := sent(&kgo.Record{Partition: -1}, errors.New("boom")); len(got) != 0 {
		t.Errorf("a record never partitioned has neither: %v", got)
	}
}

func TestErrorType(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{kerr.MessageTooLarge, "MESSAGE_TOO_LARGE"},
		{fmt.Errorf("produce: %w", kerr.UnknownTopicOrPartition), "UNKNOWN_TOPIC_OR_PARTITION"},
		{context.DeadlineExceeded, "context.DeadlineExceeded"},
		{kgo.ErrClientClosed, "*errors.errorString"},
	} {
		if got := errorType(c.err); got != c.want {
			t.Errorf("errorType(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

type other struct{ calls int }

func (o *other) EachRecord(fn func(string)) { o.calls++; fn("x") }

func TestProcessedLeavesOtherMethodsAlone(t *testing.T) {
	o := &other{}
	Processed(o.EachRecord)(func(string) {})
	if o.calls != 1 {
		t.Errorf("another EachRecord was not called through")
	}

	// kgo's: records a hook never saw (no tracer in their Context) are handled as they are.
	var fetches kgo.Fetches = []kgo.Fetch{{Topics: []kgo.FetchTopic{{Topic: "t", Partitions: []kgo.FetchPartition{{
		Records: []*kgo.Record{{Topic: "t"}, {Topic: "t", Context: context.Background()}},
	}}}}}}
	seen := 0
	Processed(fetches.EachRecord)(func(r *kgo.Record) { seen++ })
	if seen != 2 {
		t.Errorf("handled %d records, want 2", seen)
	}
}

// TestSpansThroughKotel runs kotel's own hooks through this package's: a
// produced record's span, its context in the headers, the fetched copy's
// receive span under it, and the process span of a loop over RecordsAll.
func TestSpansThroughKotel(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder)))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	h := &hooks{tracer: kotel.NewTracer(kotel.TracerProvider(provider), kotel.ConsumerGroup("billing"))}

	produced := &kgo.Record{Topic: "orders", Key: []byte("k"), Value: []byte("body"), Context: context.Background()}
	h.OnProduceRecordBuffered(produced)
	produced.Partition, produced.Offset = 0, 5
	h.OnProduceRecordUnbuffered(produced, nil)
	if len(produced.Headers) != 1 || produced.Headers[0].Key != "traceparent" {
		t.Fatalf("headers %v, want a traceparent", produced.Headers)
	}

	fetched := &kgo.Record{Topic: "orders", Key: []byte("k"), Value: []byte("body"), Headers: produced.Headers, Offset: 5}
	h.OnFetchRecordBuffered(fetched)
	h.OnFetchRecordUnbuffered(fetched, true)
	var fetches kgo.Fetches = []kgo.Fetch{{Topics: []kgo.FetchTopic{{Topic: "orders", Partitions: []kgo.FetchPartition{{Records: []*kgo.Record{fetched}}}}}}}
	var inside trace.SpanContext
	for r := range processedSeq(seqOf(fetches)) {
		inside = trace.SpanContextFromContext(r.Context)
	}

	spans := recorder.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	send, receive, process := spans[0], spans[1], spans[2]
	for _, c := range []struct {
		span sdktrace.ReadOnlySpan
		name string
		kind trace.SpanKind
	}{
		{send, "send orders", trace.SpanKindProducer},
		{receive, "receive orders", trace.SpanKindClient},
		{process, "process orders", trace.SpanKindConsumer},
	} {
		if c.span.Name() != c.name || c.span.SpanKind() != c.kind {
			t.Errorf("span %q %v, want %q %v", c.span.Name(), c.span.SpanKind(), c.name, c.kind)
		}
		for _, kv := range c.span.Attributes() {
			if kv.Key == "messaging.kafka.message.key" || kv.Value.Emit() == "body" {
				t.Errorf("%s records %v", c.name, kv)
			}
		}
	}
	if got := attrMap(send.Attributes()); got["messaging.kafka.offset"].AsInt64() != 5 || got["messaging.destination.partition.id"].AsString() != "0" {
		t.Errorf("send attributes %v", got)
	}
	if got := attrMap(receive.Attributes()); got["messaging.consumer.group.name"].AsString() != "billing" {
		t.Errorf("receive attributes %v", got)
	}
	if receive.Parent().SpanID() != send.SpanContext().SpanID() || process.Parent().SpanID() != receive.SpanContext().SpanID() {
		t.Errorf("parents: receive's %v (send %v), process's %v (receive %v)",
			receive.Parent().SpanID(), send.SpanContext().SpanID(), process.Parent().SpanID(), receive.SpanContext().SpanID())
	}
	if inside.SpanID() != process.SpanContext().SpanID() {
		t.Errorf("the loop's body ran in %v, not in the process span %v", inside.SpanID(), process.SpanContext().SpanID())
	}
}

// seqOf is Fetches.RecordsAll, which older kgo releases lack.
func seqOf(fs kgo.Fetches) iter.Seq[*kgo.Record] {
	return func(yield func(*kgo.Record) bool) {
		for _, r := range fs.Records() {
			if !yield(r) {
				return
			}
		}
	}
}

// ours is the hook NewClient gave cl.
func ours(t *testing.T, cl *kgo.Client) *hooks {
	t.Helper()
	all := reflect.ValueOf(cl.OptValue(kgo.WithHooks)) // kgo's hooks type, a []kgo.Hook
	for i := range all.Len() {
		if h, ok := all.Index(i).Interface().(*hooks); ok {
			return h
		}
	}
	t.Fatal("NewClient added no hook")
	return nil
}

func TestNewClientTracesUnlessTheCallerUsesKotel(t *testing.T) {
	opts := []kgo.Opt{kgo.SeedBrokers("127.0.0.1:1"), kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders")}
	cl, err := NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if ours(t, cl).tracer == nil {
		t.Error("a client without kotel gets no tracer")
	}
	if len(opts) != 3 {
		t.Error("the caller's options changed")
	}

	own := kotel.NewKotel(kotel.WithTracer(kotel.NewTracer())).Hooks()
	cl2, err := NewClient(kgo.SeedBrokers("127.0.0.1:1"), kgo.WithHooks(own...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	if ours(t, cl2).tracer != nil {
		t.Error("a client with the caller's kotel Tracer gets a second one")
	}
}
