// Package rueidistrace traces the commands of every rueidis client a program
// creates, through rueidisotel, the instrumentation package rueidis's authors
// keep, as a user would call it by hand (rueidisotel.NewClient in place of
// rueidis.NewClient), with the current database semantic conventions instead
// of the v1.24 ones rueidisotel records.
//
// The rueidis integration's aspect calls NewClient in place of
// rueidis.NewClient. The client it returns has two layers over rueidis's:
//
//   - this package's, the outer one: it puts the command (or commands) in the
//     context rueidisotel's client receives, and gives a context without a
//     span the goroutine's active span (otelrt.Parent), so that a command
//     issued with context.Background() inside a span still nests;
//   - rueidisotel's, given a TracerProvider of this package: the spans
//     rueidisotel starts through it are started by the real provider with the
//     name and attributes of the current conventions, computed from the
//     command found in the context, at span creation (so samplers see them).
//
// One CLIENT span per Do, DoCache, DoStream and Receive call, and per
// DoMulti, DoMultiCache and DoMultiStream call, named after the operation
// ("GET", "PIPELINE", "MULTI INCR"), with db.system.name, db.operation.name,
// db.query.text (the command, its name and keys only: every other argument,
// a value, is "?"), db.namespace (the database index the client was
// configured with, SelectDB), server.address and server.port (the one address
// the client was configured with, or a node's for the clients Nodes returns),
// db.operation.batch.size (batches of two or more). The clients a Dedicated
// or Dedicate call hands out are traced the same way. Client-side caching
// shows as what it is: a DoCache span has rueidis.cache.hit, true when the
// client's own cache answered without asking Redis; a DoMultiCache span has
// rueidis.cache.hits, how many of its commands the cache answered.
// rueidisotel's own choices stay: a nil reply (a missing key) is no error;
// another error sets the status Error and records an exception event, to
// which this package adds error.type and, for an error Redis answered,
// db.response.status_code (the error's prefix: ERR, WRONGTYPE...); a
// success leaves the status unset (rueidisotel's Ok is dropped, as the
// conventions ask of instrumentation).
//
// Not traced: connection dials (rueidisotel's "redis.dial" spans), and the
// commands rueidis sends on its own (the connection's handshake: HELLO,
// CLIENT TRACKING, SELECT; a cluster client's CLUSTER SHARDS), which never
// reach rueidisotel. rueidisotel's metrics go to the global MeterProvider, as
// they do when a user calls rueidisotel.NewClient: OpenTelemetry's no-op one
// unless the program installs its own.
//
// It only exists under overlay-gen's overlay.
package rueidistrace

import (
	"context"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
	"github.com/redis/rueidis/rueidisotel"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"

	"overlay-gen.invalid/otelrt"
)

// system is db.system.name.
var system = semconv.DBSystemNameRedis

// dialSpan is the name of the span rueidisotel starts for each dial.
const dialSpan = "redis.dial"

// The attributes of client-side caching, which the conventions do not name.
const (
	cacheHit  = attribute.Key("rueidis.cache.hit")
	cacheHits = attribute.Key("rueidis.cache.hits")
)

// NewClient stands in for rueidis.NewClient: the same client, created by
// rueidisotel.NewClient, under this package's layer.
func NewClient(option rueidis.ClientOption) (rueidis.Client, error) {
	connection := connectionAttributes(option)
	inner, err := rueidisotel.NewClient(option, rueidisotel.WithTracerProvider(provider))
	if err != nil {
		return nil, err
	}
	return &client{Client: inner, db: option.SelectDB, connection: connection}, nil
}

// connectionAttributes are the attributes of every span of a client.
// server.address and server.port are the one address it was configured
// with: a client given several (a cluster's seeds) or sentinels has none
// (the clients Nodes returns have their node's).
func connectionAttributes(option rueidis.ClientOption) []attribute.KeyValue {
	if option.Sentinel.MasterSet != "" || len(option.InitAddress) != 1 {
		return nodeAttributes(option.SelectDB, "")
	}
	return nodeAttributes(option.SelectDB, option.InitAddress[0])
}

func nodeAttributes(db int, addr string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{system, semconv.DBNamespace(strconv.Itoa(db))}
	if addr == "" {
		return attrs
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return append(attrs, semconv.ServerAddress(addr))
	}
	if host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if n, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(n))
		}
	}
	return attrs
}

// --- the outer layer -------------------------------------------------------------------

// opKey is the context key of the operation rueidisotel is about to trace.
type opKey struct{}

// operation is one call of the client: its commands' words, as rueidis
// sends them.
type operation struct {
	connection []attribute.KeyValue
	cmds       [][]string
	batch      bool

	// A cached read's span ends after this package has seen what the cache
	// did: rueidisotel ends it before returning the reply.
	cached bool
	span   trace.Span // the real span, once started
	ended  time.Time  // when rueidisotel ended it
}

// quiet, in the context, tells the tracer that the span asked for is not to
// be made: a dial while a command runs.
var quiet = &operation{}

// client is the outer layer over rueidisotel's client.
type client struct {
	rueidis.Client // rueidisotel's
	db             int
	connection     []attribute.KeyValue
}

var _ rueidis.Client = (*client)(nil)

// begin is the context rueidisotel's client receives for an operation.
func begin(ctx context.Context, op *operation) context.Context {
	return context.WithValue(otelrt.Parent(ctx), opKey{}, op)
}

func (c *client) one(cmd []string) *operation {
	return &operation{connection: c.connection, cmds: [][]string{cmd}}
}

func (c *client) many(cmds [][]string) *operation {
	return &operation{connection: c.connection, cmds: cmds, batch: true}
}

func (c *client) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	return c.Client.Do(begin(ctx, c.one(cmd.Commands())), cmd)
}

func (c *client) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	return c.Client.DoMulti(begin(ctx, c.many(words(multi))), multi...)
}

func (c *client) DoStream(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResultStream {
	return c.Client.DoStream(begin(ctx, c.one(cmd.Commands())), cmd)
}

func (c *client) DoMultiStream(ctx context.Context, multi ...rueidis.Completed) rueidis.MultiRedisResultStream {
	return c.Client.DoMultiStream(begin(ctx, c.many(words(multi))), multi...)
}

func (c *client) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	op := c.one(cmd.Commands())
	op.cached = true
	resp := c.Client.DoCache(begin(ctx, op), cmd, ttl)
	if resp.NonRedisError() == nil {
		op.finish(cacheHit.Bool(resp.IsCacheHit()))
	} else {
		op.finish()
	}
	return resp
}

func (c *client) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	cmds := make([][]string, len(multi))
	for i, m := range multi {
		cmds[i] = m.Cmd.Commands()
	}
	op := c.many(cmds)
	op.cached = true
	resps := c.Client.DoMultiCache(begin(ctx, op), multi...)
	hits := 0
	for _, resp := range resps {
		if resp.NonRedisError() == nil && resp.IsCacheHit() {
			hits++
		}
	}
	op.finish(cacheHits.Int(hits))
	return resps
}

func (c *client) Receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	return c.Client.Receive(begin(ctx, c.one(subscribe.Commands())), subscribe, fn)
}

func (c *client) Dedicated(fn func(rueidis.DedicatedClient) error) error {
	return c.Client.Dedicated(func(d rueidis.DedicatedClient) error {
		return fn(&dedicated{DedicatedClient: d, connection: c.connection})
	})
}

func (c *client) Dedicate() (rueidis.DedicatedClient, func()) {
	d, cancel := c.Client.Dedicate()
	return &dedicated{DedicatedClient: d, connection: c.connection}, cancel
}

// Nodes are the nodes' clients, each traced with its own address.
func (c *client) Nodes() map[string]rueidis.Client {
	nodes := c.Client.Nodes()
	traced := make(map[string]rueidis.Client, len(nodes))
	for addr, node := range nodes {
		traced[addr] = &client{Client: node, db: c.db, connection: nodeAttributes(c.db, addr)}
	}
	return traced
}

// dedicated is the outer layer over rueidisotel's dedicated client.
type dedicated struct {
	rueidis.DedicatedClient // rueidisotel's
	connection              []attribute.KeyValue
}

var _ rueidis.DedicatedClient = (*dedicated)(nil)

func (d *dedicated) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	op := &operation{connection: d.connection, cmds: [][]string{cmd.Commands()}}
	return d.DedicatedClient.Do(begin(ctx, op), cmd)
}

func (d *dedicated) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	op := &operation{connection: d.connection, cmds: words(multi), batch: true}
	return d.DedicatedClient.DoMulti(begin(ctx, op), multi...)
}

func (d *dedicated) Receive(ctx context.Context, subscribe rueidis.Completed, fn func(msg rueidis.PubSubMessage)) error {
	op := &operation{connection: d.connection, cmds: [][]string{subscribe.Commands()}}
	return d.DedicatedClient.Receive(begin(ctx, op), subscribe, fn)
}

func words(multi []rueidis.Completed) [][]string {
	cmds := make([][]string, len(multi))
	for i, cmd := range multi {
		cmds[i] = cmd.Commands()
	}
	return cmds
}

// finish ends a cached read's span, with what the cache did, at the time
// rueidisotel ended it.
func (op *operation) finish(attrs ...attribute.KeyValue) {
	if op.span == nil {
		return
	}
	op.span.SetAttributes(attrs...)
	end := op.ended
	if end.IsZero() {
		end = time.Now()
	}
	op.span.End(trace.WithTimestamp(end))
}

// --- the tracer rueidisotel starts its spans with ------------------------------------------

// provider is the TracerProvider rueidisotel gets: its tracers start spans
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

// dropped are the attributes rueidisotel records that the current
// conventions rename (db.system, db.operation), that carry values
// (db.statement, off unless asked for) or that they do not know
// (db.stmt_size, the command's length in bytes).
var dropped = map[attribute.Key]bool{
	"db.system": true, "db.operation": true, "db.statement": true, "db.stmt_size": true,
}

func (t tracer) Start(ctx context.Context, name string, options ...trace.SpanStartOption) (context.Context, trace.Span) {
	op, _ := ctx.Value(opKey{}).(*operation)
	if op == quiet || (op == nil && name == dialSpan) {
		return ctx, noop.Span{}
	}
	config := trace.NewSpanStartConfig(options...)
	attrs := make([]attribute.KeyValue, 0, 10)
	if op != nil {
		name = op.name()
		attrs = append(attrs, op.connection...)
		attrs = append(attrs, op.attributes(name)...)
	}
	for _, kv := range config.Attributes() {
		switch {
		case dropped[kv.Key]:
			if kv.Key == "db.system" && op == nil { // a span this package does not know of
				attrs = append(attrs, system)
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
	traced := &tracedSpan{Span: span}
	if op != nil && op.cached {
		op.span, traced.held = span, op
	}
	// What rueidis does under this span (a dial) gets no span of its own.
	return context.WithValue(ctx, opKey{}, quiet), traced
}

// tracedSpan is a span as rueidisotel sees it.
type tracedSpan struct {
	trace.Span
	held *operation // a cached read, which operation.finish ends
}

// SetStatus leaves a success's status unset: rueidisotel sets Ok.
func (s *tracedSpan) SetStatus(code codes.Code, description string) {
	if code != codes.Ok {
		s.Span.SetStatus(code, description)
	}
}

// RecordError adds to the errors rueidisotel records (all but nil replies)
// the attributes the conventions ask for.
func (s *tracedSpan) RecordError(err error, options ...trace.EventOption) {
	if err != nil {
		s.Span.SetAttributes(errorAttributes(err)...)
	}
	s.Span.RecordError(err, options...)
}

func (s *tracedSpan) End(options ...trace.SpanEndOption) {
	if s.held != nil {
		s.held.ended = time.Now()
		return
	}
	s.Span.End(options...)
}

// errorAttributes are error.type and, for an error Redis answered,
// db.response.status_code: the error's prefix (ERR, WRONGTYPE, MOVED...).
// rueidis takes "ERR " off the errors it returns: an answer without a prefix
// is an ERR. Other errors' error.type is their Go type (*net.OpError...).
func errorAttributes(err error) []attribute.KeyValue {
	if answered, ok := rueidis.IsRedisErr(err); ok {
		return answerAttributes(answered.Error())
	}
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(reflect.TypeOf(err).String())}
}

func answerAttributes(message string) []attribute.KeyValue {
	prefix, _, _ := strings.Cut(message, " ")
	if !isPrefix(prefix) {
		prefix = "ERR"
	}
	return []attribute.KeyValue{semconv.DBResponseStatusCode(prefix), semconv.ErrorTypeKey.String(prefix)}
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
