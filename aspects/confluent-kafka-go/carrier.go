package confluentkafkatrace

import (
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel/propagation"
)

// headerCarrier is a message's headers as a propagation.TextMapCarrier.
// Kafka header keys are case-sensitive and may repeat: Get reads the first
// header of a key, Set replaces it and drops any later one of the same key
// (a forwarded message keeps no stale traceparent), else appends one.
type headerCarrier struct{ headers *[]kafka.Header }

var _ propagation.TextMapCarrier = headerCarrier{}

func (c headerCarrier) Get(key string) string {
	for _, h := range *c.headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func (c headerCarrier) Set(key, value string) {
	headers := *c.headers
	kept := headers[:0]
	found := false
	for _, h := range headers {
		if h.Key == key {
			if found {
				continue
			}
			found = true
			h.Value = []byte(value)
		}
		kept = append(kept, h)
	}
	if !found {
		kept = append(kept, kafka.Header{Key: key, Value: []byte(value)})
	}
	*c.headers = kept
}

func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, len(*c.headers))
	for _, h := range *c.headers {
		keys = append(keys, h.Key)
	}
	return keys
}
