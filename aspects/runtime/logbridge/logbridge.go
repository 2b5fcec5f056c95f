// Package logbridge is what the logging integrations share: the trace and
// span ids a record is correlated with (those of the context it was logged
// with, else of the goroutine's active span), in the form every library's
// fields take them (lower-case hex, under trace_id and span_id), and the
// export of a record to the runtime's LoggerProvider (OTEL_LOGS_EXPORTER),
// for the libraries no OpenTelemetry bridge serves.
//
// A record is exported through OpenTelemetry's slog bridge (otelslog): the
// library's record becomes a slog.Record, a standard library type, so this
// code compiles against every release of the OpenTelemetry log API the
// runtime accepts (its v0 and v1 releases differ in their value types), and
// pin takes the otelslog release made with the program's OpenTelemetry.
// otelslog gives the record its severity (the level's) and, as severity
// text, slog's name of that level ("INFO", "ERROR+4" for FATAL).
package logbridge

import (
	"context"
	"encoding"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/log/global"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// The keys the ids take in what a program prints, as OpenTelemetry's log
// correlation and the vendors' log pipelines expect them.
const (
	TraceIDKey = "trace_id"
	SpanIDKey  = "span_id"
)

// Context is ctx when it holds a span, else ctx with the goroutine's active
// span (ctx may be nil): the context a record is correlated with.
func Context(ctx context.Context) context.Context { return otelrt.Parent(ctx) }

// IDs are the trace and span ids of the record's context (Context), and
// whether there is a valid span.
func IDs(ctx context.Context) (traceID, spanID string, ok bool) {
	sc := trace.SpanContextFromContext(Context(ctx))
	if !sc.IsValid() {
		return "", "", false
	}
	return sc.TraceID().String(), sc.SpanID().String(), true
}

// Exported reports whether records are exported (OTEL_LOGS_EXPORTER is not
// none): a bridge converts nothing otherwise.
func Exported() bool { return otelrt.LogsExported() }

// Record is one record as a library logged it. Its attributes are slog's,
// which otelslog converts (a group to a map, a slice or map held as any to
// a slice or map): types of the standard library, the same whichever
// release of OpenTelemetry's log API the program has.
type Record struct {
	Time       time.Time // zero: now
	Severity   log.Severity
	Body       string
	Attributes []slog.Attr
}

// handlers are otelslog's handlers on the runtime's LoggerProvider, by
// instrumentation scope, made when a scope's first record is exported.
var handlers sync.Map // string: slog.Handler

// Emit sends the record to the runtime's LoggerProvider, through a logger
// of the library's instrumentation scope, with the trace context of
// Context(ctx).
func Emit(ctx context.Context, scope string, r Record) {
	if !Exported() {
		return
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	// otelslog's severity is the slog level plus 9 (slog.LevelInfo, 0, is INFO, 9).
	record := slog.NewRecord(r.Time, slog.Level(int(r.Severity)-int(log.SeverityInfo)), r.Body, 0)
	record.AddAttrs(r.Attributes...)
	handler, ok := handlers.Load(scope)
	if !ok {
		handler, _ = handlers.LoadOrStore(scope, otelslog.NewHandler(scope, otelslog.WithLoggerProvider(global.GetLoggerProvider())))
	}
	_ = handler.(slog.Handler).Handle(Context(ctx), record)
}

// Value is a field's value as a log record's attribute value: numbers, booleans, strings and
// byte slices as text, errors by their message, anything else as it
// prints (fmt's %v; a TextMarshaler's text). A method that panics (a nil
// pointer's) does not: the value is what fmt prints for it.
func Value(v any) slog.Value {
	switch v := v.(type) {
	case nil:
		return slog.Value{}
	case string:
		return slog.StringValue(v)
	case bool:
		return slog.BoolValue(v)
	case int:
		return slog.IntValue(v)
	case int8:
		return slog.Int64Value(int64(v))
	case int16:
		return slog.Int64Value(int64(v))
	case int32:
		return slog.Int64Value(int64(v))
	case int64:
		return slog.Int64Value(v)
	case uint8:
		return slog.Int64Value(int64(v))
	case uint16:
		return slog.Int64Value(int64(v))
	case uint32:
		return slog.Int64Value(int64(v))
	case uint:
		return unsigned(uint64(v))
	case uint64:
		return unsigned(v)
	case float32:
		return slog.Float64Value(float64(v))
	case float64:
		return slog.Float64Value(v)
	case []byte: // as text: attribute values have no bytes kind in every release accepted
		return slog.StringValue(string(v))
	case time.Duration:
		return slog.Int64Value(int64(v))
	case time.Time:
		return slog.StringValue(v.Format(time.RFC3339Nano))
	case error, fmt.Stringer:
		return slog.StringValue(fmt.Sprint(v)) // fmt survives a nil receiver or a panicking method
	case encoding.TextMarshaler:
		if text, ok := marshalText(v); ok {
			return slog.StringValue(text)
		}
	}
	return slog.StringValue(fmt.Sprintf("%v", v))
}

// marshalText is v's text, unless MarshalText fails or panics (a nil pointer).
func marshalText(v encoding.TextMarshaler) (text string, ok bool) {
	defer func() {
		if recover() != nil {
			text, ok = "", false
		}
	}()
	b, err := v.MarshalText()
	return string(b), err == nil
}

func unsigned(v uint64) slog.Value {
	if v > math.MaxInt64 {
		return slog.StringValue(fmt.Sprint(v))
	}
	return slog.Int64Value(int64(v))
}
