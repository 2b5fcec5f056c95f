// Package slogtrace connects log/slog, as overlay-gen rewrites it, to
// OpenTelemetry. A record logged with a context that holds a span, or on a
// goroutine whose active span is set, gets trace_id and span_id attributes
// (lower-case hex), so logs and traces join; and while the runtime exports
// logs (OTEL_LOGS_EXPORTER), every record the program's logger is enabled
// for also goes to the LoggerProvider through OpenTelemetry's slog bridge
// (otelslog), with the trace context of the same span. What the program's
// handler receives is otherwise unchanged.
//
// overlay-gen links this package into programs that use log/slog; it only
// exists under overlay-gen's overlay.
package slogtrace

import (
	"context"
	"log/slog"
	"sync"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/log/global"

	"overlay-gen.invalid/otelrt/logbridge"
)

// ScopeName is the instrumentation scope of the exported records.
const ScopeName = "log/slog"

func init() {
	slog.OverlayGenAttrs = attrs
	slog.OverlayGenExported = logbridge.Exported
	slog.OverlayGenExport = export
}

func attrs(ctx context.Context) []slog.Attr {
	traceID, spanID, ok := logbridge.IDs(ctx)
	if !ok {
		return nil
	}
	return []slog.Attr{slog.String(logbridge.TraceIDKey, traceID), slog.String(logbridge.SpanIDKey, spanID)}
}

// bridge is otelslog's handler on the runtime's LoggerProvider, made when
// the first record is exported (the provider is installed in main).
var bridge = sync.OnceValue(func() slog.Handler {
	return otelslog.NewHandler(ScopeName, otelslog.WithLoggerProvider(global.GetLoggerProvider()))
})

func export(ctx context.Context, r slog.Record) {
	_ = bridge().Handle(logbridge.Context(ctx), r)
}
