package confluentkafkatrace

import (
	"errors"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"overlay-gen.invalid/otelrt/kafkamsg"
)

// ErrorName is the name librdkafka gives an error code (rd_kafka_err2name:
// MSG_SIZE_TOO_LARGE, _MSG_TIMED_OUT, _QUEUE_FULL); the hook package sets
// it (the library exports no such function, overlay-gen injects one).
var ErrorName func(kafka.ErrorCode) string

// errorType is a failed span's error.type, low in cardinality:
//
//   - a kafka.Error (wrapped or not) by its code's librdkafka name: the
//     broker's error codes by their protocol names (UNKNOWN_TOPIC_OR_PART,
//     NOT_LEADER_FOR_PARTITION), librdkafka's own errors by theirs, which
//     start with an underscore (_MSG_TIMED_OUT, _QUEUE_FULL);
//   - any other error by its Go type (*net.OpError), after unwrapping the
//     fmt.Errorf wrappers that have no type of their own; "_OTHER" when it
//     has none either (ErrNotDelivered).
func errorType(err error) string {
	var code kafka.Error
	if errors.As(err, &code) && ErrorName != nil {
		if name := ErrorName(code.Code()); name != "" {
			return name
		}
		return "_OTHER"
	}
	return kafkamsg.ErrorType(err)
}
