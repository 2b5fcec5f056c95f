// Package zerologtrace connects github.com/rs/zerolog, as overlay-gen
// rewrites it, to OpenTelemetry. zerolog's (*Event).msg, which every event
// of every Logger passes (Msg, Msgf, MsgFunc, Send, the log package's
// functions, Logger.Print and Write), calls Event once the event's hooks
// have run and before its message is added:
//
//   - an event logged inside a span gets trace_id and span_id fields
//     (lower-case hex), added by zerolog's own encoder as Str would add them;
//     an event logged outside any span is printed exactly as before;
//   - with OTEL_LOGS_EXPORTER not none, the event also goes to the runtime's
//     LoggerProvider: body the message, severity the level's, severity text
//     the level as zerolog prints it, attributes the event's fields (those of
//     its Logger's context and its hooks included) read back from the JSON
//     zerolog wrote.
//
// The span is that of the event's context (Event.Ctx, Context.Ctx: zerolog
// v1.30.0 and later), else the goroutine's active span.
//
// overlay-gen links package hook, which installs Event, into programs that
// use zerolog; it only exists under overlay-gen's overlay.
package zerologtrace

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt/logbridge"
)

// Scope is the instrumentation scope of the exported records.
const Scope = "github.com/rs/zerolog"

// Event correlates and exports one event that zerolog's msg is about to
// write: level is its level, msg its message, fields the bytes zerolog's
// encoder wrote for it so far (read, not kept). An event a hook disabled
// never gets here.
func Event(e *zerolog.Event, level zerolog.Level, msg string, fields []byte) {
	ctx := logbridge.Context(eventContext(e))
	if logbridge.Exported() {
		logbridge.Emit(ctx, Scope, Record(level, msg, fields))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		e.Str(logbridge.TraceIDKey, sc.TraceID().String()).Str(logbridge.SpanIDKey, sc.SpanID().String())
	}
}

// contexter is what *zerolog.Event is from v1.30.0, which added Event.Ctx
// and GetCtx; the releases before give events no context.
type contexter interface{ GetCtx() context.Context }

// eventContext is the context the event was given (nil: none, or a release
// without contexts).
func eventContext(e any) context.Context {
	if c, ok := e.(contexter); ok {
		return c.GetCtx()
	}
	return nil
}

// Record is the event as an OpenTelemetry log record.
func Record(level zerolog.Level, msg string, fields []byte) logbridge.Record {
	r := logbridge.Record{Severity: Severity(level), Body: msg}
	r.Time, r.Attributes = attributes(fields)
	return r
}

// Severity maps zerolog's levels to OpenTelemetry's: trace (and the numbered
// levels below it) TRACE, debug DEBUG, info INFO, warn WARN, error ERROR,
// fatal FATAL, panic FATAL2 (zerolog ranks it above fatal); NoLevel
// (Logger.Log) and unknown levels have none.
func Severity(level zerolog.Level) log.Severity {
	switch level {
	case zerolog.DebugLevel:
		return log.SeverityDebug
	case zerolog.InfoLevel:
		return log.SeverityInfo
	case zerolog.WarnLevel:
		return log.SeverityWarn
	case zerolog.ErrorLevel:
		return log.SeverityError
	case zerolog.FatalLevel:
		return log.SeverityFatal
	case zerolog.PanicLevel:
		return log.SeverityFatal2
	}
	if int8(level) < 0 { // TraceLevel is -1 (v1.14.0 and later); lower numbers are custom levels
		return log.SeverityTrace
	}
	return log.SeverityUndefined
}

// attributes reads the event's fields back from zerolog's JSON (an object
// not yet closed), in order: every field but the level (the severity) and
// a timestamp in TimeFieldFormat (the record's time, returned). Bytes that
// are no JSON (the binary_log build's CBOR) give none; JSON that stops
// being valid gives the fields before.
func attributes(fields []byte) (at time.Time, kvs []slog.Attr) {
	if len(fields) == 0 || fields[0] != '{' {
		return at, nil
	}
	dec := json.NewDecoder(io.MultiReader(bytes.NewReader(fields), strings.NewReader("}")))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return at, nil
	}
	for dec.More() {
		token, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := token.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			break
		}
		switch {
		case key == zerolog.LevelFieldName:
			continue
		case key == zerolog.TimestampFieldName && at.IsZero():
			if s, ok := v.(string); ok && zerolog.TimeFieldFormat != "" {
				if t, err := time.Parse(zerolog.TimeFieldFormat, s); err == nil {
					at = t
					continue
				}
			}
		}
		kvs = append(kvs, slog.Attr{Key: key, Value: Value(v)})
	}
	return at, kvs
}

// Value is a JSON value as a log attribute's: integers as integers, other
// numbers as floats, objects as groups (a map: keys sorted), arrays as
// slices of their values.
func Value(v any) slog.Value {
	switch v := v.(type) {
	case json.Number, []any:
		return slog.AnyValue(native(v))
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		attrs := make([]slog.Attr, len(keys))
		for i, k := range keys {
			attrs[i] = slog.Attr{Key: k, Value: Value(v[k])}
		}
		return slog.GroupValue(attrs...)
	}
	return logbridge.Value(v)
}

// native is a decoded JSON value with its numbers as int64 or float64 (or
// text, beyond both), as otelslog converts values held as any: an array to
// a slice, an object to a map.
func native(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v.String()
	case []any:
		items := make([]any, len(v))
		for i, item := range v {
			items[i] = native(item)
		}
		return items
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, item := range v {
			m[k] = native(item)
		}
		return m
	}
	return v
}
