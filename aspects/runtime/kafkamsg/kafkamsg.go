// Package kafkamsg is what the Kafka integrations written as own code
// (kafka-go, confluent-kafka-go) share, so that a message reads alike
// whichever library sent or handled it: the span names and attributes of
// the messaging conventions for Kafka ("send orders", "process orders",
// messaging.*, server.address and server.port of the one broker a client is
// configured with), a failure's status, exception event and error.type, the
// trace context carried in a message's headers (Carrier, over each library's
// header type), the send span's start, and a consumer's process spans
// (Consumer): one per message the program is handed, child of the message's
// creation context, active on the goroutine while the program handles the
// message, ended when the goroutine asks for the next one, when the program
// commits the message, or when the consumer closes.
//
// What reads a library's own types (its messages, configuration, errors)
// and where its hooks are called stays in each integration. The attribute
// names are the conventions' (v1.26 and later): the runtime's module stays at
// the oldest OpenTelemetry release it supports, whose semconv packages are
// older.
package kafkamsg

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strconv"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// DefaultPort is the port a Kafka client (kafka-go, librdkafka) gives a
// broker address that names none.
const DefaultPort = 9092

// SpanName is "{operation} {topic}", or the operation alone without a topic.
func SpanName(operation, topic string) string {
	if topic == "" {
		return operation
	}
	return operation + " " + topic
}

// Server is server.address and server.port of the one broker a client is
// configured with (an address "host:port", or "host" for DefaultPort); none
// for several (the one a message goes to is its partition's leader) or none.
func Server(brokers []string) []attribute.KeyValue {
	if len(brokers) != 1 {
		return nil
	}
	host, port, err := net.SplitHostPort(brokers[0])
	if err != nil { // no port: the client's default
		return []attribute.KeyValue{attribute.String("server.address", brokers[0]), attribute.Int("server.port", DefaultPort)}
	}
	attrs := []attribute.KeyValue{attribute.String("server.address", host)}
	if n, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, attribute.Int("server.port", n))
	}
	return attrs
}

// Partition is messaging.destination.partition.id.
func Partition(partition int) attribute.KeyValue {
	return attribute.String("messaging.destination.partition.id", strconv.Itoa(partition))
}

// Offset is messaging.kafka.offset.
func Offset(offset int64) attribute.KeyValue {
	return attribute.Int("messaging.kafka.offset", int(offset))
}

// The attributes of a message that has no value.
var tombstone = attribute.Bool("messaging.kafka.message.tombstone", true)

var system = attribute.String("messaging.system", "kafka")

// Send starts the span of a message to be sent: "send {topic}", kind
// PRODUCER, child of parent, with messaging.system "kafka",
// messaging.operation.type and messaging.operation.name "send",
// messaging.destination.name (topic, "" for none known), the server
// attributes given, and messaging.kafka.message.tombstone when the message
// has no value. Its context is injected into the message's headers, carrier,
// through the configured propagators, replacing what those keys held; a
// context the headers held before (a message forwarded from a consumed one)
// is linked.
func Send(tracer trace.Tracer, parent context.Context, topic string, noValue bool, carrier propagation.TextMapCarrier, server ...attribute.KeyValue) trace.Span {
	propagator := otel.GetTextMapPropagator()
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs, system, attribute.String("messaging.operation.type", "send"),
		attribute.String("messaging.operation.name", "send"))
	if topic != "" {
		attrs = append(attrs, attribute.String("messaging.destination.name", topic))
	}
	attrs = append(attrs, server...)
	if noValue {
		attrs = append(attrs, tombstone)
	}
	options := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...)}
	if earlier := trace.SpanContextFromContext(propagator.Extract(context.Background(), carrier)); earlier.IsValid() {
		options = append(options, trace.WithLinks(trace.Link{SpanContext: earlier}))
	}
	spanCtx, span := tracer.Start(parent, SpanName("send", topic), options...)
	propagator.Inject(spanCtx, carrier)
	return span
}

// RecordError marks a span failed: status Error with the error's text, an
// exception event and error.type (errorType, the integration's name of the
// error).
func RecordError(span trace.Span, err error, errorType string) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	span.SetAttributes(attribute.String("error.type", errorType))
}

// ErrorType is the error.type of an error a library names no code of: its Go
// type (*net.OpError), after unwrapping the fmt.Errorf wrappers that have no
// type of their own; "_OTHER", the conventions' fallback, when it has none
// either.
func ErrorType(err error) string {
	for {
		kind := reflect.TypeOf(err).String()
		if kind != "*errors.errorString" && kind != "*fmt.wrapError" && kind != "*fmt.wrapErrors" {
			return kind
		}
		inner := errors.Unwrap(err)
		if inner == nil {
			return "_OTHER" // no type of its own: the conventions' fallback
		}
		err = inner
	}
}
