package pgxtrace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

var recorder = tracetest.NewSpanRecorder()

func TestMain(m *testing.M) {
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder)))
	os.Exit(m.Run())
}

// ended are the spans ended since the last call.
func ended(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	spans := recorder.Ended()
	recorder.Reset()
	return spans
}

func attrs(span sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range span.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func newTestTracer(t *testing.T, inner pgx.QueryTracer) *tracer {
	t.Helper()
	config, err := pgx.ParseConfig("postgres://app@db.internal:6432/shop")
	if err != nil {
		t.Fatal(err)
	}
	return newTracer(config, inner)
}

func TestQuerySpanHasTheConventionsAttributesAndNoArguments(t *testing.T) {
	tr := newTestTracer(t, nil)
	ended(t)
	ctx := tr.TraceQueryStart(context.Background(), nil, pgx.TraceQueryStartData{
		SQL: "SELECT total FROM orders WHERE id = $1", Args: []any{"s3cret"},
	})
	tr.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{})
	spans := ended(t)
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	span := spans[0]
	if span.Name() != "SELECT orders" || span.SpanKind() != trace.SpanKindClient {
		t.Errorf("span %q, kind %v", span.Name(), span.SpanKind())
	}
	want := map[attribute.Key]attribute.Value{
		"db.system.name":    attribute.StringValue("postgresql"),
		"db.namespace":      attribute.StringValue("shop"),
		"server.address":    attribute.StringValue("db.internal"),
		"server.port":       attribute.IntValue(6432),
		"db.operation.name": attribute.StringValue("SELECT"),
		"db.query.summary":  attribute.StringValue("SELECT orders"),
		"db.query.text":     attribute.StringValue("SELECT total FROM orders WHERE id = $1"),
	}
	got := attrs(span)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("attributes %v, want %v", got, want)
	}
}

func TestStatementsWithoutTableOrOperation(t *testing.T) {
	tr := newTestTracer(t, nil)
	ended(t)
	for _, sql := range []string{"begin", "(SELECT 1)", ";", " ; "} {
		ctx := tr.TraceQueryStart(context.Background(), nil, pgx.TraceQueryStartData{SQL: sql})
		tr.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{})
	}
	var names []string
	for _, span := range ended(t) {
		names = append(names, span.Name())
	}
	// An empty statement (a ping) has no span.
	if strings.Join(names, ",") != "BEGIN,postgresql" {
		t.Errorf("spans %v", names)
	}
}

func TestErrorsRecordTheSQLSTATE(t *testing.T) {
	tr := newTestTracer(t, nil)
	ended(t)
	pgErr := &pgconn.PgError{Severity: "ERROR", Code: "42P01", Message: `relation "missing" does not exist`}
	ctx := tr.TraceQueryStart(context.Background(), nil, pgx.TraceQueryStartData{SQL: "SELECT * FROM missing"})
	tr.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{Err: fmt.Errorf("query: %w", pgErr)})
	span := ended(t)[0]
	got := attrs(span)
	if got["db.response.status_code"].AsString() != "42P01" || got["error.type"].AsString() != "42P01" {
		t.Errorf("attributes %v", got)
	}
	if span.Status().Code != codes.Error || len(span.Events()) != 1 || span.Events()[0].Name != "exception" {
		t.Errorf("status %v, events %v", span.Status(), span.Events())
	}
	if got := errorAttributes(errors.New("boom")); len(got) != 1 || got[0].Value.AsString() != "*errors.errorString" {
		t.Errorf("a client error: %v", got)
	}
}

func TestStatementsRunByTheNameTheyWerePreparedUnder(t *testing.T) {
	tr := newTestTracer(t, nil)
	ended(t)
	const sql = "SELECT total FROM orders WHERE id = $1"
	ctx := tr.TracePrepareStart(context.Background(), nil, pgx.TracePrepareStartData{Name: "order_total", SQL: sql})
	tr.TracePrepareEnd(ctx, nil, pgx.TracePrepareEndData{})
	ctx = tr.TraceQueryStart(context.Background(), nil, pgx.TraceQueryStartData{SQL: "order_total"})
	tr.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{})
	spans := ended(t)
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	if p := attrs(spans[0]); spans[0].Name() != "PREPARE orders" || p["db.operation.name"].AsString() != "PREPARE" ||
		p["db.query.summary"].AsString() != "PREPARE orders" || p["db.query.text"].AsString() != sql || p["db.collection.name"].Type() != attribute.INVALID {
		t.Errorf("prepare: %s %v", spans[0].Name(), p)
	}
	if q := attrs(spans[1]); spans[1].Name() != "SELECT orders" || q["db.query.summary"].AsString() != "SELECT orders" || q["db.query.text"].AsString() != sql {
		t.Errorf("run by name: %s %v", spans[1].Name(), q)
	}

	// A failed prepare is not remembered.
	ctx = tr.TracePrepareStart(context.Background(), nil, pgx.TracePrepareStartData{Name: "broken", SQL: "SELEC"})
	tr.TracePrepareEnd(ctx, nil, pgx.TracePrepareEndData{Err: errors.New("syntax")})
	if got := tr.preparedSQL("broken"); got != "broken" {
		t.Errorf("a failed prepare was remembered: %q", got)
	}
}

func TestStatementsPgxPreparesForAnOperationHaveNoSpan(t *testing.T) {
	tr := newTestTracer(t, nil)
	ended(t)
	ctx := tr.TraceQueryStart(context.Background(), nil, pgx.TraceQueryStartData{SQL: "SELECT 1"})
	inner := tr.TracePrepareStart(ctx, nil, pgx.TracePrepareStartData{Name: "stmtcache_1", SQL: "SELECT 1"})
	tr.TracePrepareEnd(inner, nil, pgx.TracePrepareEndData{})
	if len(ended(t)) != 0 {
		t.Error("the internal prepare ended a span (its own, or the query's)")
	}
	tr.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{})
	if spans := ended(t); len(spans) != 1 || spans[0].Name() != "SELECT" {
		t.Errorf("spans %v", spans)
	}
	if got := tr.preparedSQL("stmtcache_1"); got != "stmtcache_1" {
		t.Errorf("the statement cache's name was remembered: %q", got)
	}
}

func TestBatches(t *testing.T) {
	for _, c := range []struct {
		texts              []string
		summary, operation string
		text               string
		size               int
	}{
		{[]string{"INSERT INTO orders VALUES ($1)"}, "INSERT orders", "INSERT", "INSERT INTO orders VALUES ($1)", 0},
		{[]string{"INSERT INTO orders VALUES ($1)", "INSERT INTO orders VALUES ($1)"},
			"BATCH INSERT orders", "BATCH INSERT", "INSERT INTO orders VALUES ($1)", 2},
		{[]string{"INSERT INTO orders VALUES ($1)", "INSERT INTO orders (id) VALUES ($1)"},
			"BATCH INSERT orders", "BATCH INSERT", "INSERT INTO orders VALUES ($1); INSERT INTO orders (id) VALUES ($1)", 2},
		{[]string{"INSERT INTO orders VALUES ($1)", "INSERT INTO items VALUES ($1)"},
			"BATCH", "BATCH INSERT", "INSERT INTO orders VALUES ($1); INSERT INTO items VALUES ($1)", 2},
		{[]string{"INSERT INTO orders VALUES ($1)", "SELECT count(*) FROM orders"},
			"BATCH", "BATCH", "INSERT INTO orders VALUES ($1); SELECT count(*) FROM orders", 2},
		{[]string{"SELECT 1", "SELECT 2"}, "BATCH SELECT", "BATCH SELECT", "SELECT 1; SELECT 2", 2},
		{[]string{"'x'", "'x'"}, "BATCH", "BATCH", "'x'", 2},
		{nil, "BATCH", "BATCH", "", 0},
	} {
		summary, operation, text, size := batchSummary(c.texts)
		n := 0
		if len(size) == 1 {
			n = int(size[0].Value.AsInt64())
		}
		if summary != c.summary || operation != c.operation || text != c.text || n != c.size {
			t.Errorf("batchSummary(%q) = %q %q %q %d", c.texts, summary, operation, text, n)
		}
	}
	var many []string
	for i := range maxListed + 5 {
		many = append(many, fmt.Sprintf("SELECT %d", i))
	}
	_, _, text, size := batchSummary(many)
	if !strings.HasSuffix(text, "; SELECT 63; ...") || size[0].Value.AsInt64() != int64(len(many)) {
		t.Errorf("a long batch: %q %v", text[len(text)-30:], size)
	}
}

func TestABatchSpanIsNamedByItsSummaryAndNamesNoCollection(t *testing.T) {
	tr := newTestTracer(t, nil)
	ended(t)
	b := &pgx.Batch{}
	b.Queue("UPDATE orders SET total = $1 WHERE id = $2", 1, 2)
	b.Queue("UPDATE orders SET total = $1 WHERE id = $2", 3, 4)
	ctx := tr.TraceBatchStart(context.Background(), nil, pgx.TraceBatchStartData{Batch: b})
	tr.TraceBatchEnd(ctx, nil, pgx.TraceBatchEndData{})
	span := ended(t)[0]
	got := attrs(span)
	if span.Name() != "BATCH UPDATE orders" || got["db.query.summary"].AsString() != "BATCH UPDATE orders" ||
		got["db.operation.name"].AsString() != "BATCH UPDATE" || got["db.operation.batch.size"].AsInt64() != 2 ||
		got["db.collection.name"].Type() != attribute.INVALID {
		t.Errorf("%s %v", span.Name(), got)
	}
}

func TestBatchStatementsAreReadFromTheBatch(t *testing.T) {
	b := &pgx.Batch{}
	b.Queue("INSERT INTO orders VALUES ($1)", "s3cret")
	b.Queue("SELECT count(*) FROM orders")
	texts, ok := batchStatements(b)
	if !ok || strings.Join(texts, "; ") != "INSERT INTO orders VALUES ($1); SELECT count(*) FROM orders" {
		t.Errorf("batchStatements = %q, %v", texts, ok)
	}
	if _, ok := batchStatements(nil); ok {
		t.Error("a nil batch")
	}
}

func TestABatchWhoseStatementsAreUnknownIsNamedAtItsEnd(t *testing.T) {
	tr := newTestTracer(t, nil)
	ended(t)
	ctx := tr.TraceBatchStart(context.Background(), nil, pgx.TraceBatchStartData{})
	for range 2 {
		tr.TraceBatchQuery(ctx, nil, pgx.TraceBatchQueryData{SQL: "UPDATE orders SET total = $1"})
	}
	tr.TraceBatchEnd(ctx, nil, pgx.TraceBatchEndData{})
	span := ended(t)[0]
	if got := attrs(span); span.Name() != "BATCH UPDATE orders" || got["db.operation.name"].AsString() != "BATCH UPDATE" ||
		got["db.query.summary"].AsString() != "BATCH UPDATE orders" || got["db.collection.name"].Type() != attribute.INVALID {
		t.Errorf("%s %v", span.Name(), got)
	}
}

func TestABatchFailsWithItsFirstFailedStatement(t *testing.T) {
	tr := newTestTracer(t, nil)
	ended(t)
	b := &pgx.Batch{}
	b.Queue("SELECT 1")
	b.Queue("SELECT * FROM missing")
	ctx := tr.TraceBatchStart(context.Background(), nil, pgx.TraceBatchStartData{Batch: b})
	tr.TraceBatchQuery(ctx, nil, pgx.TraceBatchQueryData{SQL: "SELECT 1"})
	tr.TraceBatchQuery(ctx, nil, pgx.TraceBatchQueryData{SQL: "SELECT * FROM missing", Err: &pgconn.PgError{Code: "42P01"}})
	tr.TraceBatchEnd(ctx, nil, pgx.TraceBatchEndData{})
	span := ended(t)[0]
	if span.Status().Code != codes.Error || attrs(span)["error.type"].AsString() != "42P01" {
		t.Errorf("%v %v", span.Status(), attrs(span))
	}
}

func TestCopyFrom(t *testing.T) {
	tr := newTestTracer(t, nil)
	ended(t)
	ctx := tr.TraceCopyFromStart(context.Background(), nil, pgx.TraceCopyFromStartData{
		TableName: pgx.Identifier{"shop", "orders"}, ColumnNames: []string{"id", `odd"name`},
	})
	tr.TraceCopyFromEnd(ctx, nil, pgx.TraceCopyFromEndData{})
	span := ended(t)[0]
	got := attrs(span)
	if span.Name() != "COPY shop.orders" || got["db.collection.name"].AsString() != "shop.orders" ||
		got["db.query.summary"].AsString() != "COPY shop.orders" || got["db.operation.name"].AsString() != "COPY" ||
		got["db.query.text"].AsString() != `copy "shop"."orders" ( "id", "odd""name" ) from stdin binary;` {
		t.Errorf("%s %v", span.Name(), got)
	}
}

// recording is a program's own tracer: it records what it is called with.
type recording struct {
	calls []string
}

func (r *recording) note(ctx context.Context, what string) {
	if !trace.SpanFromContext(ctx).SpanContext().IsValid() && !strings.HasPrefix(what, "connect") {
		what += " (without our span)"
	}
	r.calls = append(r.calls, what)
}

func (r *recording) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.note(ctx, "query start")
	return ctx
}
func (r *recording) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	r.note(ctx, "query end")
}
func (r *recording) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.note(ctx, "batch start")
	return ctx
}
func (r *recording) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchQueryData) {
	r.note(ctx, "batch query")
}
func (r *recording) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) {
	r.note(ctx, "batch end")
}
func (r *recording) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	r.note(ctx, "copy start")
	return ctx
}
func (r *recording) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromEndData) {
	r.note(ctx, "copy end")
}
func (r *recording) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	r.note(ctx, "prepare start")
	return ctx
}
func (r *recording) TracePrepareEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareEndData) {
	r.note(ctx, "prepare end")
}
func (r *recording) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	r.note(ctx, "connect start")
	return ctx
}
func (r *recording) TraceConnectEnd(ctx context.Context, _ pgx.TraceConnectEndData) {
	r.note(ctx, "connect end")
}

func TestTheProgramsTracerRunsInsideOurs(t *testing.T) {
	own := &recording{}
	tr := newTestTracer(t, own)
	ctx := tr.TraceConnectStart(context.Background(), pgx.TraceConnectStartData{})
	tr.TraceConnectEnd(ctx, pgx.TraceConnectEndData{})
	ctx = tr.TraceQueryStart(context.Background(), nil, pgx.TraceQueryStartData{SQL: "SELECT 1"})
	tr.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{})
	ctx = tr.TraceBatchStart(context.Background(), nil, pgx.TraceBatchStartData{Batch: &pgx.Batch{}})
	tr.TraceBatchQuery(ctx, nil, pgx.TraceBatchQueryData{})
	tr.TraceBatchEnd(ctx, nil, pgx.TraceBatchEndData{})
	ctx = tr.TraceCopyFromStart(context.Background(), nil, pgx.TraceCopyFromStartData{TableName: pgx.Identifier{"t"}})
	tr.TraceCopyFromEnd(ctx, nil, pgx.TraceCopyFromEndData{})
	ctx = tr.TracePrepareStart(context.Background(), nil, pgx.TracePrepareStartData{SQL: "SELECT 1"})
	tr.TracePrepareEnd(ctx, nil, pgx.TracePrepareEndData{})
	want := "connect start, connect end, query start, query end, batch start, batch query, batch end, " +
		"copy start, copy end, prepare start, prepare end"
	if got := strings.Join(own.calls, ", "); got != want {
		t.Errorf("the program's tracer saw %s\nwant %s", got, want)
	}

	// A tracer that implements QueryTracer only is called for queries only.
	only := &queriesOnly{}
	tr = newTestTracer(t, only)
	ctx = tr.TracePrepareStart(context.Background(), nil, pgx.TracePrepareStartData{SQL: "SELECT 1"})
	tr.TracePrepareEnd(ctx, nil, pgx.TracePrepareEndData{})
	ctx = tr.TraceQueryStart(context.Background(), nil, pgx.TraceQueryStartData{SQL: "SELECT 1"})
	tr.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{})
	if only.n != 2 {
		t.Errorf("%d calls", only.n)
	}
}

type queriesOnly struct{ n int }

func (q *queriesOnly) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.n++
	return ctx
}
func (q *queriesOnly) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) { q.n++ }

func TestInstallKeepsOneTracerAroundTheProgramsOwn(t *testing.T) {
	own := &recording{}
	config, err := pgx.ParseConfig("postgres://app@db.internal/shop")
	if err != nil {
		t.Fatal(err)
	}
	config.Tracer = own
	Install(config)
	first, ok := config.Tracer.(*tracer)
	if !ok || first.inner != own {
		t.Fatalf("installed %T", config.Tracer)
	}
	copied := config.Copy()
	Install(copied)
	if second := copied.Tracer.(*tracer); second == first || second.inner != own {
		t.Errorf("a copy's connection gets its own tracer around the program's: %p %p %v", second, first, second.inner)
	}
	Install(nil)
}

func TestConnectConfigLeavesTheCallersConfigAlone(t *testing.T) {
	config, err := pgx.ParseConfig("postgres://app@127.0.0.1:1/shop?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = ConnectConfig(context.Background(), config) // nothing listens: it fails
	if config.Tracer != nil {
		t.Errorf("the caller's config got %T", config.Tracer)
	}
}

func TestPoolConnectionsGetTheTracerThePoolKeepsTheProgramsOwn(t *testing.T) {
	config, err := pgxpool.ParseConfig("postgres://app@db.internal/shop")
	if err != nil {
		t.Fatal(err)
	}
	own := &recording{}
	config.ConnConfig.Tracer = own
	var theirs int
	config.BeforeConnect = func(context.Context, *pgx.ConnConfig) error { theirs++; return nil }
	pool, err := NewPoolWithConfig(context.Background(), config) // connects lazily
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if config.ConnConfig.Tracer != own || pool.Config().ConnConfig.Tracer != own {
		t.Error("the pool's own config must keep the program's tracer (pgxpool's acquire and release tracer)")
	}
	connConfig := pool.Config().ConnConfig
	if err := pool.Config().BeforeConnect(context.Background(), connConfig); err != nil {
		t.Fatal(err)
	}
	if ours, ok := connConfig.Tracer.(*tracer); !ok || ours.inner != own || theirs != 1 {
		t.Errorf("a new connection's config has %T (program's BeforeConnect ran %d times)", connConfig.Tracer, theirs)
	}
}

func TestNewPoolAndConnectWithOptionsInstallTheTracer(t *testing.T) {
	pool, err := NewPool(context.Background(), "postgres://app@db.internal/shop")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	connConfig := pool.Config().ConnConfig
	if err := pool.Config().BeforeConnect(context.Background(), connConfig); err != nil {
		t.Fatal(err)
	}
	if _, ok := connConfig.Tracer.(*tracer); !ok {
		t.Errorf("a pool connection's config has %T", connConfig.Tracer)
	}

	var parsed *pgx.ConnConfig
	parse := func(s string, _ struct{}) (*pgx.ConnConfig, error) {
		var err error
		parsed, err = pgx.ParseConfig(s)
		return parsed, err
	}
	_, _ = ConnectWithOptions(parse)(context.Background(), "postgres://app@127.0.0.1:1/shop?connect_timeout=1", struct{}{})
	if _, ok := parsed.Tracer.(*tracer); !ok {
		t.Errorf("ConnectWithOptions connected with %T", parsed.Tracer)
	}
	if _, err := ConnectWithOptions(parse)(context.Background(), "postgres://%zz", struct{}{}); err == nil {
		t.Error("a config that does not parse")
	}
}
