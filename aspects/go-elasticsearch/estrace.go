// Package estrace traces the requests of every go-elasticsearch v8 client a
// program creates, through the OpenTelemetry instrumentation go-elasticsearch's
// authors ship with the client (elasticsearch.NewOpenTelemetryInstrumentation,
// from v8.12.0), as a user would enable it by hand (the Instrumentation of the
// client's Config), with the current database semantic conventions instead of
// the v1.21 ones it records.
//
// The go-elasticsearch integration's aspects replace the program's calls of
// the client constructors: NewClient, NewTypedClient and NewBaseClient
// (Configured), NewDefaultClient, and New, NewBase and NewTyped (Optioned).
// The client gets the instrumentation unless the program gave it one of its
// own, which is kept. That instrumentation is the authors', in two wrappers:
//
//   - Instrumentation, around it: a request made with a context without a
//     span (esapi calls without WithContext, context.Background()) takes the
//     goroutine's active span (otelrt.Parent); the trace context is written
//     into the request's headers (whatever the client's http.RoundTripper);
//     a bulk request's body is read for its operations (never recorded); the
//     answer's status code is kept for the span; and nothing is recorded on a
//     span that is not one of this package's (go-elasticsearch v8.12.0's
//     typed API, when Perform is called directly, hands the instrumentation
//     the caller's context instead of the span's).
//   - a TracerProvider (tracer.go) through which the authors' spans get the
//     current conventions' names and attributes.
//
// One CLIENT span per request, named after the endpoint and the index the
// path names ("search fixture-books", "info"; a bulk request: "bulk index
// books"), with db.system.name, db.operation.name (the endpoint id),
// db.collection.name and db.operation.parameter.<name> (the path's parts:
// index, id...), http.request.method, url.full (every query parameter's value
// REDACTED: q= and others carry what the program searched for),
// server.address and server.port (the node the request went to),
// db.response.status_code, db.operation.batch.size (bulk requests of two
// operations or more), and, behind Elastic Cloud's proxy, db.namespace (the
// cluster) and elasticsearch.node.name. No request body is ever recorded:
// there is no db.query.text. An answer of 400 or more is an error (the
// conventions), error.type its status code; a request that got no answer is
// an error with error.type the Go type of what failed (*net.OpError...) and an
// exception event. The net/http CLIENT span of each request is not recorded
// (the runtime's nesting rule): the traceparent the server receives names the
// Elasticsearch span.
//
// Requests made through a request struct (esapi.SearchRequest{...}.Do) carry
// no instrumentation (go-elasticsearch leaves that to the caller): only their
// net/http span is recorded.
//
// It only exists under overlay-gen's overlay.
package estrace

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/elastic/go-elasticsearch/v8"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// Config is cfg with this package's instrumentation, unless cfg names one.
func Config(cfg elasticsearch.Config) elasticsearch.Config {
	if cfg.Instrumentation == nil {
		cfg.Instrumentation = Instrumentation()
	}
	return cfg
}

// Configured stands in for a constructor that takes a Config (NewClient,
// NewTypedClient, NewBaseClient): the client it makes is instrumented.
func Configured[C any](newClient func(elasticsearch.Config) (C, error)) func(elasticsearch.Config) (C, error) {
	return func(cfg elasticsearch.Config) (C, error) { return newClient(Config(cfg)) }
}

// NewDefaultClient stands in for elasticsearch.NewDefaultClient, which is
// NewClient with an empty Config.
func NewDefaultClient() (*elasticsearch.Client, error) {
	return elasticsearch.NewClient(Config(elasticsearch.Config{}))
}

// Optioned stands in for a constructor that takes options (New, NewBase,
// NewTyped: v8.19 and later); with is elasticsearch.WithInstrumentation,
// which the releases this package is built against may not have. This
// package's option comes first: the program's own WithInstrumentation, if
// any, comes later and wins.
func Optioned[O, C any](newClient func(...O) (C, error), with func(elastictransport.Instrumentation) O) func(...O) (C, error) {
	return func(options ...O) (C, error) {
		all := make([]O, 0, len(options)+1)
		all = append(all, with(Instrumentation()))
		return newClient(append(all, options...)...)
	}
}

// Instrumentation is the authors' OpenTelemetry instrumentation (the search
// body capture off), its spans started through this package's provider, in
// this package's wrapper.
func Instrumentation() elastictransport.Instrumentation {
	return instrumentation{inner: elasticsearch.NewOpenTelemetryInstrumentation(provider, false)}
}

type instrumentation struct {
	inner elastictransport.Instrumentation
}

var _ elastictransport.Instrumentation = instrumentation{}

// ours is the span of ctx, when it is one this package started.
func ours(ctx context.Context) (*span, bool) {
	if ctx == nil {
		return nil, false
	}
	s, ok := trace.SpanFromContext(ctx).(*span)
	return s, ok
}

func (i instrumentation) Start(ctx context.Context, name string) context.Context {
	return i.inner.Start(otelrt.Parent(ctx), name)
}

func (i instrumentation) Close(ctx context.Context) {
	if _, ok := ours(ctx); ok {
		i.inner.Close(ctx)
	}
}

func (i instrumentation) RecordError(ctx context.Context, err error) {
	if _, ok := ours(ctx); ok {
		i.inner.RecordError(ctx, err)
	}
}

func (i instrumentation) RecordPathPart(ctx context.Context, pathPart, value string) {
	if _, ok := ours(ctx); ok {
		i.inner.RecordPathPart(ctx, pathPart, value)
	}
}

// RecordRequestBody never hands the body to the authors' code (which would
// record a search's body as db.statement with the capture on). A bulk
// request's body is read for its operations' names and indices only; the
// request then sends what was read.
func (i instrumentation) RecordRequestBody(ctx context.Context, endpoint string, body io.Reader) io.ReadCloser {
	s, ok := ours(ctx)
	if !ok || endpoint != "bulk" || body == nil || !s.IsRecording() {
		return nil
	}
	read, err := io.ReadAll(io.LimitReader(body, maxBulkRead+1))
	rest := io.MultiReader(bytes.NewReader(read), body)
	if err == nil && len(read) <= maxBulkRead {
		if ops, ok := readBulk(read); ok {
			s.setBulk(ops)
		}
		rest = bytes.NewReader(read)
	}
	closer, _ := body.(io.Closer)
	return readCloser{Reader: rest, closer: closer}
}

// maxBulkRead is the largest bulk body read for its operations; a larger one
// is sent as it is, and its span has no batch size.
const maxBulkRead = 16 << 20

type readCloser struct {
	io.Reader
	closer io.Closer
}

func (r readCloser) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// BeforeRequest writes the span's trace context into the request's headers:
// the server learns it whatever the client's RoundTripper (net/http's client
// hook, if it sees the request, writes the same).
func (i instrumentation) BeforeRequest(req *http.Request, endpoint string) {
	if _, ok := ours(req.Context()); ok {
		i.inner.BeforeRequest(req, endpoint)
		otel.GetTextMapPropagator().Inject(req.Context(), propagation.HeaderCarrier(req.Header))
	}
}

func (i instrumentation) AfterRequest(req *http.Request, system, endpoint string) {
	if _, ok := ours(req.Context()); ok {
		i.inner.AfterRequest(req, system, endpoint)
	}
}

// AfterResponse is called for every answer, a retried one too: the span
// keeps the last one's status code.
func (i instrumentation) AfterResponse(ctx context.Context, res *http.Response) {
	if s, ok := ours(ctx); ok && res != nil {
		i.inner.AfterResponse(ctx, res)
		s.answered(res.StatusCode)
	}
}
