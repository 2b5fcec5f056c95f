// Package kafkagotrace traces what a program sends and receives through
// segmentio/kafka-go (github.com/segmentio/kafka-go): a PRODUCER span for
// every message a Writer sends, a CONSUMER span for every message a Reader
// hands to the program, with the current messaging semantic conventions, and
// the trace context carried across the broker in the messages' headers, so
// that a message produced in one process and consumed in another is one
// trace.
//
// kafka-go's Writer and Reader are structs, not interfaces: no wrapper handed
// back from a constructor could change which methods a program calls, and
// they are as often made as literals (&kafka.Writer{...}). So the kafka-go
// integration's aspects prepend a call of a hook variable to the library's
// own methods (Writer.WriteMessages; writeBatch.complete, where every batch
// reports; Reader.ReadMessage, FetchMessage, CommitMessages and Close, in a
// module copy overlay-gen makes), and the package hook of this module, linked
// into every program that uses kafka-go, sets those variables to the
// functions here. This package compiles without the overlay, so that its
// tests run with go test; hook only exists under it.
//
// # Sending
//
// Writer.WriteMessages starts one span per message, "send {topic}" (kind
// PRODUCER), child of the context passed, else of the goroutine's active span
// (otelrt.Parent). Its context is the message's creation context: it is
// injected into a copy of the message's headers through the configured
// propagators (W3C traceparent by default), replacing what those keys held (a
// message forwarded from a consumed one carries its old traceparent: the span
// links to that context). The caller's messages and their headers are never
// written to: kafka-go gets copies.
//
// The span ends when kafka-go reports the message's batch as written or
// failed, where it calls the Writer's Completion function: in a synchronous
// Writer before WriteMessages returns, in an asynchronous one (Async) when
// the batch is written, later. A WriteMessages that fails before it hands the
// messages over (a message too large, no topic, an unknown topic, a closed
// writer) ends them at once with its error; so does a synchronous one whose
// context is done first (kafka-go may still write the messages then, but the
// call is over). A written message gets messaging.destination.partition.id
// and messaging.kafka.offset, which only the broker's answer says; a Writer
// with RequiredAcks RequireNone gets no answer, and its spans neither.
//
// Attributes: messaging.system "kafka", messaging.operation.type and
// messaging.operation.name "send", messaging.destination.name (the message's
// Topic, else the Writer's), server.address and server.port (the Writer's
// Addr when it names one broker: kafka-go sends to each partition's leader,
// which a bootstrap list of several does not say), and
// messaging.kafka.message.tombstone for a message without value. Keys,
// values and header values are never recorded. A failure sets the status
// Error with the error's text, an exception event and error.type (errors.go).
//
// # Receiving
//
// See consume.go: a "process {topic}" CONSUMER span per message that
// Reader.ReadMessage or FetchMessage returns, child of the message's creation
// context, active on the goroutine while the program handles the message.
package kafkagotrace

import (
	"context"
	"net"
	"strings"
	"sync"
	"unsafe"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
	"overlay-gen.invalid/otelrt/kafkamsg"
)

// ScopeName is the instrumentation scope of the Kafka spans.
const ScopeName = "overlay-gen/github.com/segmentio/kafka-go"

var tracer = otel.Tracer(ScopeName)

// A message on its way: its span, until the batch that carries it reports.
type sending struct {
	span trace.Span
	acks kafka.RequiredAcks // the Writer's: with RequireNone, no offset comes back
}

// The messages being sent, by the first element of the header array each got
// in Write. kafka-go copies a Message by value from WriteMessages to the
// batch that writes it, so the copy in the batch shares that array: its
// address names the message whatever propagator wrote the headers (or none).
var inFlight sync.Map // *kafka.Header -> *sending

// Write starts the spans of the messages a Writer's WriteMessages was called
// with, and returns the messages to write instead (copies, each with its
// creation context in its headers) and the function that WriteMessages
// calls, deferred, with the address of its error.
func Write(w *kafka.Writer, ctx context.Context, msgs []kafka.Message) ([]kafka.Message, func(*error)) {
	if len(msgs) == 0 {
		return msgs, func(*error) {}
	}
	parent := otelrt.Parent(ctx)
	fields := otel.GetTextMapPropagator().Fields()
	server := kafkamsg.Server(addresses(w.Addr))
	sent := make([]kafka.Message, len(msgs))
	keys := make([]*kafka.Header, len(msgs))
	for i, msg := range msgs {
		topic := msg.Topic
		if topic == "" {
			topic = w.Topic
		}
		// A fresh array: the caller's stays as it was, and its address is the message's name.
		headers := make([]kafka.Header, len(msg.Headers), len(msg.Headers)+len(fields)+1)
		copy(headers, msg.Headers)
		span := kafkamsg.Send(tracer, parent, topic, msg.Value == nil, kafkamsg.HeaderCarrier(&headers), server...)
		msg.Headers = headers
		sent[i] = msg
		keys[i] = unsafe.SliceData(headers)
		inFlight.Store(keys[i], &sending{span: span, acks: w.RequiredAcks})
	}
	async := w.Async
	return sent, func(errp *error) {
		var err error
		if errp != nil {
			err = *errp
		}
		if async && err == nil {
			return // every message was handed over: the batches report
		}
		// Not handed over, or a synchronous call that is over: what is left ends with its error.
		for i, key := range keys {
			if s, ok := inFlight.LoadAndDelete(key); ok {
				s.(*sending).end(messageError(err, i), nil)
			}
		}
	}
}

// Written ends the spans of the messages of a batch that kafka-go reports as
// written (err nil) or failed; it is called where kafka-go calls the Writer's
// Completion function, with the same messages.
func Written(msgs []kafka.Message, err error) {
	for i := range msgs {
		if cap(msgs[i].Headers) == 0 {
			continue // not sent through Write
		}
		if s, ok := inFlight.LoadAndDelete(unsafe.SliceData(msgs[i].Headers)); ok {
			s.(*sending).end(err, &msgs[i])
		}
	}
}

// end ends the span of a message: with its error, or written as msg says.
func (s *sending) end(err error, msg *kafka.Message) {
	switch {
	case err != nil:
		kafkamsg.RecordError(s.span, err, errorType(err))
	case msg != nil && s.acks != kafka.RequireNone:
		s.span.SetAttributes(kafkamsg.Partition(msg.Partition), kafkamsg.Offset(msg.Offset))
	}
	s.span.End()
}

// messageError is the error of the i-th message of a WriteMessages call
// that returned err: its own entry of a kafka.WriteErrors, else err.
func messageError(err error, i int) error {
	if errs, ok := err.(kafka.WriteErrors); ok {
		if i < len(errs) {
			return errs[i]
		}
		return nil
	}
	return err
}

// addresses are the broker addresses a net.Addr holds: kafka.TCP of several
// addresses is one net.Addr whose String joins them with commas.
func addresses(addr net.Addr) []string {
	if addr == nil {
		return nil
	}
	var found []string
	for _, a := range strings.Split(addr.String(), ",") {
		if a = strings.TrimSpace(a); a != "" {
			found = append(found, a)
		}
	}
	return found
}
