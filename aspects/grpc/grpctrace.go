// Package grpctrace traces the gRPC servers and clients a program makes with
// OpenTelemetry's own instrumentation, otelgrpc: the grpc integration's
// aspects append its options to every grpc.NewServer, grpc.NewClient,
// grpc.Dial and grpc.DialContext call (after the options the program passes),
// as a user would by hand. Every RPC, unary or streaming, gets a SERVER span
// and a CLIENT span named after its full method ("pkg.Service/Method"), with
// otelgrpc's attributes (rpc.system.name, rpc.method, rpc.response.status_code,
// server.address...; OTEL_SEMCONV_STABILITY_OPT_IN=rpc/dup adds the older
// rpc.system and rpc.service), and the trace context crosses the call in the
// request's metadata (OTEL_PROPAGATORS).
//
// Around otelgrpc:
//
//   - a server handler runs with its RPC's span as its goroutine's active
//     span, so code it runs without a context still nests under it;
//   - a client call made with a context that holds no span (context.Background()
//     inside a span) takes the goroutine's active span as its parent;
//   - a call that already has its span when these handlers see it (the
//     program passes otelgrpc's handlers itself, or another instrumentation
//     made the span) gets no second span;
//   - a client never traces an OTLP export (a connection the program dials
//     and gives an exporter), or every export would make spans to export.
//
// It only exists under overlay-gen's overlay.
package grpctrace

import (
	"context"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"overlay-gen.invalid/otelrt"
)

// --- server --------------------------------------------------------------------

// ServerHandler is the server option that traces every RPC the server serves.
func ServerHandler() grpc.ServerOption {
	return grpc.StatsHandler(once{otelgrpc.NewServerHandler(), trace.SpanKindServer})
}

// ActivateUnary is the server option that makes a unary RPC's span the
// handler's active span while it runs. Appended last, it is the innermost
// interceptor: the one that calls the handler.
func ActivateUnary() grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(activateUnary)
}

// ActivateStream does for streaming RPCs what ActivateUnary does for unary ones.
func ActivateStream() grpc.ServerOption {
	return grpc.ChainStreamInterceptor(activateStream)
}

func activateUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	defer otelrt.Activate(ctx)()
	return handler(ctx, req)
}

func activateStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	defer otelrt.Activate(ss.Context())()
	return handler(srv, ss)
}

// --- client --------------------------------------------------------------------

// WithStatsHandler is the dial option that traces every RPC the connection makes.
func WithStatsHandler() grpc.DialOption {
	return grpc.WithStatsHandler(once{otelgrpc.NewClientHandler(otelgrpc.WithFilter(notExport)), trace.SpanKindClient})
}

// WithParentUnary is the dial option that gives a unary call made with a
// context without a span the goroutine's active span as its parent. Appended
// last, it is the innermost interceptor: the one before the stats handler.
func WithParentUnary() grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(parentUnary)
}

// WithParentStream does for streaming calls what WithParentUnary does for unary ones.
func WithParentStream() grpc.DialOption {
	return grpc.WithChainStreamInterceptor(parentStream)
}

func parentUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoker(otelrt.Parent(ctx), method, req, reply, cc, opts...)
}

func parentStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return streamer(otelrt.Parent(ctx), desc, cc, method, opts...)
}

// exportServices start the full methods of the OTLP collector's services
// (/opentelemetry.proto.collector.trace.v1.TraceService/Export, and metrics
// and logs): calls of them are OpenTelemetry's exports.
const exportServices = "/opentelemetry.proto.collector."

func notExport(info *stats.RPCTagInfo) bool {
	return !strings.HasPrefix(info.FullMethodName, exportServices)
}

// --- one span per call ------------------------------------------------------------

// once is an otelgrpc handler that leaves alone an RPC whose context already
// holds its span: one of the kind the handler makes, named after the RPC's
// method, as otelgrpc's are. grpc calls its handlers in the order of the
// options, so one the program passes itself has run by then; two otelgrpc
// handlers on one RPC would start two spans and end only the second.
type once struct {
	stats.Handler
	kind trace.SpanKind
}

// skipped marks the context of an RPC that once left to another handler.
type skipped struct{}

// named is what the SDK's spans tell of themselves (sdktrace.ReadOnlySpan).
type named interface {
	Name() string
	SpanKind() trace.SpanKind
}

func (h once) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	if span, ok := trace.SpanFromContext(ctx).(named); ok && span.SpanKind() == h.kind &&
		span.Name() == strings.TrimPrefix(info.FullMethodName, "/") {
		return context.WithValue(ctx, skipped{}, true)
	}
	// Set either way: a call made with the context of an RPC that was skipped is not.
	return context.WithValue(h.Handler.TagRPC(ctx, info), skipped{}, false)
}

func (h once) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	if skip, _ := ctx.Value(skipped{}).(bool); skip {
		return
	}
	h.Handler.HandleRPC(ctx, rs)
}
