// Package confluentkafkatrace traces what a program sends and receives
// through confluent-kafka-go (github.com/confluentinc/confluent-kafka-go/v2,
// cgo over librdkafka): a PRODUCER span for every message a Producer
// enqueues, a CONSUMER span for every message a Consumer's Poll or
// ReadMessage hands to the program, with the current messaging semantic
// conventions, and the trace context carried across the broker in the
// messages' headers, so that a message produced in one process and
// consumed in another is one trace.
//
// Producer and Consumer are structs with unexported fields whose methods
// programs call directly: no wrapper handed back from a constructor could
// change that. So the confluent-kafka-go integration's aspects prepend calls
// of hook variables to the library's own functions (in a module copy
// overlay-gen makes), and the package hook of this module, linked into every
// program that uses the library, sets those variables to the functions
// here. This package compiles without the overlay, so that its tests run
// with go test; hook only exists under it.
//
// # Sending
//
// Every message that Producer.Produce or the ProduceChannel enqueues (both
// go through the Producer's produce) gets a span "send {topic}", kind
// PRODUCER. A Produce call's span is the child of the goroutine's active
// span (otelrt.Parent: the library's API takes no context); a message sent
// on the ProduceChannel is enqueued by the library's own goroutine, which
// says nothing of the sender's, so its span starts a trace of its own. The
// span's context is the message's creation context: it is injected into a
// copy of the message's headers through the configured propagators (W3C
// traceparent by default), replacing what those keys held (a message
// forwarded from a consumed one carries its old traceparent: the span links
// to that context). The program's message and its headers are never written
// to: librdkafka gets a copy.
//
// Produce is asynchronous: librdkafka reports each message's delivery
// later, on the channel Produce was given or the Producer's Events channel.
// The span ends with that report (where the library turns librdkafka's
// report into a Message), with messaging.destination.partition.id and
// messaging.kafka.offset from the broker's answer, or with the report's
// error. A message librdkafka refuses at once (too large, the queue full, an
// unknown partition) ends its span with Produce's error; one still waiting
// when the Producer closes (Close without Flush) ends its span with
// ErrNotDelivered. The program's Opaque reaches the report unchanged.
//
// Attributes: messaging.system "kafka", messaging.operation.type and
// messaging.operation.name "send", messaging.destination.name,
// server.address and server.port (the Producer's bootstrap.servers when it
// names one broker: librdkafka sends to each partition's leader, which a
// list of several does not say), and messaging.kafka.message.tombstone for a
// message without value. Keys, values and header values are never recorded.
// A failure sets the status Error with the error's text, an exception event
// and error.type (errors.go).
//
// # Receiving
//
// See consume.go: a "process {topic}" CONSUMER span per message that
// Consumer.Poll or ReadMessage returns, child of the message's creation
// context, active on the goroutine while the program handles the message.
package confluentkafkatrace

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
	"overlay-gen.invalid/otelrt/kafkamsg"
)

// ScopeName is the instrumentation scope of the Kafka spans.
const ScopeName = "overlay-gen/github.com/confluentinc/confluent-kafka-go/v2"

var tracer = otel.Tracer(ScopeName)

// ErrNotDelivered ends the span of a message whose Producer closed before
// librdkafka reported its delivery.
var ErrNotDelivered = errors.New("the producer closed before the message's delivery report")

// The Producers' attributes, from their configuration.
var producers sync.Map // *kafka.Producer -> []attribute.KeyValue

// NewProducer is called with every Producer that NewProducer makes and the
// configuration it was made with.
func NewProducer(conf *kafka.ConfigMap, p *kafka.Producer) {
	producers.Store(p, kafkamsg.Server(brokers(conf)))
}

// ProducerClosed forgets a Producer that closed.
func ProducerClosed(p *kafka.Producer) {
	producers.Delete(p)
}

// A message on its way: its span, until its delivery report.
type sending struct {
	span trace.Span
	once sync.Once
}

// Produce starts the span of a message the Producer's produce is about to
// enqueue; fromChannel says the message came through the ProduceChannel. It
// returns the message to enqueue instead (a copy, with its creation context
// in its headers), the function that the message's delivery report is handed
// to (nil: the Producer closed first), and the function produce calls,
// deferred, with its error. A message produce will refuse (nil, no topic)
// comes back as it was, with no span and nil functions.
func Produce(p *kafka.Producer, msg *kafka.Message, fromChannel bool) (*kafka.Message, func(*kafka.Message), func(error)) {
	if msg == nil || msg.TopicPartition.Topic == nil || *msg.TopicPartition.Topic == "" {
		return msg, nil, nil
	}
	topic := *msg.TopicPartition.Topic
	parent := context.Background()
	if !fromChannel {
		parent = otelrt.Parent(parent)
	}
	fields := otel.GetTextMapPropagator().Fields()
	// A fresh array: the program's stays as it was.
	headers := make([]kafka.Header, len(msg.Headers), len(msg.Headers)+len(fields))
	copy(headers, msg.Headers)
	var server []attribute.KeyValue
	if attrs, ok := producers.Load(p); ok {
		server = attrs.([]attribute.KeyValue)
	}
	span := kafkamsg.Send(tracer, parent, topic, msg.Value == nil, kafkamsg.HeaderCarrier(&headers), server...)
	sent := *msg
	sent.Headers = headers
	s := &sending{span: span}
	return &sent, s.delivered, s.produced
}

// produced is called with produce's error: a message librdkafka refused
// gets no report, its span ends now.
func (s *sending) produced(err error) {
	if err != nil {
		s.end(err, nil)
	}
}

// delivered ends the span with the message's delivery report (nil: none came).
func (s *sending) delivered(report *kafka.Message) {
	if report == nil {
		s.end(ErrNotDelivered, nil)
		return
	}
	s.end(report.TopicPartition.Error, report)
}

func (s *sending) end(err error, report *kafka.Message) {
	s.once.Do(func() {
		switch {
		case err != nil:
			kafkamsg.RecordError(s.span, err, errorType(err))
		case report != nil:
			if report.TopicPartition.Partition >= 0 {
				s.span.SetAttributes(kafkamsg.Partition(int(report.TopicPartition.Partition)))
			}
			if report.TopicPartition.Offset >= 0 { // acks=0: librdkafka knows no offset
				s.span.SetAttributes(kafkamsg.Offset(int64(report.TopicPartition.Offset)))
			}
		}
		s.span.End()
	})
}

// brokers are the addresses of a client's bootstrap.servers (or its older
// name, metadata.broker.list): a comma-separated list, each address
// optionally prefixed by its protocol (SSL://host:port). An address without
// port (librdkafka's default, kafkamsg.DefaultPort) loses the brackets of an
// IPv6 host ([::1]: ::1).
func brokers(conf *kafka.ConfigMap) []string {
	if conf == nil {
		return nil
	}
	var list string
	for _, key := range []string{"bootstrap.servers", "metadata.broker.list"} {
		if v, ok := (*conf)[key]; ok {
			if s, ok := v.(string); ok && s != "" {
				list = s
				break
			}
		}
	}
	var found []string
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if i := strings.Index(a, "://"); i >= 0 {
			a = a[i+len("://"):]
		}
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = strings.Trim(a, "[]")
		}
		found = append(found, a)
	}
	return found
}
