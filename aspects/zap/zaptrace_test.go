package zaptrace

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func spanContext(t *testing.T) (context.Context, trace.SpanContext) {
	t.Helper()
	ctx, span := sdktrace.NewTracerProvider().Tracer("test").Start(context.Background(), "work")
	t.Cleanup(func() { span.End() })
	return ctx, span.SpanContext()
}

func keys(fields []zapcore.Field) map[string]zapcore.Field {
	m := make(map[string]zapcore.Field, len(fields))
	for _, f := range fields {
		m[f.Key] = f
	}
	return m
}

func TestFieldsAddTheContextsIDsToACopy(t *testing.T) {
	ctx, sc := spanContext(t)
	given := make([]zapcore.Field, 2, 8) // room to append: Fields must not use it
	given[0], given[1] = zap.Any("ctx", ctx), zap.Int("order", 7)
	got := Fields(nil, given)
	if len(got) != 4 || &got[0] == &given[0] {
		t.Fatalf("Fields = %v, want a copy with two fields more", got)
	}
	if extra := given[:4]; extra[2].Key != "" || extra[3].Key != "" {
		t.Fatalf("the caller's array was written to: %v", extra)
	}
	m := keys(got)
	if m["trace_id"].String != sc.TraceID().String() || m["span_id"].String != sc.SpanID().String() {
		t.Fatalf("ids %q %q, want %s %s", m["trace_id"].String, m["span_id"].String, sc.TraceID(), sc.SpanID())
	}
	if m["trace_id"].Type != zapcore.StringType {
		t.Fatalf("trace_id is a %v field, want a string", m["trace_id"].Type)
	}
}

func TestFieldsWithoutASpanAreTheCallers(t *testing.T) {
	given := []zapcore.Field{zap.Any("ctx", context.Background()), zap.String("k", "v")}
	if got := Fields(nil, given); len(got) != 2 || &got[0] != &given[0] {
		t.Fatalf("Fields = %v, want the caller's slice", got)
	}
	if got := Fields(nil, nil); got != nil {
		t.Fatalf("Fields(nil, nil) = %v", got)
	}
	// A record that has its own trace_id keeps it.
	ctx, _ := spanContext(t)
	own := []zapcore.Field{zap.Any("ctx", ctx), zap.String("trace_id", "mine")}
	if got := Fields(nil, own); len(got) != 2 {
		t.Fatalf("Fields = %v, want the record's own trace_id only", got)
	}
}

func TestTheLastContextIsTheRecords(t *testing.T) {
	first, _ := spanContext(t)
	second, sc := spanContext(t)
	got := keys(Fields(nil, []zapcore.Field{zap.Any("a", first), zap.Any("b", second)}))
	if got["span_id"].String != sc.SpanID().String() {
		t.Fatalf("span_id %q, want the last context's %s", got["span_id"].String, sc.SpanID())
	}
}

func TestTheExportedFieldsLeaveTheIDsOutAndEndWithTheContext(t *testing.T) {
	ctx, sc := spanContext(t)
	given := Fields(nil, []zapcore.Field{zap.Any("ctx", ctx), zap.Int("order", 7)})
	got := exportFields(nil, given)
	if len(got) != 3 || got[1].Key != "order" {
		t.Fatalf("exportFields = %v, want ctx, order and the record's context", got)
	}
	last, ok := got[2].Interface.(context.Context)
	if !ok || got[2].Type != zapcore.SkipType || trace.SpanContextFromContext(last).SpanID() != sc.SpanID() {
		t.Fatalf("last field %+v, want the record's context, skipped by encoders", got[2])
	}
	// No context among the fields: one all the same, so otelzap never keeps an earlier record's.
	none := exportFields(nil, []zapcore.Field{zap.Int("order", 7)})
	if _, ok := none[len(none)-1].Interface.(context.Context); !ok {
		t.Fatalf("exportFields = %v, want a context last", none)
	}
}

func TestTheProgramsCoreSeesEveryRecordAsBefore(t *testing.T) {
	program, logs := observer.New(zapcore.InfoLevel)
	teed := Core(program)
	if Core(teed) != teed || Core(nil) != nil {
		t.Fatal("Core tees a teed core again, or a nil one")
	}
	logger := zap.New(teed)
	if logger.Level() != zapcore.InfoLevel {
		t.Fatalf("Level = %v, want the program core's info", logger.Level())
	}
	logger.With(zap.String("shop", "north")).Info("opened", zap.Int("n", 1))
	logger.Debug("below the level")
	entries := logs.AllUntimed()
	if len(entries) != 1 || entries[0].Message != "opened" || len(entries[0].Context) != 2 {
		t.Fatalf("the program's core got %+v", entries)
	}
}

func TestWithKeepsItsFieldsForTheExportWithoutSharingThem(t *testing.T) {
	base := &exportCore{}
	a := base.with([]zapcore.Field{zap.Int("a", 1)})
	b := a.with([]zapcore.Field{zap.Int("b", 2)})
	c := a.with([]zapcore.Field{zap.Int("c", 3)})
	if base.with(nil) != base || len(a.fields) != 1 || len(b.fields) != 2 || b.fields[1].Key != "b" || c.fields[1].Key != "c" {
		t.Fatalf("with: a %v, b %v, c %v", a.fields, b.fields, c.fields)
	}
	if b.otel != nil || c.otel != nil {
		t.Fatal("With converted fields before any record was exported")
	}
}

func TestWrapCoreKeepsTheExportBesideWhatReplacesTheProgramsCore(t *testing.T) {
	program, _ := observer.New(zapcore.InfoLevel)
	teed := Core(program).With([]zapcore.Field{zap.String("shop", "north")}).(*teeCore)
	replacement, logs := observer.New(zapcore.WarnLevel)
	var given zapcore.Core
	got := WrapCore(func(core zapcore.Core) zapcore.Core { given = core; return replacement })(teed)
	tee, ok := got.(*teeCore)
	if !ok || tee.program != replacement || tee.export != teed.export || given != teed.program {
		t.Fatalf("WrapCore gave %#v (f was given %#v), want the replacement teed with the same export core", got, given)
	}
	zap.New(got).Warn("replaced")
	if logs.Len() != 1 {
		t.Fatalf("the replacement got %d records", logs.Len())
	}
	// A core that is not teed (NewNop's) is teed once replaced; a nil f stays nil, as zap takes it.
	nop := zapcore.NewNopCore()
	if got, ok := WrapCore(func(zapcore.Core) zapcore.Core { return replacement })(nop).(*teeCore); !ok || got.program != replacement {
		t.Fatalf("WrapCore of a core that is not teed gave %#v, want the replacement teed", got)
	}
	if WrapCore(nil) != nil {
		t.Fatal("WrapCore(nil) is not nil")
	}
}

func TestTheExportTakesWhatTheProgramsCoreTakes(t *testing.T) {
	program, _ := observer.New(zapcore.InfoLevel)
	sampled := zapcore.NewSamplerWithOptions(program, time.Minute, 1, 0)
	tee := Core(sampled).(*teeCore)
	tee.export.once.Do(func() {}) // an otelzap core would need the runtime's provider
	tee.export.otel = program
	ent := zapcore.Entry{Level: zapcore.InfoLevel, Message: "stock checked"}
	first := tee.check(ent, nil, sampled.Check(ent, nil))
	second := tee.check(ent, nil, sampled.Check(ent, nil))
	if first == nil || second != nil {
		t.Fatalf("the sampler's first record gave %v, its second %v: want the first only", first, second)
	}
	if debug := tee.check(zapcore.Entry{Level: zapcore.DebugLevel}, nil, nil); debug != nil {
		t.Fatal("a record below the program's level is exported")
	}
}

func TestAContextGivenToWithIsTheRecordsWhenItHasNone(t *testing.T) {
	withCtx, withSpan := spanContext(t)
	own, ownSpan := spanContext(t)
	program, _ := observer.New(zapcore.InfoLevel)
	teed := Core(program).With([]zapcore.Field{zap.Any("ctx", withCtx)}).With([]zapcore.Field{zap.Int("n", 1)})
	ent := zapcore.Entry{Level: zapcore.InfoLevel, Message: "m"}
	ce := teed.Check(ent, nil)
	if ce == nil {
		t.Fatal("the program's core did not take the record")
	}
	cores := []zapcore.Core{program, teed.(*teeCore).with}
	if got := keys(Fields(cores, nil)); got["span_id"].String != withSpan.SpanID().String() {
		t.Fatalf("span_id %q, want With's context's %s", got["span_id"].String, withSpan.SpanID())
	}
	if got := keys(Fields(cores, []zapcore.Field{zap.Any("ctx", own)})); got["span_id"].String != ownSpan.SpanID().String() {
		t.Fatalf("span_id %q, want the record's own context's %s", got["span_id"].String, ownSpan.SpanID())
	}
	exported := exportFields(teed.(*teeCore).export.fields, nil)
	last := exported[len(exported)-1].Interface.(context.Context)
	if trace.SpanContextFromContext(last).SpanID() != withSpan.SpanID() {
		t.Fatal("the export's context is not With's")
	}
	if Core(program).(*teeCore).with != nil {
		t.Fatal("a Logger without a With context carries one")
	}
}
