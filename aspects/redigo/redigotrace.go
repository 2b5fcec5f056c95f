// Package redigotrace traces every command a redigo connection sends: a
// CLIENT span per command (Do, DoContext, DoWithTimeout) and per batch of
// commands sent with Send (a pipeline, or a transaction: MULTI ... EXEC),
// with the database semantic conventions of overlay-gen's go-redis
// integrations: named after the operation ("GET", "PIPELINE", "MULTI INCR";
// overlay-gen.invalid/otelrt/redisquery), db.system.name, db.operation.name,
// db.query.text (the commands, their names and keys only: every other
// argument, a value, is "?"), db.namespace, server.address and server.port
// (the address dialed), db.operation.batch.size (batches of two or more),
// and for a failure the status Error, an exception event, error.type and,
// for an error Redis answered, db.response.status_code (its prefix: ERR,
// WRONGTYPE...). A nil reply (a missing key) is no error.
//
// Neither redigo's authors nor the OpenTelemetry project keep an
// instrumentation package for it. The redigo integration's aspect replaces
// the program's (and its dependencies') calls of redigo's connection
// constructors (Dial, DialContext, DialURL, DialURLContext, DialTimeout,
// NewConn) with this package's, which return the connection wrapped. A
// redis.Pool's connections are those its Dial or DialContext function makes,
// with these constructors: the pool hands out the wrapped connection (inside
// its own), and its own commands (the DISCARD, UNWATCH or UNSUBSCRIBE it
// sends when a connection is put back in a special state) are traced too.
//
// Spans:
//
//   - Do, DoWithTimeout: one span, child of the goroutine's active span
//     (otelrt.Parent(context.Background())), or a root span; DoContext: of
//     the context's span, else the goroutine's.
//   - Send starts a batch: the commands sent until all their replies are
//     received (Receive, or a Do, which receives them first) are one span,
//     from the first Send to the last reply; its parent is the goroutine's
//     active span at the first Send, or the context of the DoContext that
//     completes it. A batch of one command is named as that command. The
//     span starts when the batch is flushed (Flush, Do), so that its name and
//     attributes are known at its start (samplers see them); commands sent
//     after that are added when it ends.
//   - Receive without a command waiting for its reply (a pub/sub message, a
//     MONITOR line) is no span. Do("") with nothing pending neither.
//   - A batch's error is the first error among its replies, as redigo
//     returns it; a transaction's also the first error EXEC's reply holds.
//
// db.namespace is the database the connection uses: the one DialDatabase
// or the URL's path selected, then the one each successful SELECT sent
// through the connection selects. A DialOption is opaque (an unexported
// function), so the dial options' database is read by letting redigo apply
// them once more, to a connection to an in-memory peer that answers every
// handshake command with OK and notes the SELECT (see database); when that
// fails the spans have no db.namespace.
//
// It only exists under overlay-gen's overlay.
package redigotrace

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomodule/redigo/redis"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
	"overlay-gen.invalid/otelrt/redisquery"
)

// ScopeName is the instrumentation scope of the spans.
const ScopeName = "overlay-gen/redigo"

var tracer = otel.Tracer(ScopeName)

// --- the constructors the aspect calls instead of redigo's -------------------------------

// Dial is redis.Dial, traced.
func Dial(network, address string, options ...redis.DialOption) (redis.Conn, error) {
	c, err := redis.Dial(network, address, options...)
	return dialed(c, err, network, address, func() string { return database(options) })
}

// DialContext is redis.DialContext, traced.
func DialContext(ctx context.Context, network, address string, options ...redis.DialOption) (redis.Conn, error) {
	c, err := redis.DialContext(ctx, network, address, options...)
	return dialed(c, err, network, address, func() string { return database(options) })
}

// DialTimeout is redis.DialTimeout, traced.
func DialTimeout(network, address string, connectTimeout, readTimeout, writeTimeout time.Duration) (redis.Conn, error) {
	c, err := redis.DialTimeout(network, address, connectTimeout, readTimeout, writeTimeout)
	return dialed(c, err, network, address, func() string { return "0" })
}

// DialURL is redis.DialURL, traced.
func DialURL(rawurl string, options ...redis.DialOption) (redis.Conn, error) {
	c, err := redis.DialURL(rawurl, options...)
	address, db := fromURL(rawurl)
	return dialed(c, err, "tcp", address, func() string { return urlDatabase(db, options) })
}

// DialURLContext is redis.DialURLContext, traced.
func DialURLContext(ctx context.Context, rawurl string, options ...redis.DialOption) (redis.Conn, error) {
	c, err := redis.DialURLContext(ctx, rawurl, options...)
	address, db := fromURL(rawurl)
	return dialed(c, err, "tcp", address, func() string { return urlDatabase(db, options) })
}

// NewConn is redis.NewConn, traced: the server is the connection's remote
// address, the database 0 (NewConn sends no SELECT).
func NewConn(netConn net.Conn, readTimeout, writeTimeout time.Duration) redis.Conn {
	c := redis.NewConn(netConn, readTimeout, writeTimeout)
	network, address := "", ""
	if netConn != nil {
		if remote := netConn.RemoteAddr(); remote != nil {
			network, address = remote.Network(), remote.String()
		}
	}
	return wrap(c, serverAttributes(network, address), "0")
}

func dialed(c redis.Conn, err error, network, address string, db func() string) (redis.Conn, error) {
	if err != nil || c == nil {
		return c, err
	}
	return wrap(c, serverAttributes(network, address), db()), nil
}

// serverAttributes are the attributes of every span of a connection to address.
func serverAttributes(network, address string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{semconv.DBSystemNameRedis}
	if network == "unix" {
		return append(attrs, semconv.ServerAddress(address))
	}
	if host, port, err := net.SplitHostPort(address); err == nil && host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if n, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(n))
		}
	}
	return attrs
}

// fromURL is the address a redis:// URL names and the database of its path
// (0 when it has none), as redigo reads them; ("", 0) for a URL redigo
// refuses (it was not dialed).
var pathDatabase = regexp.MustCompile(`^/(\d*)$`)

func fromURL(rawurl string) (address string, db int) {
	u, err := url.Parse(rawurl)
	if err != nil {
		return "", 0
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, "6379"
	}
	if host == "" {
		host = "localhost"
	}
	if m := pathDatabase.FindStringSubmatch(u.Path); m != nil && m[1] != "" {
		db, _ = strconv.Atoi(m[1])
	}
	return net.JoinHostPort(host, port), db
}

// urlDatabase: the URL's database wins over the options' (redigo applies it last).
func urlDatabase(db int, options []redis.DialOption) string {
	if db != 0 {
		return strconv.Itoa(db)
	}
	return database(options)
}

// database is the database the dial options select (DialDatabase): "0" for
// none, "" when it cannot be told. redigo applies the options when it dials
// and sends SELECT after the other handshake commands (AUTH, CLIENT
// SETNAME) only for a database other than 0: here it dials once more, with
// the same options followed by a dialer of an in-memory pipe and no TLS,
// whose other end answers +OK to every command and keeps SELECT's argument.
// Nothing leaves the process.
func database(options []redis.DialOption) string {
	if len(options) == 0 {
		return "0"
	}
	ours, peer := net.Pipe()
	selected := make(chan string, 1)
	go answerHandshake(peer, selected)
	probe := append(options[:len(options):len(options)],
		redis.DialUseTLS(false),
		redis.DialReadTimeout(time.Second),
		redis.DialWriteTimeout(time.Second),
		redis.DialContextFunc(func(context.Context, string, string) (net.Conn, error) { return ours, nil }),
	)
	c, err := redis.Dial("tcp", "probe:6379", probe...)
	if c != nil {
		c.Close()
	}
	ours.Close()
	db := <-selected
	if err != nil {
		return ""
	}
	return db
}

// answerHandshake reads RESP commands from conn until it is closed,
// answering each with +OK, then sends the argument of the last SELECT ("0"
// when there was none).
func answerHandshake(conn net.Conn, selected chan<- string) {
	defer conn.Close()
	db := "0"
	defer func() { selected <- db }()
	r := newReader(conn)
	for {
		args, err := r.command()
		if err != nil {
			return
		}
		if len(args) == 2 && equalFold(args[0], "SELECT") {
			db = args[1]
		}
		if _, err := conn.Write([]byte("+OK\r\n")); err != nil {
			return
		}
	}
}

// --- the traced connection ---------------------------------------------------------------

// conn is a redigo connection whose commands are traced. redigo allows one
// goroutine calling Send and Flush while another calls Receive: the batch
// state is locked.
type conn struct {
	inner  redis.Conn
	server []attribute.KeyValue

	mu        sync.Mutex
	namespace string // db.namespace; "" when unknown
	batch     *batch // the commands sent whose replies are awaited
}

// batch is commands sent with Send, until all their replies are received.
type batch struct {
	parent  context.Context // the goroutine's active span at the first Send
	start   time.Time
	cmds    [][]any
	span    trace.Span // nil until flushed
	started int        // len(cmds) when the span started
	replies int
	failed  bool
}

// timeoutConn and contextConn are redigo's ConnWithTimeout and
// ConnWithContext, without their Conn.
type timeoutConn interface {
	DoWithTimeout(timeout time.Duration, commandName string, args ...any) (any, error)
	ReceiveWithTimeout(timeout time.Duration) (any, error)
}

type contextConn interface {
	DoContext(ctx context.Context, commandName string, args ...any) (any, error)
	ReceiveContext(ctx context.Context) (any, error)
}

// wrap is inner, traced, offering the optional interfaces inner offers
// (redigo's own connections offer both; redis.DoContext and the pool's
// connections assert them).
func wrap(inner redis.Conn, server []attribute.KeyValue, namespace string) redis.Conn {
	if _, done := inner.(interface{ overlayGenTraced() }); done {
		return inner
	}
	c := &conn{inner: inner, server: server, namespace: namespace}
	_, timeouts := inner.(timeoutConn)
	_, contexts := inner.(contextConn)
	switch {
	case timeouts && contexts:
		return withBoth{c}
	case timeouts:
		return withTimeout{c}
	case contexts:
		return withContext{c}
	}
	return c
}

func (c *conn) overlayGenTraced() {}

func (c *conn) Err() error { return c.inner.Err() }

func (c *conn) Close() error {
	c.mu.Lock()
	if b := c.batch; b != nil && b.span != nil {
		c.end(b) // replies never read
	}
	c.batch = nil
	c.mu.Unlock()
	return c.inner.Close()
}

func (c *conn) Do(name string, args ...any) (any, error) {
	return c.do(nil, name, args, func() (any, error) { return c.inner.Do(name, args...) })
}

func (c *conn) Send(name string, args ...any) error {
	c.mu.Lock()
	b := c.batch
	if b == nil {
		b = &batch{parent: otelrt.Parent(context.Background()), start: time.Now()}
		c.batch = b
	}
	b.cmds = append(b.cmds, command(name, args))
	c.mu.Unlock()
	err := c.inner.Send(name, args...)
	if err != nil {
		c.abort(b, err)
	}
	return err
}

func (c *conn) Flush() error {
	c.mu.Lock()
	b := c.batch
	if b != nil && b.span == nil {
		c.begin(b, nil)
	}
	c.mu.Unlock()
	err := c.inner.Flush()
	if err != nil && b != nil {
		c.abort(b, err)
	}
	return err
}

func (c *conn) Receive() (any, error) { return c.receive(c.inner.Receive) }

type withTimeout struct{ *conn }

func (c withTimeout) DoWithTimeout(timeout time.Duration, name string, args ...any) (any, error) {
	return c.doWithTimeout(timeout, name, args)
}

func (c withTimeout) ReceiveWithTimeout(timeout time.Duration) (any, error) {
	return c.receiveWithTimeout(timeout)
}

type withContext struct{ *conn }

func (c withContext) DoContext(ctx context.Context, name string, args ...any) (any, error) {
	return c.doContext(ctx, name, args)
}

func (c withContext) ReceiveContext(ctx context.Context) (any, error) { return c.receiveContext(ctx) }

type withBoth struct{ *conn }

func (c withBoth) DoWithTimeout(timeout time.Duration, name string, args ...any) (any, error) {
	return c.doWithTimeout(timeout, name, args)
}

func (c withBoth) ReceiveWithTimeout(timeout time.Duration) (any, error) {
	return c.receiveWithTimeout(timeout)
}

func (c withBoth) DoContext(ctx context.Context, name string, args ...any) (any, error) {
	return c.doContext(ctx, name, args)
}

func (c withBoth) ReceiveContext(ctx context.Context) (any, error) { return c.receiveContext(ctx) }

func (c *conn) doWithTimeout(timeout time.Duration, name string, args []any) (any, error) {
	return c.do(nil, name, args, func() (any, error) {
		return c.inner.(timeoutConn).DoWithTimeout(timeout, name, args...)
	})
}

func (c *conn) receiveWithTimeout(timeout time.Duration) (any, error) {
	return c.receive(func() (any, error) { return c.inner.(timeoutConn).ReceiveWithTimeout(timeout) })
}

func (c *conn) doContext(ctx context.Context, name string, args []any) (any, error) {
	return c.do(ctx, name, args, func() (any, error) { return c.inner.(contextConn).DoContext(ctx, name, args...) })
}

func (c *conn) receiveContext(ctx context.Context) (any, error) {
	return c.receive(func() (any, error) { return c.inner.(contextConn).ReceiveContext(ctx) })
}

// do runs one command (or, name "", receives the batch's replies) and
// traces it: alone, or as the last command of the batch awaiting replies,
// which redigo receives first. ctx is DoContext's, else nil.
func (c *conn) do(ctx context.Context, name string, args []any, call func() (any, error)) (any, error) {
	c.mu.Lock()
	b := c.batch
	c.batch = nil
	if b == nil && name == "" {
		c.mu.Unlock()
		return call() // nothing pending: redigo sends nothing
	}
	var span trace.Span
	var cmd []any
	if b != nil {
		if name != "" {
			b.cmds = append(b.cmds, command(name, args))
		}
		if b.span == nil {
			c.begin(b, ctx)
		}
	} else {
		cmd = command(name, args)
		span = c.start(otelrt.Parent(ctx), redisquery.Command(cmd), time.Time{})
	}
	c.mu.Unlock()

	reply, err := call()
	if err == nil {
		err = replyError(name, reply)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if b != nil {
		if err != nil {
			b.fail(err)
		}
		c.end(b)
	} else {
		if err != nil {
			fail(span, err)
		} else {
			c.selected(cmd)
		}
		span.End()
	}
	return reply, err
}

// receive reads one reply and, when a flushed batch awaits it, counts it.
func (c *conn) receive(call func() (any, error)) (any, error) {
	reply, err := call()
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.batch
	if b == nil || b.span == nil {
		return reply, err // no command's reply: a pub/sub message, a MONITOR line
	}
	b.replies++
	if err != nil {
		b.fail(err)
	}
	if b.replies >= len(b.cmds) || c.inner.Err() != nil {
		c.end(b)
		c.batch = nil
	}
	return reply, err
}

// abort ends batch b, which failed to be sent.
func (c *conn) abort(b *batch, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.batch != b {
		return
	}
	if b.span == nil {
		c.begin(b, nil)
	}
	b.fail(err)
	c.end(b)
	c.batch = nil
}

// begin starts the span of batch b, from ctx's span if it has one, else
// from the goroutine's active span at the first Send. Called locked.
func (c *conn) begin(b *batch, ctx context.Context) {
	parent := b.parent
	if ctx != nil && trace.SpanContextFromContext(ctx).IsValid() {
		parent = ctx
	}
	b.span = c.start(parent, summarize(b.cmds), b.start)
	b.started = len(b.cmds)
}

// end ends the span of batch b, with the commands sent after it started.
// Called locked.
func (c *conn) end(b *batch) {
	if len(b.cmds) != b.started {
		s := summarize(b.cmds)
		b.span.SetName(s.Operation)
		b.span.SetAttributes(s.Attributes(s.Operation)...)
	}
	b.span.End()
	if !b.failed {
		for _, cmd := range b.cmds {
			c.selected(cmd)
		}
	}
}

func (b *batch) fail(err error) {
	if !b.failed {
		b.failed = true
		fail(b.span, err)
	}
}

// start starts a span. Called locked (it reads the namespace).
func (c *conn) start(parent context.Context, s redisquery.Summary, at time.Time) trace.Span {
	attrs := make([]attribute.KeyValue, 0, len(c.server)+5)
	attrs = append(attrs, c.server...)
	if c.namespace != "" {
		attrs = append(attrs, semconv.DBNamespace(c.namespace))
	}
	attrs = append(attrs, s.Attributes(s.Operation)...)
	options := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...)}
	if !at.IsZero() {
		options = append(options, trace.WithTimestamp(at))
	}
	name := s.Operation
	if name == "" {
		name = "redis"
	}
	_, span := tracer.Start(parent, name, options...)
	return span
}

// selected notes the database a SELECT that succeeded selected. Called locked.
func (c *conn) selected(cmd []any) {
	if len(cmd) == 2 && equalFold(word(cmd[0]), "SELECT") {
		if db, err := strconv.Atoi(word(cmd[1])); err == nil && db >= 0 {
			c.namespace = strconv.Itoa(db)
		}
	}
}

// command is a command's arguments, its name first.
func command(name string, args []any) []any {
	return append([]any{name}, args...)
}

// summarize is what a batch does: a batch of one is that command.
func summarize(cmds [][]any) redisquery.Summary {
	if len(cmds) == 1 {
		return redisquery.Command(cmds[0])
	}
	return redisquery.Pipeline(cmds)
}

// replyError is the first error Redis answered inside a reply redigo
// returns without an error: the replies Do("") received, or those of the
// commands of a transaction (EXEC's).
func replyError(name string, reply any) error {
	if name != "" && !equalFold(name, "EXEC") {
		return nil
	}
	replies, _ := reply.([]any)
	for _, r := range replies {
		if err, ok := r.(redis.Error); ok {
			return err
		}
	}
	return nil
}

// fail records err on span: status Error, an exception event, error.type
// and, for an error Redis answered, db.response.status_code.
func fail(span trace.Span, err error) {
	span.SetAttributes(errorAttributes(err)...)
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// errorAttributes are error.type and, for an error Redis answered,
// db.response.status_code: the error's prefix (ERR, WRONGTYPE, NOSCRIPT...).
// Other errors' error.type is their Go type (*net.OpError...).
func errorAttributes(err error) []attribute.KeyValue {
	var answered redis.Error
	if errors.As(err, &answered) {
		if code := redisquery.StatusCode(string(answered)); code != "" {
			return []attribute.KeyValue{semconv.DBResponseStatusCode(code), semconv.ErrorTypeKey.String(code)}
		}
	}
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(reflect.TypeOf(err).String())}
}

// word is an argument as Redis receives it (redigo writes a string or bytes
// as they are, a number in decimal, other values as fmt.Sprint formats them).
func word(arg any) string {
	switch v := arg.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}

func equalFold(s, t string) bool { return strings.EqualFold(s, t) }
