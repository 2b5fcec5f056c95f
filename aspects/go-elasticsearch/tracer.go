package estrace

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// provider is the TracerProvider the authors' instrumentation gets: its
// tracers start spans with the global provider (the one otelrt installs,
// also when a client was created before it was), under the current
// conventions' schema URL instead of the authors' 1.21.0.
var provider trace.TracerProvider = tracerProvider{}

type tracerProvider struct{ embedded.TracerProvider }

func (tracerProvider) Tracer(name string, options ...trace.TracerOption) trace.Tracer {
	options = append(options, trace.WithSchemaURL(semconv.SchemaURL))
	return tracer{inner: otel.GetTracerProvider().Tracer(name, options...)}
}

type tracer struct {
	embedded.Tracer
	inner trace.Tracer
}

// Start starts the span of one request; name is the endpoint id. The
// authors' code gives it the span's attributes later (the path's parts, the
// URL once the transport chose a node); db.system.name and
// db.operation.name are there from the start, for samplers.
func (t tracer) Start(ctx context.Context, name string, options ...trace.SpanStartOption) (context.Context, trace.Span) {
	config := trace.NewSpanStartConfig(options...)
	attrs := []attribute.KeyValue{semconv.DBSystemNameElasticsearch, semconv.DBOperationName(name)}
	given, _ := translate(config.Attributes())
	attrs = append(attrs, given...)
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
	ctx, inner := t.inner.Start(ctx, name, start...)
	s := &span{Span: inner, operation: name}
	return trace.ContextWithSpan(ctx, s), s
}

// --- the attributes -------------------------------------------------------------------------

// The authors' attribute keys that the current conventions rename or drop.
const (
	pathParts   = "db.elasticsearch.path_parts." // db.operation.parameter.<name>
	clusterName = "db.elasticsearch.cluster.name"
	nodeName    = "db.elasticsearch.node.name"
)

// dropped: db.system and db.operation are db.system.name and
// db.operation.name, set at the start; db.statement would hold a request
// body (it is off, and dropped should it ever come).
var dropped = map[attribute.Key]bool{"db.system": true, "db.operation": true, "db.statement": true}

// translate gives the authors' attributes their current names; index is the
// path's index part, if kvs holds it.
func translate(kvs []attribute.KeyValue) (out []attribute.KeyValue, index string) {
	out = make([]attribute.KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		key := string(kv.Key)
		switch {
		case dropped[kv.Key]:
		case strings.HasPrefix(key, pathParts):
			part := strings.TrimPrefix(key, pathParts)
			out = append(out, semconv.DBOperationParameter(part, kv.Value.Emit()))
			if part == "index" {
				index = kv.Value.Emit()
			}
		case key == clusterName:
			out = append(out, semconv.DBNamespace(kv.Value.Emit()))
		case key == nodeName:
			out = append(out, semconv.ElasticsearchNodeName(kv.Value.Emit()))
		case kv.Key == semconv.URLFullKey:
			if u, ok := redact(kv.Value.Emit()); ok {
				out = append(out, semconv.URLFull(u))
			}
		default:
			out = append(out, kv)
		}
	}
	return out, index
}

// redact is a URL without what may be secret or a value of the program's:
// its user info (the conventions) and the values of its query parameters
// (q= holds a search; routing, preference... may hold a user's id), whose
// keys stay.
func redact(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	if u.User != nil {
		u.User = url.UserPassword("REDACTED", "REDACTED")
	}
	if u.RawQuery != "" {
		query := u.Query()
		for key, values := range query {
			for i := range values {
				values[i] = "REDACTED"
			}
			query[key] = values
		}
		u.RawQuery = query.Encode()
	}
	return u.String(), true
}

// --- the span ----------------------------------------------------------------------------------

// span is the span of one request, as the authors' code sees it: it gives
// what that code records its current names, and sets the span's name, its
// collection and its outcome when it ends.
type span struct {
	trace.Span

	mu        sync.Mutex
	operation string // the endpoint id
	index     string // the path's index part
	bulk      *bulkOps
	status    int  // the status code of the last answer; 0: none
	failed    bool // an error without an answer (or after one) was recorded
}

func (s *span) SetAttributes(kvs ...attribute.KeyValue) {
	out, index := translate(kvs)
	if index != "" {
		s.mu.Lock()
		s.index = index
		s.mu.Unlock()
	}
	s.Span.SetAttributes(out...)
}

// SetStatus: the authors set Error with a fixed text before RecordError,
// which sets it with the error's own message; an answer's status is set when
// the span ends. Other statuses pass.
func (s *span) SetStatus(code codes.Code, description string) {
	if code != codes.Error {
		s.Span.SetStatus(code, description)
	}
}

// RecordError records an error the request ended with, once (the typed API
// reports a failed request twice). An error that stands for the answer (the
// typed API's *types.ElasticsearchError) is not recorded: the answer's
// status code tells it, and its text may quote the program's values
// ("Preview of field's value").
func (s *span) RecordError(err error, options ...trace.EventOption) {
	if err == nil || isAnswer(err) {
		return
	}
	s.mu.Lock()
	first := !s.failed
	s.failed = true
	s.mu.Unlock()
	if !first {
		return
	}
	s.Span.SetStatus(codes.Error, err.Error())
	s.Span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
	s.Span.RecordError(err, options...)
}

func (s *span) answered(status int) {
	s.mu.Lock()
	s.status = status
	s.mu.Unlock()
}

func (s *span) setBulk(ops *bulkOps) {
	s.mu.Lock()
	s.bulk = ops
	s.mu.Unlock()
}

func (s *span) End(options ...trace.SpanEndOption) {
	s.mu.Lock()
	name, attrs, failed := s.outcome()
	s.mu.Unlock()
	s.Span.SetName(name)
	s.Span.SetAttributes(attrs...)
	if failed {
		s.Span.SetStatus(codes.Error, "")
	}
	s.Span.End(options...)
}

// outcome is the span's name, the attributes known when it ends, and
// whether its answer makes it an error (a status of 400 or more: the
// conventions), unless an error without an answer was recorded (a retry that
// failed after an answer). s.mu is held.
func (s *span) outcome() (string, []attribute.KeyValue, bool) {
	var attrs []attribute.KeyValue
	operation, collection := s.operation, s.index
	if s.bulk != nil {
		operation = s.bulk.operation()
		attrs = append(attrs, semconv.DBOperationName(operation))
		if n := len(s.bulk.actions); n != 1 { // a batch of one is no batch (the conventions)
			attrs = append(attrs, semconv.DBOperationBatchSize(n))
		}
		if collection == "" {
			collection = s.bulk.index()
		}
	}
	name := operation
	if collection != "" {
		name += " " + collection
		attrs = append(attrs, semconv.DBCollectionName(collection))
	}
	if s.status == 0 {
		return name, attrs, false
	}
	code := strconv.Itoa(s.status)
	attrs = append(attrs, semconv.DBResponseStatusCode(code))
	if s.status < 400 || s.failed { // an error recorded without an answer is the outcome
		return name, attrs, false
	}
	return name, append(attrs, semconv.ErrorTypeKey.String(code)), true
}

// isAnswer: err is, or wraps, the typed API's decoded error answer
// (*types.ElasticsearchError), told by its type's name: this package does
// not compile the typed API into programs that do not use it.
func isAnswer(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		t := reflect.TypeOf(err)
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Name() == "ElasticsearchError" && t.PkgPath() == "github.com/elastic/go-elasticsearch/v8/typedapi/types" {
			return true
		}
	}
	return false
}

// errorType is error.type for an error without an answer: a timeout, or the
// Go type of the error under fmt's wrappers (the typed API's "an error
// happened during the Search query execution: %w"), *net.OpError and such.
func errorType(err error) string {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "timeout"
	}
	for {
		name := reflect.TypeOf(err).String()
		inner := errors.Unwrap(err)
		if inner == nil || name != "*fmt.wrapError" {
			return name
		}
		err = inner
	}
}
