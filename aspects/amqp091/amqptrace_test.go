package amqptrace

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// recording installs a provider whose spans the test reads, and the W3C propagator.
func recording(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	previous, previousPropagator := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	tracer = otel.Tracer(ScopeName)
	t.Cleanup(func() {
		otel.SetTracerProvider(previous)
		otel.SetTextMapPropagator(previousPropagator)
		tracer = otel.Tracer(ScopeName)
	})
	return recorder
}

func attributes(span sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	found := map[attribute.Key]attribute.Value{}
	for _, kv := range span.Attributes() {
		found[kv.Key] = kv.Value
	}
	return found
}

var server = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5672}

func TestDestinationsAreNamedAsRabbitMQsConventionsSay(t *testing.T) {
	for _, c := range []struct {
		exchange, key, queue string
		name, span           string
	}{
		{"", "jobs", "", "jobs", "publish jobs"},
		{"events", "orders.eu", "", "events:orders.eu", "publish events:orders.eu"},
		{"events", "", "", "events", "publish events"},
		{"", "", "", "amq.default", "publish amq.default"},
		{"", "jobs", "jobs", "jobs", "publish jobs"},
		{"events", "orders.eu", "audit", "events:orders.eu:audit", "publish events:orders.eu:audit"},
		{"", "amq.gen-Xa2", "", "amq.gen-Xa2", "publish"},
		{"", "amq.rabbitmq.reply-to.g1h2", "", "amq.rabbitmq.reply-to.g1h2", "publish"},
	} {
		d := destination(c.exchange, c.key, c.queue)
		if d.name != c.name || d.spanName("publish") != c.span {
			t.Errorf("destination(%q, %q, %q) = %q, %q; want %q, %q", c.exchange, c.key, c.queue, d.name, d.spanName("publish"), c.name, c.span)
		}
	}
}

func TestCarrierReadsStringsWhateverTheirCase(t *testing.T) {
	table := amqp.Table{"Traceparent": "00-abc", "bytes": []byte("b"), "number": int32(3)}
	c := Carrier(table)
	if c.Get("traceparent") != "00-abc" || c.Get("bytes") != "b" || c.Get("number") != "" || c.Get("missing") != "" {
		t.Errorf("Get: %q %q %q", c.Get("traceparent"), c.Get("bytes"), c.Get("number"))
	}
	c.Set("tracestate", "k=v")
	if table["tracestate"] != "k=v" || len(c.Keys()) != 4 {
		t.Errorf("after Set: %v", table)
	}
}

func TestErrorTypes(t *testing.T) {
	for err, want := range map[error]string{
		&amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND - no queue"}: "NOT_FOUND",
		amqp.ErrClosed:                        "CHANNEL_ERROR",
		&amqp.Error{Code: 999}:                "999",
		fmt.Errorf("x: %w", context.Canceled): "context.Canceled",
		errors.New("plain"):                   "_OTHER",
	} {
		if got := errorType(err); got != want {
			t.Errorf("errorType(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestPublishInjectsIntoACopyAndTracesOnce(t *testing.T) {
	recorder := recording(t)
	headers := amqp.Table{"Kind": "secret"}
	msg := amqp.Publishing{Headers: headers, MessageId: "m-1", CorrelationId: "c-1", Body: []byte("body")}
	sent, end := Publish(context.Background(), nil, server, "events", "orders.eu", msg)
	if len(headers) != 1 {
		t.Errorf("the caller's headers changed: %v", headers)
	}
	if sent.Headers["traceparent"] == nil || sent.Headers["Kind"] != "secret" {
		t.Errorf("sent headers %v", sent.Headers)
	}
	// A publishing method called by the first sees the message it marked.
	inner, innerEnd := Publish(nil, nil, server, "events", "orders.eu", sent)
	innerEnd(nil)
	if tableID(inner.Headers) != tableID(sent.Headers) {
		t.Error("the inner call changed the headers again")
	}
	end(nil)
	spans := recorder.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	span := spans[0]
	attrs := attributes(span)
	if span.Name() != "publish events:orders.eu" || span.SpanKind() != trace.SpanKindProducer {
		t.Errorf("span %s %v", span.Name(), span.SpanKind())
	}
	for key, want := range map[attribute.Key]any{
		"messaging.system": "rabbitmq", "messaging.destination.name": "events:orders.eu",
		"messaging.rabbitmq.destination.routing_key": "orders.eu", "messaging.message.id": "m-1",
		"messaging.message.conversation_id": "c-1", "messaging.message.body.size": int64(4),
		"server.address": "127.0.0.1", "server.port": int64(5672), "messaging.operation.type": "send",
	} {
		if got := attrs[key].AsInterface(); got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	if _, ok := publishing.Load(tableID(sent.Headers)); ok {
		t.Error("the message stays marked")
	}
}

func TestConsumedDeliveriesAreTheProducersChildrenUntilSettled(t *testing.T) {
	recorder := recording(t)
	ctx, producer := otel.Tracer("test").Start(context.Background(), "publish")
	headers := amqp.Table{}
	otel.GetTextMapPropagator().Inject(ctx, Carrier(headers))
	producer.End()

	ch := &amqp.Channel{}
	in := make(chan amqp.Delivery, 3)
	for tag := uint64(1); tag <= 3; tag++ {
		in <- amqp.Delivery{Headers: headers, DeliveryTag: tag, RoutingKey: "jobs", Body: []byte("job")}
	}
	out := Consume(ch, server, "jobs", false, in)
	if Consume(ch, server, "jobs", false, out) != out {
		t.Error("a relayed channel is relayed again")
	}
	first := <-out
	Settle(ch, "ack", first.DeliveryTag, false)
	<-out
	<-out
	Settle(ch, "ack", 2, true) // settles 2, not 3
	if n := len(recorder.Ended()); n != 3 {
		t.Fatalf("%d spans ended, want the producer's and two deliveries'", n)
	}
	close(in)
	for range out { // closed: the unsettled third ends
	}
	spans := recorder.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4", len(spans))
	}
	span := spans[1]
	attrs := attributes(span)
	if span.Name() != "process jobs" || span.SpanKind() != trace.SpanKindConsumer || span.Parent().SpanID() != producer.SpanContext().SpanID() {
		t.Errorf("span %s %v, parent %v", span.Name(), span.SpanKind(), span.Parent().SpanID())
	}
	if attrs["messaging.rabbitmq.message.delivery_tag"].AsInt64() != 1 || attrs["messaging.destination.name"].AsString() != "jobs" {
		t.Errorf("attributes %v", attrs)
	}
}

func TestAutoAckedDeliveriesEndWhenTheNextIsTaken(t *testing.T) {
	recorder := recording(t)
	in := make(chan amqp.Delivery)
	out := Consume(&amqp.Channel{}, nil, "audit", true, in)
	go func() {
		in <- amqp.Delivery{DeliveryTag: 1}
		in <- amqp.Delivery{DeliveryTag: 2}
		close(in)
	}()
	<-out
	time.Sleep(10 * time.Millisecond)
	if n := len(recorder.Ended()); n != 0 {
		t.Errorf("%d spans ended while the first delivery is handled", n)
	}
	<-out
	for range out {
	}
	if n := len(recorder.Ended()); n != 2 {
		t.Errorf("%d spans ended, want 2", n)
	}
}

func TestGetIsAReceiveSpanUnderTheCreationContextWhenNothingIsActive(t *testing.T) {
	recorder := recording(t)
	ctx, producer := otel.Tracer("test").Start(context.Background(), "publish")
	headers := amqp.Table{}
	otel.GetTextMapPropagator().Inject(ctx, Carrier(headers))
	producer.End()

	end := Get(nil, server, "pull")
	end(&amqp.Delivery{Headers: headers, DeliveryTag: 7, RoutingKey: "pull"}, true, nil)
	end = Get(nil, server, "pull")
	end(&amqp.Delivery{}, false, nil)
	end = Get(nil, server, "missing")
	end(&amqp.Delivery{}, false, &amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND"})

	spans := recorder.Ended()
	got, empty, failed := spans[1], spans[2], spans[3]
	if got.Name() != "receive pull" || got.SpanKind() != trace.SpanKindClient || got.Parent().SpanID() != producer.SpanContext().SpanID() {
		t.Errorf("span %s %v, parent %v", got.Name(), got.SpanKind(), got.Parent().SpanID())
	}
	if len(got.Links()) != 1 || attributes(got)["messaging.rabbitmq.message.delivery_tag"].AsInt64() != 7 {
		t.Errorf("links %v, attributes %v", got.Links(), attributes(got))
	}
	if empty.Parent().IsValid() || empty.Status().Code != codes.Unset || attributes(empty)["messaging.rabbitmq.message.delivery_tag"].Type() != attribute.INVALID {
		t.Errorf("an empty Get: parent %v, status %v, attributes %v", empty.Parent(), empty.Status(), attributes(empty))
	}
	if failed.Status().Code != codes.Error || attributes(failed)["error.type"].AsString() != "NOT_FOUND" || failed.Name() != "receive missing" {
		t.Errorf("a failed Get: %s %v %v", failed.Name(), failed.Status(), attributes(failed))
	}
}
