// Package amqptrace traces RabbitMQ messaging through amqp091-go
// (github.com/rabbitmq/amqp091-go): a PRODUCER span per message a program
// publishes, whose context travels in the message's headers, a CONSUMER
// span per delivery a consumer hands the program, child of the producer's
// span, and a CLIENT span per Get, with the messaging semantic conventions
// for RabbitMQ.
//
// *amqp.Channel is a struct: nothing handed back from Connection.Channel
// could change its methods, so the amqp091 integration's aspects prepend
// calls of hook variables to amqp091-go's own methods (in a module copy
// overlay-gen makes), and the package hook of this module, linked into
// every program that uses amqp091-go, sets them to Publish, Consume, Get
// and Settle. This package compiles without the overlay, so that its tests
// run with go test; hook only exists under it.
//
// The spans:
//
//   - "publish {destination}" (Publish, PublishWithContext,
//     PublishWithDeferredConfirm, PublishWithDeferredConfirmWithContext),
//     kind PRODUCER, messaging.operation.type "send", messaging.operation.name
//     "publish"; its parent is the caller's context, else the goroutine's
//     active span. The publishing methods call one another: the first one a
//     publish reaches starts the span and sends a copy of the message's
//     headers holding the trace context; the methods it calls know that copy
//     and start no second span;
//   - "process {destination}" for each delivery of a Consume or
//     ConsumeWithContext consumer, kind CONSUMER, messaging.operation.type
//     and name "process", messaging.rabbitmq.message.delivery_tag, child of
//     the context the delivery's headers carry (none: a trace of its own).
//     Deliveries come over a Go channel, with no callback: the program gets
//     a channel of this package's, fed by a goroutine from the library's,
//     and a delivery's span starts when it is offered there (the channel is
//     unbuffered: when the program is ready to take it) and ends when it is
//     settled (Ack, Nack, Reject, multiple included), or for an auto-acked
//     delivery when the program takes the next one or the channel closes,
//     or for one never settled when the channel closes. It is not the
//     active span of the goroutine that handles the delivery: a channel
//     receive runs no code of anyone's. A delivery the relay holds when the
//     library closes its channel is still handed to the program (the
//     library drops its undelivered ones; the server requeues both);
//   - "receive {destination}" for each Get, kind CLIENT,
//     messaging.operation.type and name "receive", from the call to its
//     answer; its parent is the goroutine's active span, else the context
//     the message's headers carry; it links to the latter. An empty queue is
//     no error (no message: no delivery tag);
//   - the destination (messaging.destination.name, and the span name's) is
//     as RabbitMQ's conventions say: "{exchange}:{routing key}" for a
//     publish, with ":{queue}" for a consume or a Get, empty parts left out,
//     the routing key once when it is the queue, "amq.default" when nothing
//     is left. A server-named queue ("amq.gen-...") or the direct reply-to
//     pseudo-queue ("amq.rabbitmq.reply-to") is temporary and anonymous:
//     messaging.destination.temporary and anonymous, and the span name has
//     no destination (nor when the destination would name such a queue);
//   - all of them: messaging.system "rabbitmq",
//     messaging.rabbitmq.destination.routing_key (when not empty),
//     messaging.message.id and messaging.message.conversation_id (the
//     message's MessageId and CorrelationId, when set),
//     messaging.message.body.size, server.address and server.port (the
//     server's address as the connection has it). Header values and bodies
//     are never recorded;
//   - an error sets status Error with its text, an exception event and
//     error.type: the AMQP reply code's name for an *amqp.Error
//     ("NOT_FOUND"; "CHANNEL_ERROR" for amqp.ErrClosed, a channel or
//     connection that is not open), context.Canceled or
//     context.DeadlineExceeded, else the error's Go type.
package amqptrace

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// ScopeName is the instrumentation scope of the RabbitMQ spans.
const ScopeName = "overlay-gen/github.com/rabbitmq/amqp091-go"

var tracer = otel.Tracer(ScopeName)

// The header tables of the messages being published, by their map: a
// publishing method called by another sees that its message is traced.
var publishing sync.Map // uintptr -> struct{}

// Publish starts the span of a message published on ch to exchange with
// routing key key, ctx the caller's context or nil. It returns the message
// to send, whose headers (a copy) carry the span's context, and the
// function that ends the span with the outcome.
func Publish(ctx context.Context, ch *amqp.Channel, remote net.Addr, exchange, key string, msg amqp.Publishing) (amqp.Publishing, func(error)) {
	if msg.Headers != nil {
		if _, ok := publishing.Load(tableID(msg.Headers)); ok { // traced by its caller
			return msg, func(error) {}
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx = otelrt.Parent(ctx)
	dest := destination(exchange, key, "")
	attrs := make([]attribute.KeyValue, 0, 12)
	attrs = append(attrs, semconv.MessagingSystemRabbitMQ, semconv.MessagingOperationTypeSend, semconv.MessagingOperationName("publish"))
	attrs = append(attrs, dest.attributes()...)
	attrs = append(attrs, messageAttributes(key, msg.MessageId, msg.CorrelationId, len(msg.Body))...)
	attrs = append(attrs, serverAttributes(remote)...)
	ctx, span := tracer.Start(ctx, dest.spanName("publish"), trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))

	headers := make(amqp.Table, len(msg.Headers)+2)
	for k, v := range msg.Headers {
		headers[k] = v
	}
	otel.GetTextMapPropagator().Inject(ctx, Carrier(headers))
	msg.Headers = headers
	id := tableID(headers)
	publishing.Store(id, struct{}{})
	return msg, func(err error) {
		publishing.Delete(id)
		if err != nil {
			fail(span, err)
		}
		span.End()
	}
}

// tableID tells one header table from another: its map.
func tableID(t amqp.Table) uintptr { return reflect.ValueOf(t).Pointer() }

// The relays' channels, so that a consumer's channel is relayed once.
var relays sync.Map // <-chan amqp.Delivery -> struct{}

// An unsettled delivery's span, by its channel and delivery tag.
type deliveryKey struct {
	ch  *amqp.Channel
	tag uint64
}

var unsettled sync.Map // deliveryKey -> trace.Span

// Consume returns the channel a consumer of queue on ch hands the program
// in place of deliveries: the same deliveries, each with a span (see the
// package's documentation for where it starts and ends).
func Consume(ch *amqp.Channel, remote net.Addr, queue string, autoAck bool, deliveries <-chan amqp.Delivery) <-chan amqp.Delivery {
	if deliveries == nil {
		return deliveries
	}
	if _, ok := relays.Load(deliveries); ok {
		return deliveries
	}
	out := make(chan amqp.Delivery)
	relayed := (<-chan amqp.Delivery)(out)
	relays.Store(relayed, struct{}{})
	server := serverAttributes(remote)
	go func() {
		var previous trace.Span // an auto-acked delivery's, until the next is taken
		var mine []deliveryKey  // the deliveries handed out, settled or not
		defer func() {
			if previous != nil {
				previous.End()
			}
			for _, key := range mine { // never settled: requeued by the server
				if span, ok := unsettled.LoadAndDelete(key); ok {
					span.(trace.Span).End()
				}
			}
			relays.Delete(relayed)
			close(out)
		}()
		for d := range deliveries {
			span := process(d, queue, server)
			if !autoAck {
				key := deliveryKey{ch, d.DeliveryTag}
				unsettled.Store(key, span)
				mine = append(mine[:prune(mine)], key)
			}
			out <- d
			if autoAck {
				if previous != nil {
					previous.End()
				}
				previous = span
			}
		}
	}()
	return relayed
}

// prune drops the settled deliveries from the front of keys (deliveries
// are mostly settled in order), and says how many are left.
func prune(keys []deliveryKey) int {
	n := 0
	for _, key := range keys {
		if _, ok := unsettled.Load(key); ok {
			keys[n] = key
			n++
		}
	}
	return n
}

// process starts the span of delivery d of a consumer of queue.
func process(d amqp.Delivery, queue string, server []attribute.KeyValue) trace.Span {
	parent := otel.GetTextMapPropagator().Extract(context.Background(), Carrier(d.Headers))
	dest := destination(d.Exchange, d.RoutingKey, queue)
	attrs := make([]attribute.KeyValue, 0, 14)
	attrs = append(attrs, semconv.MessagingSystemRabbitMQ, semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"))
	attrs = append(attrs, dest.attributes()...)
	attrs = append(attrs, messageAttributes(d.RoutingKey, d.MessageId, d.CorrelationId, len(d.Body))...)
	attrs = append(attrs, semconv.MessagingRabbitMQMessageDeliveryTag(int(d.DeliveryTag)))
	attrs = append(attrs, server...)
	_, span := tracer.Start(parent, dest.spanName("process"), trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	return span
}

// Settle ends the spans of the deliveries of ch that tag settles: tag, and
// with multiple every one before it (tag 0: all of them).
func Settle(ch *amqp.Channel, op string, tag uint64, multiple bool) {
	if !multiple {
		if span, ok := unsettled.LoadAndDelete(deliveryKey{ch, tag}); ok {
			span.(trace.Span).End()
		}
		return
	}
	unsettled.Range(func(k, v any) bool {
		key := k.(deliveryKey)
		if key.ch == ch && (tag == 0 || key.tag <= tag) {
			if _, ok := unsettled.LoadAndDelete(key); ok {
				v.(trace.Span).End()
			}
		}
		return true
	})
}

// Get starts the span of a Get from queue on ch and returns the function
// that ends it with Get's results.
func Get(ch *amqp.Channel, remote net.Addr, queue string) func(msg *amqp.Delivery, ok bool, err error) {
	parent := otelrt.Parent(context.Background())
	if otelrt.InClientSpan(parent) { // its span would not be recorded
		return func(*amqp.Delivery, bool, error) {}
	}
	start := time.Now()
	return func(msg *amqp.Delivery, ok bool, err error) {
		var d amqp.Delivery
		if ok && msg != nil {
			d = *msg
		}
		creation := trace.SpanContextFromContext(otel.GetTextMapPropagator().Extract(context.Background(), Carrier(d.Headers)))
		ctx := parent
		if !trace.SpanContextFromContext(ctx).IsValid() && creation.IsValid() {
			ctx = trace.ContextWithRemoteSpanContext(ctx, creation)
		}
		dest := destination(d.Exchange, d.RoutingKey, queue)
		attrs := make([]attribute.KeyValue, 0, 14)
		attrs = append(attrs, semconv.MessagingSystemRabbitMQ, semconv.MessagingOperationTypeReceive, semconv.MessagingOperationName("receive"))
		attrs = append(attrs, dest.attributes()...)
		if ok {
			attrs = append(attrs, messageAttributes(d.RoutingKey, d.MessageId, d.CorrelationId, len(d.Body))...)
			attrs = append(attrs, semconv.MessagingRabbitMQMessageDeliveryTag(int(d.DeliveryTag)))
		}
		attrs = append(attrs, serverAttributes(remote)...)
		options := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...), trace.WithTimestamp(start)}
		if creation.IsValid() {
			options = append(options, trace.WithLinks(trace.Link{SpanContext: creation}))
		}
		_, span := tracer.Start(ctx, dest.spanName("receive"), options...)
		if err != nil {
			fail(span, err)
		}
		span.End()
	}
}

// A message's destination, as RabbitMQ's conventions name it.
type dest struct {
	name      string
	anonymous bool // a server-named or reply-to queue: made for one consumer
}

// destination names exchange, routing key and queue (empty: none):
// "{exchange}:{routing key}:{queue}", empty parts left out, the routing
// key once when it is the queue, "amq.default" when nothing is left.
func destination(exchange, key, queue string) dest {
	parts := make([]string, 0, 3)
	for _, part := range []string{exchange, key, queue} {
		if part != "" && (len(parts) == 0 || parts[len(parts)-1] != part) {
			parts = append(parts, part)
		}
	}
	if len(parts) == 0 {
		return dest{name: "amq.default"}
	}
	return dest{name: strings.Join(parts, ":"), anonymous: anonymousQueue(key) || anonymousQueue(queue)}
}

// anonymousQueue: a queue the server named, or the direct reply-to pseudo-queue.
func anonymousQueue(name string) bool {
	return strings.HasPrefix(name, "amq.gen-") || strings.HasPrefix(name, "amq.rabbitmq.reply-to")
}

func (d dest) attributes() []attribute.KeyValue {
	attrs := []attribute.KeyValue{semconv.MessagingDestinationName(d.name)}
	if d.anonymous {
		attrs = append(attrs, semconv.MessagingDestinationTemporary(true), semconv.MessagingDestinationAnonymous(true))
	}
	return attrs
}

// spanName is "{operation} {destination}", the destination left out when
// it names a queue made for one consumer (high cardinality).
func (d dest) spanName(op string) string {
	if d.anonymous {
		return op
	}
	return op + " " + d.name
}

// messageAttributes are the routing key (when not empty), the message's
// id and correlation id (when set) and its body's size.
func messageAttributes(key, id, correlation string, size int) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 4)
	if key != "" {
		attrs = append(attrs, semconv.MessagingRabbitMQDestinationRoutingKey(key))
	}
	if id != "" {
		attrs = append(attrs, semconv.MessagingMessageID(id))
	}
	if correlation != "" {
		attrs = append(attrs, semconv.MessagingMessageConversationID(correlation))
	}
	return append(attrs, semconv.MessagingMessageBodySize(size))
}

// serverAttributes are server.address and server.port of the server's address.
func serverAttributes(remote net.Addr) []attribute.KeyValue {
	if remote == nil {
		return nil
	}
	host, port, err := net.SplitHostPort(remote.String())
	if err != nil || host == "" {
		return nil
	}
	attrs := []attribute.KeyValue{semconv.ServerAddress(host)}
	if n, err := strconv.Atoi(port); err == nil && n > 0 {
		attrs = append(attrs, semconv.ServerPort(n))
	}
	return attrs
}

// Carrier reads and writes an AMQP header table as OpenTelemetry's
// propagators need: string values under the propagators' keys
// (traceparent), read back whatever their case.
type Carrier amqp.Table

// Get is key's value, when it is a string (or bytes).
func (c Carrier) Get(key string) string {
	v, ok := c[key]
	if !ok {
		for k, value := range c {
			if strings.EqualFold(k, key) {
				v, ok = value, true
				break
			}
		}
	}
	switch s := v.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	}
	return ""
}

// Set makes value key's value.
func (c Carrier) Set(key, value string) { c[key] = value }

// Keys are the table's keys.
func (c Carrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// fail marks span with err.
func fail(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
}

// AMQP 0-9-1 reply codes, by number, as the specification names them.
var replyCodes = map[int]string{
	311: "CONTENT_TOO_LARGE", 312: "NO_ROUTE", 313: "NO_CONSUMERS",
	320: "CONNECTION_FORCED", 402: "INVALID_PATH", 403: "ACCESS_REFUSED",
	404: "NOT_FOUND", 405: "RESOURCE_LOCKED", 406: "PRECONDITION_FAILED",
	501: "FRAME_ERROR", 502: "SYNTAX_ERROR", 503: "COMMAND_INVALID",
	504: "CHANNEL_ERROR", 505: "UNEXPECTED_FRAME", 506: "RESOURCE_ERROR",
	530: "NOT_ALLOWED", 540: "NOT_IMPLEMENTED", 541: "INTERNAL_ERROR",
}

// errorType is error.type for err.
func errorType(err error) string {
	var amqpErr *amqp.Error
	if errors.As(err, &amqpErr) {
		if name, ok := replyCodes[amqpErr.Code]; ok {
			return name
		}
		return strconv.Itoa(amqpErr.Code)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "context.Canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "context.DeadlineExceeded"
	}
	kind := reflect.TypeOf(err).String()
	if kind == "*errors.errorString" || kind == "*fmt.wrapError" {
		return "_OTHER"
	}
	return kind
}
