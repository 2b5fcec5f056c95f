package saramatrace

import (
	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/propagation"
)

// producerHeaders is the TextMapCarrier of a message to be produced: Set
// replaces a header of that name (a message sent again, or a program that
// set traceparent itself), and always builds a new slice, so a Headers slice
// that several messages share is never written to.
type producerHeaders struct{ msg *sarama.ProducerMessage }

var _ propagation.TextMapCarrier = producerHeaders{}

func (c producerHeaders) Get(key string) string {
	for _, h := range c.msg.Headers {
		if string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

func (c producerHeaders) Set(key, value string) {
	headers := make([]sarama.RecordHeader, 0, len(c.msg.Headers)+1)
	for _, h := range c.msg.Headers {
		if string(h.Key) != key {
			headers = append(headers, h)
		}
	}
	c.msg.Headers = append(headers, sarama.RecordHeader{Key: []byte(key), Value: []byte(value)})
}

func (c producerHeaders) Keys() []string {
	keys := make([]string, 0, len(c.msg.Headers))
	for _, h := range c.msg.Headers {
		keys = append(keys, string(h.Key))
	}
	return keys
}

// consumerHeaders is the TextMapCarrier of a consumed message's headers
// (read only: Set does nothing).
type consumerHeaders []*sarama.RecordHeader

var _ propagation.TextMapCarrier = consumerHeaders(nil)

func (c consumerHeaders) Get(key string) string {
	for _, h := range c {
		if h != nil && string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

func (c consumerHeaders) Set(string, string) {}

func (c consumerHeaders) Keys() []string {
	keys := make([]string, 0, len(c))
	for _, h := range c {
		if h != nil {
			keys = append(keys, string(h.Key))
		}
	}
	return keys
}
