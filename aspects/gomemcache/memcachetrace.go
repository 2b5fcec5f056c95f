// Package memcachetrace traces every operation of every gomemcache Client
// (github.com/bradfitz/gomemcache/memcache) a program makes: one CLIENT span
// per call of a Client method that talks to memcached, with the current
// database semantic conventions.
//
// gomemcache's API takes no context and its Client is a struct, not an
// interface: no wrapper handed back from memcache.New could change which
// methods a program calls. So the gomemcache integration's aspects prepend
// a call of a hook variable to the library's own exported methods (Get,
// Set, ..., in a module copy overlay-gen makes), and the package hook of
// this module, linked into every program that uses gomemcache, sets that
// variable to Start in its init. Every client is traced, however it was made
// (New, NewFromSelector) and wherever it is called (the program, its
// dependencies). This package compiles without the overlay, so that its
// tests run with go test; hook only exists under it.
//
// The span:
//
//   - its parent is the goroutine's active span (otelrt.Parent of
//     context.Background()): gomemcache's calls carry no context;
//   - its name and db.operation.name are the memcached command the method
//     sends, as memcached's protocol spells it (lower case): Get and GetMulti
//     send "gets", CompareAndSwap "cas", Increment "incr", Ping "version",
//     FlushAll and DeleteAll "flush_all";
//   - db.system.name is "memcached"; db.query.text is the command line with
//     its keys and "?" for every other argument (flags, expiration, byte
//     count, delta): "set user:1 ? ? ?", "gets a b c". The value stored or
//     read is never recorded; neither is an illegal key (one gomemcache
//     refuses: "?");
//   - server.address and server.port are the server the key maps to, as the
//     client's ServerSelector says (a ServerList holds addresses as it
//     resolved them: a host name is recorded as its IP address); for an
//     operation on several servers (FlushAll, Ping, GetMulti across servers)
//     only when they all are one server;
//   - memcache.ErrCacheMiss is an answer, not an error: the span is not
//     marked. Any other error sets the status Error with the error's text,
//     records an exception event and error.type: memcached's answer for the
//     ones memcached gave (NOT_STORED, EXISTS, CLIENT_ERROR, SERVER_ERROR,
//     ERROR; also db.response.status_code), the name of gomemcache's error
//     variable for its own (memcache.ErrMalformedKey, memcache.ErrNoServers),
//     the Go type otherwise (*net.OpError, *memcache.ConnectTimeoutError),
//     "_OTHER" for an error that has no type of its own.
package memcachetrace

import (
	"context"
	"net"
	"reflect"
	"strconv"
	"strings"

	"github.com/bradfitz/gomemcache/memcache"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// ScopeName is the instrumentation scope of the memcached spans.
const ScopeName = "overlay-gen/github.com/bradfitz/gomemcache"

var tracer = otel.Tracer(ScopeName)

// A method's command: the memcached command it sends, and how the command
// line reads with its keys and arguments.
type command struct {
	name string
	args string // what follows the keys, "?" for each argument
	// keyFirst: the key comes before args ("set k ? ? ?"), else after ("gat ? k")
	keyFirst bool
	servers  servers
}

// servers says which servers a method talks to.
type servers uint8

const (
	ofKeys  servers = iota // the servers its keys map to
	all                    // every server (FlushAll, Ping)
	ofEmpty                // the server the empty key maps to (DeleteAll)
)

var commands = map[string]command{
	"Get":            {name: "gets", keyFirst: true},
	"GetMulti":       {name: "gets", keyFirst: true},
	"GetAndTouch":    {name: "gat", args: "?"},
	"Touch":          {name: "touch", args: "?", keyFirst: true},
	"Set":            {name: "set", args: "? ? ?", keyFirst: true},
	"Add":            {name: "add", args: "? ? ?", keyFirst: true},
	"Replace":        {name: "replace", args: "? ? ?", keyFirst: true},
	"Append":         {name: "append", args: "? ? ?", keyFirst: true},
	"Prepend":        {name: "prepend", args: "? ? ?", keyFirst: true},
	"CompareAndSwap": {name: "cas", args: "? ? ? ?", keyFirst: true},
	"Delete":         {name: "delete", keyFirst: true},
	"Increment":      {name: "incr", args: "?", keyFirst: true},
	"Decrement":      {name: "decr", args: "?", keyFirst: true},
	"DeleteAll":      {name: "flush_all", servers: ofEmpty},
	"FlushAll":       {name: "flush_all", servers: all},
	"Ping":           {name: "version", servers: all},
}

// maxListed is how many keys of a GetMulti db.query.text lists.
const maxListed = 64

// Start begins the span of one operation of a Client whose selector is ss:
// method is the Client method called, keys the keys it is about. The
// function it returns ends the span with the operation's error.
func Start(ss memcache.ServerSelector, method string, keys []string) func(error) {
	ctx := otelrt.Parent(context.Background())
	if otelrt.InClientSpan(ctx) { // its span would not be recorded
		return func(error) {}
	}
	cmd, ok := commands[method]
	if !ok { // a method this package does not know: its name stands in
		cmd = command{name: strings.ToLower(method), keyFirst: true}
	}
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, semconv.DBSystemNameMemcached, semconv.DBOperationName(cmd.name), semconv.DBQueryText(cmd.text(keys)))
	attrs = append(attrs, serverAttributes(cmd.addresses(ss, keys))...)
	_, span := tracer.Start(ctx, cmd.name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return func(err error) {
		if err != nil && err != memcache.ErrCacheMiss {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			span.SetAttributes(errorAttributes(err)...)
		}
		span.End()
	}
}

// text is db.query.text: the command line, keys kept, other arguments "?".
func (cmd command) text(keys []string) string {
	parts := []string{cmd.name}
	if cmd.args != "" && !cmd.keyFirst {
		parts = append(parts, cmd.args)
	}
	for i, key := range keys {
		if i == maxListed {
			parts = append(parts, "...")
			break
		}
		if !legalKey(key) {
			key = "?"
		}
		parts = append(parts, key)
	}
	if cmd.args != "" && cmd.keyFirst {
		parts = append(parts, cmd.args)
	}
	return strings.Join(parts, " ")
}

// addresses are the servers the operation talks to, as the selector says.
func (cmd command) addresses(ss memcache.ServerSelector, keys []string) []net.Addr {
	if ss == nil {
		return nil
	}
	var found []net.Addr
	add := func(addr net.Addr) {
		for _, seen := range found {
			if seen.Network() == addr.Network() && seen.String() == addr.String() {
				return
			}
		}
		found = append(found, addr)
	}
	switch cmd.servers {
	case all:
		_ = ss.Each(func(addr net.Addr) error {
			add(addr)
			return nil
		})
	case ofEmpty:
		if addr, err := ss.PickServer(""); err == nil {
			add(addr)
		}
	default:
		for _, key := range keys {
			if !legalKey(key) { // gomemcache sends nothing for it
				continue
			}
			if addr, err := ss.PickServer(key); err == nil {
				add(addr)
			}
		}
	}
	return found
}

// serverAttributes are server.address and server.port of the one server an
// operation talks to; none when it talks to several, or none.
func serverAttributes(addrs []net.Addr) []attribute.KeyValue {
	if len(addrs) != 1 || addrs[0] == nil {
		return nil
	}
	addr := addrs[0]
	if addr.Network() == "unix" {
		return []attribute.KeyValue{semconv.ServerAddress(addr.String())}
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return []attribute.KeyValue{semconv.ServerAddress(addr.String())}
	}
	attrs := []attribute.KeyValue{semconv.ServerAddress(host)}
	if n, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPort(n))
	}
	return attrs
}

// legalKey: a key gomemcache sends (at most 250 bytes, no spaces or
// control characters); it refuses others with ErrMalformedKey.
func legalKey(key string) bool {
	if len(key) > 250 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] == 0x7f {
			return false
		}
	}
	return true
}

// The errors gomemcache makes of memcached's answers, by the answer.
var answers = map[error]string{
	memcache.ErrNotStored:   "NOT_STORED",
	memcache.ErrCASConflict: "EXISTS",
	memcache.ErrServerError: "SERVER_ERROR",
}

// The errors of gomemcache's own, by name.
var sentinels = map[error]string{
	memcache.ErrMalformedKey: "memcache.ErrMalformedKey",
	memcache.ErrNoServers:    "memcache.ErrNoServers",
	memcache.ErrNoStats:      "memcache.ErrNoStats",
}

// errorAttributes are error.type and, for an error memcached answered,
// db.response.status_code.
func errorAttributes(err error) []attribute.KeyValue {
	if code := answer(err); code != "" {
		return []attribute.KeyValue{semconv.DBResponseStatusCode(code), semconv.ErrorTypeKey.String(code)}
	}
	if name, ok := sentinels[err]; ok {
		return []attribute.KeyValue{semconv.ErrorTypeKey.String(name)}
	}
	kind := reflect.TypeOf(err).String()
	if kind == "*errors.errorString" || kind == "*fmt.wrapError" {
		kind = "_OTHER" // no type of its own: the conventions' fallback
	}
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(kind)}
}

// answer is memcached's answer that err reports, if it reports one.
// gomemcache returns the answers it expects as its error variables, wraps
// CLIENT_ERROR replies of incr and decr ("memcache: client error: ..."),
// and quotes the line of any other answer ("memcache: unexpected response
// line from \"set\": \"SERVER_ERROR object too large for cache\\r\\n\"").
func answer(err error) string {
	if code, ok := answers[err]; ok {
		return code
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "memcache: client error: ") {
		return "CLIENT_ERROR"
	}
	if !strings.HasPrefix(msg, "memcache: unexpected response line") {
		return ""
	}
	for _, code := range []string{"SERVER_ERROR", "CLIENT_ERROR", "ERROR"} {
		if strings.Contains(msg, `: "`+code+` `) || strings.Contains(msg, `: "`+code+`\r\n"`) {
			return code
		}
	}
	return ""
}
