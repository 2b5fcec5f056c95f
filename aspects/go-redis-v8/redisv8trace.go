// Package redisv8trace traces the commands and pipelines of every go-redis
// v8 client a program creates, through redisotel v8, the instrumentation
// package go-redis's authors released with go-redis v8.11.5, as a user would
// add it by hand (client.AddHook(redisotel.NewTracingHook())), with the
// current database semantic conventions instead of the v1.7 ones redisotel
// records: the same spans as overlay-gen's go-redis v9 integration.
//
// The go-redis-v8 integration's aspect wraps every client constructor call
// with Instrument. The client (a plain or failover client, a cluster, a
// ring) gets two hooks, in this order:
//
//   - this package's, the outer one: it puts the command (or pipeline) in the
//     context redisotel's hook receives, gives a context without a span the
//     goroutine's active span (otelrt.Parent), and, where the context's span
//     is not recording (there is none: a command of a program's first
//     request...), stands in for it with one that says it is: redisotel v8
//     traces only commands whose context holds a recording span;
//   - redisotel's, given a TracerProvider of this package: the spans
//     redisotel starts through it are started by the real provider, from the
//     context's real span (the stand-in is taken out again), with the name
//     and attributes of the current conventions, computed from the command
//     found in the context, at span creation (so samplers see them).
//
// One CLIENT span per command and per pipeline or transaction, named after
// the operation ("GET", "PIPELINE", "MULTI INCR"; overlay-gen.invalid/otelrt/redisquery),
// with db.system.name, db.operation.name, db.query.text (the command, its
// name and keys only: every other argument, a value, is "?"), db.namespace
// (the database index the client was configured with), server.address and
// server.port (the address a plain client was configured with),
// db.operation.batch.size (pipelines of two or more). redisotel's own choices
// stay: redis.Nil (a missing key) is not an error; another error sets the
// status Error and records an exception event, to which this package adds
// error.type and, for an error Redis answered, db.response.status_code (the
// error's prefix: ERR, WRONGTYPE...). A pipeline's error is its first
// command's error, as go-redis returns it (redisotel v8 looks at the first
// command only).
//
// Not traced: connection dials and go-redis's own commands on a new
// connection (AUTH, SELECT: v8 sends them without hooks), commands of a
// client.Conn (v8 gives it no hooks). A cluster's or ring's spans are the
// commands the program issued, not the requests to each node: they have no
// server.address, nor have a failover client's (its configuration names
// sentinels, the master is found when dialing).
//
// It only exists under overlay-gen's overlay.
package redisv8trace

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strconv"

	"github.com/go-redis/redis/extra/redisotel/v8"
	"github.com/go-redis/redis/v8"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"overlay-gen.invalid/otelrt"
	"overlay-gen.invalid/otelrt/redisquery"
)

// Instrument makes a client that has just been created trace its commands
// and pipelines, and returns it. Clients of types it does not know are
// returned as they are.
func Instrument[C redis.UniversalClient](client C) C {
	switch c := any(client).(type) {
	case *redis.Client:
		instrument(c, connectionAttributes(c.Options()))
	case *redis.ClusterClient:
		// A cluster has the one database 0; its nodes are found later.
		instrument(c, []attribute.KeyValue{semconv.DBSystemNameRedis, semconv.DBNamespace("0")})
	case *redis.Ring:
		instrument(c, []attribute.KeyValue{semconv.DBSystemNameRedis, semconv.DBNamespace(strconv.Itoa(c.Options().DB))})
	}
	return client
}

// instrument gives a client this package's hook, then redisotel's. go-redis
// runs the hooks' Before methods in the order they were added, their After
// methods in the reverse order.
func instrument(c interface{ AddHook(redis.Hook) }, connection []attribute.KeyValue) {
	c.AddHook(&hook{connection: connection})
	c.AddHook(redisotel.NewTracingHook(redisotel.WithTracerProvider(provider)))
}

// connectionAttributes are the attributes of every span of a plain client.
// db.namespace is the database index the client was configured with (a
// SELECT on a connection of the pool would change it for that connection).
func connectionAttributes(opt *redis.Options) []attribute.KeyValue {
	attrs := []attribute.KeyValue{semconv.DBSystemNameRedis, semconv.DBNamespace(strconv.Itoa(opt.DB))}
	if opt.Network == "unix" {
		return append(attrs, semconv.ServerAddress(opt.Addr))
	}
	// A failover client's Addr is no address: the master is found when dialing.
	if host, port, err := net.SplitHostPort(opt.Addr); err == nil && host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if n, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(n))
		}
	}
	return attrs
}

// --- the hook ------------------------------------------------------------------------

// opKey is the context key of the operation redisotel's hook is about to trace.
type opKey struct{}

// operation is one command, pipeline or transaction, as the hook saw it.
type operation struct {
	connection []attribute.KeyValue
	cmds       []redis.Cmder
	pipeline   bool
}

// hook is the outer hook of a client.
type hook struct {
	connection []attribute.KeyValue
}

var _ redis.Hook = (*hook)(nil)

func (h *hook) BeforeProcess(ctx context.Context, cmd redis.Cmder) (context.Context, error) {
	return h.begin(ctx, []redis.Cmder{cmd}, false), nil
}

func (h *hook) AfterProcess(context.Context, redis.Cmder) error { return nil }

func (h *hook) BeforeProcessPipeline(ctx context.Context, cmds []redis.Cmder) (context.Context, error) {
	return h.begin(ctx, cmds, true), nil
}

func (h *hook) AfterProcessPipeline(context.Context, []redis.Cmder) error { return nil }

// begin is the context redisotel's hook receives for an operation.
func (h *hook) begin(ctx context.Context, cmds []redis.Cmder, pipeline bool) context.Context {
	op := &operation{connection: h.connection, cmds: cmds, pipeline: pipeline}
	ctx = context.WithValue(otelrt.Parent(ctx), opKey{}, op)
	if span := trace.SpanFromContext(ctx); !span.IsRecording() {
		ctx = trace.ContextWithSpan(ctx, standIn{span})
	}
	return ctx
}

// standIn is the span of a context redisotel would not trace: it says it
// records, so that redisotel starts its span, and the tracer puts the span
// it stands for back before starting it (a root span, when there was none).
type standIn struct{ trace.Span }

func (standIn) IsRecording() bool { return true }

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
// rename (db.system), drop (db.redis.num_cmd, for which
// db.operation.batch.size) or that carry values (db.statement).
var dropped = map[attribute.Key]bool{"db.system": true, "db.statement": true, "db.redis.num_cmd": true}

func (t tracer) Start(ctx context.Context, name string, options ...trace.SpanStartOption) (context.Context, trace.Span) {
	if s, ok := trace.SpanFromContext(ctx).(standIn); ok {
		ctx = trace.ContextWithSpan(ctx, s.Span)
	}
	op, _ := ctx.Value(opKey{}).(*operation)
	config := trace.NewSpanStartConfig(options...)
	attrs := make([]attribute.KeyValue, 0, 10)
	if op != nil {
		summary := op.summary()
		if summary.Operation != "" {
			name = summary.Operation
		}
		attrs = append(attrs, op.connection...)
		attrs = append(attrs, summary.Attributes(summary.Operation)...)
	}
	for _, kv := range config.Attributes() {
		switch {
		case dropped[kv.Key]:
			if kv.Key == "db.system" && op == nil { // a span this package does not know of
				attrs = append(attrs, semconv.DBSystemNameKey.String(kv.Value.AsString()))
			}
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
	// redisotel v8 ends the span it finds in the context: this one.
	wrapped := &opSpan{Span: span, op: op}
	return trace.ContextWithSpan(ctx, wrapped), wrapped
}

// summary is what the operation does.
func (op *operation) summary() redisquery.Summary {
	if !op.pipeline {
		return redisquery.Command(op.cmds[0].Args())
	}
	cmds := make([][]any, len(op.cmds))
	for i, cmd := range op.cmds {
		cmds[i] = cmd.Args()
	}
	return redisquery.Pipeline(cmds)
}

// opSpan is the span of one operation: to the errors redisotel records (all
// but redis.Nil) it adds the attributes the conventions ask for; a
// pipeline's first failed command, which redisotel v8 does not look at, is
// recorded when the span ends. Spans of one goroutine: no lock.
type opSpan struct {
	trace.Span
	op     *operation
	failed bool
}

func (s *opSpan) RecordError(err error, options ...trace.EventOption) {
	if err != nil {
		s.failed = true
		s.Span.SetAttributes(errorAttributes(err)...)
	}
	s.Span.RecordError(err, options...)
}

func (s *opSpan) End(options ...trace.SpanEndOption) {
	if s.op != nil && s.op.pipeline && !s.failed {
		if err := firstError(s.op.cmds); err != nil && !errors.Is(err, redis.Nil) {
			s.RecordError(err)
			s.Span.SetStatus(codes.Error, err.Error())
		}
	}
	s.Span.End(options...)
}

// firstError is the error go-redis returns for a pipeline: its first command's that failed.
func firstError(cmds []redis.Cmder) error {
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}

// errorAttributes are error.type and, for an error Redis answered,
// db.response.status_code: the error's prefix (ERR, WRONGTYPE, MOVED...).
// Other errors' error.type is their Go type (*net.OpError...).
func errorAttributes(err error) []attribute.KeyValue {
	var answered redis.Error
	if errors.As(err, &answered) {
		if code := redisquery.StatusCode(answered.Error()); code != "" {
			return []attribute.KeyValue{semconv.DBResponseStatusCode(code), semconv.ErrorTypeKey.String(code)}
		}
	}
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(reflect.TypeOf(err).String())}
}
