package zerologtrace

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/trace"
)

func TestSeverityMapsEveryLevel(t *testing.T) {
	traceLevel := -1 // TraceLevel, from v1.14.0 (when Level became an int8)
	for level, want := range map[zerolog.Level]log.Severity{
		zerolog.Level(traceLevel): log.SeverityTrace,
		zerolog.DebugLevel:        log.SeverityDebug,
		zerolog.InfoLevel:         log.SeverityInfo,
		zerolog.WarnLevel:         log.SeverityWarn,
		zerolog.ErrorLevel:        log.SeverityError,
		zerolog.FatalLevel:        log.SeverityFatal,
		zerolog.PanicLevel:        log.SeverityFatal2,
		zerolog.NoLevel:           log.SeverityUndefined,
	} {
		if got := Severity(level); got != want {
			t.Errorf("Severity(%d) = %v, want %v", level, got, want)
		}
	}
}

// fields is what zerolog's encoder holds for an event before its message:
// the event as it would print, without its closing brace and line break.
func fields(t *testing.T, build func(l *zerolog.Logger) *zerolog.Event) []byte {
	t.Helper()
	var out bytes.Buffer
	l := zerolog.New(&out).With().Str("component", "billing").Logger()
	build(&l).Msg("")
	b := bytes.TrimRight(out.Bytes(), "\n")
	if len(b) == 0 || b[len(b)-1] != '}' {
		t.Fatalf("not a JSON object: %q", out.String())
	}
	return b[:len(b)-1]
}

func TestRecordHasTheEventsFieldsButItsLevel(t *testing.T) {
	buf := fields(t, func(l *zerolog.Logger) *zerolog.Event {
		return l.Error().Str("item", "book").Int("order", 7).Float64("amount", 12.5).Bool("paid", false).
			Interface("card", map[string]interface{}{"last4": "4242", "exp": []int{1, 27}}).Strs("tags", []string{"a", "b"}).
			Interface("none", nil)
	})
	r := Record(zerolog.ErrorLevel, "payment failed", buf)
	if r.Body != "payment failed" || r.Severity != log.SeverityError {
		t.Errorf("record %q %v", r.Body, r.Severity)
	}
	want := []slog.Attr{
		slog.String("component", "billing"),
		slog.String("item", "book"),
		slog.Int64("order", 7),
		slog.Float64("amount", 12.5),
		slog.Bool("paid", false),
		slog.Group("card", slog.Any("exp", []any{int64(1), int64(27)}), slog.String("last4", "4242")),
		slog.Any("tags", []any{"a", "b"}),
		{Key: "none"},
	}
	if len(r.Attributes) != len(want) {
		t.Fatalf("attributes %v, want %v", r.Attributes, want)
	}
	for i := range want {
		// DeepEqual: slog's Equal cannot compare the slices that values of kind Any hold.
		if got := r.Attributes[i]; got.Key != want[i].Key || got.Value.Kind() != want[i].Value.Kind() ||
			!reflect.DeepEqual(got.Value.Any(), want[i].Value.Any()) {
			t.Errorf("attribute %d = %v, want %v", i, got, want[i])
		}
	}
}

func TestATimestampInTimeFieldFormatIsTheRecordsTime(t *testing.T) {
	at := time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)
	buf := fields(t, func(l *zerolog.Logger) *zerolog.Event { return l.Info().Time(zerolog.TimestampFieldName, at) })
	r := Record(zerolog.InfoLevel, "hello", buf)
	if !r.Time.Equal(at) {
		t.Errorf("time %v, want %v", r.Time, at)
	}
	if len(r.Attributes) != 1 || r.Attributes[0].Key != "component" {
		t.Errorf("attributes %v, want component only", r.Attributes)
	}
}

func TestBytesThatAreNoJSONGiveNoAttributes(t *testing.T) {
	for _, buf := range [][]byte{nil, {0xbf, 0x65}, []byte(`{"a":1,"b":`), []byte(`{`)} {
		r := Record(zerolog.InfoLevel, "x", buf)
		if len(r.Attributes) > 1 {
			t.Errorf("%q: attributes %v", buf, r.Attributes)
		}
	}
	if r := Record(zerolog.InfoLevel, "x", []byte(`{"a":1,"b":`)); len(r.Attributes) != 1 || r.Attributes[0].Key != "a" {
		t.Errorf("truncated JSON: attributes %v, want a only", r.Attributes)
	}
}

type withContext struct{ ctx context.Context }

func (w withContext) GetCtx() context.Context { return w.ctx }

func TestTheEventsContextWhereTheReleaseHasOne(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	if got := eventContext(withContext{ctx}); got != ctx {
		t.Errorf("eventContext = %v, want the event's", got)
	}
	var out bytes.Buffer
	l := zerolog.New(&out)
	if got := eventContext(l.Info()); got != nil { // v1.13.0: no Event.GetCtx
		t.Errorf("eventContext = %v, want nil", got)
	}
}

func TestAnEventOutsideAnySpanIsPrintedAsBefore(t *testing.T) {
	var out bytes.Buffer
	l := zerolog.New(&out)
	e := l.Info().Str("k", "v")
	Event(e, zerolog.InfoLevel, "m", nil)
	e.Msg("m")
	if got, want := out.String(), `{"level":"info","k":"v","message":"m"}`+"\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
}
