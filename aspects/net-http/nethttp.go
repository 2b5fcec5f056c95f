// Package nethttp connects net/http, as overlay-gen rewrites it, to
// OpenTelemetry. Every request a Client or Transport sends gets a CLIENT span
// (one, when a Client sends it through a Transport)
// and carries the trace context (OTEL_PROPAGATORS, W3C traceparent by default)
// to the server; every request an http.Server serves gets a SERVER span that
// continues the incoming trace context, is the context the handler's
// r.Context() holds, and is named after the route that matched: the one a
// router integration gave SetRoute, else the ServeMux pattern. Attributes
// follow the OpenTelemetry HTTP semantic conventions. Body sizes, as
// otelhttp's spans give them, when not zero: a server span's
// http.request.body.size is the request's declared length, or the bytes the
// handler read of a chunked body, and http.response.body.size the bytes of
// body the handler wrote; a client span's are the declared lengths of the
// request it sent and of the response (whose body is still to be read when
// the span ends).
//
// overlay-gen links this package into programs that use net/http, whose
// rewritten sources call OverlayGenClient and OverlayGenServer; it only
// exists under overlay-gen's overlay.
package nethttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// ScopeName is the instrumentation scope of the HTTP spans.
const ScopeName = "overlay-gen/net/http"

// exporterAgents start the User-Agents of OpenTelemetry's OTLP/HTTP exporters
// (traces: "OTel OTLP Exporter Go/1.x"; metrics and logs: "OTel Go OTLP over
// HTTP/protobuf ... exporter/1.x"): their requests are never traced, or every
// export would make spans to export.
var exporterAgents = []string{"OTel OTLP Exporter Go/", "OTel Go OTLP over HTTP/"}

func fromExporter(req *http.Request) bool {
	agent := req.Header.Get("User-Agent")
	for _, prefix := range exporterAgents {
		if strings.HasPrefix(agent, prefix) {
			return true
		}
	}
	return false
}

var tracer = otel.Tracer(ScopeName)

func init() {
	http.OverlayGenClient = startClient
	http.OverlayGenServer = startServer
}

// clientSpan marks the context of a request that already has its CLIENT span:
// Client.send makes one, and the Transport it calls must not make another.
type clientSpan struct{}

func noop(*http.Response, error) {}

func startClient(req *http.Request) (*http.Request, func(*http.Response, error)) {
	if fromExporter(req) || req.Context().Value(clientSpan{}) != nil {
		return req, noop
	}
	method := methodOf(req)
	attrs := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(method)}
	if req.URL != nil {
		attrs = append(attrs, semconv.URLFull(redacted(req.URL)))
		attrs = append(attrs, hostPort(req.URL.Host, req.URL.Scheme)...)
	}
	if size := requestSize(req); size > 0 {
		attrs = append(attrs, semconv.HTTPRequestBodySize(int(size)))
	}
	// A request made without a context (http.Get in a handler) takes the goroutine's active span.
	parent := otelrt.Parent(req.Context())
	ctx, span := tracer.Start(parent, method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	req = req.Clone(context.WithValue(ctx, clientSpan{}, true)) // headers are copied: the caller's stays as it was
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
	return req, func(resp *http.Response, err error) {
		switch {
		case err != nil:
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
		case resp != nil:
			span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
			if resp.ContentLength > 0 { // the size the server declared: the body is still to be read
				span.SetAttributes(semconv.HTTPResponseBodySize(int(resp.ContentLength)))
			}
			if resp.StatusCode >= 400 { // a client span is an error from 400 on
				span.SetStatus(codes.Error, "")
				span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(resp.StatusCode)))
			}
		}
		span.End()
	}
}

// served is what the server knows of a request it serves while its handler
// runs: the route a router matched, if one said so.
type served struct {
	mu    sync.Mutex
	route string
}

type servedKey struct{}

// SetRoute names the server span of the request that ctx belongs to after
// the route template a router matched ("/users/:id", "/orders/{id}"): the
// span is named "{method} {route}" and gets http.route, in place of the
// ServeMux pattern. The router integrations call it; when routers are
// mounted in one another, the last call (the router that knows the whole
// route) wins. Outside a request net/http serves, it does nothing.
func SetRoute(ctx context.Context, route string) {
	if s, ok := ctx.Value(servedKey{}).(*served); ok && route != "" {
		s.mu.Lock()
		s.route = route
		s.mu.Unlock()
	}
}

func (s *served) matched() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.route
}

func startServer(_ http.ResponseWriter, req *http.Request) (*http.Request, func(status int, written int64)) {
	if addr, _ := req.Context().Value(http.LocalAddrContextKey).(net.Addr); otelrt.Untraced(addr) { // a Prometheus scrape
		return req, func(int, int64) {}
	}
	ctx := otel.GetTextMapPropagator().Extract(req.Context(), propagation.HeaderCarrier(req.Header))
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	method := methodOf(req)
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLScheme(scheme),
		semconv.NetworkProtocolVersion(strings.TrimPrefix(req.Proto, "HTTP/")),
	}
	if req.URL != nil {
		attrs = append(attrs, semconv.URLPath(req.URL.Path))
	}
	attrs = append(attrs, hostPort(req.Host, scheme)...)
	if ua := req.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	if host, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		attrs = append(attrs, semconv.ClientAddress(host))
	}
	ctx, span := tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	state := &served{}
	handled := req.WithContext(context.WithValue(ctx, servedKey{}, state))
	var counted *countingBody
	if req.ContentLength < 0 && req.Body != nil && req.Body != http.NoBody { // chunked: count what the handler reads
		counted = &countingBody{ReadCloser: req.Body}
		handled.Body = counted
	}
	restore := otelrt.Activate(ctx) // the handler's goroutine: its active span is this one
	return handled, func(status int, written int64) {
		defer restore()
		read := req.ContentLength
		if counted != nil {
			read = counted.n
		}
		if read > 0 {
			span.SetAttributes(semconv.HTTPRequestBodySize(int(read)))
		}
		if written > 0 {
			span.SetAttributes(semconv.HTTPResponseBodySize(int(written)))
		}
		if status == 0 {
			status = http.StatusOK // nothing written: net/http sends 200
		}
		// A router's route, else the pattern a ServeMux records on the request it was given.
		route := state.matched()
		if route == "" {
			route = routeOf(handled.Pattern)
		}
		if route != "" {
			span.SetName(method + " " + route)
			span.SetAttributes(semconv.HTTPRoute(route))
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= 500 { // a server span is an error from 500 on only
			span.SetStatus(codes.Error, "")
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		}
		span.End()
	}
}

// countingBody counts the bytes a handler reads of a request body whose
// size the request did not declare (chunked).
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// requestSize is the size of the body a client sends: its declared length
// (0 without a body, or when the length is not known).
func requestSize(req *http.Request) int64 {
	if req.Body == nil || req.Body == http.NoBody {
		return 0
	}
	return req.ContentLength
}

// routeOf is the path of a ServeMux pattern: "GET example.com/items/{id}" is "/items/{id}".
func routeOf(pattern string) string {
	if _, rest, found := strings.Cut(pattern, " "); found {
		pattern = strings.TrimLeft(rest, " \t")
	}
	if i := strings.Index(pattern, "/"); i > 0 {
		pattern = pattern[i:]
	}
	return pattern
}

func methodOf(req *http.Request) string {
	if req.Method == "" {
		return http.MethodGet
	}
	return req.Method
}

// redacted is the URL without credentials, as the conventions require.
func redacted(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = url.UserPassword("REDACTED", "REDACTED")
	return c.String()
}

func hostPort(hostport, scheme string) []attribute.KeyValue {
	if hostport == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	attrs := []attribute.KeyValue{semconv.ServerAddress(host)}
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPort(p))
	} else if scheme == "https" {
		attrs = append(attrs, semconv.ServerPort(443))
	} else if scheme == "http" {
		attrs = append(attrs, semconv.ServerPort(80))
	}
	return attrs
}

// errorType is the error.type attribute: the error's Go type, as the
// conventions suggest when there is nothing better.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return fmt.Sprintf("%T", err)
}
