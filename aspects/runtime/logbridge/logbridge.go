// Package logbridge is what the logging integrations share: the trace and
// span ids a record is correlated with (those of the context it was logged
// with, else of the goroutine's active span), in the form every library's
// fields take them (lower-case hex, under trace_id and span_id), and the
// export of a record to the runtime's LoggerProvider (OTEL_LOGS_EXPORTER),
// for the libraries no OpenTelemetry bridge serves.
package logbridge

import (
	"context"
	"encoding"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"
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

// Record is one record as a library logged it.
type Record struct {
	Time         time.Time // zero: now
	Severity     log.Severity
	SeverityText string // the library's own name of the level
	Body         string
	Attributes   []attribute.KeyValue
}

// Emit sends the record to the runtime's LoggerProvider, through a logger
// of the library's instrumentation scope, with the trace context of
// Context(ctx).
func Emit(ctx context.Context, scope string, r Record) {
	if !Exported() {
		return
	}
	var record log.Record
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	record.SetTimestamp(r.Time)
	record.SetObservedTimestamp(time.Now())
	record.SetSeverity(r.Severity)
	record.SetSeverityText(r.SeverityText)
	record.SetBody(attribute.StringValue(r.Body))
	record.AddAttributes(r.Attributes...)
	global.GetLoggerProvider().Logger(scope).Emit(Context(ctx), record)
}

// Value is a field's value as a log record's attribute value: numbers, booleans, strings and
// byte slices as themselves, errors by their message, anything else as it
// prints (fmt's %v; a TextMarshaler's text).
func Value(v any) attribute.Value {
	switch v := v.(type) {
	case nil:
		return attribute.Value{}
	case string:
		return attribute.StringValue(v)
	case bool:
		return attribute.BoolValue(v)
	case int:
		return attribute.IntValue(v)
	case int8:
		return attribute.Int64Value(int64(v))
	case int16:
		return attribute.Int64Value(int64(v))
	case int32:
		return attribute.Int64Value(int64(v))
	case int64:
		return attribute.Int64Value(v)
	case uint8:
		return attribute.Int64Value(int64(v))
	case uint16:
		return attribute.Int64Value(int64(v))
	case uint32:
		return attribute.Int64Value(int64(v))
	case uint:
		return unsigned(uint64(v))
	case uint64:
		return unsigned(v)
	case float32:
		return attribute.Float64Value(float64(v))
	case float64:
		return attribute.Float64Value(v)
	case []byte:
		return attribute.ByteSliceValue(v)
	case time.Duration:
		return attribute.Int64Value(int64(v))
	case time.Time:
		return attribute.StringValue(v.Format(time.RFC3339Nano))
	case error:
		return attribute.StringValue(v.Error())
	case fmt.Stringer:
		return attribute.StringValue(v.String())
	case encoding.TextMarshaler:
		if text, err := v.MarshalText(); err == nil {
			return attribute.StringValue(string(text))
		}
	}
	return attribute.StringValue(fmt.Sprintf("%v", v))
}

func unsigned(v uint64) attribute.Value {
	if v > math.MaxInt64 {
		return attribute.StringValue(fmt.Sprint(v))
	}
	return attribute.Int64Value(int64(v))
}
