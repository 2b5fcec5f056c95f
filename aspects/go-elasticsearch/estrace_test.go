package estrace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/elastic/go-elasticsearch/v8"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// recording installs a provider whose ended spans the test reads.
func recording(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	old, oldProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(old); otel.SetTextMapPropagator(oldProp) })
	return recorder
}

// server answers as Elasticsearch does, status for every request, and
// keeps the traceparent headers it received.
func server(t *testing.T, status int, body string) (*httptest.Server, *[]string) {
	t.Helper()
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		seen = append(seen, r.Header.Get("traceparent"))
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("X-Found-Handling-Cluster", "c1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestSearchSpanHasTheCurrentConventions(t *testing.T) {
	recorder := recording(t)
	srv, seen := server(t, 200, `{"hits":{"hits":[]}}`)
	es, err := Configured(elasticsearch.NewClient)(elasticsearch.Config{Addresses: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := es.Search(es.Search.WithIndex("books"), es.Search.WithQuery("title:s3cret"),
		es.Search.WithBody(strings.NewReader(`{"query":{"match":{"title":"s3cret"}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	spans := recorder.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Name() != "search books" || s.SpanKind() != trace.SpanKindClient {
		t.Errorf("span %q, kind %v", s.Name(), s.SpanKind())
	}
	got := attrs(s)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	for key, want := range map[attribute.Key]any{
		"db.system.name":               "elasticsearch",
		"db.operation.name":            "search",
		"db.collection.name":           "books",
		"db.operation.parameter.index": "books",
		"db.namespace":                 "c1",
		"db.response.status_code":      "200",
		"http.request.method":          "POST",
		"server.address":               "127.0.0.1",
		"server.port":                  int64(port),
		"url.full":                     fmt.Sprintf("http://127.0.0.1:%d/books/_search?q=REDACTED", port),
	} {
		if v, ok := got[key]; !ok || v.AsInterface() != want {
			t.Errorf("%s = %v, want %v", key, v.AsInterface(), want)
		}
	}
	for key, v := range got {
		if strings.Contains(v.Emit(), "s3cret") || strings.HasPrefix(string(key), "db.elasticsearch.") || key == "db.system" || key == "db.statement" {
			t.Errorf("%s = %q is not to be recorded", key, v.Emit())
		}
	}
	if s.Status().Code != codes.Unset {
		t.Errorf("status %v", s.Status())
	}
	want := fmt.Sprintf("00-%s-%s-01", s.SpanContext().TraceID(), s.SpanContext().SpanID())
	if len(*seen) != 1 || (*seen)[0] != want {
		t.Errorf("traceparent %v, want %s", *seen, want)
	}
}

func TestAnErrorAnswerIsAnError(t *testing.T) {
	recorder := recording(t)
	srv, _ := server(t, 404, `{"error":{"type":"index_not_found_exception"},"status":404}`)
	es, err := Configured(elasticsearch.NewTypedClient)(elasticsearch.Config{Addresses: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := es.Search().Index("missing").Do(context.Background()); err == nil {
		t.Fatal("no error")
	}
	s := recorder.Ended()[0]
	got := attrs(s)
	if s.Name() != "search missing" || s.Status().Code != codes.Error || s.Status().Description != "" {
		t.Errorf("span %q, status %v", s.Name(), s.Status())
	}
	if got["error.type"].AsString() != "404" || got["db.response.status_code"].AsString() != "404" {
		t.Errorf("attributes %v", got)
	}
	if len(s.Events()) != 0 {
		t.Errorf("events %v: an answer is no exception", s.Events())
	}
}

func TestATransportErrorIsRecordedOnce(t *testing.T) {
	recorder := recording(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there
	es, err := Configured(elasticsearch.NewTypedClient)(elasticsearch.Config{Addresses: []string{"http://" + addr}, DisableRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := es.Get("books", "1").Do(context.Background()); err == nil {
		t.Fatal("no error")
	}
	s := recorder.Ended()[0]
	if s.Status().Code != codes.Error || !strings.Contains(s.Status().Description, "connection refused") {
		t.Errorf("status %v", s.Status())
	}
	if got := attrs(s)["error.type"].AsString(); got != "*net.OpError" {
		t.Errorf("error.type %q", got)
	}
	if len(s.Events()) != 1 || s.Events()[0].Name != "exception" {
		t.Errorf("events %v, want one exception", s.Events())
	}
}

func TestBulkSpanCountsItsOperations(t *testing.T) {
	recorder := recording(t)
	srv, _ := server(t, 200, `{"errors":false,"items":[]}`)
	es, err := Configured(elasticsearch.NewClient)(elasticsearch.Config{Addresses: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	body := "{\"index\":{\"_index\":\"books\",\"_id\":\"1\"}}\n{\"title\":\"s3cret\"}\n{\"index\":{\"_index\":\"books\"}}\n{\"title\":\"s3cret\"}\n"
	res, err := es.Bulk(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	s := recorder.Ended()[0]
	got := attrs(s)
	if s.Name() != "bulk index books" || got["db.operation.name"].AsString() != "bulk index" || got["db.operation.batch.size"].AsInt64() != 2 {
		t.Errorf("span %q, attributes %v", s.Name(), got)
	}
}

func TestReadBulk(t *testing.T) {
	for _, c := range []struct {
		body, operation, index string
		n                      int
		ok                     bool
	}{
		{"{\"index\":{\"_index\":\"a\"}}\n{\"x\":1}\n{\"index\":{\"_index\":\"a\"}}\n{\"x\":2}\n", "bulk index", "a", 2, true},
		{"{\"index\":{}}\n{\"x\":1}\n\n{\"delete\":{\"_id\":\"2\"}}\n", "bulk", "", 2, true},
		{"{\"create\":{\"_index\":\"a\"}}\n{}\n{\"create\":{\"_index\":\"b\"}}\n{}\n", "bulk create", "", 2, true},
		{"", "bulk", "", 0, true},
		{"{\"index\":{}}\n", "", "", 0, false},             // no document
		{"{\"index\":{},\"x\":1}\n{}\n", "", "", 0, false}, // not one action
		{"{\"drop\":{}}\n", "", "", 0, false},
		{"not json\n", "", "", 0, false},
	} {
		ops, ok := readBulk([]byte(c.body))
		if ok != c.ok {
			t.Errorf("readBulk(%q) ok = %v", c.body, ok)
			continue
		}
		if ok && (ops.operation() != c.operation || ops.index() != c.index || len(ops.actions) != c.n) {
			t.Errorf("readBulk(%q) = %q %q %d", c.body, ops.operation(), ops.index(), len(ops.actions))
		}
	}
}

type own struct {
	elastictransport.Instrumentation
}

func TestAProgramsOwnInstrumentationIsKept(t *testing.T) {
	mine := own{}
	if got := Config(elasticsearch.Config{Instrumentation: mine}).Instrumentation; got != mine {
		t.Errorf("Config replaced the program's instrumentation: %T", got)
	}
	if got := Config(elasticsearch.Config{}).Instrumentation; got == nil {
		t.Error("Config gave no instrumentation")
	}
	es, err := NewDefaultClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := es.InstrumentationEnabled().(instrumentation); !ok {
		t.Errorf("NewDefaultClient: instrumentation %T", es.InstrumentationEnabled())
	}
}

// option and newClient stand in for elasticsearch.Option and elasticsearch.New,
// which the release this module is built against does not have.
type option struct {
	i elastictransport.Instrumentation
}

func TestOptionedPutsItsOptionFirst(t *testing.T) {
	var got []option
	newClient := func(options ...option) (int, error) { got = options; return 0, nil }
	with := func(i elastictransport.Instrumentation) option { return option{i} }
	mine := option{own{}}
	_, _ = Optioned(newClient, with)(mine)
	if len(got) != 2 || got[1] != mine {
		t.Fatalf("options %v", got)
	}
	if _, ok := got[0].i.(instrumentation); !ok {
		t.Errorf("the first option's instrumentation is %T", got[0].i)
	}
}

func TestNothingIsRecordedOnAnotherSpan(t *testing.T) {
	recorder := recording(t)
	ctx, caller := otel.Tracer("test").Start(context.Background(), "caller")
	i := Instrumentation()
	i.RecordPathPart(ctx, "index", "books")
	i.RecordError(ctx, errors.New("boom"))
	caller.End()
	s := recorder.Ended()[0]
	if len(s.Attributes()) != 0 || s.Status().Code != codes.Unset || len(s.Events()) != 0 {
		t.Errorf("the caller's span got %v %v %v", s.Attributes(), s.Status(), s.Events())
	}
}

func TestRedact(t *testing.T) {
	for raw, want := range map[string]string{
		"http://h:9200/i/_search?q=user:bob&size=5": "http://h:9200/i/_search?q=REDACTED&size=REDACTED",
		"https://u:p@h/i/_doc/1":                    "https://REDACTED:REDACTED@h/i/_doc/1",
		"http://h:9200/":                            "http://h:9200/",
	} {
		if got, _ := redact(raw); got != want {
			t.Errorf("redact(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestErrorType(t *testing.T) {
	op := &net.OpError{Op: "dial", Err: errors.New("refused")}
	for err, want := range map[error]string{
		fmt.Errorf("an error happened during the Search query execution: %w", op): "*net.OpError",
		op:                       "*net.OpError",
		context.DeadlineExceeded: "timeout",
		errors.New("x"):          "*errors.errorString",
	} {
		if got := errorType(err); got != want {
			t.Errorf("errorType(%v) = %q, want %q", err, got, want)
		}
	}
}
