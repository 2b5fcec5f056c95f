// Package logrustrace connects logrus, as overlay-gen rewrites it, to
// OpenTelemetry.
//
// Correlation: every entry logrus logs goes through Entry.log, which asks
// Fields for the data it goes on with. Inside a span (the one the entry's
// context holds, else the goroutine's active span) that is a new map with
// the entry's fields and trace_id and span_id (lower-case hex), as WithField
// would add them: the hooks see them, and the program's formatter prints
// them as it prints any field (text: trace_id=... span_id=..., JSON:
// "trace_id":"..."). Outside any span, or when the entry has a trace_id or
// span_id field of its own, the entry is left as it is.
//
// Export: Entry.write, after the hooks, hands the entry to Export, which
// sends it to the runtime's LoggerProvider (logbridge.Emit) unless
// OTEL_LOGS_EXPORTER is none: the message as the body, the level as the
// severity (Severity) with logrus's own name as the text, the fields as
// attributes (logbridge.Value; trace_id and span_id that Fields added stay
// out, the record carries the trace context itself), the caller when the
// Logger reports it (code.function.name, code.file.path, code.line.number),
// the entry's time.
package logrustrace

import (
	"context"
	"log/slog"
	"sort"

	"github.com/sirupsen/logrus"
	"go.opentelemetry.io/otel/log"

	"overlay-gen.invalid/otelrt/logbridge"
)

// scope is the instrumentation scope of the records Export emits.
const scope = "overlay-gen.invalid/logrustrace"

// Fields is data with the trace_id and span_id of the span an entry logged
// with ctx is correlated with, in a new map (data is never written to), or
// nil when there is none or when data already has either key.
func Fields(ctx context.Context, data logrus.Fields) logrus.Fields {
	if _, own := data[logbridge.TraceIDKey]; own {
		return nil
	}
	if _, own := data[logbridge.SpanIDKey]; own {
		return nil
	}
	traceID, spanID, ok := logbridge.IDs(ctx)
	if !ok {
		return nil
	}
	fields := make(logrus.Fields, len(data)+2)
	for key, value := range data {
		fields[key] = value
	}
	fields[logbridge.TraceIDKey] = traceID
	fields[logbridge.SpanIDKey] = spanID
	return fields
}

// Export sends the entry to the runtime's LoggerProvider; it does nothing,
// not even the conversion, when records are not exported.
func Export(entry *logrus.Entry) {
	if entry == nil || !logbridge.Exported() {
		return
	}
	logbridge.Emit(entry.Context, scope, Record(entry))
}

// Record is the entry as a log record.
func Record(entry *logrus.Entry) logbridge.Record {
	return logbridge.Record{
		Time:       entry.Time,
		Severity:   Severity(entry.Level),
		Body:       entry.Message,
		Attributes: Attributes(entry),
	}
}

// Severity is OpenTelemetry's severity for a logrus level. Panic, which
// logrus ranks above Fatal, is the highest; a level logrus does not name
// has none.
func Severity(level logrus.Level) log.Severity {
	switch level {
	case logrus.PanicLevel:
		return log.SeverityFatal4
	case logrus.FatalLevel:
		return log.SeverityFatal
	case logrus.ErrorLevel:
		return log.SeverityError
	case logrus.WarnLevel:
		return log.SeverityWarn
	case logrus.InfoLevel:
		return log.SeverityInfo
	case logrus.DebugLevel:
		return log.SeverityDebug
	case logrus.TraceLevel:
		return log.SeverityTrace
	}
	return log.SeverityUndefined
}

// Attributes are the entry's fields, by key, then its caller: the
// trace_id and span_id that Fields added (those of the entry's span) are
// left out.
func Attributes(entry *logrus.Entry) []slog.Attr {
	keys := make([]string, 0, len(entry.Data))
	for key := range entry.Data {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	if traceID, spanID, ok := logbridge.IDs(entry.Context); ok &&
		entry.Data[logbridge.TraceIDKey] == traceID && entry.Data[logbridge.SpanIDKey] == spanID {
		kept := keys[:0]
		for _, key := range keys {
			if key != logbridge.TraceIDKey && key != logbridge.SpanIDKey {
				kept = append(kept, key)
			}
		}
		keys = kept
	}
	attrs := make([]slog.Attr, 0, len(keys)+3)
	for _, key := range keys {
		attrs = append(attrs, slog.Attr{Key: key, Value: logbridge.Value(entry.Data[key])})
	}
	if caller := entry.Caller; caller != nil {
		attrs = append(attrs,
			slog.String("code.function.name", caller.Function),
			slog.String("code.file.path", caller.File),
			slog.Int("code.line.number", caller.Line),
		)
	}
	return attrs
}
