// Package mongotracev2 traces the commands of every MongoDB client (the Go
// driver's v2, go.mongodb.org/mongo-driver/v2) a program creates, with the
// current database semantic conventions.
//
// It is this integration's own code: OpenTelemetry contrib's package for the
// v2 driver (instrumentation/go.mongodb.org/mongo-driver/v2/mongo/otelmongo)
// is not served by the module proxy overlay-gen's users and tests reach. It
// does what that package and contrib's v1 one do, a command monitor that
// starts a span when the driver sends a command and ends it with the answer,
// with the names and attributes overlay-gen's v1 integration gives otelmongo's
// spans.
//
// The mongo-driver-v2 integration's aspect replaces the program's calls of
// mongo.Connect with Connect: the client gets one more option, a command
// monitor, which chains the one the program set (it runs first, with the same
// events and contexts). The driver publishes a command's events in the
// goroutine that called the operation, with the context it was given: a
// context without a span gets the goroutine's active span (otelrt.Parent),
// so that an operation called with context.Background() inside a span still
// nests.
//
// One CLIENT span per command the driver sends (find, insert, getMore,
// aggregate, endSessions...), named "{command} {collection}" ("find
// orders"), or "{command} {database}" for a command on no collection ("ping
// admin"), with db.system.name (mongodb), db.operation.name (the command),
// db.namespace (the database), db.collection.name, server.address and
// server.port (the host the client was configured with, as the driver names
// the connection). No db.query.text: a command document holds the values it
// filters on and stores.
//
// Errors: a command the server refused, or that never got an answer, ends
// with status Error; so does a write whose reply lists write errors (a
// duplicate key: the driver returns it as an error, the command itself
// succeeded) or a write-concern error. A code the server gave is
// db.response.status_code and error.type ("11000"); a failure without one
// (a network error) has its Go type as error.type. The status message is
// never the server's message (it quotes stored values: the duplicate key,
// the document that failed validation) but the code name, or the code.
//
// A program that gives a client contrib's otelmongo monitor itself keeps
// it, and only it: the client is left as it is (one span per command).
//
// Not traced: the connection handshake (hello, authentication) and the
// server monitor's heartbeats, which the driver does not give to command
// monitors.
//
// It only exists under overlay-gen's overlay.
package mongotracev2

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
	"overlay-gen.invalid/otelrt/mongoquery"
)

// ScopeName is the instrumentation scope of the command spans.
const ScopeName = "overlay-gen/go.mongodb.org/mongo-driver/v2/mongo"

var tracer = otel.Tracer(ScopeName)

// Connect stands in for mongo.Connect: the client traces its commands.
func Connect(opts ...*options.ClientOptions) (*mongo.Client, error) {
	return mongo.Connect(Options(opts)...)
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
	// A literal, not options.Client(): that may set defaults (an HTTP
	// client) that would override the program's own.
	traced := &options.ClientOptions{Monitor: newMonitor(user)}
	return append(opts[:len(opts):len(opts)], traced)
}

// otelmongoFuncs is the package path, and a dot, of the functions of the
// monitors OpenTelemetry contrib's otelmongo makes.
const otelmongoFuncs = "go.opentelemetry.io/contrib/instrumentation/go.mongodb.org/mongo-driver/v2/mongo/otelmongo."

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
	user *event.CommandMonitor

	mu    sync.Mutex
	spans map[spanKey]trace.Span // started, not finished
}

func newMonitor(user *event.CommandMonitor) *event.CommandMonitor {
	m := &monitor{user: user, spans: map[spanKey]trace.Span{}}
	return &event.CommandMonitor{Started: m.started, Succeeded: m.succeeded, Failed: m.failed}
}

// started is a command's first event; the driver calls it in the
// goroutine that called the operation, with the operation's context.
func (m *monitor) started(ctx context.Context, evt *event.CommandStartedEvent) {
	if m.user != nil && m.user.Started != nil {
		m.user.Started(ctx, evt)
	}
	parent := otelrt.Parent(ctx)
	if otelrt.InClientSpan(parent) {
		return // its span would not be recorded: the caller's CLIENT span stands for it
	}
	name, attrs := mongoquery.Command(evt.CommandName, evt.DatabaseName, collection(evt), evt.ConnectionID)
	_, span := tracer.Start(parent, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	m.mu.Lock()
	m.spans[spanKey{evt.ConnectionID, evt.RequestID}] = span
	m.mu.Unlock()
}

func (m *monitor) succeeded(ctx context.Context, evt *event.CommandSucceededEvent) {
	if span := m.take(&evt.CommandFinishedEvent); span != nil {
		if f, ok := replyFailure(evt.Reply); ok {
			record(span, f)
		}
		span.End()
	}
	if m.user != nil && m.user.Succeeded != nil {
		m.user.Succeeded(ctx, evt)
	}
}

func (m *monitor) failed(ctx context.Context, evt *event.CommandFailedEvent) {
	if span := m.take(&evt.CommandFinishedEvent); span != nil {
		record(span, commandFailure(evt.Failure))
		span.End()
	}
	if m.user != nil && m.user.Failed != nil {
		m.user.Failed(ctx, evt)
	}
}

func (m *monitor) take(evt *event.CommandFinishedEvent) trace.Span {
	key := spanKey{evt.ConnectionID, evt.RequestID}
	m.mu.Lock()
	defer m.mu.Unlock()
	span := m.spans[key]
	delete(m.spans, key)
	return span
}

// record records a failure on a command's span.
func record(span trace.Span, f mongoquery.Failure) {
	span.SetAttributes(f.Attributes()...)
	span.SetStatus(codes.Error, f.Description)
}
