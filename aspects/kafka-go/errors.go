package kafkagotrace

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/segmentio/kafka-go"

	"overlay-gen.invalid/otelrt/kafkamsg"
)

// errorType is a failed span's error.type, low in cardinality:
//
//   - a Kafka error code the broker answered (kafka.Error, wrapped or not),
//     by its protocol name: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_FOR_PARTITION
//     (kafka-go's title of the code, upper case, words joined by "_");
//   - a message kafka-go refuses to send for its size (kafka.MessageTooLargeError,
//     which later releases wrap around the code) as that code:
//     MESSAGE_SIZE_TOO_LARGE;
//   - the errors of a context, and io.ErrClosedPipe (a closed Writer) and
//     io.EOF (a closed Reader), by their names: context.Canceled,
//     context.DeadlineExceeded, io.ErrClosedPipe, io.EOF;
//   - any other error by its Go type (*net.OpError), after unwrapping the
//     fmt.Errorf wrappers that have no type of their own; "_OTHER" when it
//     has none either.
func errorType(err error) string {
	var tooLarge kafka.MessageTooLargeError
	if errors.As(err, &tooLarge) {
		return codeName(kafka.MessageSizeTooLarge)
	}
	var code kafka.Error
	if errors.As(err, &code) {
		return codeName(code)
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return kafkamsg.ErrorType(err)
}

// The errors known by name, in the order they are looked for.
var sentinels = []struct {
	err  error
	name string
}{
	{context.Canceled, "context.Canceled"},
	{context.DeadlineExceeded, "context.DeadlineExceeded"},
	{io.ErrClosedPipe, "io.ErrClosedPipe"},
	{io.EOF, "io.EOF"},
	{io.ErrUnexpectedEOF, "io.ErrUnexpectedEOF"},
}

// codeName is a Kafka error code's protocol name, made from kafka-go's
// title of it ("Unknown Topic Or Partition": UNKNOWN_TOPIC_OR_PARTITION).
func codeName(code kafka.Error) string {
	title := code.Title()
	if title == "" {
		return "_OTHER"
	}
	return strings.ToUpper(strings.Join(strings.Fields(title), "_"))
}
