package logrustrace

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"testing"

	"github.com/sirupsen/logrus"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/trace"
)

// inSpan is a context holding a span with fixed ids.
func inSpan() context.Context {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x0a, 15: 0x01},
		SpanID:     trace.SpanID{0x0b, 7: 0x02},
		TraceFlags: trace.FlagsSampled,
	})
	return trace.ContextWithSpanContext(context.Background(), sc)
}

const (
	traceID = "0a000000000000000000000000000001"
	spanID  = "0b00000000000002"
)

func TestSeverityFollowsOpenTelemetrysNumbers(t *testing.T) {
	for level, want := range map[logrus.Level]log.Severity{
		logrus.TraceLevel: 1, logrus.DebugLevel: 5, logrus.InfoLevel: 9, logrus.WarnLevel: 13,
		logrus.ErrorLevel: 17, logrus.FatalLevel: 21, logrus.PanicLevel: 24, logrus.Level(42): 0,
	} {
		if got := Severity(level); got != want {
			t.Errorf("Severity(%v) = %d, want %d", level, got, want)
		}
	}
}

func TestFieldsAddTheIdsToANewMap(t *testing.T) {
	data := logrus.Fields{"order": 7}
	fields := Fields(inSpan(), data)
	if len(fields) != 3 || fields["order"] != 7 || fields["trace_id"] != traceID || fields["span_id"] != spanID {
		t.Fatalf("Fields = %v", fields)
	}
	if len(data) != 1 {
		t.Errorf("the entry's own map was written to: %v", data)
	}
	if fields := Fields(inSpan(), nil); len(fields) != 2 {
		t.Errorf("Fields of no data = %v", fields)
	}
}

func TestFieldsLeaveEntriesOutsideSpansAndWithIdsOfTheirOwn(t *testing.T) {
	if fields := Fields(context.Background(), logrus.Fields{"order": 7}); fields != nil {
		t.Errorf("outside any span: %v", fields)
	}
	if fields := Fields(nil, nil); fields != nil {
		t.Errorf("no context: %v", fields)
	}
	if fields := Fields(inSpan(), logrus.Fields{"trace_id": "42"}); fields != nil {
		t.Errorf("an own trace_id: %v", fields)
	}
	if fields := Fields(inSpan(), logrus.Fields{"span_id": "42"}); fields != nil {
		t.Errorf("an own span_id: %v", fields)
	}
}

func TestRecordHasTheFieldsButNotTheIdsFieldsAdded(t *testing.T) {
	ctx := inSpan()
	entry := logrus.NewEntry(logrus.New()).WithContext(ctx)
	entry.Data = Fields(ctx, logrus.Fields{"order": 7, "error": errors.New("card declined"), "amount": 12.5})
	entry.Level = logrus.WarnLevel
	entry.Message = "charging card"
	entry.Caller = &runtime.Frame{Function: "main.charge", File: "/src/main.go", Line: 42}
	record := Record(entry)
	if record.Severity != log.SeverityWarn || record.Body != "charging card" {
		t.Errorf("record = %+v", record)
	}
	want := []slog.Attr{
		slog.Float64("amount", 12.5), slog.String("error", "card declined"), slog.Int("order", 7),
		slog.String("code.function.name", "main.charge"), slog.String("code.file.path", "/src/main.go"),
		slog.Int("code.line.number", 42),
	}
	if len(record.Attributes) != len(want) {
		t.Fatalf("attributes = %v, want %v", record.Attributes, want)
	}
	for i := range want {
		if !record.Attributes[i].Equal(want[i]) {
			t.Errorf("attribute %d = %v, want %v", i, record.Attributes[i], want[i])
		}
	}
}

func TestRecordKeepsIdsThatAreNotTheSpans(t *testing.T) {
	entry := logrus.NewEntry(logrus.New()).WithContext(inSpan()).WithFields(logrus.Fields{"trace_id": "42", "span_id": "43"})
	attrs := Record(entry).Attributes
	if len(attrs) != 2 || !attrs[0].Equal(slog.String("span_id", "43")) || !attrs[1].Equal(slog.String("trace_id", "42")) {
		t.Errorf("attributes = %v", attrs)
	}
}
