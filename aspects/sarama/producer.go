package saramatrace

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"weak"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// --- where a message was made ------------------------------------------------

// madeIn holds, for each message made by a `&sarama.ProducerMessage{...}` of
// the program while a span was active, that span; an entry goes when the
// message is sent, or when the message is garbage (a weak key and a cleanup:
// a message that is never sent keeps nothing alive).
var madeIn sync.Map // weak.Pointer[sarama.ProducerMessage] -> trace.Span

// Message stands in for a `&sarama.ProducerMessage{...}` of the program: it
// notes the goroutine's active span, the parent of the message's span when
// it is put into an AsyncProducer's Input channel (whose receiving end runs
// in another goroutine, which knows nothing of the sender's).
func Message(msg *sarama.ProducerMessage) *sarama.ProducerMessage {
	if msg == nil {
		return msg
	}
	ctx := otelrt.GoroutineContext()
	if ctx == nil {
		return msg
	}
	span := trace.SpanFromContext(ctx)
	if !span.SpanContext().IsValid() {
		return msg
	}
	key := weak.Make(msg)
	madeIn.Store(key, span)
	runtime.AddCleanup(msg, func(key weak.Pointer[sarama.ProducerMessage]) { madeIn.Delete(key) }, key)
	return msg
}

// madeInSpan is the span msg was made in (see Message), forgotten once asked.
func madeInSpan(msg *sarama.ProducerMessage) (trace.Span, bool) {
	v, ok := madeIn.LoadAndDelete(weak.Make(msg))
	if !ok {
		return nil, false
	}
	return v.(trace.Span), true
}

// callerParent is the parent of a message sent by a call on the sender's
// goroutine (SendMessage): the goroutine's active span, else the span the
// message was made in.
func callerParent(msg *sarama.ProducerMessage) context.Context {
	ctx := otelrt.Parent(background)
	made, ok := madeInSpan(msg)
	if !trace.SpanContextFromContext(ctx).IsValid() && ok {
		return trace.ContextWithSpan(background, made)
	}
	return ctx
}

// channelParent is the parent of a message put into an Input channel: the
// span it was made in, if any.
func channelParent(msg *sarama.ProducerMessage) context.Context {
	if made, ok := madeInSpan(msg); ok {
		return trace.ContextWithSpan(background, made)
	}
	return background
}

// --- a message's span ---------------------------------------------------------

func spanName(operation, topic string) string {
	if topic == "" {
		return operation
	}
	return operation + " " + topic
}

// startSend starts msg's PRODUCER span and, when headers is true, writes its
// trace context into msg's headers.
func startSend(parent context.Context, msg *sarama.ProducerMessage, headers bool) trace.Span {
	attrs := common(semconv.MessagingOperationTypeSend, "send", msg.Topic)
	if msg.Value != nil {
		attrs = append(attrs, semconv.MessagingMessageBodySize(msg.Value.Length()))
	}
	ctx, span := tracer.Start(parent, spanName("send", msg.Topic),
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	if headers {
		otel.GetTextMapPropagator().Inject(ctx, producerHeaders{msg})
	}
	return span
}

// endSend ends msg's span: written (its partition, offset and the leader it
// went to) or failed with err.
func endSend(span trace.Span, client sarama.Client, msg *sarama.ProducerMessage, err error) {
	if err != nil {
		failed(span, err)
	} else {
		span.SetAttributes(placed(msg.Partition, msg.Offset)...)
		span.SetAttributes(leader(client, msg.Topic, msg.Partition)...)
	}
	span.End()
}

// closeClient closes a client this package made for a producer or a group,
// once the producer or group is closed; as sarama does with its own, an
// error is logged, not returned.
func closeClient(client sarama.Client) {
	if err := client.Close(); err != nil && !errors.Is(err, sarama.ErrClosedClient) {
		sarama.Logger.Println("overlay-gen: closing the producer's client:", err)
	}
}

// --- SyncProducer -------------------------------------------------------------

// syncProducer is sarama's SyncProducer, its SendMessage and SendMessages
// traced. The client is the producer's (made here, then own is true, and
// closed with the producer, as sarama does with the client it makes), whose
// view of the partitions' leaders names the server a message went to.
type syncProducer struct {
	sarama.SyncProducer
	client    sarama.Client
	own       bool
	headers   bool
	closeOnce sync.Once
}

// NewSyncProducer stands in for sarama.NewSyncProducer. The producer is
// made from a client made here from the same addresses and Config (what
// sarama does inside), so that it knows the partitions' leaders.
func NewSyncProducer(addrs []string, config *sarama.Config) (sarama.SyncProducer, error) {
	if config == nil { // as sarama does
		config = sarama.NewConfig()
		config.Producer.Return.Successes = true
	}
	if !config.Producer.Return.Successes || !config.Producer.Return.Errors {
		return sarama.NewSyncProducer(addrs, config) // sarama's own answer to a Config it refuses
	}
	client, err := sarama.NewClient(addrs, config)
	if err != nil {
		return nil, err
	}
	p, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	return &syncProducer{SyncProducer: p, client: client, own: true, headers: headersAllowed(config)}, nil
}

// NewSyncProducerFromClient stands in for sarama.NewSyncProducerFromClient.
func NewSyncProducerFromClient(client sarama.Client) (sarama.SyncProducer, error) {
	p, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		return p, err
	}
	return &syncProducer{SyncProducer: p, client: client, headers: headersAllowed(client.Config())}, nil
}

func (p *syncProducer) SendMessage(msg *sarama.ProducerMessage) (partition int32, offset int64, err error) {
	if msg == nil {
		return p.SyncProducer.SendMessage(msg)
	}
	span := startSend(callerParent(msg), msg, p.headers)
	partition, offset, err = p.SyncProducer.SendMessage(msg)
	endSend(span, p.client, msg, err)
	return partition, offset, err
}

func (p *syncProducer) SendMessages(msgs []*sarama.ProducerMessage) error {
	spans := make([]trace.Span, len(msgs))
	for i, msg := range msgs {
		if msg != nil {
			spans[i] = startSend(callerParent(msg), msg, p.headers)
		}
	}
	err := p.SyncProducer.SendMessages(msgs)
	var failures map[*sarama.ProducerMessage]error
	var perrs sarama.ProducerErrors
	if errors.As(err, &perrs) {
		failures = make(map[*sarama.ProducerMessage]error, len(perrs))
		for _, perr := range perrs {
			if perr != nil {
				failures[perr.Msg] = perr.Err
			}
		}
	}
	for i, msg := range msgs {
		if spans[i] == nil {
			continue
		}
		msgErr := failures[msg]
		if err != nil && failures == nil { // an error about all of them
			msgErr = err
		}
		endSend(spans[i], p.client, msg, msgErr)
	}
	return err
}

func (p *syncProducer) Close() error {
	err := p.SyncProducer.Close()
	if p.own {
		p.closeOnce.Do(func() { closeClient(p.client) })
	}
	return err
}

// --- AsyncProducer ------------------------------------------------------------

// asyncProducer is sarama's AsyncProducer, which reports every message to
// this package: the Config it is made with is a copy of the program's with
// Producer.Return.Successes and .Errors on and this package's interceptor
// last among Producer.Interceptors. The interceptor starts a message's span
// when sarama's dispatcher takes it from the Input channel (the program's
// own channel: sarama's order and transactions are untouched); its success
// or failure ends it, then goes on to the program's Successes or Errors
// channel if its Config asked for them (else, as sarama does, successes are
// dropped and errors logged).
type asyncProducer struct {
	sarama.AsyncProducer
	client    sarama.Client
	headers   bool
	successes bool // what the program's Config asked for
	errors    bool
	succ      chan *sarama.ProducerMessage
	errs      chan *sarama.ProducerError
	finished  chan struct{} // closed once sarama has shut down and every span has ended

	mu       sync.Mutex
	inflight map[*sarama.ProducerMessage]trace.Span
}

// interceptor starts the span of each message sarama's dispatcher takes (a
// retried message passes again: it keeps its span).
type interceptor struct{ p *asyncProducer }

func (i interceptor) OnSend(msg *sarama.ProducerMessage) {
	if msg == nil {
		return
	}
	p := i.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.inflight[msg]; !ok {
		p.inflight[msg] = startSend(channelParent(msg), msg, p.headers)
	}
}

// reporting is the program's config with what this package needs.
func reporting(config *sarama.Config, p *asyncProducer) *sarama.Config {
	c := *config
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Interceptors = append(append([]sarama.ProducerInterceptor(nil), config.Producer.Interceptors...), interceptor{p})
	return &c
}

func newAsyncProducer(config *sarama.Config) *asyncProducer {
	return &asyncProducer{
		headers:   headersAllowed(config),
		successes: config.Producer.Return.Successes,
		errors:    config.Producer.Return.Errors,
		succ:      make(chan *sarama.ProducerMessage),
		errs:      make(chan *sarama.ProducerError),
		finished:  make(chan struct{}),
		inflight:  make(map[*sarama.ProducerMessage]trace.Span),
	}
}

// NewAsyncProducer stands in for sarama.NewAsyncProducer: the producer is
// made from a client made here (as sarama does inside) with the reporting
// copy of config; the client is closed once the producer has shut down.
func NewAsyncProducer(addrs []string, config *sarama.Config) (sarama.AsyncProducer, error) {
	if config == nil {
		config = sarama.NewConfig()
	}
	p := newAsyncProducer(config)
	client, err := sarama.NewClient(addrs, reporting(config, p))
	if err != nil {
		return nil, err
	}
	inner, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	p.start(inner, client, true)
	return p, nil
}

// configured is a client whose Config is another: the reporting copy of the
// client's own, for the producer made from it.
type configured struct {
	sarama.Client
	config *sarama.Config
}

func (c configured) Config() *sarama.Config { return c.config }

// NewAsyncProducerFromClient stands in for sarama.NewAsyncProducerFromClient:
// the producer sees the reporting copy of the client's Config.
func NewAsyncProducerFromClient(client sarama.Client) (sarama.AsyncProducer, error) {
	if client == nil || client.Config() == nil {
		return sarama.NewAsyncProducerFromClient(client)
	}
	p := newAsyncProducer(client.Config())
	inner, err := sarama.NewAsyncProducerFromClient(configured{Client: client, config: reporting(client.Config(), p)})
	if err != nil {
		return inner, err
	}
	p.start(inner, client, false)
	return p, nil
}

func (p *asyncProducer) start(inner sarama.AsyncProducer, client sarama.Client, own bool) {
	p.AsyncProducer, p.client = inner, client
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for msg := range inner.Successes() {
			p.end(msg, nil)
			if p.successes {
				p.succ <- msg
			}
		}
		close(p.succ)
	}()
	go func() {
		defer wg.Done()
		for perr := range inner.Errors() {
			if perr != nil {
				p.end(perr.Msg, perr.Err)
			}
			if p.errors {
				p.errs <- perr
			} else {
				sarama.Logger.Println(perr)
			}
		}
		close(p.errs)
	}()
	go func() {
		wg.Wait() // sarama has shut the producer down
		if own {
			closeClient(client)
		}
		close(p.finished)
	}()
}

func (p *asyncProducer) end(msg *sarama.ProducerMessage, err error) {
	if msg == nil {
		return
	}
	p.mu.Lock()
	span, ok := p.inflight[msg]
	delete(p.inflight, msg)
	p.mu.Unlock()
	if ok {
		endSend(span, p.client, msg, err)
	}
}

func (p *asyncProducer) Successes() <-chan *sarama.ProducerMessage { return p.succ }

func (p *asyncProducer) Errors() <-chan *sarama.ProducerError { return p.errs }

// Close is sarama's Close on this package's channels: it drains the
// successes and returns the errors that are still to come, once every
// message's span has ended.
func (p *asyncProducer) Close() error {
	p.AsyncClose()
	if p.successes {
		go func() {
			for range p.succ {
			}
		}()
	}
	var perrs sarama.ProducerErrors
	if p.errors {
		for perr := range p.errs {
			perrs = append(perrs, perr)
		}
	} else {
		<-p.errs
	}
	<-p.finished
	if len(perrs) > 0 {
		return perrs
	}
	return nil
}
