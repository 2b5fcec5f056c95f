// Package fasthttptrace connects fasthttp, as overlay-gen rewrites it, to
// OpenTelemetry: every request a fasthttp.Server serves gets a SERVER span
// that continues the incoming trace context (OTEL_PROPAGATORS, W3C
// traceparent by default), with the attributes of the OpenTelemetry HTTP
// semantic conventions as net/http's server spans have them, status Error
// from 500 on. The span is named after the method, or "{method} {route}"
// (with http.route) once a router has named the route: SetRoute. While the
// handler runs, the span is the goroutine's active span, so what the handler
// calls without a context (http.Get) nests under it and carries it on; and
// the *fasthttp.RequestCtx, as a context.Context, holds it, for what the
// handler passes its ctx to. A router hands its handlers a context of their
// own with Context, and the error they returned with SetError. A panic
// (fasthttp recovers none) is recorded and the spans flushed before it goes
// on and ends the program.
//
// overlay-gen links this package into programs that use fasthttp, whose
// rewritten sources call fasthttp.OverlayGenServer; it only exists under
// overlay-gen's overlay.
package fasthttptrace

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// ScopeName is the instrumentation scope of the server spans.
const ScopeName = "overlay-gen/fasthttp"

var tracer = otel.Tracer(ScopeName)

// flushTimeout bounds the flush before a panic ends the program.
const flushTimeout = 5 * time.Second

func init() {
	fasthttp.OverlayGenServer = startServer
}

// served is what the integration knows of a request while its handler runs:
// the route a router matched and the error its handler returned, if any.
type served struct {
	mu    sync.Mutex
	route string
	err   error
}

type servedKey struct{}

func servedBy(ctx *fasthttp.RequestCtx) *served {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(servedKey{}).(*served)
	return s
}

// SetRoute names the server span of the request ctx after the route template
// a router matched ("/users/:id"): the span is named "{method} {route}" and
// gets http.route. When routers are mounted in one another, the last call
// (the router that knows the whole route) wins. Outside a request a
// fasthttp.Server serves, it does nothing.
func SetRoute(ctx *fasthttp.RequestCtx, route string) {
	if s := servedBy(ctx); s != nil && route != "" {
		s.mu.Lock()
		s.route = route
		s.mu.Unlock()
	}
}

// SetError tells the server span of the request ctx the error a router's
// handler returned: the span records it (an exception event, the status
// description) when the response is a server error (from 500 on), which is
// when a server span is an error. Outside a request it does nothing.
func SetError(ctx *fasthttp.RequestCtx, err error) {
	if s := servedBy(ctx); s != nil && err != nil {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}
}

// Context is parent carrying the server span of the request ctx (and the
// baggage that came with the request): what a router gives its handlers as
// their context. Outside a request it is parent.
func Context(parent context.Context, ctx *fasthttp.RequestCtx) context.Context {
	if servedBy(ctx) == nil {
		return parent
	}
	out := trace.ContextWithSpan(parent, trace.SpanFromContext(ctx))
	if b := baggage.FromContext(ctx); b.Len() > 0 {
		out = baggage.ContextWithBaggage(out, b)
	}
	return out
}

func (s *served) outcome() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.route, s.err
}

// headers is the propagation carrier of a request's headers.
type headers struct{ h *fasthttp.RequestHeader }

func (c headers) Get(key string) string { return string(c.h.Peek(key)) }
func (c headers) Set(key, value string) { c.h.Set(key, value) }
func (c headers) Keys() []string {
	var keys []string
	c.h.VisitAll(func(key, _ []byte) { keys = append(keys, string(key)) })
	return keys
}

func startServer(ctx *fasthttp.RequestCtx) (context.Context, func(int, any)) {
	// The span's context starts from Background, not from ctx: ctx.Value asks it first.
	parent := otel.GetTextMapPropagator().Extract(context.Background(), headers{&ctx.Request.Header})
	scheme := "http"
	if ctx.IsTLS() {
		scheme = "https"
	}
	method := string(ctx.Method())
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLScheme(scheme),
		semconv.URLPath(string(ctx.Path())),
	}
	if ctx.Request.Header.IsHTTP11() { // fasthttp's server speaks HTTP/1.x
		attrs = append(attrs, semconv.NetworkProtocolVersion("1.1"))
	} else {
		attrs = append(attrs, semconv.NetworkProtocolVersion("1.0"))
	}
	attrs = append(attrs, hostPort(string(ctx.Host()), scheme)...)
	if ua := ctx.UserAgent(); len(ua) > 0 {
		attrs = append(attrs, semconv.UserAgentOriginal(string(ua)))
	}
	if addr := ctx.RemoteAddr(); addr != nil {
		if host, _, err := net.SplitHostPort(addr.String()); err == nil {
			attrs = append(attrs, semconv.ClientAddress(host))
		}
	}
	spanCtx, span := tracer.Start(parent, method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	state := &served{}
	traced := context.WithValue(spanCtx, servedKey{}, state)
	restore := otelrt.Activate(traced) // the handler's goroutine: its active span is this one
	return traced, func(status int, panicked any) {
		defer restore()
		route, err := state.outcome()
		if route != "" {
			span.SetName(method + " " + route)
			span.SetAttributes(semconv.HTTPRoute(route))
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if panicked != nil {
			err = fmt.Errorf("panic: %v", panicked)
			span.RecordError(err, trace.WithStackTrace(true))
		} else if err != nil && status >= 500 {
			span.RecordError(err)
		}
		if status >= 500 { // a server span is an error from 500 on only
			description := ""
			if err != nil {
				description = err.Error()
			}
			span.SetStatus(codes.Error, description)
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		}
		span.End()
		if panicked != nil {
			flush() // fasthttp recovers no panic: this one is about to end the program
		}
	}
}

// flush exports the spans that are still buffered.
func flush() {
	if provider, ok := otel.GetTracerProvider().(interface{ ForceFlush(context.Context) error }); ok {
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		_ = provider.ForceFlush(ctx)
	}
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
