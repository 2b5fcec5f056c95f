package kafkamsg

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// A consumer is pulled from: the program asks it for a message, handles the
// message, and asks for the next one. The client fetches from the broker on
// its own, ahead of the program, and hands out what it fetched; so there is
// no span of the call itself, and each message handed out gets one span of
// its handling:
//
//   - "process {topic}", kind CONSUMER, started when the message is handed
//     out (Consumer.Start);
//   - its parent is the message's creation context, extracted from its
//     headers through the configured propagators: the producer's send span,
//     so that the message's producer and its consumer are one trace. It also
//     links to that context and, when the call was made under a span of the
//     program's (the context passed, else the goroutine's active span), to
//     that span too. A message that carries no creation context is a child
//     of that span instead;
//   - it is the goroutine's active span (otelrt.Activate) while the program
//     handles the message;
//   - it ends at the first of: the goroutine's next call for a message, of
//     any consumer of the integration (Tracker.EndActive); the program's
//     commit of the message, from any goroutine (Consumer.Settle); the
//     consumer's Close. The goroutine's active span is then the one it had
//     before. Without a goroutine-local store (the goroutines integration
//     off) the span cannot be active: it is the consumer's loose span, which
//     the consumer's next call for a message ends (Consumer.Next).

// Position is a message's place in Kafka: what a commit names it by.
type Position struct {
	Topic     string
	Partition int
	Offset    int64
}

// A Tracker is one integration's process spans: the tracer they start with,
// and the goroutines' active one. An integration's Tracker ends only its own
// spans.
type Tracker struct {
	tracer trace.Tracer
}

// NewTracker is the Tracker of the process spans tracer starts.
func NewTracker(tracer trace.Tracer) *Tracker {
	return &Tracker{tracer: tracer}
}

// activeKey holds, in the context a process span is active with, that span's
// record; one key per Tracker.
type activeKey struct{ tracker *Tracker }

// EndActive ends the Tracker's process span that is the goroutine's active
// span, if one is: the goroutine asks for its next message.
func (t *Tracker) EndActive() {
	active := otelrt.GoroutineContext()
	if active == nil {
		return
	}
	if p, ok := active.Value(activeKey{t}).(*processing); ok {
		p.end()
	}
}

// A Consumer is one consumer's process spans still open, and what all of
// them are attributed with.
type Consumer struct {
	tracker *Tracker
	attrs   []attribute.KeyValue // of every span of the consumer

	mu      sync.Mutex
	closing bool
	open    map[Position]*processing
	// loose is the span of the message the consumer handed out last, when
	// the goroutine's active span cannot be kept (the goroutines integration
	// off): the consumer's next call for a message ends it instead.
	loose *processing
}

// Consumer is a consumer whose spans are attributed with messaging.system
// "kafka", messaging.operation.type and messaging.operation.name "process",
// messaging.consumer.group.name (group, none for ""), and the server
// attributes given.
func (t *Tracker) Consumer(group string, server ...attribute.KeyValue) *Consumer {
	attrs := []attribute.KeyValue{system, attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.operation.name", "process")}
	if group != "" {
		attrs = append(attrs, attribute.String("messaging.consumer.group.name", group))
	}
	attrs = append(attrs, server...)
	return &Consumer{tracker: t, attrs: attrs, open: map[Position]*processing{}}
}

// The span of the handling of one message.
type processing struct {
	consumer *Consumer
	at       Position
	span     trace.Span
	ctx      context.Context // the goroutine's active context while it is open
	// restore puts the goroutine's previous active context back; nil when
	// there is no goroutine-local store (the goroutines integration off).
	restore func()
	once    sync.Once
}

// Next is called when the program asks the consumer for its next message
// (beside the Tracker's EndActive): the consumer's loose span ends. It
// returns false, and ends nothing, for a consumer that is closing.
func (c *Consumer) Next() bool {
	c.mu.Lock()
	closing := c.closing
	loose := c.loose
	c.loose = nil
	c.mu.Unlock()
	if closing {
		return false
	}
	if loose != nil {
		loose.end()
	}
	return true
}

// Start starts the span of the message at the position given that the
// consumer hands to the program, from a call made with ctx (nil: none, the
// goroutine's active span is the program's); headers are the message's,
// noValue says it has none (a tombstone). The span is the goroutine's active
// span until it ends.
func (c *Consumer) Start(ctx context.Context, at Position, headers propagation.TextMapCarrier, noValue bool) {
	if ctx == nil {
		ctx = context.Background()
	}
	parent := otelrt.Parent(ctx) // the program's span, if the call was made under one
	ambient := trace.SpanContextFromContext(parent)
	creation := trace.SpanContextFromContext(otel.GetTextMapPropagator().Extract(context.Background(), headers))
	attrs := make([]attribute.KeyValue, 0, len(c.attrs)+4)
	attrs = append(attrs, c.attrs...)
	attrs = append(attrs, attribute.String("messaging.destination.name", at.Topic), Partition(at.Partition), Offset(at.Offset))
	if noValue {
		attrs = append(attrs, tombstone)
	}
	options := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...)}
	if creation.IsValid() {
		parent = trace.ContextWithRemoteSpanContext(context.Background(), creation)
		options = append(options, trace.WithLinks(trace.Link{SpanContext: creation}))
		if ambient.IsValid() {
			options = append(options, trace.WithLinks(trace.Link{SpanContext: ambient}))
		}
	}
	spanCtx, span := c.tracker.tracer.Start(parent, SpanName("process", at.Topic), options...)
	p := &processing{consumer: c, at: at, span: span}
	p.ctx = context.WithValue(spanCtx, activeKey{c.tracker}, p)
	c.mu.Lock()
	if earlier := c.open[p.at]; earlier != nil {
		defer earlier.end() // the same message again (a seek back): its handling is over
	}
	c.open[p.at] = p
	c.mu.Unlock()
	restore := otelrt.Activate(p.ctx)
	if otelrt.GoroutineContext() == p.ctx {
		p.restore = restore
		return
	}
	c.mu.Lock()
	c.loose = p
	c.mu.Unlock()
}

// Settle ends the spans of the messages at the positions given: the program
// commits them, their handling is over.
func (c *Consumer) Settle(at ...Position) {
	var done []*processing
	c.mu.Lock()
	for _, position := range at {
		if p := c.open[position]; p != nil {
			done = append(done, p)
		}
	}
	c.mu.Unlock()
	for _, p := range done {
		p.end()
	}
}

// Close ends the spans of the messages still being handled; the consumer is
// closing: Next returns false from now on.
func (c *Consumer) Close() {
	c.mu.Lock()
	c.closing = true
	done := make([]*processing, 0, len(c.open))
	for _, p := range c.open {
		done = append(done, p)
	}
	c.mu.Unlock()
	for _, p := range done {
		p.end()
	}
}

// end ends the span once; on the goroutine where it is the active span, the
// previous active context comes back.
func (p *processing) end() {
	p.once.Do(func() {
		c := p.consumer
		c.mu.Lock()
		if c.open[p.at] == p {
			delete(c.open, p.at)
		}
		if c.loose == p {
			c.loose = nil
		}
		c.mu.Unlock()
		p.span.End()
	})
	if p.restore != nil && otelrt.GoroutineContext() == p.ctx {
		p.restore()
	}
}
