package logbridge

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

type text struct{}

func (text) MarshalText() ([]byte, error) { return []byte("as text"), nil }

type named struct{ name string }

func (n *named) String() string { return n.name }

type marshalled struct{ text string }

func (m *marshalled) MarshalText() ([]byte, error) { return []byte(m.text), nil }

func TestFieldValuesKeepTheirKind(t *testing.T) {
	for _, c := range []struct {
		in   any
		want slog.Value
	}{
		{"s", slog.StringValue("s")},
		{true, slog.BoolValue(true)},
		{int32(-3), slog.Int64Value(-3)},
		{uint64(1 << 63), slog.StringValue("9223372036854775808")},
		{2.5, slog.Float64Value(2.5)},
		{errors.New("boom"), slog.StringValue("boom")},
		{1500 * time.Millisecond, slog.Int64Value(1_500_000_000)},
		{text{}, slog.StringValue("as text")},
		{[]int{1, 2}, slog.StringValue("[1 2]")},
		{nil, slog.Value{}},
		{(*named)(nil), slog.StringValue("<nil>")},
		{(*marshalled)(nil), slog.StringValue("<nil>")},
	} {
		if got := Value(c.in); !got.Equal(c.want) {
			t.Errorf("Value(%#v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestIDsAreTheContextsSpans(t *testing.T) {
	if _, _, ok := IDs(context.Background()); ok {
		t.Fatal("ids without a span")
	}
	if _, _, ok := IDs(nil); ok { //nolint:staticcheck // a library may log with no context at all
		t.Fatal("ids of a nil context")
	}
	provider := sdktrace.NewTracerProvider()
	ctx, span := provider.Tracer("test").Start(context.Background(), "work")
	defer span.End()
	traceID, spanID, ok := IDs(ctx)
	if !ok || traceID != span.SpanContext().TraceID().String() || spanID != span.SpanContext().SpanID().String() {
		t.Errorf("IDs = %s %s %v, want the span's", traceID, spanID, ok)
	}
}
