package saramatrace

import (
	"testing"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// mockCluster is one sarama MockBroker, leader of topic t's partition 0,
// that fails a produce to partition 0 of topic "bad" with an error sarama
// does not retry; it answers produce requests of the given version (the one
// sarama sends for the Config's Version).
func mockCluster(t *testing.T, produce int16) *sarama.MockBroker {
	broker := sarama.NewMockBroker(t, 1)
	broker.SetHandlerByMap(map[string]sarama.MockResponse{
		"MetadataRequest": sarama.NewMockMetadataResponse(t).
			SetBroker(broker.Addr(), broker.BrokerID()).
			SetLeader("t", 0, broker.BrokerID()).
			SetLeader("bad", 0, broker.BrokerID()),
		"ProduceRequest": sarama.NewMockProduceResponse(t).SetVersion(produce).SetError("bad", 0, sarama.ErrInvalidTopic),
	})
	return broker
}

func recording(t *testing.T) *tracetest.SpanRecorder {
	recorder := tracetest.NewSpanRecorder()
	saved := tracer
	tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder)).Tracer("test")
	savedPropagator := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{}) // what the runtime installs by default
	t.Cleanup(func() { tracer = saved; otel.SetTextMapPropagator(savedPropagator) })
	return recorder
}

// An AsyncProducer whose Config asks for neither successes nor errors still
// ends every message's span; the program's channels stay silent, and Close
// returns no error (sarama logs them), as without this package.
func TestAnAsyncProducerEndsSpansThatTheProgramDoesNotAskAbout(t *testing.T) {
	broker := mockCluster(t, 3)
	defer broker.Close()
	recorder := recording(t)
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V0_11_0_0
	cfg.Producer.Return.Errors = false
	// Retries stay on: with none, sarama drops the broker's connection on
	// the first failure, and "t", if sent after "bad", fails too.
	p, err := NewAsyncProducer([]string{broker.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Producer.Return.Successes || cfg.Producer.Return.Errors || len(cfg.Producer.Interceptors) != 0 {
		t.Error("the program's Config was changed")
	}
	p.Input() <- &sarama.ProducerMessage{Topic: "t", Value: sarama.StringEncoder("v")}
	p.Input() <- &sarama.ProducerMessage{Topic: "bad", Value: sarama.StringEncoder("v")}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v (want nil: the program did not ask for errors)", err)
	}
	select {
	case msg, ok := <-p.Successes():
		if ok {
			t.Errorf("a success the program did not ask for: %v", msg)
		}
	default:
		t.Error("Successes is not closed after Close")
	}
	spans := recorder.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans ended, want 2", len(spans))
	}
	for _, s := range spans {
		if s.SpanKind() != trace.SpanKindProducer {
			t.Errorf("%s: kind %s", s.Name(), s.SpanKind())
		}
		switch s.Name() {
		case "send t":
			if s.Status().Code.String() != "Unset" {
				t.Errorf("send t: status %v", s.Status())
			}
		case "send bad":
			if s.Status().Code.String() != "Error" {
				t.Errorf("send bad: status %v, want Error", s.Status())
			}
		default:
			t.Errorf("span %q", s.Name())
		}
	}
}

// A SyncProducer's message gets a traceparent header, unless the Config
// names a Kafka older than 0.11.
func TestASyncProducerWritesTheTraceContextWhereKafkaHasHeaders(t *testing.T) {
	for _, c := range []struct {
		version sarama.KafkaVersion
		produce int16
		want    bool
	}{{sarama.V0_11_0_0, 3, true}, {sarama.V0_10_2_0, 2, false}} {
		broker := mockCluster(t, c.produce)
		recording(t)
		cfg := sarama.NewConfig()
		cfg.Version = c.version
		cfg.Producer.Return.Successes = true
		p, err := NewSyncProducer([]string{broker.Addr()}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		msg := &sarama.ProducerMessage{Topic: "t", Value: sarama.StringEncoder("v")}
		if _, _, err := p.SendMessage(msg); err != nil {
			t.Errorf("%s: SendMessage: %v", c.version, err)
		}
		if got := (producerHeaders{msg}).Get("traceparent") != ""; got != c.want {
			t.Errorf("%s: traceparent written: %v, want %v", c.version, got, c.want)
		}
		_ = p.Close()
		broker.Close()
	}
}
