package logtrace

import (
	"testing"

	otellog "go.opentelemetry.io/otel/log"
)

const (
	traceID = "0af7651916cd43dd8448eb211c80319c"
	spanID  = "b7ad6b7169203331"
)

func message(s string) func([]byte) []byte {
	return func(b []byte) []byte { return append(b, s...) }
}

func TestTheIDsEndTheMessageBeforeItsNewline(t *testing.T) {
	for _, c := range []struct{ message, want string }{
		{"settled", "HEADER settled trace_id=" + traceID + " span_id=" + spanID},
		{"settled\n", "HEADER settled trace_id=" + traceID + " span_id=" + spanID + "\n"},
		{"two\nlines\n", "HEADER two\nlines trace_id=" + traceID + " span_id=" + spanID + "\n"},
		{"", "HEADER  trace_id=" + traceID + " span_id=" + spanID},
	} {
		var body string
		got := wrap(message(c.message), traceID, spanID, true, func(b string) { body = b })([]byte("HEADER "))
		if string(got) != c.want {
			t.Errorf("%q printed as %q, want %q", c.message, got, c.want)
		}
		if want := c.message; len(want) > 0 && want[len(want)-1] == '\n' {
			c.message = want[:len(want)-1]
		}
		if body != c.message {
			t.Errorf("%q exported as %q", c.message, body)
		}
	}
}

func TestAnUncorrelatedRecordPrintsAsItWas(t *testing.T) {
	var exported []string
	got := wrap(message("done\n"), "", "", false, func(b string) { exported = append(exported, b) })([]byte("2026/01/02 "))
	if string(got) != "2026/01/02 done\n" || len(exported) != 1 || exported[0] != "done" {
		t.Errorf("printed %q, exported %q", got, exported)
	}
}

func TestFatalAndPanicAreFatal(t *testing.T) {
	for name, want := range map[string]bool{
		"log.Fatal": true, "log.Fatalf": true, "log.Fatalln": true, "log.Panic": true, "log.Panicln": true,
		"log.(*Logger).Fatalf": true, "log.(*Logger).Panicf": true,
		"log.Printf": false, "log.(*Logger).Output": false, "log.Output": false, "main.Fatal": false,
		"log/slog.Fatal": false, "example.com/log.Fatal": false,
	} {
		if isFatal(name) != want {
			t.Errorf("isFatal(%q) = %v", name, !want)
		}
	}
}

// stack gives names as classify's next does.
func stack(names ...string) func() (string, bool) {
	return func() (string, bool) {
		if len(names) == 0 {
			return "", false
		}
		name := names[0]
		names = names[1:]
		return name, len(names) > 0
	}
}

func TestTheCallerDecides(t *testing.T) {
	for _, c := range []struct {
		names    []string
		severity otellog.Severity
		ours     bool
	}{
		{[]string{"log.Printf", "main.settle", "main.main", "runtime.main"}, otellog.SeverityInfo, false},
		{[]string{"log.(*Logger).Panicf", "main.refund", "main.settle"}, otellog.SeverityFatal, false},
		{[]string{"log.Fatal", "main.main"}, otellog.SeverityFatal, false},
		{[]string{"log.Output", "example.com/mylog.Fatal"}, otellog.SeverityInfo, false},
		// A handler the net/http integration wraps is the program's.
		{[]string{"log.Printf", "main.handle", "net/http.HandlerFunc.ServeHTTP", "overlay-gen.invalid/httptrace.Handler.func1"}, otellog.SeverityInfo, false},
		// The OpenTelemetry API reports its errors through go-logr's stdr.
		{[]string{"log.(*Logger).Output", "github.com/go-logr/stdr.logger.Error", "github.com/go-logr/logr.Logger.Error", "go.opentelemetry.io/otel/internal/global.Error", "go.opentelemetry.io/otel.Handle"}, otellog.SeverityInfo, true},
		{[]string{"log.Printf", "overlay-gen.invalid/otelrt.warn"}, otellog.SeverityInfo, true},
		{nil, otellog.SeverityInfo, false},
	} {
		severity, ours := classify(stack(c.names...))
		if severity != c.severity || ours != c.ours {
			t.Errorf("%q: %v, ours %v", c.names, severity, ours)
		}
	}
	if otellog.SeverityInfo.String() != "INFO" || otellog.SeverityFatal.String() != "FATAL" {
		t.Errorf("severity texts %q %q", otellog.SeverityInfo.String(), otellog.SeverityFatal.String())
	}
}

func TestTheLoggingPathIsSkipped(t *testing.T) {
	for name, want := range map[string]bool{
		"log.(*Logger).Output": true, "github.com/go-logr/stdr.logger.Info": true, "github.com/go-logr/logr.Logger.Error": true,
		"go.opentelemetry.io/otel/internal/global.Error": false, "main.main": false, "log/slog.(*Logger).log": false,
	} {
		if inLogging(name) != want {
			t.Errorf("inLogging(%q) = %v", name, !want)
		}
	}
}
