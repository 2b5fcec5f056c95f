package kafkamsg

import "go.opentelemetry.io/otel/propagation"

// Headers says how a library's header type H is read and made: its key, its
// value, and a new header of a key and value.
type Headers[H any] struct {
	Key   func(H) string
	Value func(H) []byte
	New   func(key string, value []byte) H
}

// Carrier is the headers at *headers as a propagation.TextMapCarrier.
func (f Headers[H]) Carrier(headers *[]H) Carrier[H] {
	return Carrier[H]{headers: headers, format: f}
}

// Carrier is a message's headers as a propagation.TextMapCarrier. Kafka
// header keys are case-sensitive and may repeat: Get reads the first header
// of a key, Set replaces it and drops any later one of the same key (a
// forwarded message keeps no stale traceparent), else appends one.
type Carrier[H any] struct {
	headers *[]H
	format  Headers[H]
}

var _ propagation.TextMapCarrier = Carrier[struct{}]{}

func (c Carrier[H]) Get(key string) string {
	for _, h := range *c.headers {
		if c.format.Key(h) == key {
			return string(c.format.Value(h))
		}
	}
	return ""
}

func (c Carrier[H]) Set(key, value string) {
	headers := *c.headers
	kept := headers[:0]
	found := false
	for _, h := range headers {
		if c.format.Key(h) == key {
			if found {
				continue
			}
			found = true
			h = c.format.New(key, []byte(value))
		}
		kept = append(kept, h)
	}
	if !found {
		kept = append(kept, c.format.New(key, []byte(value)))
	}
	*c.headers = kept
}

func (c Carrier[H]) Keys() []string {
	keys := make([]string, 0, len(*c.headers))
	for _, h := range *c.headers {
		keys = append(keys, c.format.Key(h))
	}
	return keys
}
