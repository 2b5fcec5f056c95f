package saramatrace

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// consumerGroup is sarama's ConsumerGroup whose Consume wraps its handler.
// The client is the group's (made here, own: closed with the group, as
// sarama does with the client it makes).
type consumerGroup struct {
	sarama.ConsumerGroup
	client    sarama.Client
	own       bool
	group     string
	closeOnce sync.Once
}

// NewConsumerGroup stands in for sarama.NewConsumerGroup: the group is made
// from a client made here from the same addresses and Config (as sarama does
// inside), which knows the partitions' leaders.
func NewConsumerGroup(addrs []string, groupID string, config *sarama.Config) (sarama.ConsumerGroup, error) {
	if config != nil && !config.Version.IsAtLeast(sarama.V0_10_2_0) {
		return sarama.NewConsumerGroup(addrs, groupID, config) // sarama's own answer to a Config it refuses
	}
	client, err := sarama.NewClient(addrs, config)
	if err != nil {
		return nil, err
	}
	g, err := sarama.NewConsumerGroupFromClient(groupID, client)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	return &consumerGroup{ConsumerGroup: g, client: client, own: true, group: groupID}, nil
}

// NewConsumerGroupFromClient stands in for sarama.NewConsumerGroupFromClient.
func NewConsumerGroupFromClient(groupID string, client sarama.Client) (sarama.ConsumerGroup, error) {
	g, err := sarama.NewConsumerGroupFromClient(groupID, client)
	if err != nil {
		return g, err
	}
	return &consumerGroup{ConsumerGroup: g, client: client, group: groupID}, nil
}

func (g *consumerGroup) Consume(ctx context.Context, topics []string, handler sarama.ConsumerGroupHandler) error {
	if handler == nil {
		return g.ConsumerGroup.Consume(ctx, topics, handler)
	}
	return g.ConsumerGroup.Consume(ctx, topics, &groupHandler{inner: handler, group: g})
}

func (g *consumerGroup) Close() error {
	err := g.ConsumerGroup.Close()
	if g.own {
		g.closeOnce.Do(func() { closeClient(g.client) })
	}
	return err
}

// groupHandler is the program's handler for one Consume call (one session).
// The handler sees this package's session (Setup, ConsumeClaim, Cleanup),
// whose MarkMessage and MarkOffset say when a message is done, and this
// package's claims, whose Messages come through a dispatcher.
type groupHandler struct {
	inner sarama.ConsumerGroupHandler
	group *consumerGroup

	mu       sync.Mutex
	sessions map[sarama.ConsumerGroupSession]*session
}

func (h *groupHandler) session(s sarama.ConsumerGroupSession) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessions == nil {
		h.sessions = make(map[sarama.ConsumerGroupSession]*session)
	}
	ours := h.sessions[s]
	if ours == nil {
		ours = &session{ConsumerGroupSession: s, claims: make(map[topicPartition]*dispatcher)}
		h.sessions[s] = ours
	}
	return ours
}

func (h *groupHandler) Setup(s sarama.ConsumerGroupSession) error {
	return h.inner.Setup(h.session(s))
}

func (h *groupHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	err := h.inner.Cleanup(h.session(s))
	h.mu.Lock()
	delete(h.sessions, s)
	h.mu.Unlock()
	return err
}

func (h *groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	sess := h.session(s)
	d := newDispatcher(c, h.group)
	sess.add(d)
	go d.run()
	restore := otelrt.Activate(current{d})
	err := h.inner.ConsumeClaim(sess, &claim{ConsumerGroupClaim: c, d: d})
	restore()
	d.finish(err)
	sess.remove(d)
	return err
}

type topicPartition struct {
	topic     string
	partition int32
}

// session is the program's view of sarama's session: marks tell the
// dispatcher of that partition that the handler is done with a message.
type session struct {
	sarama.ConsumerGroupSession
	mu     sync.Mutex
	claims map[topicPartition]*dispatcher
}

func (s *session) add(d *dispatcher) {
	s.mu.Lock()
	s.claims[d.tp] = d
	s.mu.Unlock()
}

func (s *session) remove(d *dispatcher) {
	s.mu.Lock()
	if s.claims[d.tp] == d {
		delete(s.claims, d.tp)
	}
	s.mu.Unlock()
}

func (s *session) marked(topic string, partition int32, next int64) {
	s.mu.Lock()
	d := s.claims[topicPartition{topic, partition}]
	s.mu.Unlock()
	if d != nil {
		d.marked(next)
	}
}

func (s *session) MarkMessage(msg *sarama.ConsumerMessage, metadata string) {
	s.ConsumerGroupSession.MarkMessage(msg, metadata)
	if msg != nil {
		s.marked(msg.Topic, msg.Partition, msg.Offset+1)
	}
}

func (s *session) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	s.ConsumerGroupSession.MarkOffset(topic, partition, offset, metadata)
	s.marked(topic, partition, offset)
}

// claim is sarama's claim whose messages come through the dispatcher.
type claim struct {
	sarama.ConsumerGroupClaim
	d *dispatcher
}

func (c *claim) Messages() <-chan *sarama.ConsumerMessage { return c.d.out }

// --- the dispatcher -----------------------------------------------------------
//
// A channel receive runs no code of ours, so when the handler takes a message
// is known from the dispatcher's side: it hands the claim's messages one by
// one through an unbuffered channel, and the handler's goroutine has as its
// active span a context whose span is the dispatcher's current one (current).
//
// The handler tells it is done with a message by marking it (MarkMessage, or
// MarkOffset past it), as a consumer group's handler does for its offsets to
// be committed. Then the dispatcher ends that message's span and, with the
// next message in hand, starts its span and makes it current BEFORE handing
// it over: the handler's spans for that message are its children from the
// first. A handler that takes the next message without marking the last one
// (it commits otherwise, or not at all) still gets a span per message, which
// the dispatcher starts when the handoff is done: spans the handler starts
// in the moments before the dispatcher runs again nest under the previous
// message's span.
//
// Goroutines the handler starts inherit that context: a span one of them
// starts is the child of the message the handler is at when it starts.
//
// A span, once started, cannot be taken back: if the session ends (a
// rebalance, the program's cancel) after the dispatcher made the next
// message current but before the handler took it, that message has a
// process span although the handler never saw it (sarama hands it again in
// the next session, with a span of its own).

type dispatcher struct {
	claim  sarama.ConsumerGroupClaim
	group  *consumerGroup
	tp     topicPartition
	out    chan *sarama.ConsumerMessage
	notify chan struct{} // a mark came (capacity 1)
	stop   chan struct{} // closed when ConsumeClaim returns
	exited chan struct{}

	server []attribute.KeyValue // the partition's leader, once known
	cur    atomic.Pointer[processing]
	done   atomic.Int64 // the next offset the handler has marked
}

// processing is a message's span, current while the handler works on it.
type processing struct {
	offset int64
	span   trace.Span
	ctx    context.Context // carries span
	ended  atomic.Bool
}

func (p *processing) end() {
	if p != nil && p.ended.CompareAndSwap(false, true) {
		p.span.End()
	}
}

func newDispatcher(c sarama.ConsumerGroupClaim, g *consumerGroup) *dispatcher {
	d := &dispatcher{
		claim:  c,
		group:  g,
		tp:     topicPartition{c.Topic(), c.Partition()},
		out:    make(chan *sarama.ConsumerMessage),
		notify: make(chan struct{}, 1),
		stop:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	d.done.Store(-1)
	return d
}

func (d *dispatcher) marked(next int64) {
	for {
		old := d.done.Load()
		if next <= old || d.done.CompareAndSwap(old, next) {
			break
		}
	}
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// handled says whether the handler is done with the current message.
func (d *dispatcher) handled() bool {
	cur := d.cur.Load()
	return cur == nil || d.done.Load() > cur.offset
}

func (d *dispatcher) run() {
	defer close(d.exited)
	in := d.claim.Messages()
	for {
		var msg *sarama.ConsumerMessage
		select {
		case m, ok := <-in:
			if !ok {
				close(d.out) // the handler's range over Messages ends, as sarama's would
				return
			}
			msg = m
		case <-d.notify:
			if d.handled() {
				d.cur.Load().end()
			}
			continue
		case <-d.stop:
			return
		}
		if msg == nil {
			continue
		}
		if !d.handoff(msg) {
			return
		}
	}
}

// handoff gives msg to the handler; false when ConsumeClaim returned first.
func (d *dispatcher) handoff(msg *sarama.ConsumerMessage) bool {
	for !d.handled() {
		select {
		case d.out <- msg: // the handler came for it without marking the last one
			d.begin(msg)
			return true
		case <-d.notify:
		case <-d.stop:
			return false
		}
	}
	d.begin(msg)
	select {
	case d.out <- msg:
		return true
	case <-d.stop:
		return false
	}
}

// begin ends the current message's span and makes msg's current.
func (d *dispatcher) begin(msg *sarama.ConsumerMessage) {
	d.cur.Load().end()
	parent := otel.GetTextMapPropagator().Extract(background, consumerHeaders(msg.Headers))
	attrs := common(semconv.MessagingOperationTypeProcess, "process", msg.Topic)
	attrs = append(attrs, placed(msg.Partition, msg.Offset)...)
	attrs = append(attrs, semconv.MessagingConsumerGroupName(d.group.group), semconv.MessagingMessageBodySize(len(msg.Value)))
	if d.server == nil {
		d.server = leader(d.group.client, msg.Topic, msg.Partition)
	}
	attrs = append(attrs, d.server...)
	ctx, span := tracer.Start(parent, spanName("process", msg.Topic),
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	d.cur.Store(&processing{offset: msg.Offset, span: span, ctx: ctx})
}

// finish stops the dispatcher once ConsumeClaim has returned err and ends
// the current span, an error if the handler returned one while on it.
func (d *dispatcher) finish(err error) {
	close(d.stop)
	<-d.exited
	cur := d.cur.Load()
	if cur != nil && err != nil && !cur.ended.Load() {
		failed(cur.span, err)
	}
	cur.end()
}

// current is the handler goroutine's active span context: the span of the
// message the dispatcher has made current (no deadline, never done: only
// its span is read).
type current struct{ d *dispatcher }

func (current) Deadline() (time.Time, bool) { return time.Time{}, false }
func (current) Done() <-chan struct{}       { return nil }
func (current) Err() error                  { return nil }

func (c current) Value(key any) any {
	if cur := c.d.cur.Load(); cur != nil {
		return cur.ctx.Value(key)
	}
	return nil
}
