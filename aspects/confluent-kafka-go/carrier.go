package confluentkafkatrace

import (
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"overlay-gen.invalid/otelrt/kafkamsg"
)

// kafkaHeaders is confluent-kafka-go's header type, for kafkamsg's carrier.
var kafkaHeaders = kafkamsg.Headers[kafka.Header]{
	Key:   func(h kafka.Header) string { return h.Key },
	Value: func(h kafka.Header) []byte { return h.Value },
	New:   func(key string, value []byte) kafka.Header { return kafka.Header{Key: key, Value: value} },
}

// headerCarrier is a message's headers as a propagation.TextMapCarrier
// (kafkamsg.Carrier: Get reads the first header of a key, Set replaces it and
// drops any later one of the same key, else appends one).
func headerCarrier(h *[]kafka.Header) kafkamsg.Carrier[kafka.Header] {
	return kafkaHeaders.Carrier(h)
}
