package kafkamsg

import "go.opentelemetry.io/otel/propagation"

// Header is a Kafka client's header type: a struct of a key and a value, as
// kafka-go's kafka.Header and confluent-kafka-go's kafka.Header are.
type Header interface {
	~struct {
		Key   string
		Value []byte
	}
}

// The fields of a header, whichever client's.
type fields = struct {
	Key   string
	Value []byte
}

// Carrier is a message's headers as a propagation.TextMapCarrier. Kafka
// header keys are case-sensitive and may repeat: Get reads the first header
// of a key, Set replaces it and drops any later one of the same key (a
// forwarded message keeps no stale traceparent), else appends one. Set
// writes into the array the headers are in while they fit.
type Carrier[H Header] struct{ headers *[]H }

// HeaderCarrier is the headers at *headers as a propagation.TextMapCarrier.
func HeaderCarrier[H Header](headers *[]H) Carrier[H] {
	return Carrier[H]{headers}
}

var _ propagation.TextMapCarrier = Carrier[fields]{}

func (c Carrier[H]) Get(key string) string {
	for _, h := range *c.headers {
		if f := fields(h); f.Key == key {
			return string(f.Value)
		}
	}
	return ""
}

func (c Carrier[H]) Set(key, value string) {
	headers := *c.headers
	kept := headers[:0]
	found := false
	for _, h := range headers {
		if fields(h).Key == key {
			if found {
				continue
			}
			found = true
			h = H{Key: key, Value: []byte(value)}
		}
		kept = append(kept, h)
	}
	if !found {
		kept = append(kept, H{Key: key, Value: []byte(value)})
	}
	*c.headers = kept
}

func (c Carrier[H]) Keys() []string {
	keys := make([]string, 0, len(*c.headers))
	for _, h := range *c.headers {
		keys = append(keys, fields(h).Key)
	}
	return keys
}
