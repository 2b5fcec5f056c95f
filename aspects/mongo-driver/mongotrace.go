// Package mongotrace traces the commands of every MongoDB client (the Go
// driver's v1, go.mongodb.org/mongo-driver) a program creates, through
// otelmongo, the OpenTelemetry contrib package for it, as a user would add it
// by hand (options.Client().SetMonitor(otelmongo.NewMonitor())), with the
// current database semantic conventions instead of the ones otelmongo records.
//
// The mongo-driver integration's aspects replace the program's calls of
// mongo.Connect and mongo.NewClient with Connect and NewClient: the client
// gets one more option, a command monitor, which chains the one the program
// set (it runs first, with the same events and contexts) and otelmongo's:
//
//   - before otelmongo sees a started command, the context it gets is given
//     the goroutine's active span when it holds none (otelrt.Parent), so that
//     an operation called with context.Background() inside a span still nests
//     (the driver publishes a command's events synchronously, in the
//     goroutine that called the operation, with the context it was given),
//     and the command's event, from which
//   - the TracerProvider otelmongo is given starts the span with the name and
//     attributes of the current conventions (so samplers see them);
//   - before otelmongo ends a span, the error the command ended with, if any,
//     is recorded as the conventions ask.
//
// One CLIENT span per command the driver sends (find, insert, getMore,
// aggregate, endSessions...), named "{command} {collection}" ("find
// orders"), or "{command} {database}" for a command on no collection ("ping
// admin"), with db.system.name (mongodb), db.operation.name (the command),
// db.namespace (the database), db.collection.name, server.address and
// server.port (the host the client was configured with, as the driver names
// the connection). No db.query.text: a command document holds the values it
// filters on and stores, and otelmongo's text of it (off here) is the whole
// document.
//
// Errors: a command the server refused, or that never got an answer, ends
// with status Error; so does a write whose reply lists write errors (a
// duplicate key: the driver returns it as an error, the command itself
// succeeded) or a write-concern error, with db.response.status_code (the
// code, "11000") and error.type (the same). A refused command's failure is
// given to a monitor as text only, "(CodeName) message": its error.type is
// the code name ("NamespaceNotFound"); one without a code name (a network
// error) is "_OTHER". The status message is never the server's message (it
// quotes stored values: the duplicate key, the document that failed
// validation) but the code name, or the code.
//
// A program that gives a client contrib's otelmongo monitor itself keeps
// it, and only it: the client is left as it is (one span per command).
//
// Not traced: the connection handshake (hello, authentication) and the
// server monitor's heartbeats, which the driver does not give to command
// monitors.
//
// It only exists under overlay-gen's overlay.
package mongotrace

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.opentelemetry.io/contrib/instrumentation/go.mongodb.org/mongo-driver/mongo/otelmongo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"overlay-gen.invalid/otelrt"
	"overlay-gen.invalid/otelrt/mongoquery"
)

// Connect stands in for mongo.Connect: the client traces its commands.
func Connect(ctx context.Context, opts ...*options.ClientOptions) (*mongo.Client, error) {
	return mongo.Connect(ctx, Options(opts)...)
}

// NewClient stands in for mongo.NewClient: the client traces its commands.
func NewClient(opts ...*options.ClientOptions) (*mongo.Client, error) {
	return mongo.NewClient(Options(opts)...) //nolint:staticcheck // the program's own call, deprecated or not
}

// Options is opts and one more, last, whose command monitor traces the
// commands and then hands them to the monitor opts set, if any (the last
// one set: the driver merges options in order, the last one set wins).
func Options(opts []*options.ClientOptions) []*options.ClientOptions {
	var user *event.CommandMonitor
	for _, opt := range opts {
		if opt != nil && opt.Monitor != nil {
			user = opt.Monitor
		}
	}
	if tracedByOtelmongo(user) {
		return opts // the program traces its commands itself: no second span for each
	}
	// A literal, not options.Client(): that sets defaults (an HTTP client)
	// that would override the program's own.
	traced := &options.ClientOptions{Monitor: newMonitor(user)}
	return append(opts[:len(opts):len(opts)], traced)
}

// --- the monitor -----------------------------------------------------------------------

// otelmongoFuncs is the package path, and a dot, of the functions of the
// monitors OpenTelemetry contrib's otelmongo makes.
const otelmongoFuncs = "go.opentelemetry.io/contrib/instrumentation/go.mongodb.org/mongo-driver/mongo/otelmongo."

// tracedByOtelmongo: the program gave the client a monitor of contrib's
// otelmongo, as its documentation shows.
func tracedByOtelmongo(m *event.CommandMonitor) bool {
	if m == nil || m.Started == nil {
		return false
	}
	f := runtime.FuncForPC(reflect.ValueOf(m.Started).Pointer())
	return f != nil && strings.HasPrefix(f.Name(), otelmongoFuncs)
}

// spanKey identifies a command among those a client has under way, as the
// driver's events do.
type spanKey struct {
	connection string
	request    int64
}

// monitor is the command monitor of one client.
type monitor struct {
	user, otel *event.CommandMonitor

	mu    sync.Mutex
	spans map[spanKey]*span // started, not finished
}

func newMonitor(user *event.CommandMonitor) *event.CommandMonitor {
	m := &monitor{
		user: user,
		// otelmongo's db.statement / db.query.text is the whole command, values and all: off.
		otel:  otelmongo.NewMonitor(otelmongo.WithTracerProvider(provider), otelmongo.WithCommandAttributeDisabled(true)),
		spans: map[spanKey]*span{},
	}
	return &event.CommandMonitor{Started: m.started, Succeeded: m.succeeded, Failed: m.failed}
}

// startedKey is the context key of the command otelmongo is about to trace.
type startedKey struct{}

// started is a command's first event; the driver calls it in the
// goroutine that called the operation, with the operation's context.
func (m *monitor) started(ctx context.Context, evt *event.CommandStartedEvent) {
	if m.user != nil && m.user.Started != nil {
		m.user.Started(ctx, evt)
	}
	cmd := &started{event: evt}
	m.otel.Started(context.WithValue(otelrt.Parent(ctx), startedKey{}, cmd), evt)
	if cmd.span != nil {
		m.mu.Lock()
		m.spans[spanKey{evt.ConnectionID, evt.RequestID}] = cmd.span
		m.mu.Unlock()
	}
}

func (m *monitor) succeeded(ctx context.Context, evt *event.CommandSucceededEvent) {
	if s := m.take(&evt.CommandFinishedEvent); s != nil {
		if failure, ok := replyFailure(evt.Reply); ok {
			s.fail(failure)
			s.Span.SetStatus(codes.Error, failure.Description)
		}
	}
	m.otel.Succeeded(ctx, evt)
	if m.user != nil && m.user.Succeeded != nil {
		m.user.Succeeded(ctx, evt)
	}
}

func (m *monitor) failed(ctx context.Context, evt *event.CommandFailedEvent) {
	if s := m.take(&evt.CommandFinishedEvent); s != nil {
		s.fail(commandFailure(evt.Failure)) // before otelmongo sets the status and ends the span
	}
	m.otel.Failed(ctx, evt)
	if m.user != nil && m.user.Failed != nil {
		m.user.Failed(ctx, evt)
	}
}

func (m *monitor) take(evt *event.CommandFinishedEvent) *span {
	key := spanKey{evt.ConnectionID, evt.RequestID}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.spans[key]
	delete(m.spans, key)
	return s
}

// --- the tracer otelmongo starts its spans with ------------------------------------------

// started is a command otelmongo is about to trace, and the span it got.
type started struct {
	event *event.CommandStartedEvent
	span  *span
}

// provider is the TracerProvider otelmongo gets: its tracers start spans
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

// replaced are the attributes otelmongo records, in one release or another,
// that this package records itself, from the same event, as the current
// conventions name them: the system, operation, database and collection, and
// the peer otelmongo reads from the connection's name (network.peer.address
// would be the address connected to, not the host configured: it is
// server.address), and the command text (off).
var replaced = map[attribute.Key]bool{
	"db.system": true, "db.system.name": true, "db.operation": true, "db.operation.name": true,
	"db.name": true, "db.namespace": true, "db.mongodb.collection": true, "db.collection.name": true,
	"db.statement": true, "db.query.text": true,
	"net.peer.name": true, "net.peer.port": true, "net.transport": true, "server.address": true, "server.port": true,
	"network.peer.address": true, "network.peer.port": true, "network.transport": true,
}

func (t tracer) Start(ctx context.Context, name string, options ...trace.SpanStartOption) (context.Context, trace.Span) {
	cmd, _ := ctx.Value(startedKey{}).(*started)
	if cmd == nil { // not a command this package knows of
		return t.inner.Start(ctx, name, options...)
	}
	config := trace.NewSpanStartConfig(options...)
	name, attrs := mongoquery.Command(cmd.event.CommandName, cmd.event.DatabaseName, collection(cmd.event), cmd.event.ConnectionID)
	for _, kv := range config.Attributes() {
		if !replaced[kv.Key] {
			attrs = append(attrs, kv)
		}
	}
	start := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...)}
	if links := config.Links(); len(links) > 0 {
		start = append(start, trace.WithLinks(links...))
	}
	if ts := config.Timestamp(); !ts.IsZero() {
		start = append(start, trace.WithTimestamp(ts))
	}
	if config.NewRoot() {
		start = append(start, trace.WithNewRoot())
	}
	ctx, inner := t.inner.Start(ctx, name, start...)
	cmd.span = &span{Span: inner}
	return ctx, cmd.span
}

// span is a command's span: its status message, when the command failed,
// is the one this package chose, not otelmongo's (the server's message).
type span struct {
	trace.Span
	description string
}

func (s *span) fail(f mongoquery.Failure) {
	s.Span.SetAttributes(f.Attributes()...)
	s.description = f.Description
}

func (s *span) SetStatus(code codes.Code, description string) {
	if code == codes.Error && s.description != "" {
		description = s.description
	}
	s.Span.SetStatus(code, description)
}
