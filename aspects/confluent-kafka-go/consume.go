package confluentkafkatrace

import (
	"context"
	"strconv"
	"sync"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// # Receiving
//
// A Consumer is pulled from: the program calls Poll (or ReadMessage, which
// calls Poll until it gets a message or an error), gets a message, handles
// it, and polls again. librdkafka fetches from the broker in threads of its
// own, ahead of the program, and Poll hands out what was fetched. So there
// is no span of the call itself (a "receive" span would time the wait on
// librdkafka's queue, not the broker, and make one more trace per message);
// each message returned gets one span of its handling:
//
//   - "process {topic}", kind CONSUMER, started when Poll returns the
//     message (a *kafka.Message without an error);
//   - its parent is the message's creation context, extracted from its
//     headers through the configured propagators: the producer's send span,
//     so that the message's producer and its consumer are one trace (the
//     conventions allow the creation context as the parent of a process span
//     for a single message). It also links to that context, as the
//     conventions ask of every process span, and, when the call was made
//     under a span of the program's (the goroutine's active span), to that
//     span too. A message that carries no creation context is a child of
//     that span instead;
//   - it is the goroutine's active span while the program handles the
//     message, so that what the handler does (an annotated function, an
//     HTTP call, a message it sends in turn) is its child;
//   - it ends at the first of: the goroutine's next Poll or ReadMessage (of
//     any Consumer): the program is done with this message and asks for
//     another; a CommitMessage or StoreMessage of this message (from any
//     goroutine): the program settles it (StoreMessage is how a program
//     with enable.auto.offset.store false says a message is handled); the
//     Consumer's Close. The goroutine's active span
//     is then the one it had before. A message whose handling the program
//     hands to another goroutine is still that goroutine's parent, but its
//     span may end first.
//
// Attributes: messaging.system "kafka", messaging.operation.type and
// messaging.operation.name "process", messaging.destination.name,
// messaging.destination.partition.id, messaging.kafka.offset,
// messaging.consumer.group.name (the Consumer's group.id),
// messaging.kafka.message.tombstone for a message without value, and
// server.address and server.port of the Consumer's broker when its
// bootstrap.servers name one. A Poll that returns anything else (an error,
// a rebalance, nothing) has no span; nothing of the program's handling is
// known to be an error, and the commit's outcome is not recorded on it.
// The deprecated Events() channel of a Consumer (go.events.channel.enable)
// is fed by the library's own goroutine: its messages get no span.

// A Consumer's state: its attributes, and its messages' spans still open.
type consumerState struct {
	attrs []attribute.KeyValue // of every span of the Consumer

	mu      sync.Mutex
	closing bool
	open    map[position]*processing
	// loose is the span of the message the Consumer returned last, when the
	// goroutine's active span cannot be kept (the goroutines integration
	// off): the Consumer's next Poll ends it instead.
	loose *processing
}

// A message's place in Kafka: what CommitMessage and StoreMessage name it by.
type position struct {
	topic     string
	partition int32
	offset    kafka.Offset
}

// The span of the handling of one message.
type processing struct {
	state *consumerState
	at    position
	span  trace.Span
	ctx   context.Context // the goroutine's active context while it is open
	// restore puts the goroutine's previous active context back; nil when
	// there is no goroutine-local store (the goroutines integration off).
	restore func()
	once    sync.Once
}

var consumers sync.Map // *kafka.Consumer -> *consumerState

// NewConsumer is called with every Consumer that NewConsumer makes and the
// configuration it was made with.
func NewConsumer(conf *kafka.ConfigMap, c *kafka.Consumer) {
	attrs := []attribute.KeyValue{semconv.MessagingSystemKafka, semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process")}
	if conf != nil {
		if group, ok := (*conf)["group.id"].(string); ok && group != "" {
			attrs = append(attrs, semconv.MessagingConsumerGroupName(group))
		}
	}
	attrs = append(attrs, serverAttributes(brokers(conf))...)
	consumers.Store(c, &consumerState{attrs: attrs, open: map[position]*processing{}})
}

// processingKey holds, in the context a process span is active with, that span's record.
type processingKey struct{}

// Poll is called first thing in Consumer.Poll: it ends the span of the
// message the goroutine was handling, and returns the function Poll calls,
// deferred, with the event it returns, which starts the span of a message.
// It returns nil for a Consumer it does not know or one that is closing
// (Close polls until librdkafka is done).
func Poll(c *kafka.Consumer) func(kafka.Event) {
	s, ok := consumers.Load(c)
	if !ok {
		return nil
	}
	state := s.(*consumerState)
	state.mu.Lock()
	closing := state.closing
	loose := state.loose
	state.loose = nil
	state.mu.Unlock()
	if closing {
		return nil
	}
	endActive()
	if loose != nil {
		loose.end()
	}
	return func(ev kafka.Event) {
		if m, ok := ev.(*kafka.Message); ok && m != nil && m.TopicPartition.Error == nil {
			startProcessing(state, m)
		}
	}
}

// endActive ends the process span that is the goroutine's active span, if one is.
func endActive() {
	active := otelrt.GoroutineContext()
	if active == nil {
		return
	}
	if p, ok := active.Value(processingKey{}).(*processing); ok {
		p.end()
	}
}

func startProcessing(state *consumerState, m *kafka.Message) {
	topic := ""
	if m.TopicPartition.Topic != nil {
		topic = *m.TopicPartition.Topic
	}
	parent := otelrt.Parent(context.Background()) // the program's span, if the call was made under one
	ambient := trace.SpanContextFromContext(parent)
	creation := trace.SpanContextFromContext(otel.GetTextMapPropagator().Extract(context.Background(), headerCarrier{&m.Headers}))
	attrs := make([]attribute.KeyValue, 0, len(state.attrs)+4)
	attrs = append(attrs, state.attrs...)
	attrs = append(attrs, semconv.MessagingDestinationName(topic),
		semconv.MessagingDestinationPartitionID(strconv.Itoa(int(m.TopicPartition.Partition))),
		semconv.MessagingKafkaOffset(int(m.TopicPartition.Offset)))
	if m.Value == nil {
		attrs = append(attrs, semconv.MessagingKafkaMessageTombstone(true))
	}
	options := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...)}
	if creation.IsValid() {
		parent = trace.ContextWithRemoteSpanContext(context.Background(), creation)
		options = append(options, trace.WithLinks(trace.Link{SpanContext: creation}))
		if ambient.IsValid() {
			options = append(options, trace.WithLinks(trace.Link{SpanContext: ambient}))
		}
	}
	spanCtx, span := tracer.Start(parent, spanName("process", topic), options...)
	p := &processing{state: state, at: position{topic, m.TopicPartition.Partition, m.TopicPartition.Offset}, span: span}
	p.ctx = context.WithValue(spanCtx, processingKey{}, p)
	state.mu.Lock()
	if earlier := state.open[p.at]; earlier != nil {
		defer earlier.end() // the same message again (a seek back): its handling is over
	}
	state.open[p.at] = p
	state.mu.Unlock()
	restore := otelrt.Activate(p.ctx)
	if otelrt.GoroutineContext() == p.ctx {
		p.restore = restore
		return
	}
	state.mu.Lock()
	state.loose = p
	state.mu.Unlock()
}

// end ends the span once; on the goroutine where it is the active span, the
// previous active context comes back.
func (p *processing) end() {
	p.once.Do(func() {
		p.state.mu.Lock()
		if p.state.open[p.at] == p {
			delete(p.state.open, p.at)
		}
		if p.state.loose == p {
			p.state.loose = nil
		}
		p.state.mu.Unlock()
		p.span.End()
	})
	if p.restore != nil && otelrt.GoroutineContext() == p.ctx {
		p.restore()
	}
}

// Commit is called first thing in Consumer.CommitMessage and StoreMessage:
// the message the program commits or stores is handled, its span ends.
func Commit(c *kafka.Consumer, m *kafka.Message) {
	if m == nil || m.TopicPartition.Topic == nil {
		return
	}
	s, ok := consumers.Load(c)
	if !ok {
		return
	}
	state := s.(*consumerState)
	state.mu.Lock()
	p := state.open[position{*m.TopicPartition.Topic, m.TopicPartition.Partition, m.TopicPartition.Offset}]
	state.mu.Unlock()
	if p != nil {
		p.end()
	}
}

// Close is called first thing in Consumer.Close: the spans of the messages
// still being handled end, and the Consumer polls no more spans. It returns
// the function Close calls, deferred, that forgets the Consumer.
func Close(c *kafka.Consumer) func() {
	s, ok := consumers.Load(c)
	if !ok {
		return func() {}
	}
	state := s.(*consumerState)
	state.mu.Lock()
	state.closing = true
	done := make([]*processing, 0, len(state.open))
	for _, p := range state.open {
		done = append(done, p)
	}
	state.mu.Unlock()
	for _, p := range done {
		p.end()
	}
	return func() { consumers.Delete(c) }
}
