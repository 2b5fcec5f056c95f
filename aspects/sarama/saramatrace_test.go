package saramatrace

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestHeadersNeedKafka011(t *testing.T) {
	for _, c := range []struct {
		version sarama.KafkaVersion
		want    bool
	}{
		{sarama.V0_10_2_0, false},
		{sarama.V0_11_0_0, true},
		{sarama.V2_1_0_0, true},
	} {
		cfg := sarama.NewConfig()
		cfg.Version = c.version
		if got := headersAllowed(cfg); got != c.want {
			t.Errorf("headersAllowed(%s) = %v, want %v", c.version, got, c.want)
		}
	}
	if !headersAllowed(nil) {
		t.Error("headersAllowed(nil) = false: sarama's default Config has headers")
	}
}

func TestProducerHeadersReplaceTheirNamesAndNeverWriteASharedSlice(t *testing.T) {
	shared := make([]sarama.RecordHeader, 2, 8) // room to grow: an append in place would show
	shared[0] = sarama.RecordHeader{Key: []byte("traceparent"), Value: []byte("old")}
	shared[1] = sarama.RecordHeader{Key: []byte("source"), Value: []byte("web")}
	msg := &sarama.ProducerMessage{Headers: shared}
	c := producerHeaders{msg}
	c.Set("traceparent", "new")
	if got := c.Get("traceparent"); got != "new" {
		t.Errorf("traceparent = %q, want new", got)
	}
	if got := c.Get("source"); got != "web" {
		t.Errorf("source = %q, want web (kept)", got)
	}
	if len(msg.Headers) != 2 || fmt.Sprint(c.Keys()) != "[source traceparent]" {
		t.Errorf("headers %v, want source and one traceparent", c.Keys())
	}
	if string(shared[0].Value) != "old" || string(shared[:3][2].Key) != "" {
		t.Errorf("the program's slice was written to: %q", shared[:3])
	}
}

func TestTheTraceContextCrossesTheHeaders(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "send")
	defer span.End()
	msg := &sarama.ProducerMessage{}
	propagation.TraceContext{}.Inject(ctx, producerHeaders{msg})
	consumed := make([]*sarama.RecordHeader, len(msg.Headers))
	for i := range msg.Headers {
		consumed[i] = &msg.Headers[i]
	}
	got := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), consumerHeaders(consumed)))
	if got.TraceID() != span.SpanContext().TraceID() || got.SpanID() != span.SpanContext().SpanID() || !got.IsRemote() {
		t.Errorf("extracted %v, want the span's context, remote", got)
	}
}

func TestErrorType(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{sarama.ErrMessageSizeTooLarge, "10"},
		{fmt.Errorf("produce: %w", sarama.ErrNotLeaderForPartition), "6"},
		{sarama.ConfigurationError("too large"), "sarama.ConfigurationError"},
		{fmt.Errorf("wrapped: %w", sarama.ErrOutOfBrokers), "*errors.errorString"},
	} {
		if got := errorType(c.err); got != c.want {
			t.Errorf("errorType(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// fakeClaim is a claim whose messages the test sends.
type fakeClaim struct {
	sarama.ConsumerGroupClaim
	messages chan *sarama.ConsumerMessage
}

func (c fakeClaim) Topic() string                            { return "t" }
func (c fakeClaim) Partition() int32                         { return 0 }
func (c fakeClaim) Messages() <-chan *sarama.ConsumerMessage { return c.messages }

// A handler that marks each message has that message's span current from
// the moment it takes it until it marks it, however the goroutines run.
func TestAMarkingHandlerSeesEachMessagesSpanFromTheFirst(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder)).Tracer("test")
	c := fakeClaim{messages: make(chan *sarama.ConsumerMessage, 8)}
	for i := range 5 {
		c.messages <- &sarama.ConsumerMessage{Topic: "t", Offset: int64(i), Value: []byte("v")}
	}
	close(c.messages)
	d := newDispatcher(c, &consumerGroup{group: "g"})
	go d.run()
	active := current{d}
	var seen []trace.SpanID
	for msg := range d.out {
		time.Sleep(time.Millisecond) // let the dispatcher run ahead if it would
		seen = append(seen, trace.SpanFromContext(active).SpanContext().SpanID())
		if msg.Offset == 2 {
			continue // not marked: the next handoff is raced, but still ends its span
		}
		d.marked(msg.Offset + 1)
		time.Sleep(time.Millisecond)
	}
	d.finish(nil)
	spans := recorder.Ended()
	if len(spans) != 5 {
		t.Fatalf("%d spans ended, want 5", len(spans))
	}
	for i, s := range spans {
		if s.Name() != "process t" || s.SpanKind() != trace.SpanKindConsumer {
			t.Errorf("span %d: %s %s", i, s.Name(), s.SpanKind())
		}
		if i < 3 && seen[i] != s.SpanContext().SpanID() { // 3 came after an unmarked one
			t.Errorf("message %d: the handler saw span %s, want its own %s", i, seen[i], s.SpanContext().SpanID())
		}
	}
	if seen[4] != spans[4].SpanContext().SpanID() {
		t.Errorf("message 4: the handler saw span %s, want its own", seen[4])
	}
}
