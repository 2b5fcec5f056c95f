// Package saramatrace traces the Kafka clients of github.com/IBM/sarama that
// a program creates: its producers' messages (SyncProducer, AsyncProducer)
// and the messages its consumer groups hand to their handlers, with the
// OpenTelemetry messaging conventions, and carries the trace context from the
// one to the other in the messages' headers.
//
// The sarama integration's aspects replace the program's calls of sarama's
// constructors (NewSyncProducer, NewAsyncProducer, NewConsumerGroup and their
// ...FromClient forms) with this package's functions of the same names and
// arguments, which return sarama's own producer or group inside a type of
// this package that implements sarama's interface (every method the release
// has: the interface is embedded, and only the methods that carry messages
// are this package's), and wrap each `&sarama.ProducerMessage{...}` the
// program writes in Message, which notes the span the message was made in.
//
//   - Producers: a PRODUCER span "send {topic}" per message, child of the
//     goroutine's active span where SendMessage or SendMessages is called
//     (else of the span the message was made in); for a message put into an
//     AsyncProducer's Input channel, child of the span the message was made
//     in (a channel send runs no code of ours: a message built elsewhere, or
//     by value, starts a trace of its own). The span ends when the message
//     was written (partition and offset then known) or failed; an
//     AsyncProducer reports both to this package even when the program's
//     Config asks for neither (Producer.Return.Successes, .Errors), and
//     passes on only what the program asked for, as sarama would. The span's
//     trace context goes into the message's headers (W3C traceparent, or
//     what OTEL_PROPAGATORS names), replacing headers of those names.
//   - Kafka keeps record headers from v0.11 on: with a Config.Version older
//     than sarama.V0_11_0_0, sarama refuses a message that has headers, so
//     none is added (the span is still recorded, and a consumer's span for
//     that message starts a trace of its own).
//   - Consumer groups: Consume's handler is wrapped; each claim's messages
//     reach the handler's ConsumeClaim through this package, and each message
//     it takes gets a CONSUMER span "process {topic}", child of the
//     producer's span named in its headers. While the handler works on it,
//     that span is the active span of the handler's goroutine (spans the
//     handler starts without a context of their own are its children), and
//     it ends when the handler marks the message (MarkMessage, MarkOffset),
//     takes the next one, or returns. See consumer.go for how the handoff is
//     known.
//
// Attributes: messaging.system kafka, messaging.destination.name,
// messaging.operation.type and .name (send, process),
// messaging.destination.partition.id and messaging.kafka.offset (once known),
// messaging.consumer.group.name, messaging.message.body.size, server.address
// and server.port (the partition's leader, as the client knows it). Neither
// the key (it may be a secret) nor the value nor a header's value is ever
// recorded. A failed message's span has status Error, error.type (a Kafka
// error code's number, else the error's Go type) and an exception event.
//
// It only exists under overlay-gen's overlay.
package saramatrace

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the Kafka spans.
const ScopeName = "overlay-gen/github.com/IBM/sarama"

var tracer = otel.Tracer(ScopeName)

// headersAllowed says whether messages produced with conf may carry headers:
// Kafka has record headers from v0.11, and sarama refuses to send a message
// with headers to an older version.
func headersAllowed(conf *sarama.Config) bool {
	return conf == nil || conf.Version.IsAtLeast(sarama.V0_11_0_0)
}

// leader is the server.address and server.port of a partition's leader, as
// client knows it (nothing when it does not).
func leader(client sarama.Client, topic string, partition int32) []attribute.KeyValue {
	if client == nil || client.Closed() {
		return nil
	}
	broker, err := client.Leader(topic, partition)
	if err != nil || broker == nil {
		return nil
	}
	return serverAttributes(broker.Addr())
}

func serverAttributes(addr string) []attribute.KeyValue {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return []attribute.KeyValue{semconv.ServerAddress(addr)}
	}
	attrs := []attribute.KeyValue{semconv.ServerAddress(host)}
	if n, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPort(n))
	}
	return attrs
}

// failed records err on span: status Error, error.type, an exception event.
func failed(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
}

// errorType is a Kafka error code's number (the broker's answer), else the
// Go type of the innermost error (sarama.ConfigurationError, *net.OpError).
func errorType(err error) string {
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		return strconv.Itoa(int(kerr))
	}
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return fmt.Sprintf("%T", err)
		}
		err = inner
	}
}

// common are the attributes of every span of a message of topic.
func common(operation attribute.KeyValue, name, topic string) []attribute.KeyValue {
	return []attribute.KeyValue{
		semconv.MessagingSystemKafka,
		semconv.MessagingDestinationName(topic),
		operation,
		semconv.MessagingOperationName(name),
	}
}

func placed(partition int32, offset int64) []attribute.KeyValue {
	return []attribute.KeyValue{
		semconv.MessagingDestinationPartitionID(strconv.Itoa(int(partition))),
		semconv.MessagingKafkaOffset(int(offset)),
	}
}

var background = context.Background()
