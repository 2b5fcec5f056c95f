package memcachetrace

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestQueryTextKeepsCommandAndKeysOnly(t *testing.T) {
	for _, c := range []struct {
		method string
		keys   []string
		want   string
	}{
		{"Get", []string{"user:1"}, "gets user:1"},
		{"GetMulti", []string{"a", "b", "c"}, "gets a b c"},
		{"GetMulti", nil, "gets"},
		{"Set", []string{"user:1"}, "set user:1 ? ? ?"},
		{"Add", []string{"k"}, "add k ? ? ?"},
		{"Replace", []string{"k"}, "replace k ? ? ?"},
		{"Append", []string{"k"}, "append k ? ? ?"},
		{"Prepend", []string{"k"}, "prepend k ? ? ?"},
		{"CompareAndSwap", []string{"k"}, "cas k ? ? ? ?"},
		{"Delete", []string{"k"}, "delete k"},
		{"Increment", []string{"hits"}, "incr hits ?"},
		{"Decrement", []string{"hits"}, "decr hits ?"},
		{"Touch", []string{"k"}, "touch k ?"},
		{"GetAndTouch", []string{"k"}, "gat ? k"},
		{"DeleteAll", nil, "flush_all"},
		{"FlushAll", nil, "flush_all"},
		{"Ping", nil, "version"},
		{"Get", []string{"with space"}, "gets ?"},
		{"Set", []string{"new\nline"}, "set ? ? ? ?"},
		{"Get", []string{strings.Repeat("k", 251)}, "gets ?"},
		{"Frobnicate", []string{"k"}, "frobnicate k"},
	} {
		cmd, ok := commands[c.method]
		if !ok {
			cmd = command{name: strings.ToLower(c.method), keyFirst: true}
		}
		if got := cmd.text(c.keys); got != c.want {
			t.Errorf("%s%q: db.query.text %q, want %q", c.method, c.keys, got, c.want)
		}
	}
}

func TestQueryTextListsAtMostMaxListedKeys(t *testing.T) {
	keys := make([]string, maxListed+10)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
	}
	got := commands["GetMulti"].text(keys)
	if fields := strings.Fields(got); len(fields) != maxListed+2 || fields[len(fields)-1] != "..." {
		t.Errorf("db.query.text of %d keys: %q", len(keys), got)
	}
}

func selector(t *testing.T, servers ...string) memcache.ServerSelector {
	t.Helper()
	ss := new(memcache.ServerList)
	if err := ss.SetServers(servers...); err != nil {
		t.Fatal(err)
	}
	return ss
}

func attributes(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestServerIsTheOneTheKeysMapTo(t *testing.T) {
	one := selector(t, "127.0.0.1:11311")
	got := attributes(serverAttributes(commands["Get"].addresses(one, []string{"k"})))
	if got["server.address"].AsString() != "127.0.0.1" || got["server.port"].AsInt64() != 11311 {
		t.Errorf("one server: %v", got)
	}
	if got := serverAttributes(commands["Get"].addresses(one, []string{"bad key"})); len(got) != 0 {
		t.Errorf("an illegal key reaches no server: %v", got)
	}

	two := selector(t, "127.0.0.1:11311", "127.0.0.2:11312")
	first, _ := two.PickServer("a")
	var other string // a key that maps to the other server
	for i := 0; other == ""; i++ {
		if addr, _ := two.PickServer(fmt.Sprint("k", i)); addr.String() != first.String() {
			other = fmt.Sprint("k", i)
		}
	}
	host, _, _ := net.SplitHostPort(first.String())
	got = attributes(serverAttributes(commands["GetMulti"].addresses(two, []string{"a", "a"})))
	if got["server.address"].AsString() != host {
		t.Errorf("keys of one server: %v, want %s", got, first)
	}
	if got := serverAttributes(commands["GetMulti"].addresses(two, []string{"a", other})); len(got) != 0 {
		t.Errorf("keys of two servers name no server: %v", got)
	}
	if got := serverAttributes(commands["FlushAll"].addresses(two, nil)); len(got) != 0 {
		t.Errorf("FlushAll on two servers names no server: %v", got)
	}
	if got := attributes(serverAttributes(commands["Ping"].addresses(one, nil))); got["server.port"].AsInt64() != 11311 {
		t.Errorf("Ping on one server: %v", got)
	}
	empty, _ := two.PickServer("")
	host, _, _ = net.SplitHostPort(empty.String())
	if got := attributes(serverAttributes(commands["DeleteAll"].addresses(two, nil))); got["server.address"].AsString() != host {
		t.Errorf("DeleteAll goes to the empty key's server %s: %v", empty, got)
	}

	unix := selector(t, "/run/memcached/memcached.sock")
	got = attributes(serverAttributes(commands["Get"].addresses(unix, []string{"k"})))
	if got["server.address"].AsString() != "/run/memcached/memcached.sock" || got["server.port"].Type() != attribute.INVALID {
		t.Errorf("unix socket: %v", got)
	}
	if got := serverAttributes(commands["Get"].addresses(new(memcache.ServerList), []string{"k"})); len(got) != 0 {
		t.Errorf("no servers: %v", got)
	}
}

func TestErrorAttributes(t *testing.T) {
	for _, c := range []struct {
		err        error
		errorType  string
		statusCode string
	}{
		{memcache.ErrNotStored, "NOT_STORED", "NOT_STORED"},
		{memcache.ErrCASConflict, "EXISTS", "EXISTS"},
		{errors.New("memcache: client error: cannot increment or decrement non-numeric value"), "CLIENT_ERROR", "CLIENT_ERROR"},
		{fmt.Errorf("memcache: unexpected response line from %q: %q", "set", "SERVER_ERROR object too large for cache\r\n"), "SERVER_ERROR", "SERVER_ERROR"},
		{fmt.Errorf("memcache: unexpected response line: %q", "ERROR\r\n"), "ERROR", "ERROR"},
		{fmt.Errorf("memcache: unexpected response line from flush_all: %q", "BUSY\r\n"), "_OTHER", ""},
		{memcache.ErrMalformedKey, "memcache.ErrMalformedKey", ""},
		{memcache.ErrNoServers, "memcache.ErrNoServers", ""},
		{&memcache.ConnectTimeoutError{Addr: &net.TCPAddr{}}, "*memcache.ConnectTimeoutError", ""},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, "*net.OpError", ""},
	} {
		got := attributes(errorAttributes(c.err))
		if got["error.type"].AsString() != c.errorType || got["db.response.status_code"].AsString() != c.statusCode {
			t.Errorf("errorAttributes(%v) = %v, want error.type %q, db.response.status_code %q", c.err, got, c.errorType, c.statusCode)
		}
	}
}

func TestStartRecordsOneClientSpanAndNoMissAsError(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder)))
	ss := selector(t, "127.0.0.1:11311")
	Start(ss, "Get", []string{"k"})(memcache.ErrCacheMiss)
	Start(ss, "Add", []string{"k"})(memcache.ErrNotStored)
	Start(ss, "Set", []string{"k"})(nil)

	spans := recorder.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	for i, want := range []struct {
		name   string
		status codes.Code
		events int
	}{{"gets", codes.Unset, 0}, {"add", codes.Error, 1}, {"set", codes.Unset, 0}} {
		s := spans[i]
		if s.Name() != want.name || s.SpanKind() != trace.SpanKindClient || s.Status().Code != want.status || len(s.Events()) != want.events {
			t.Errorf("span %d: %s %v %v %d events, want %s %v", i, s.Name(), s.SpanKind(), s.Status(), len(s.Events()), want.name, want.status)
		}
		got := attributes(s.Attributes())
		if got["db.system.name"].AsString() != "memcached" || got["db.operation.name"].AsString() != want.name || got["server.port"].AsInt64() != 11311 {
			t.Errorf("span %d attributes: %v", i, got)
		}
	}
}
