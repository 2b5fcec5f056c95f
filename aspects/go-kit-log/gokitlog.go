// Package gokitlog connects github.com/go-kit/log, as overlay-gen rewrites
// it, to OpenTelemetry. The loggers go-kit/log's constructors return
// (NewLogfmtLogger, NewJSONLogger: the two that write; every other logger of
// go-kit/log and its level, term and syslog packages ends in one of them)
// hand each record's keyvals to Keyvals before encoding them:
//
//   - a record logged while a span is active (the goroutine's, or the span of
//     a context.Context value among the keyvals, which comes first) gets
//     trace_id and span_id pairs (lower-case hex) at its end, in a copy of
//     the keyvals, so the caller's slice is never written to; a record with
//     no span, or that has a trace_id key of its own, is left as it is;
//   - with OTEL_LOGS_EXPORTER other than none, the record goes to the
//     runtime's LoggerProvider: the msg value as body, the level value
//     (github.com/go-kit/log/level's, or a string naming a level) as
//     severity, every other pair an attribute (a context.Context value
//     none: it is the record's trace context).
//
// A record passes through one such logger however many loggers wrap it
// (log.With, level.NewFilter, NewSyncLogger, term's color logger), so it
// gets its ids and is exported once.
//
// overlay-gen links this package into programs that use go-kit/log, through
// its hook package; it only exists under overlay-gen's overlay.
package gokitlog

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/go-kit/log/level"
	otellog "go.opentelemetry.io/otel/log"

	"overlay-gen.invalid/otelrt/logbridge"
)

// Scope is the instrumentation scope of the exported records.
const Scope = "github.com/go-kit/log"

// The keys go-kit/log's conventions give a record's message and level.
const (
	MessageKey = "msg"
	LevelKey   = "level"
)

// Keyvals is what a writing logger does first with a record: it exports the
// record and returns the keyvals to encode, with the ids of the record's span
// when there is one. missing is the value the logger encodes for a key
// without one (go-logfmt: nil; the JSON logger: log.ErrMissingValue), which
// completes an odd list before the ids are appended.
func Keyvals(keyvals []interface{}, missing interface{}) []interface{} {
	ctx := recordContext(keyvals)
	if logbridge.Exported() {
		logbridge.Emit(ctx, Scope, Convert(keyvals))
	}
	traceID, spanID, ok := logbridge.IDs(ctx)
	if !ok || hasKey(keyvals, logbridge.TraceIDKey) {
		return keyvals
	}
	n := len(keyvals) + len(keyvals)%2
	out := make([]interface{}, len(keyvals), n+4)
	copy(out, keyvals)
	if len(out) < n {
		out = append(out, missing)
	}
	return append(out, logbridge.TraceIDKey, traceID, logbridge.SpanIDKey, spanID)
}

// recordContext is the first context.Context value among the keyvals, or
// nil: then the goroutine's active span is the record's.
func recordContext(keyvals []interface{}) context.Context {
	for i := 1; i < len(keyvals); i += 2 {
		if ctx, ok := keyvals[i].(context.Context); ok && ctx != nil {
			return ctx
		}
	}
	return nil
}

func hasKey(keyvals []interface{}, key string) bool {
	for i := 0; i < len(keyvals); i += 2 {
		if k, ok := keyvals[i].(string); ok && k == key {
			return true
		}
	}
	return false
}

// Convert is the record the keyvals make: the first msg value the body, the
// first level value the severity, the other pairs attributes, keyed as
// go-kit/log's encoders print keys (a string, a Stringer's String, else
// fmt's %v), context.Context values left out.
func Convert(keyvals []interface{}) logbridge.Record {
	var r logbridge.Record
	haveMsg, haveLevel := false, false
	for i := 0; i < len(keyvals); i += 2 {
		var v interface{}
		if i+1 < len(keyvals) {
			v = keyvals[i+1]
		}
		if _, ok := v.(context.Context); ok {
			continue
		}
		k := keyString(keyvals[i])
		switch {
		case k == MessageKey && !haveMsg:
			r.Body, haveMsg = text(v), true
			continue
		case k == LevelKey && !haveLevel:
			if sev, _, ok := Severity(v); ok {
				r.Severity, haveLevel = sev, true
				continue
			}
		}
		r.Attributes = append(r.Attributes, slog.Attr{Key: k, Value: value(v)})
	}
	return r
}

// Severity maps a level value to OpenTelemetry's severity and the level's
// own name: go-kit's level values (debug, info, warn, error), and a string
// or Stringer naming those or trace, warning, fatal, panic, critical (any
// case). ok is false for a value that names no level.
func Severity(v interface{}) (sev otellog.Severity, name string, ok bool) {
	switch l := v.(type) {
	case level.Value:
		name = l.String()
	case string:
		name = l
	case fmt.Stringer:
		name = l.String()
	default:
		return 0, "", false
	}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "trace":
		return otellog.SeverityTrace, name, true
	case "debug":
		return otellog.SeverityDebug, name, true
	case "info":
		return otellog.SeverityInfo, name, true
	case "warn", "warning":
		return otellog.SeverityWarn, name, true
	case "error":
		return otellog.SeverityError, name, true
	case "fatal", "panic", "crit", "critical":
		return otellog.SeverityFatal, name, true
	}
	return 0, "", false
}

func keyString(k interface{}) string {
	switch k := k.(type) {
	case string:
		return k
	case fmt.Stringer:
		return safe(k.String)
	}
	return fmt.Sprint(k)
}

// text is a message value as the body: a string as itself, an error's
// message, a Stringer's text, anything else as fmt's %v prints it.
func text(v interface{}) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	case error:
		return safe(v.Error)
	case fmt.Stringer:
		return safe(v.String)
	}
	return fmt.Sprint(v)
}

// value is logbridge.Value(v), or the text of its panic: a Stringer or error
// whose method panics (a nil pointer's) is printed by go-kit/log's encoders
// as they can, and must not crash the program here.
func value(v interface{}) (lv slog.Value) {
	defer func() {
		if p := recover(); p != nil {
			lv = slog.StringValue(fmt.Sprintf("PANIC: %v", p))
		}
	}()
	return logbridge.Value(v)
}

// safe is f's text, or what go-kit/log prints for a method that panics (a
// nil pointer's, typically): the record is still exported.
func safe(f func() string) (s string) {
	defer func() {
		if p := recover(); p != nil {
			s = fmt.Sprintf("PANIC: %v", p)
		}
	}()
	return f()
}
