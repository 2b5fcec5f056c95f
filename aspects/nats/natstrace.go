// Package natstrace traces core NATS messaging through nats.go
// (github.com/nats-io/nats.go): a PRODUCER span per message a program
// publishes or request it makes, whose context travels in the message's
// headers, and a CONSUMER span per message a subscription's callback
// handles, child of the producer's span, with the messaging semantic
// conventions.
//
// *nats.Conn is a struct: nothing handed back from nats.Connect could change
// which methods a program calls, so the nats integration's aspects prepend
// calls of hook variables to nats.go's own methods (in a module copy
// overlay-gen makes), and the package hook of this module, linked into
// every program that uses nats.go, sets them to Publish, Reply and Process.
// This package compiles without the overlay, so that its tests run with go
// test; hook only exists under it.
//
// The spans:
//
//   - "publish {subject}" (Publish, PublishMsg, PublishRequest, Respond,
//     RespondMsg) and "request {subject}" (Request, RequestMsg and their
//     WithContext forms, from the request until its reply or error), kind
//     PRODUCER: messaging.operation.type "send", messaging.operation.name
//     "publish" or "request". Their parent is the caller's context, else the
//     goroutine's active span; a reply's, when neither holds a span, is the
//     request's context (from the request's header). A message to an inbox
//     (nats.go's "_INBOX." subjects: a reply to Request) goes to a
//     destination made for one request: its span is named
//     "publish" alone, with messaging.destination.temporary and
//     messaging.destination.anonymous;
//   - "process {subscription subject}" (a wildcard subscription names its
//     pattern, also given as messaging.destination.template), kind
//     CONSUMER, messaging.operation.type and name "process", child of the
//     context the message's header carries (no header: a trace of its own,
//     never the goroutine that subscribed), active on the callback's
//     goroutine while the callback runs. A queue subscription's group is
//     messaging.consumer.group.name. A callback's panic is recorded (status
//     Error) and goes on. A subscription to an inbox is a library's
//     plumbing (JetStream's pull consumers and publish acknowledgements, in
//     package jetstream): its messages get a span only when they carry a
//     trace context, named after the message's subject (JetStream delivers
//     a stream's message under its own subject), or "process" alone for a
//     message to the inbox itself;
//   - all of them: messaging.system "nats", messaging.destination.name (the
//     message's subject), messaging.message.body.size (its data's length, headers
//     aside), server.address and server.port (the server the connection is
//     connected to, as its URL names it: never its credentials). Header
//     values and message bodies are never recorded;
//   - an error sets status Error with its text, an exception event and
//     error.type: the name of nats.go's error variable (nats.ErrTimeout,
//     nats.ErrNoResponders...), context.DeadlineExceeded or
//     context.Canceled, else the error's Go type ("_OTHER" for one with no
//     type of its own).
//
// The trace context is written by otel.GetTextMapPropagator into a copy of
// the message's header (the caller's map is never changed), and only when
// the connected server supports headers (nats-server 2.2 and newer): a
// message to an older server goes out exactly as it would have, without
// context.
package natstrace

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// ScopeName is the instrumentation scope of the NATS spans.
const ScopeName = "overlay-gen/github.com/nats-io/nats.go"

var tracer = otel.Tracer(ScopeName)

// system is messaging.system: no value of the conventions' list names NATS.
var system = semconv.MessagingSystemKey.String("nats")

// The requests that replies being sent answer (RespondMsg), by reply.
var replies sync.Map // *nats.Msg -> *nats.Msg

// Reply records, until the function it returns is called, that reply
// answers request: the reply's span then knows its request's context.
func Reply(request, reply *nats.Msg) func() {
	if request == nil || reply == nil {
		return func() {}
	}
	replies.Store(reply, request)
	return func() { replies.Delete(reply) }
}

// Publish starts the span of message m sent on nc by a publish or a request
// (op "publish" or "request"), ctx the caller's context or nil. It returns
// the message to send (a copy of m whose header carries the span's context,
// when the server supports headers) and the function that ends the span
// with the outcome.
func Publish(ctx context.Context, nc *nats.Conn, m *nats.Msg, op string) (*nats.Msg, func(error)) {
	if m == nil { // nats.ErrInvalidMsg, nothing sent
		return m, func(error) {}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx = otelrt.Parent(ctx)
	if !trace.SpanContextFromContext(ctx).IsValid() {
		if request, ok := replies.Load(m); ok { // a reply: under its request
			ctx = otel.GetTextMapPropagator().Extract(ctx, Carrier(request.(*nats.Msg).Header))
		}
	}
	attrs := make([]attribute.KeyValue, 0, 9)
	attrs = append(attrs, system, semconv.MessagingOperationTypeSend, semconv.MessagingOperationName(op),
		semconv.MessagingDestinationName(m.Subject))
	name := op + " " + m.Subject
	if isInbox(m.Subject) {
		name = op
		attrs = append(attrs, semconv.MessagingDestinationTemporary(true), semconv.MessagingDestinationAnonymous(true))
	}
	attrs = append(attrs, semconv.MessagingMessageBodySize(len(m.Data)))
	attrs = append(attrs, serverAttributes(nc)...)
	ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	if nc != nil && nc.HeadersSupported() {
		header := make(nats.Header, len(m.Header)+2)
		for key, values := range m.Header {
			header[key] = values
		}
		otel.GetTextMapPropagator().Inject(ctx, Carrier(header))
		if len(header) > 0 {
			m = &nats.Msg{Subject: m.Subject, Reply: m.Reply, Header: header, Data: m.Data}
		}
	}
	return m, func(err error) {
		if err != nil {
			fail(span, err)
		}
		span.End()
	}
}

// Process wraps cb, the callback of nc's subscription to subject (queue its
// queue group, or none), so that each message it handles has a CONSUMER
// span, active while cb runs.
func Process(nc *nats.Conn, subject, queue string, cb nats.MsgHandler) nats.MsgHandler {
	if cb == nil { // Subscribe refuses it: nothing to wrap
		return nil
	}
	// A subscription to an inbox is a library's plumbing (JetStream's pull
	// consumers and publish acknowledgements): its name is no destination.
	inbox := isInbox(subject)
	name := "process " + subject
	fixed := []attribute.KeyValue{system, semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process")}
	if wildcard(subject) && !inbox {
		fixed = append(fixed, semconv.MessagingDestinationTemplate(subject))
	}
	if queue != "" {
		fixed = append(fixed, semconv.MessagingConsumerGroupName(queue))
	}
	var server lastServer
	server.attributes(connectedURL(nc))
	return func(m *nats.Msg) {
		if m == nil {
			cb(m)
			return
		}
		// The producer's context, never the subscriber goroutine's: a
		// subscription outlives the span it was made in.
		parent := otel.GetTextMapPropagator().Extract(context.Background(), Carrier(m.Header))
		spanName := name
		attrs := make([]attribute.KeyValue, 0, len(fixed)+6)
		attrs = append(attrs, fixed...)
		if inbox {
			if !trace.SpanContextFromContext(parent).IsValid() { // a server's answer: no span
				cb(m)
				return
			}
			spanName = "process"
			if isInbox(m.Subject) {
				attrs = append(attrs, semconv.MessagingDestinationTemporary(true), semconv.MessagingDestinationAnonymous(true))
			} else { // JetStream delivers a message under its own subject
				spanName += " " + m.Subject
			}
		}
		attrs = append(attrs, semconv.MessagingDestinationName(m.Subject), semconv.MessagingMessageBodySize(len(m.Data)))
		attrs = append(attrs, server.attributes(connectedURL(nc))...)
		ctx, span := tracer.Start(parent, spanName, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
		restore := otelrt.Activate(ctx)
		defer func() {
			restore()
			if r := recover(); r != nil {
				fail(span, fmt.Errorf("panic: %v", r))
				span.End()
				panic(r)
			}
			span.End()
		}()
		cb(m)
	}
}

// Carrier reads and writes a NATS header as OpenTelemetry's propagators
// need: keys as the propagators name them (traceparent), read back whatever
// their case (a header may have passed through software that changed it).
type Carrier nats.Header

// Get is the first value of key.
func (c Carrier) Get(key string) string {
	if values := c[key]; len(values) > 0 {
		return values[0]
	}
	for k, values := range c {
		if len(values) > 0 && strings.EqualFold(k, key) {
			return values[0]
		}
	}
	return ""
}

// Set makes value key's only value.
func (c Carrier) Set(key, value string) { c[key] = []string{value} }

// Keys are the header's keys.
func (c Carrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// wildcard reports whether a subscription subject is a pattern: a token
// that is "*" or a last token ">".
func wildcard(subject string) bool {
	for _, token := range strings.Split(subject, ".") {
		if token == "*" || token == ">" {
			return true
		}
	}
	return false
}

// isInbox reports whether subject is a reply inbox, as nats.go names them
// ("_INBOX.", its default prefix; a custom prefix, nats.CustomInboxPrefix,
// is the requester's and cannot be known where the reply is sent).
func isInbox(subject string) bool { return strings.HasPrefix(subject, nats.InboxPrefix) }

// serverAttributes are server.address and server.port of the server nc is
// connected to, from its URL (the host as the program named it).
func serverAttributes(nc *nats.Conn) []attribute.KeyValue {
	return urlAttributes(connectedURL(nc))
}

// connectedURL is the URL of the server nc is connected to: none while it
// is not connected, draining included.
func connectedURL(nc *nats.Conn) string {
	if nc == nil {
		return ""
	}
	return nc.ConnectedUrl()
}

// lastServer holds the attributes of the server a subscription's connection
// was last seen connected to. nats.go names no server while the connection
// drains (Drain: ConnectedUrl is empty unless the status is CONNECTED), yet
// the messages a drain still hands to the callback came from that server.
type lastServer struct{ seen atomic.Pointer[seenServer] }

type seenServer struct {
	url   string
	attrs []attribute.KeyValue
}

// attributes are the attributes of the server at raw, a URL, or of the last
// one seen when raw is empty.
func (s *lastServer) attributes(raw string) []attribute.KeyValue {
	last := s.seen.Load()
	if raw == "" || (last != nil && last.url == raw) {
		if last == nil {
			return nil
		}
		return last.attrs
	}
	attrs := urlAttributes(raw)
	s.seen.Store(&seenServer{raw, attrs})
	return attrs
}

func urlAttributes(raw string) []attribute.KeyValue {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil
	}
	attrs := []attribute.KeyValue{semconv.ServerAddress(u.Hostname())}
	if port, err := strconv.Atoi(u.Port()); err == nil {
		attrs = append(attrs, semconv.ServerPort(port))
	}
	return attrs
}

// fail marks span with err.
func fail(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
}

// The errors of nats.go's (and context's) that error.type names.
var sentinels = []struct {
	err  error
	name string
}{
	{nats.ErrNoResponders, "nats.ErrNoResponders"},
	{nats.ErrTimeout, "nats.ErrTimeout"},
	{nats.ErrConnectionClosed, "nats.ErrConnectionClosed"},
	{nats.ErrConnectionDraining, "nats.ErrConnectionDraining"},
	{nats.ErrConnectionReconnecting, "nats.ErrConnectionReconnecting"},
	{nats.ErrInvalidConnection, "nats.ErrInvalidConnection"},
	{nats.ErrBadSubject, "nats.ErrBadSubject"},
	{nats.ErrMaxPayload, "nats.ErrMaxPayload"},
	{nats.ErrHeadersNotSupported, "nats.ErrHeadersNotSupported"},
	{nats.ErrBadHeaderMsg, "nats.ErrBadHeaderMsg"},
	{nats.ErrInvalidMsg, "nats.ErrInvalidMsg"},
	{nats.ErrMsgNotBound, "nats.ErrMsgNotBound"},
	{nats.ErrMsgNoReply, "nats.ErrMsgNoReply"},
	{nats.ErrInvalidContext, "nats.ErrInvalidContext"},
	{nats.ErrReconnectBufExceeded, "nats.ErrReconnectBufExceeded"},
	{context.DeadlineExceeded, "context.DeadlineExceeded"},
	{context.Canceled, "context.Canceled"},
}

// errorType is error.type for err.
func errorType(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	kind := reflect.TypeOf(err).String()
	if kind == "*errors.errorString" || kind == "*fmt.wrapError" {
		return "_OTHER" // no type of its own: the conventions' fallback
	}
	return kind
}
