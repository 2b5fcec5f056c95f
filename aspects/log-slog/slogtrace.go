// Package slogtrace connects log/slog, as overlay-gen rewrites it, to
// OpenTelemetry: a record logged with a context that holds a valid span gets
// trace_id and span_id attributes (lower-case hex), so logs and traces join.
//
// overlay-gen links this package into programs that use log/slog; it only
// exists under overlay-gen's overlay.
package slogtrace

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

func init() {
	slog.OverlayGenAttrs = attrs
}

func attrs(ctx context.Context) []slog.Attr {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []slog.Attr{slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String())}
}
