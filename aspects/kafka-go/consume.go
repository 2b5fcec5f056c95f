package kafkagotrace

import (
	"context"
	"strconv"
	"sync"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// # Receiving
//
// A Reader is pulled from: the program calls ReadMessage or FetchMessage,
// gets a message, handles it, and asks for the next one. kafka-go fetches
// from the broker in goroutines of its own, ahead of the program, and those
// calls hand out what was fetched. So there is no span of the call itself
// (a "receive" span would time the wait on kafka-go's buffer, not the
// broker, and make one more trace per message); each message returned gets
// one span of its handling:
//
//   - "process {topic}", kind CONSUMER, started when ReadMessage or
//     FetchMessage returns the message;
//   - its parent is the message's creation context, extracted from its
//     headers through the configured propagators: the producer's send span,
//     so that the message's producer and its consumer are one trace (the
//     conventions allow the creation context as the parent of a process span
//     for a single message). It also links to that context, as the
//     conventions ask of every process span, and, when the call was made
//     under a span of the program's (in the context passed, else the
//     goroutine's active span), to that span too. A message that carries no
//     creation context is a child of that span instead;
//   - it is the goroutine's active span while the program handles the
//     message, so that what the handler does (an annotated function, an
//     HTTP call, a message it sends in turn) is its child;
//   - it ends at the first of: the goroutine's next ReadMessage or
//     FetchMessage call (of any Reader): the program is done with this
//     message and asks for another; a CommitMessages of this message (from
//     any goroutine): the program settles it; the Reader's Close. The
//     goroutine's active span is then the one it had before. ReadMessage's
//     own commit (with a GroupID) is not the program's and ends nothing.
//     A message whose handling the program hands to another goroutine is
//     still that goroutine's parent, but its span may end first;
//
// Attributes: messaging.system "kafka", messaging.operation.type and
// messaging.operation.name "process", messaging.destination.name,
// messaging.destination.partition.id, messaging.kafka.offset,
// messaging.consumer.group.name (a Reader with a GroupID),
// messaging.kafka.message.tombstone for a message without value, and
// server.address and server.port of the Reader's broker when its Brokers
// name one. A call that returns no message (an error, a closed Reader, a
// context done) has no span; nothing of the program's handling is known to
// be an error, and the commit's outcome is not recorded on it.

// A Reader's state: its attributes, and its messages' spans still open.
type readerState struct {
	attrs []attribute.KeyValue // of every span of the Reader

	mu   sync.Mutex
	open map[position]*processing
	// loose is the span of the message the Reader returned last, when the
	// goroutine's active span cannot be kept (the goroutines integration
	// off): the Reader's next ReadMessage or FetchMessage ends it instead.
	loose *processing
}

// A message's place in Kafka: what CommitMessages names it by.
type position struct {
	topic     string
	partition int
	offset    int64
}

// The span of the handling of one message.
type processing struct {
	state *readerState
	at    position
	span  trace.Span
	ctx   context.Context // the goroutine's active context while it is open
	// restore puts the goroutine's previous active context back; nil when
	// there is no goroutine-local store (the goroutines integration off).
	restore func()
	once    sync.Once
}

var readers sync.Map // *kafka.Reader -> *readerState

func stateOf(r *kafka.Reader) *readerState {
	if s, ok := readers.Load(r); ok {
		return s.(*readerState)
	}
	config := r.Config()
	attrs := []attribute.KeyValue{semconv.MessagingSystemKafka, semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process")}
	if config.GroupID != "" {
		attrs = append(attrs, semconv.MessagingConsumerGroupName(config.GroupID))
	}
	attrs = append(attrs, serverAttributes(config.Brokers)...)
	s, _ := readers.LoadOrStore(r, &readerState{attrs: attrs, open: map[position]*processing{}})
	return s.(*readerState)
}

// processingKey holds, in the context a process span is active with, that span's record.
type processingKey struct{}

// innerKey marks the context ReadMessage hands to its own FetchMessage and
// CommitMessages calls: their hooks leave the work to ReadMessage's.
type innerKey struct{}

// Receive is called first thing in Reader.ReadMessage and FetchMessage: it
// ends the span of the message the goroutine was handling, and returns the
// context the method goes on with (marked, so that the calls it makes of the
// Reader's other methods are not taken for the program's) and the function it
// calls, deferred, with the addresses of its results, which starts the span
// of the message it returns.
func Receive(r *kafka.Reader, ctx context.Context) (context.Context, func(*kafka.Message, *error)) {
	if ctx == nil || ctx.Value(innerKey{}) != nil {
		return ctx, func(*kafka.Message, *error) {}
	}
	endActive()
	if s, ok := readers.Load(r); ok {
		state := s.(*readerState)
		state.mu.Lock()
		loose := state.loose
		state.loose = nil
		state.mu.Unlock()
		if loose != nil {
			loose.end()
		}
	}
	inner := context.WithValue(ctx, innerKey{}, true)
	return inner, func(m *kafka.Message, errp *error) {
		if m == nil || errp == nil || *errp != nil {
			return
		}
		startProcessing(r, ctx, m)
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

func startProcessing(r *kafka.Reader, ctx context.Context, m *kafka.Message) {
	state := stateOf(r)
	parent := otelrt.Parent(ctx) // the program's span, if the call was made under one
	ambient := trace.SpanContextFromContext(parent)
	creation := trace.SpanContextFromContext(otel.GetTextMapPropagator().Extract(context.Background(), headerCarrier{&m.Headers}))
	attrs := make([]attribute.KeyValue, 0, len(state.attrs)+4)
	attrs = append(attrs, state.attrs...)
	attrs = append(attrs, semconv.MessagingDestinationName(m.Topic),
		semconv.MessagingDestinationPartitionID(strconv.Itoa(m.Partition)),
		semconv.MessagingKafkaOffset(int(m.Offset)))
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
	spanCtx, span := tracer.Start(parent, spanName("process", m.Topic), options...)
	p := &processing{state: state, at: position{m.Topic, m.Partition, m.Offset}, span: span}
	p.ctx = context.WithValue(spanCtx, processingKey{}, p)
	state.mu.Lock()
	if earlier := state.open[p.at]; earlier != nil {
		defer earlier.end() // the same message again (SetOffset back): its handling is over
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

// Commit is called first thing in Reader.CommitMessages: the messages the
// program commits are handled, their spans end.
func Commit(r *kafka.Reader, ctx context.Context, msgs []kafka.Message) {
	if ctx != nil && ctx.Value(innerKey{}) != nil {
		return // ReadMessage's own commit
	}
	s, ok := readers.Load(r)
	if !ok {
		return
	}
	state := s.(*readerState)
	var done []*processing
	state.mu.Lock()
	for _, m := range msgs {
		if p := state.open[position{m.Topic, m.Partition, m.Offset}]; p != nil {
			done = append(done, p)
		}
	}
	state.mu.Unlock()
	for _, p := range done {
		p.end()
	}
}

// Close is called first thing in Reader.Close: the spans of the messages
// still being handled end, and the Reader is forgotten.
func Close(r *kafka.Reader) {
	s, ok := readers.LoadAndDelete(r)
	if !ok {
		return
	}
	state := s.(*readerState)
	state.mu.Lock()
	done := make([]*processing, 0, len(state.open))
	for _, p := range state.open {
		done = append(done, p)
	}
	state.mu.Unlock()
	for _, p := range done {
		p.end()
	}
}
