// Package redistrace traces the commands and pipelines of every go-redis
// client a program creates, through redisotel, the instrumentation package
// go-redis's authors keep, as a user would call it by hand
// (redisotel.InstrumentTracing), with the current database semantic
// conventions instead of the v1.24 ones redisotel records.
//
// The go-redis integration's aspect wraps every client constructor call with
// Instrument. Each node client (the client itself; every node of a cluster;
// every shard of a ring) gets two hooks, in this order:
//
//   - this package's, the outer one: it puts the command (or pipeline) in the
//     context redisotel's hook receives, and gives a context without a span
//     the goroutine's active span (otelrt.Parent), so that a command issued
//     with context.Background() inside a span still nests;
//   - redisotel's, given a TracerProvider of this package: the spans
//     redisotel starts through it are started by the real provider with the
//     name and attributes of the current conventions, computed from the
//     command found in the context, at span creation (so samplers see them).
//
// One CLIENT span per command and per pipeline or transaction, named after
// the operation ("GET", "PIPELINE", "MULTI INCR"), with db.system.name,
// db.operation.name, db.query.text (the command, its name and keys only:
// every other argument, a value, is "?"), db.namespace (the database index the
// client was configured with), server.address and server.port (the address
// the client was configured with), db.operation.batch.size (pipelines of two
// or more). redisotel's own choices stay: redis.Nil (a missing key) is not an
// error; another error sets the status Error and records an exception event,
// to which this package adds error.type and, for an error Redis answered,
// db.response.status_code (the error's prefix: ERR, WRONGTYPE...).
//
// Not traced separately: connection dials, and the commands go-redis sends
// while executing another one (the connection handshake: HELLO, CLIENT
// SETINFO, AUTH, SELECT...), which belong to the span of the command that
// needed the connection. A cluster client's own requests to its nodes
// (CLUSTER SLOTS, COMMAND) are spans of their own, beside the command that
// made it ask. A failover client's spans have no server.address: its
// configuration names sentinels, the master is found when dialing.
//
// It only exists under overlay-gen's overlay.
package redistrace

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strconv"
	"strings"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"

	"overlay-gen.invalid/otelrt"
)

// Instrument makes a client that has just been created trace its commands
// and pipelines, and returns it. Clients of types it does not know are
// returned as they are.
func Instrument[C redis.UniversalClient](client C) C {
	switch c := any(client).(type) {
	case *redis.Client:
		instrumentNode(c)
	case *redis.ClusterClient:
		// The cluster's own hooks run in the caller's goroutine, before the
		// command is routed to a node (maybe in another goroutine).
		c.AddHook(parentHook{})
		c.OnNewNode(instrumentNode) // cluster nodes are created on first use
	case *redis.Ring:
		c.AddHook(parentHook{})
		c.OnNewNode(instrumentNode)
		// NewRing creates its shards before anyone can register OnNewNode
		// (redisotel's Ring support misses them): instrument those now.
		_ = c.ForEachShard(context.Background(), func(_ context.Context, shard *redis.Client) error {
			instrumentNode(shard)
			return nil
		})
	}
	return client
}

// instrumentNode gives one node client this package's hook, then redisotel's.
// go-redis runs the first hook added outermost.
func instrumentNode(c *redis.Client) {
	c.AddHook(&hook{connection: connectionAttributes(c.Options())})
	// The command text redisotel would record holds every value: it is off.
	_ = redisotel.InstrumentTracing(c, redisotel.WithTracerProvider(provider), redisotel.WithDBStatement(false))
}

// connectionAttributes are the attributes of every span of one node client.
// db.namespace is the database index the client was configured with (a
// SELECT on a connection of the pool would change it for that connection).
func connectionAttributes(opt *redis.Options) []attribute.KeyValue {
	attrs := []attribute.KeyValue{semconv.DBSystemNameRedis, semconv.DBNamespace(strconv.Itoa(opt.DB))}
	if opt.Network == "unix" {
		return append(attrs, semconv.ServerAddress(opt.Addr))
	}
	// A failover client's Addr is no address (the master is found when
	// dialing), nor is the ":port" a single-node cluster gives its node.
	if host, port, err := net.SplitHostPort(opt.Addr); err == nil && host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if n, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(n))
		}
	}
	return attrs
}

// --- the hooks -----------------------------------------------------------------------

// opKey is the context key of the operation redisotel's hook is about to trace.
type opKey struct{}

// operation is one command, pipeline or transaction, as a hook saw it.
type operation struct {
	connection []attribute.KeyValue
	cmds       []redis.Cmder
	pipeline   bool
}

// quiet, in the context, tells the tracer that redisotel's span is not to be
// made: a dial, or a command go-redis sends while executing another one.
var quiet = &operation{}

// hook is the outer hook of one node client.
type hook struct {
	connection []attribute.KeyValue
}

var _ redis.Hook = (*hook)(nil)

func (h *hook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(context.WithValue(ctx, opKey{}, quiet), network, addr)
	}
}

func (h *hook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return next(h.begin(ctx, []redis.Cmder{cmd}, false), cmd)
	}
}

func (h *hook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		return next(h.begin(ctx, cmds, true), cmds)
	}
}

// begin is the context redisotel's hook receives for an operation.
func (h *hook) begin(ctx context.Context, cmds []redis.Cmder, pipeline bool) context.Context {
	if _, inside := ctx.Value(opKey{}).(*operation); inside {
		// go-redis runs this operation while executing another one (the
		// handshake of the connection that one needed): it is part of it.
		return context.WithValue(ctx, opKey{}, quiet)
	}
	op := &operation{connection: h.connection, cmds: cmds, pipeline: pipeline}
	return context.WithValue(otelrt.Parent(ctx), opKey{}, op)
}

// parentHook is the hook of a cluster or ring client: commands issued with a
// context without a span get the goroutine's active span.
type parentHook struct{}

func (parentHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (parentHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { return next(otelrt.Parent(ctx), cmd) }
}

func (parentHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { return next(otelrt.Parent(ctx), cmds) }
}

// --- the tracer redisotel starts its spans with ------------------------------------------

// provider is the TracerProvider redisotel gets: its tracers start spans
// with the global provider (the one otelrt installs, also when a client was
// created before it was).
var provider trace.TracerProvider = tracerProvider{}

type tracerProvider struct{ embedded.TracerProvider }

func (tracerProvider) Tracer(name string, options ...trace.TracerOption) trace.Tracer {
	return tracer{inner: otel.GetTracerProvider().Tracer(name, options...)}
}

type tracer struct {
	embedded.Tracer
	inner trace.Tracer
}

// dropped are the attributes redisotel records that the current conventions
// rename (db.system), drop (db.connection_string; db.redis.num_cmd, for which
// db.operation.batch.size) or that carry values (db.statement), and the
// caller's code location, which it records on every span.
var dropped = map[attribute.Key]bool{
	"db.system": true, "db.connection_string": true, "db.statement": true, "db.redis.num_cmd": true,
	"code.function": true, "code.filepath": true, "code.lineno": true, "code.namespace": true,
	"code.function.name": true, "code.file.path": true, "code.line.number": true,
}

func (t tracer) Start(ctx context.Context, name string, options ...trace.SpanStartOption) (context.Context, trace.Span) {
	op, _ := ctx.Value(opKey{}).(*operation)
	if op == quiet {
		return ctx, noop.Span{}
	}
	config := trace.NewSpanStartConfig(options...)
	attrs := make([]attribute.KeyValue, 0, 12)
	if op != nil {
		name = op.name()
		attrs = append(attrs, op.connection...)
		attrs = append(attrs, op.attributes(name)...)
	}
	for _, kv := range config.Attributes() {
		switch {
		case dropped[kv.Key]:
			if kv.Key == "db.system" && op == nil { // a span this package does not know of
				attrs = append(attrs, semconv.DBSystemNameKey.String(kv.Value.AsString()))
			}
		case op != nil && (kv.Key == "server.address" || kv.Key == "server.port"):
			// op.connection has them, from the same options
		default:
			attrs = append(attrs, kv)
		}
	}
	start := []trace.SpanStartOption{trace.WithSpanKind(config.SpanKind()), trace.WithAttributes(attrs...)}
	if links := config.Links(); len(links) > 0 {
		start = append(start, trace.WithLinks(links...))
	}
	if ts := config.Timestamp(); !ts.IsZero() {
		start = append(start, trace.WithTimestamp(ts))
	}
	if config.NewRoot() {
		start = append(start, trace.WithNewRoot())
	}
	ctx, span := t.inner.Start(ctx, name, start...)
	return ctx, errorSpan{span}
}

// errorSpan adds to the errors redisotel records (all but redis.Nil) the
// attributes the conventions ask for.
type errorSpan struct{ trace.Span }

func (s errorSpan) RecordError(err error, options ...trace.EventOption) {
	if err != nil {
		s.Span.SetAttributes(errorAttributes(err)...)
	}
	s.Span.RecordError(err, options...)
}

// errorAttributes are error.type and, for an error Redis answered,
// db.response.status_code: the error's prefix (ERR, WRONGTYPE, MOVED...).
// Other errors' error.type is their Go type (*net.OpError...).
func errorAttributes(err error) []attribute.KeyValue {
	var answered redis.Error
	if errors.As(err, &answered) {
		if prefix, _, _ := strings.Cut(answered.Error(), " "); isPrefix(prefix) {
			return []attribute.KeyValue{semconv.DBResponseStatusCode(prefix), semconv.ErrorTypeKey.String(prefix)}
		}
	}
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(reflect.TypeOf(err).String())}
}

// isPrefix: Redis error prefixes are upper-case words.
func isPrefix(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && r != '_' && r != '-' {
			return false
		}
	}
	return true
}
