// Package logtrace connects the standard library's log package, as
// overlay-gen rewrites it, to OpenTelemetry.
//
// Package log takes no context: a record belongs to the goroutine's active
// span (the one a //dd:span function or an HTTP handler made current). The
// log integration prepends a call of a hook variable to (*log.Logger).output,
// the one function every Print*, Fatal*, Panic* and Output call of every
// Logger (the standard one, those log.New makes) writes through, and the
// package hook of this module, linked into every program that uses log, sets
// that variable to Record. Record gets the function that appends the
// record's message to the line and returns the one output calls instead:
//
//   - on a goroutine with an active span, the message ends with
//     " trace_id=<hex> span_id=<hex>" (lower-case hex), before its newline:
//     package log has no fields, so the ids go where a reader and a log
//     pipeline's pattern find them, after the message. Prefix, flags
//     (Lmsgprefix, Lshortfile, dates) and the header are untouched;
//   - when records are exported (OTEL_LOGS_EXPORTER is not none), the
//     record goes to the runtime's LoggerProvider (logbridge.Emit, scope
//     "log"): body the message without the header and without its newline,
//     severity INFO (text "INFO"), or FATAL (text "FATAL") for Fatal*,
//     Fatalf, Fatalln and Panic*, which end the program or panic after
//     writing; with the active span's trace context. The exit integration
//     flushes the record at the os.Exit that follows Fatal.
//
// Outside any span and with export off, Record returns the function it got:
// the line is exactly what package log writes without overlay-gen. Loggers
// whose writer is io.Discard (package log's own shortcut, checked before the
// hook) or nil (whose write would panic) are left alone. Records that
// OpenTelemetry's own packages or overlay-gen's log (the SDK reports its
// errors through package log) are correlated but not exported, so that a
// failing export cannot feed itself. The lines log/slog's default handler
// writes through the standard logger are slog's records (the log-slog
// integration's): the hook is not called for them. The other way round,
// after slog.SetDefault with a handler of the program's, the standard
// logger writes to that handler: its records are log's here (ids at the end
// of the message slog gets, exported with scope "log").
//
// This package compiles without the overlay, so that its tests run with go
// test; hook only exists under it.
package logtrace

import (
	"log"
	"runtime"
	"strings"

	otellog "go.opentelemetry.io/otel/log"

	"overlay-gen.invalid/otelrt/logbridge"
)

// Scope is the instrumentation scope of the exported records: the package.
const Scope = "log"

// Record is the hook (*log.Logger).output calls before it formats a record
// of l: it returns the function that appends the record's message to the
// line, appendOutput itself when there is nothing to add or export.
func Record(l *log.Logger, appendOutput func([]byte) []byte) func([]byte) []byte {
	traceID, spanID, correlated := logbridge.IDs(nil)
	exported := logbridge.Exported()
	if !correlated && !exported {
		return appendOutput
	}
	if l.Writer() == nil {
		return appendOutput
	}
	var export func(string)
	if exported {
		// Callers(3): above Callers, Record and output, the function that
		// called output: log.Fatal, (*log.Logger).Printf, ...
		var pcs [16]uintptr
		frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs[:])])
		severity, ours := classify(func() (string, bool) { frame, more := frames.Next(); return frame.Function, more })
		if !ours {
			export = func(body string) {
				logbridge.Emit(nil, Scope, logbridge.Record{Severity: severity, Body: body})
			}
		}
	}
	if !correlated && export == nil {
		return appendOutput
	}
	return wrap(appendOutput, traceID, spanID, correlated, export)
}

// wrap returns the function that appends the message as appendOutput does,
// exports it (export, if not nil, gets it without the line's header and its
// newline) and, when correlated, ends it with the ids before its newline.
func wrap(appendOutput func([]byte) []byte, traceID, spanID string, correlated bool, export func(body string)) func([]byte) []byte {
	return func(b []byte) []byte {
		start := len(b)
		b = appendOutput(b)
		newline := len(b) > start && b[len(b)-1] == '\n'
		if export != nil {
			end := len(b)
			if newline {
				end--
			}
			export(string(b[start:end]))
		}
		if !correlated {
			return b
		}
		if newline {
			b = b[:len(b)-1]
		}
		b = append(b, " "+logbridge.TraceIDKey+"="...)
		b = append(b, traceID...)
		b = append(b, " "+logbridge.SpanIDKey+"="...)
		b = append(b, spanID...)
		if newline {
			b = append(b, '\n')
		}
		return b
	}
}

// classify reads the stack above output: the severity of the record (FATAL
// when output's caller is one of package log's Fatal* or Panic* functions or
// methods, else INFO) and whether OpenTelemetry's packages or overlay-gen's
// logged it: the first function outside package log and the logr adapter
// to it (go-logr's stdr, through which the OpenTelemetry API reports its
// errors) is theirs. Only that caller counts, not the frames above it: a
// handler an instrumentation wraps is the program's. next gives the frames'
// function names, output's caller first.
func classify(next func() (function string, more bool)) (severity otellog.Severity, ours bool) {
	severity = otellog.SeverityInfo
	for first := true; ; first = false {
		function, more := next()
		if first && isFatal(function) {
			severity = otellog.SeverityFatal
		}
		if !inLogging(function) {
			return severity, strings.HasPrefix(function, "go.opentelemetry.io/") || strings.HasPrefix(function, "overlay-gen.invalid/")
		}
		if !more {
			return severity, false
		}
	}
}

// inLogging reports whether function is package log's or go-logr's (logr
// and its standard-log sink stdr), the functions a record passes through on
// its way from whoever logged it.
func inLogging(function string) bool {
	return strings.HasPrefix(function, "log.") || strings.HasPrefix(function, "github.com/go-logr/")
}

// isFatal reports whether function, a frame's function name, is one of
// package log's functions or Logger methods that write a record and then end
// the program or panic.
func isFatal(function string) bool {
	name, ok := strings.CutPrefix(function, "log.")
	if !ok {
		return false
	}
	name = strings.TrimPrefix(name, "(*Logger).")
	switch name {
	case "Fatal", "Fatalf", "Fatalln", "Panic", "Panicf", "Panicln":
		return true
	}
	return false
}
