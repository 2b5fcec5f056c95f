package redigotrace

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestDatabaseOfDialOptions(t *testing.T) {
	for _, c := range []struct {
		options []redis.DialOption
		want    string
	}{
		{nil, "0"},
		{[]redis.DialOption{redis.DialDatabase(3)}, "3"},
		{[]redis.DialOption{redis.DialDatabase(0)}, "0"},
		{[]redis.DialOption{redis.DialDatabase(2), redis.DialDatabase(5)}, "5"},
		{[]redis.DialOption{redis.DialPassword("s3cret"), redis.DialClientName("app"), redis.DialDatabase(7)}, "7"},
		{[]redis.DialOption{redis.DialUsername("bob"), redis.DialPassword("s3cret")}, "0"},
		{[]redis.DialOption{redis.DialUseTLS(true), redis.DialDatabase(4), redis.DialConnectTimeout(time.Second)}, "4"},
		{[]redis.DialOption{redis.DialNetDial(func(string, string) (net.Conn, error) {
			return nil, errors.New("the program's dialer is not called")
		}), redis.DialDatabase(6)}, "6"},
	} {
		if got := database(c.options); got != c.want {
			t.Errorf("database of %d options = %q, want %q", len(c.options), got, c.want)
		}
	}
}

func TestFromURL(t *testing.T) {
	for _, c := range []struct {
		url, address string
		db           int
	}{
		{"redis://cache.internal:6380/2", "cache.internal:6380", 2},
		{"redis://cache.internal", "cache.internal:6379", 0},
		{"rediss://user:s3cret@cache.internal:6379/", "cache.internal:6379", 0},
		{"redis://:6379/11", "localhost:6379", 11},
		{"redis://[::1]:6379/1", "[::1]:6379", 1},
	} {
		if address, db := fromURL(c.url); address != c.address || db != c.db {
			t.Errorf("fromURL(%q) = %q %d, want %q %d", c.url, address, db, c.address, c.db)
		}
	}
}

// plain is a Conn with none of the optional interfaces.
type plain struct{ redis.Conn }

func TestWrapOffersWhatTheConnectionOffers(t *testing.T) {
	ours, peer := net.Pipe()
	defer peer.Close()
	c := wrap(redis.NewConn(ours, 0, 0), nil, "0")
	defer c.Close()
	if _, ok := c.(redis.ConnWithTimeout); !ok {
		t.Error("a redigo connection, wrapped, is no ConnWithTimeout")
	}
	if _, ok := c.(redis.ConnWithContext); !ok {
		t.Error("a redigo connection, wrapped, is no ConnWithContext")
	}
	if again := wrap(c, nil, "0"); again != c {
		t.Error("a traced connection is wrapped twice")
	}
	p := wrap(plain{c}, nil, "0")
	if _, ok := p.(redis.ConnWithContext); ok {
		t.Error("a connection without DoContext got one")
	}
}

// okServer is a connection to an in-memory peer answering +OK to every command.
func okServer(t *testing.T, namespace string) redis.Conn {
	t.Helper()
	ours, peer := net.Pipe()
	done := make(chan string, 1)
	go answerHandshake(peer, done)
	c := wrap(redis.NewConn(ours, time.Second, time.Second), serverAttributes("tcp", "cache.internal:6379"), namespace)
	t.Cleanup(func() { c.Close(); <-done })
	return c
}

func recorder(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	t.Cleanup(func() { otel.SetTracerProvider(previous) })
	return spans
}

func attrs(span sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range span.Attributes() {
		m[kv.Key] = kv.Value.Emit()
	}
	return m
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestBatches(t *testing.T) {
	spans := recorder(t)
	c := okServer(t, "0")

	// A pipeline: Send, Flush, Receive each reply.
	must(t, c.Send("GET", "a"))
	must(t, c.Send("SET", "b", "s3cret"))
	must(t, c.Flush())
	_, err := c.Receive()
	must(t, err)
	if n := len(spans.Ended()); n != 0 {
		t.Fatalf("%d spans ended before the last reply", n)
	}
	_, err = c.Receive()
	must(t, err)

	// One command sent, its reply received by Do("").
	must(t, c.Send("PING"))
	_, err = c.Do("")
	must(t, err)

	// A transaction completed by DoContext, and a Do with nothing pending.
	must(t, c.Send("MULTI"))
	must(t, c.Send("INCR", "hits"))
	_, err = redis.DoContext(c, context.Background(), "EXEC")
	must(t, err)
	_, err = c.Do("")
	must(t, err)

	// SELECT moves the connection to another database.
	_, err = c.Do("SELECT", 4)
	must(t, err)
	_, err = redis.DoWithTimeout(c, time.Second, "GET", "a")
	must(t, err)

	// Sent, never flushed: nothing reached the server.
	must(t, c.Send("DEL", "a"))

	want := []struct{ name, text, batch, namespace string }{
		{"PIPELINE", "GET a; SET b ?", "2", "0"},
		{"PING", "PING", "", "0"},
		{"MULTI INCR", "MULTI; INCR hits; EXEC", "", "0"},
		{"SELECT", "SELECT ?", "", "0"},
		{"GET", "GET a", "", "4"},
	}
	ended := spans.Ended()
	if len(ended) != len(want) {
		t.Fatalf("%d spans, want %d", len(ended), len(want))
	}
	for i, w := range want {
		got := attrs(ended[i])
		if ended[i].Name() != w.name || got["db.query.text"] != w.text || got["db.operation.batch.size"] != w.batch ||
			got["db.namespace"] != w.namespace || got["server.address"] != "cache.internal" {
			t.Errorf("span %d: %q %v, want %+v", i, ended[i].Name(), got, w)
		}
	}
}

func TestReplyError(t *testing.T) {
	wrongType := redis.Error("WRONGTYPE Operation against a key")
	if err := replyError("EXEC", []any{int64(1), wrongType}); !errors.Is(err, wrongType) {
		t.Errorf("EXEC's failed command: %v", err)
	}
	if err := replyError("", []any{"OK", wrongType}); !errors.Is(err, wrongType) {
		t.Errorf(`Do("")'s failed command: %v`, err)
	}
	if err := replyError("LRANGE", []any{wrongType}); err != nil {
		t.Errorf("a value is no error: %v", err)
	}
}

func TestErrorAttributes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want []attribute.KeyValue
	}{
		{redis.Error("WRONGTYPE Operation against a key"), []attribute.KeyValue{
			attribute.String("db.response.status_code", "WRONGTYPE"), attribute.String("error.type", "WRONGTYPE"),
		}},
		{redis.Error("oops"), []attribute.KeyValue{attribute.String("error.type", "redis.Error")}},
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
