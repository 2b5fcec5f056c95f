package redisv8trace

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/go-redis/redis/v8"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// recorder installs a provider that keeps the spans it ends.
func recorder(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	t.Cleanup(func() { otel.SetTracerProvider(previous) })
	return spans
}

// unreachable is a client whose every dial fails: its commands fail without
// a server, through all of go-redis's code.
func unreachable() *redis.Client {
	return Instrument(redis.NewClient(&redis.Options{
		Addr:       "cache.internal:6379",
		MaxRetries: -1,
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("no network here")
		},
	}))
}

func attrs(span sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range span.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestCommandOutsideAnySpanIsARootSpan(t *testing.T) {
	spans := recorder(t)
	rdb := unreachable()
	defer rdb.Close()
	if err := rdb.Set(context.Background(), "user:1", "s3cret", 0).Err(); err == nil {
		t.Fatal("SET reached a server")
	}
	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans, want 1 (redisotel v8 alone traces nothing here)", len(ended))
	}
	span := ended[0]
	got := attrs(span)
	if span.Name() != "SET" || span.SpanKind() != trace.SpanKindClient || span.Parent().IsValid() {
		t.Errorf("span %q kind %v parent %v, want a root CLIENT span SET", span.Name(), span.SpanKind(), span.Parent())
	}
	for key, want := range map[attribute.Key]string{
		"db.system.name": "redis", "db.namespace": "0", "server.address": "cache.internal",
		"db.operation.name": "SET", "db.query.text": "SET user:1 ?", "error.type": "*errors.errorString",
	} {
		if got[key].Emit() != want {
			t.Errorf("%s = %q, want %q", key, got[key].Emit(), want)
		}
	}
	for _, key := range []attribute.Key{"db.system", "db.statement"} {
		if _, ok := got[key]; ok {
			t.Errorf("redisotel's %s is still there: %v", key, got[key])
		}
	}
	if span.Status().Code != codes.Error {
		t.Errorf("status %v, want Error", span.Status())
	}
}

func TestSampledOutParentGivesNoSpan(t *testing.T) {
	spans := recorder(t)
	rdb := unreachable()
	defer rdb.Close()
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}})
	ctx := trace.ContextWithSpanContext(context.Background(), parent) // not sampled
	_ = rdb.Get(ctx, "k").Err()
	if n := len(spans.Ended()); n != 0 {
		t.Errorf("%d spans under a parent sampled out, want none", n)
	}
}

func TestTransaction(t *testing.T) {
	spans := recorder(t)
	rdb := unreachable()
	defer rdb.Close()
	_, _ = rdb.TxPipelined(context.Background(), func(pipe redis.Pipeliner) error {
		pipe.Incr(context.Background(), "hits")
		pipe.Incr(context.Background(), "visits")
		return nil
	})
	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans, want 1", len(ended))
	}
	got := attrs(ended[0])
	if ended[0].Name() != "MULTI INCR" || got["db.query.text"].AsString() != "MULTI; INCR hits; INCR visits; EXEC" ||
		got["db.operation.batch.size"].AsInt64() != 2 {
		t.Errorf("transaction span %q %v", ended[0].Name(), got)
	}
}

type answered string

func (e answered) Error() string { return string(e) }
func (answered) RedisError()     {}

func TestPipelineErrorIsItsFirstFailedCommand(t *testing.T) {
	spans := recorder(t)
	ok, failed := redis.NewStatusCmd(context.Background(), "set", "a", "v"), redis.NewIntCmd(context.Background(), "incr", "a")
	failed.SetErr(answered("ERR value is not an integer or out of range"))
	op := &operation{cmds: []redis.Cmder{ok, failed}, pipeline: true}
	ctx := context.WithValue(context.Background(), opKey{}, op)
	_, span := provider.Tracer("test").Start(ctx, "pipeline", trace.WithSpanKind(trace.SpanKindClient))
	span.End()
	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans, want 1", len(ended))
	}
	got := attrs(ended[0])
	if ended[0].Status().Code != codes.Error || got["error.type"].AsString() != "ERR" || got["db.response.status_code"].AsString() != "ERR" {
		t.Errorf("pipeline span: status %v, %v", ended[0].Status(), got)
	}
	if ended[0].Name() != "PIPELINE" {
		t.Errorf("name %q, want PIPELINE", ended[0].Name())
	}
}

func TestErrorAttributes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want []attribute.KeyValue
	}{
		{answered("WRONGTYPE Operation against a key"), []attribute.KeyValue{
			attribute.String("db.response.status_code", "WRONGTYPE"), attribute.String("error.type", "WRONGTYPE"),
		}},
		{answered("redis: transaction failed"), []attribute.KeyValue{attribute.String("error.type", "redisv8trace.answered")}},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, []attribute.KeyValue{attribute.String("error.type", "*net.OpError")}},
	} {
		got := errorAttributes(c.err)
		if len(got) != len(c.want) {
			t.Errorf("errorAttributes(%v) = %v, want %v", c.err, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("errorAttributes(%v) = %v, want %v", c.err, got, c.want)
			}
		}
	}
}
