package gokitlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	otellog "go.opentelemetry.io/otel/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

type nilStringer struct{ name string }

func (s *nilStringer) String() string { return s.name }

func TestLevelsMapToSeverities(t *testing.T) {
	for _, c := range []struct {
		in   interface{}
		sev  otellog.Severity
		name string
		ok   bool
	}{
		{level.DebugValue(), otellog.SeverityDebug, "debug", true},
		{level.InfoValue(), otellog.SeverityInfo, "info", true},
		{level.WarnValue(), otellog.SeverityWarn, "warn", true},
		{level.ErrorValue(), otellog.SeverityError, "error", true},
		{"WARNING", otellog.SeverityWarn, "WARNING", true},
		{"trace", otellog.SeverityTrace, "trace", true},
		{"fatal", otellog.SeverityFatal, "fatal", true},
		{"verbose", 0, "", false},
		{3, 0, "", false},
	} {
		sev, name, ok := Severity(c.in)
		if sev != c.sev || name != c.name || ok != c.ok {
			t.Errorf("Severity(%v) = %v %q %v, want %v %q %v", c.in, sev, name, ok, c.sev, c.name, c.ok)
		}
	}
}

func TestPairsBecomeBodySeverityAndAttributes(t *testing.T) {
	ctx := context.Background()
	r := Convert([]interface{}{
		level.Key(), level.ErrorValue(), "svc", "orders", "msg", "payment declined",
		"err", errors.New("card expired"), "amount", 12.5, "ctx", ctx, "msg", "again",
		"level", "not the first", fmt.Stringer(&nilStringer{"k"}), 1, "odd",
	})
	if r.Body != "payment declined" || r.Severity != otellog.SeverityError {
		t.Errorf("body %q, severity %v", r.Body, r.Severity)
	}
	want := []slog.Attr{
		slog.String("svc", "orders"),
		slog.String("err", "card expired"),
		slog.Float64("amount", 12.5),
		slog.String("msg", "again"),
		slog.String("level", "not the first"),
		slog.Int("k", 1),
		{Key: "odd"},
	}
	if len(r.Attributes) != len(want) {
		t.Fatalf("attributes %v, want %v", r.Attributes, want)
	}
	for i := range want {
		if !r.Attributes[i].Equal(want[i]) {
			t.Errorf("attribute %d is %v, want %v", i, r.Attributes[i], want[i])
		}
	}
}

func TestAMessageOfAnyTypeIsItsText(t *testing.T) {
	for _, c := range []struct {
		in   interface{}
		want string
	}{
		{"s", "s"},
		{errors.New("boom"), "boom"},
		{42, "42"},
		{nil, ""},
	} {
		if got := Convert([]interface{}{"msg", c.in}).Body; got != c.want {
			t.Errorf("body of %#v is %q, want %q", c.in, got, c.want)
		}
	}
	if got := Convert([]interface{}{"v", (*nilStringer)(nil)}).Attributes[0].Value.String(); got == "" {
		t.Error("a nil Stringer's attribute is empty, want its panic's text")
	}
}

func TestNoSpanLeavesTheKeyvalsAsTheyAre(t *testing.T) {
	keyvals := []interface{}{"msg", "hi", "odd"}
	if got := Keyvals(keyvals, nil); len(got) != 3 || &got[0] != &keyvals[0] {
		t.Errorf("Keyvals = %v, want the caller's slice itself", got)
	}
}

func spanContext(t *testing.T) (context.Context, trace.SpanContext) {
	provider := sdktrace.NewTracerProvider()
	ctx, span := provider.Tracer("test").Start(context.Background(), "work")
	t.Cleanup(func() { span.End() })
	return ctx, span.SpanContext()
}

func TestAContextAmongTheKeyvalsGivesTheIDsInACopy(t *testing.T) {
	ctx, sc := spanContext(t)
	keyvals := make([]interface{}, 0, 16) // room to append: the caller's array must not be written
	keyvals = append(keyvals, "msg", "hi", "ctx", ctx)
	got := Keyvals(keyvals, nil)
	want := []interface{}{"msg", "hi", "ctx", ctx, "trace_id", sc.TraceID().String(), "span_id", sc.SpanID().String()}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Keyvals = %v, want %v", got, want)
	}
	if extended := keyvals[:cap(keyvals)]; extended[4] != nil {
		t.Errorf("the caller's array was written: %v", extended[:8])
	}
}

func TestAnOddRecordIsCompletedBeforeTheIDs(t *testing.T) {
	ctx, sc := spanContext(t)
	got := Keyvals([]interface{}{"c", ctx, "dangling"}, log.ErrMissingValue)
	want := []interface{}{"c", ctx, "dangling", log.ErrMissingValue, "trace_id", sc.TraceID().String(), "span_id", sc.SpanID().String()}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Keyvals = %v, want %v", got, want)
	}
}

func TestARecordWithItsOwnTraceIDGetsNoOther(t *testing.T) {
	ctx, _ := spanContext(t)
	keyvals := []interface{}{"trace_id", "mine", "c", ctx}
	if got := Keyvals(keyvals, nil); len(got) != len(keyvals) {
		t.Errorf("Keyvals = %v, want the record as it was", got)
	}
}

// A record that passes through log.With and level's wrappers reaches the
// writing logger once, with its context among the keyvals: the ids go last.
func TestAWrappedRecordGetsTheIDsLast(t *testing.T) {
	ctx, sc := spanContext(t)
	var printed []interface{}
	logger := level.Info(log.With(log.LoggerFunc(func(keyvals ...interface{}) error {
		printed = Keyvals(keyvals, nil)
		return nil
	}), "c", ctx))
	if err := logger.Log("msg", "served"); err != nil {
		t.Fatal(err)
	}
	n := len(printed)
	if n < 4 || printed[n-4] != "trace_id" || printed[n-3] != sc.TraceID().String() || printed[n-2] != "span_id" || printed[n-1] != sc.SpanID().String() {
		t.Errorf("printed %v, want trace_id and span_id last", printed)
	}
}
