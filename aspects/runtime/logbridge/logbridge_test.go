package logbridge

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

type text struct{}

func (text) MarshalText() ([]byte, error) { return []byte("as text"), nil }

func TestFieldValuesKeepTheirKind(t *testing.T) {
	for _, c := range []struct {
		in   any
		want attribute.Value
	}{
		{"s", attribute.StringValue("s")},
		{true, attribute.BoolValue(true)},
		{int32(-3), attribute.Int64Value(-3)},
		{uint64(1 << 63), attribute.StringValue("9223372036854775808")},
		{2.5, attribute.Float64Value(2.5)},
		{errors.New("boom"), attribute.StringValue("boom")},
		{1500 * time.Millisecond, attribute.Int64Value(1_500_000_000)},
		{text{}, attribute.StringValue("as text")},
		{[]int{1, 2}, attribute.StringValue("[1 2]")},
		{nil, attribute.Value{}},
	} {
		if got := Value(c.in); got.Type() != c.want.Type() || got.Emit() != c.want.Emit() {
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
