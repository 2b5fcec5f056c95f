// Package zaptrace connects go.uber.org/zap, as overlay-gen rewrites it, to
// OpenTelemetry:
//
//   - Fields, called by (*zapcore.CheckedEntry).Write (through a hook variable
//     that overlay-gen.invalid/zaptrace/hook sets), the one path every
//     record of every Logger and SugaredLogger takes to its cores: a record
//     logged inside a span gets trace_id and span_id fields (lower-case hex),
//     which the program's own encoder prints like any field. The record's
//     context is a context.Context passed as a field (zap.Any("ctx", ctx),
//     as the otelzap bridge accepts it) of the record, else of its Logger's
//     With, else the goroutine's active span.
//   - Core, called by zap.New itself (which every constructor of a Logger
//     calls: NewProduction, NewDevelopment, NewExample, Config.Build), so
//     that a Logger built in any package's initialisation, before the hook
//     package's init has run, is teed too. This package therefore imports
//     zapcore but never zap (an import cycle otherwise). The Logger
//     writes through the program's core and, teed beside it, a core that
//     sends each record the program's core takes to the runtime's
//     LoggerProvider through the OpenTelemetry contrib bridge otelzap
//     (OTEL_LOGS_EXPORTER; none: nothing is converted).
//   - WrapCore, called by zap.WrapCore: the option's function wraps or
//     replaces the program's core, and the export core stays beside it.
//
// overlay-gen links this package into programs that use zap (zap itself
// imports it under the overlay); it only exists under overlay-gen's overlay.
package zaptrace

import (
	"context"
	"sync"

	"go.opentelemetry.io/contrib/bridges/otelzap"
	"go.opentelemetry.io/otel/log/global"
	"go.uber.org/zap/zapcore"

	"overlay-gen.invalid/otelrt/logbridge"
)

// Scope is the instrumentation scope of the exported records of unnamed
// loggers (otelzap gives a named logger's records its name as scope).
const Scope = "go.uber.org/zap"

// idMarker tells the id fields Fields adds from the program's own: the export
// core leaves them out, the exported record carries the ids as its trace
// context.
type idMarker struct{}

// Fields is fields with trace_id and span_id added when the record's context
// holds a span, in a copy: the caller's slice is never written to. The
// record's context is the last context.Context among its fields, else the
// one its Logger's With fields gave (a contextCore among the cores the record
// is written to), else the goroutine's active span (logbridge.Context).
// A record that already has a trace_id field is left as it is.
func Fields(cores []zapcore.Core, fields []zapcore.Field) []zapcore.Field {
	for i := range fields {
		if fields[i].Key == logbridge.TraceIDKey {
			return fields
		}
	}
	ctx := recordContext(fields)
	if ctx == nil {
		ctx = withContext(cores)
	}
	traceID, spanID, ok := logbridge.IDs(ctx)
	if !ok {
		return fields
	}
	out := make([]zapcore.Field, len(fields), len(fields)+2)
	copy(out, fields)
	return append(out, idField(logbridge.TraceIDKey, traceID), idField(logbridge.SpanIDKey, spanID))
}

func idField(key, id string) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.StringType, String: id, Interface: idMarker{}}
}

// recordContext is the last context.Context among the fields (otelzap's
// rule), or nil.
func recordContext(fields []zapcore.Field) context.Context {
	var ctx context.Context
	for i := range fields {
		if c, ok := fields[i].Interface.(context.Context); ok && c != nil {
			ctx = c
		}
	}
	return ctx
}

// contextCore carries the context a Logger's With fields gave to Fields, in
// the CheckedEntry of each record the Logger's core takes: the With fields
// are in the cores already, not among the record's. It writes nothing.
type contextCore struct{ ctx context.Context }

func (*contextCore) Enabled(zapcore.Level) bool { return false }

func (c *contextCore) With([]zapcore.Field) zapcore.Core { return c }

func (*contextCore) Check(_ zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry { return ce }

func (*contextCore) Write(zapcore.Entry, []zapcore.Field) error { return nil }

func (*contextCore) Sync() error { return nil }

// withContext is the context of the first contextCore among cores, or nil.
func withContext(cores []zapcore.Core) context.Context {
	for _, core := range cores {
		if c, ok := core.(*contextCore); ok {
			return c.ctx
		}
	}
	return nil
}

// Core is core teed with the export core; nil stays nil (zap.New makes a
// no-op Logger of it), and a core Core made already is not teed twice.
func Core(core zapcore.Core) zapcore.Core {
	if core == nil {
		return nil
	}
	if _, ok := core.(*teeCore); ok {
		return core
	}
	return &teeCore{program: core, export: &exportCore{}}
}

// WrapCore is f, applied by a WrapCore option, made to wrap or replace the
// program's core only: the result is teed with the same export core (and its
// With fields), so a Logger whose core f replaces still exports, and one whose
// core f tees with its own is not exported twice. A core that is not teed
// (zap.NewNop's, which zap.New never saw) is teed once f has replaced it.
func WrapCore(f func(zapcore.Core) zapcore.Core) func(zapcore.Core) zapcore.Core {
	if f == nil {
		return nil
	}
	return func(core zapcore.Core) zapcore.Core {
		t, ok := core.(*teeCore)
		if !ok {
			return Core(f(core))
		}
		wrapped := f(t.program)
		if wrapped == nil {
			return nil
		}
		return &teeCore{program: wrapped, export: t.export, with: t.with}
	}
}

// teeCore is what a Logger writes through: the program's core, unchanged,
// and beside it the export core, for the records the program's core is
// enabled for.
type teeCore struct {
	program zapcore.Core
	export  *exportCore
	with    *contextCore // the context With's fields gave, nil: none
}

func (c *teeCore) Enabled(level zapcore.Level) bool { return c.program.Enabled(level) }

// Level keeps Logger.Level and zapcore.LevelOf saying the program's level.
func (c *teeCore) Level() zapcore.Level { return zapcore.LevelOf(c.program) }

func (c *teeCore) With(fields []zapcore.Field) zapcore.Core {
	with := c.with
	if ctx := recordContext(fields); ctx != nil {
		with = &contextCore{ctx}
	}
	return &teeCore{program: c.program.With(fields), export: c.export.with(fields), with: with}
}

func (c *teeCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	out := c.program.Check(ent, ce)
	if c.with != nil && out != nil {
		out = out.AddCore(ent, c.with)
	}
	if !logbridge.Exported() {
		return out
	}
	return c.check(ent, ce, out)
}

// check adds the export core to out, what the program's core made of ce, when
// the program's core takes the record: when Logger.check asked (ce nil), out
// says whether it did (a sampler's drop, a level filter's); when a core above
// already holds ce, its level. The export core is added itself, not otelzap's
// (whose Check would add otelzap's core), so that its Write gets the record.
func (c *teeCore) check(ent zapcore.Entry, ce, out *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if (ce == nil && out == nil) || !c.program.Enabled(ent.Level) || !c.export.core().Enabled(ent.Level) {
		return out
	}
	return out.AddCore(ent, c.export)
}

// Write is for code that writes to a Logger's core itself, without Check.
func (c *teeCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	err := c.program.Write(ent, fields)
	if logbridge.Exported() {
		_ = c.export.Write(ent, fields)
	}
	return err
}

func (c *teeCore) Sync() error { return c.program.Sync() }

// exportCore sends records to the runtime's LoggerProvider through otelzap.
// It keeps the With fields and makes its otelzap core at its first record, so
// nothing is converted when records are not exported, and a Logger made
// before the runtime started (a package variable) exports as well.
type exportCore struct {
	fields []zapcore.Field // With's, oldest first; never appended to in place
	once   sync.Once
	otel   zapcore.Core
}

var baseCore = sync.OnceValue(func() zapcore.Core {
	return otelzap.NewCore(Scope, otelzap.WithLoggerProvider(global.GetLoggerProvider()))
})

func (c *exportCore) core() zapcore.Core {
	c.once.Do(func() {
		c.otel = baseCore()
		if len(c.fields) > 0 {
			c.otel = c.otel.With(c.fields)
		}
	})
	return c.otel
}

func (c *exportCore) with(fields []zapcore.Field) *exportCore {
	if len(fields) == 0 {
		return c
	}
	return &exportCore{fields: append(c.fields[:len(c.fields):len(c.fields)], fields...)}
}

func (c *exportCore) Enabled(zapcore.Level) bool { return logbridge.Exported() }

func (c *exportCore) With(fields []zapcore.Field) zapcore.Core { return c.with(fields) }

func (c *exportCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if !logbridge.Exported() {
		return ce
	}
	return ce.AddCore(ent, c)
}

// Write hands otelzap the record's fields without the id fields, and last the
// record's context (Context): otelzap emits with the last context among the
// fields, and takes none as an attribute.
func (c *exportCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	if !logbridge.Exported() {
		return nil
	}
	return c.core().Write(ent, exportFields(c.fields, fields))
}

// exportFields is what otelzap gets of a record's fields: a copy without the
// id fields, and last the record's context as Fields takes it (its fields',
// else its With fields', else the active span's). It has one always, so that
// the record's trace context is never an earlier record's (otelzap before
// v0.21 kept the last context it saw on the core).
func exportFields(with, fields []zapcore.Field) []zapcore.Field {
	out := make([]zapcore.Field, 0, len(fields)+1)
	for _, f := range fields {
		if _, ours := f.Interface.(idMarker); !ours {
			out = append(out, f)
		}
	}
	ctx := recordContext(fields)
	if ctx == nil {
		ctx = recordContext(with)
	}
	return append(out, zapcore.Field{Key: "context", Type: zapcore.SkipType, Interface: logbridge.Context(ctx)})
}

func (c *exportCore) Sync() error {
	if c.otel == nil {
		return nil
	}
	return c.otel.Sync()
}
