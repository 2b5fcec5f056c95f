package pgxtrace

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
	"overlay-gen.invalid/otelrt/sqlquery"
)

// ScopeName is the instrumentation scope of the spans.
const ScopeName = "overlay-gen/pgx"

var otelTracer = otel.Tracer(ScopeName)

// fallbackName names the span of a statement sqlquery cannot read (the
// conventions' last resort: db.system.name).
const fallbackName = "postgresql"

// maxListed is how many statements of a batch db.query.text lists.
const maxListed = 64

// maxPrepared bounds the statement names a tracer remembers.
const maxPrepared = 4096

// tracer is the pgx tracer of one connection (pgx.ConnConfig.Tracer): a
// CLIENT span per Query, QueryRow and Exec (BEGIN, COMMIT and ROLLBACK are
// Execs), SendBatch, CopyFrom and Prepare, started from the caller's context
// (or the goroutine's active span), around the program's own tracer, inner.
type tracer struct {
	connection []attribute.KeyValue // db.system.name, db.namespace, server.address, server.port

	inner    pgx.QueryTracer // the program's, or nil; the others are it, if it implements them
	batch    pgx.BatchTracer
	copyFrom pgx.CopyFromTracer
	prepare  pgx.PrepareTracer
	connect  pgx.ConnectTracer

	mu       sync.RWMutex
	prepared map[string]string // the SQL of the statements the program prepared, by name
}

var (
	_ pgx.QueryTracer    = (*tracer)(nil)
	_ pgx.BatchTracer    = (*tracer)(nil)
	_ pgx.CopyFromTracer = (*tracer)(nil)
	_ pgx.PrepareTracer  = (*tracer)(nil)
	_ pgx.ConnectTracer  = (*tracer)(nil)
)

func newTracer(config *pgx.ConnConfig, inner pgx.QueryTracer) *tracer {
	t := &tracer{connection: connectionAttributes(config), inner: inner}
	t.batch, _ = inner.(pgx.BatchTracer)
	t.copyFrom, _ = inner.(pgx.CopyFromTracer)
	t.prepare, _ = inner.(pgx.PrepareTracer)
	t.connect, _ = inner.(pgx.ConnectTracer)
	return t
}

// connectionAttributes are the attributes of every span of a connection, from
// the config it is made with: the database, and the first host it names (a
// connection string's fallback hosts are tried after it).
func connectionAttributes(config *pgx.ConnConfig) []attribute.KeyValue {
	attrs := []attribute.KeyValue{semconv.DBSystemNamePostgreSQL}
	if config.Database != "" {
		attrs = append(attrs, semconv.DBNamespace(config.Database))
	}
	if config.Host != "" {
		attrs = append(attrs, semconv.ServerAddress(config.Host))
		if config.Port != 0 {
			attrs = append(attrs, semconv.ServerPort(int(config.Port)))
		}
	}
	return attrs
}

// --- the operation in the context -------------------------------------------------------------

// opKey is the context key of the operation a Trace*Start began, which pgx
// hands its Trace*End (and TraceBatchQuery).
type opKey struct{}

// operation is one traced call of pgx.
type operation struct {
	span trace.Span // nil: no span of ours (quiet, or a prepare whose span would not be recorded)

	// a batch whose statements could not be read at its start: named at its end
	pending []string
	failed  error // a batch's first failed statement

	// a prepare's statement, remembered by name when it succeeds
	name, sql string
	internal  bool // pgx prepares it for an operation of ours (its statement cache)
}

// quiet stands for an operation that has no span of ours: a CLIENT span is
// already recording (database/sql's over pgx/stdlib, one the program made),
// so that the runtime would not record one; an empty statement (older pgx
// releases ping with Exec(";")); a BEGIN, COMMIT or ROLLBACK that pgx/stdlib
// runs for database/sql (viaDatabaseSQL).
var quiet = &operation{}

func operationOf(ctx context.Context) *operation {
	op, _ := ctx.Value(opKey{}).(*operation)
	return op
}

// start starts an operation's span from the caller's context, else from the
// goroutine's active span; quiet when a CLIENT span is already recording.
func (t *tracer) start(ctx context.Context, name string, attrs []attribute.KeyValue, op *operation) context.Context {
	parent := otelrt.Parent(ctx)
	if otelrt.InClientSpan(parent) {
		return context.WithValue(ctx, opKey{}, op.quietCopy())
	}
	ctx, op.span = otelTracer.Start(parent, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, opKey{}, op)
}

// quietCopy is what stays of op without its span: a prepare's statement.
func (op *operation) quietCopy() *operation {
	if op.name == "" {
		return quiet
	}
	return &operation{name: op.name, sql: op.sql, internal: op.internal}
}

// end records err (with the conventions' error.type and, for an error the
// server answered, db.response.status_code: its SQLSTATE) and ends the span.
func (op *operation) end(err error) {
	if op == nil || op.span == nil {
		return
	}
	if err != nil {
		op.span.RecordError(err)
		op.span.SetStatus(codes.Error, err.Error())
		op.span.SetAttributes(errorAttributes(err)...)
	}
	op.span.End()
}

func errorAttributes(err error) []attribute.KeyValue {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code != "" {
		return []attribute.KeyValue{semconv.DBResponseStatusCode(pgErr.Code), semconv.ErrorTypeKey.String(pgErr.Code)}
	}
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(reflect.TypeOf(err).String())}
}

// --- Query, QueryRow, Exec -------------------------------------------------------------------

func (t *tracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if isEmpty(data.SQL) {
		ctx = context.WithValue(ctx, opKey{}, quiet)
	} else if otelrt.InClientSpan(otelrt.Parent(ctx)) {
		ctx = context.WithValue(ctx, opKey{}, quiet) // spare the summary
	} else if text, summary := t.statement(data.SQL); transactionControl[summary.Operation] && viaDatabaseSQL() {
		ctx = context.WithValue(ctx, opKey{}, quiet)
	} else {
		ctx = t.start(ctx, summary.SpanName(fallbackName), t.attributes(summary.Operation, summary.String(), "", text), &operation{})
	}
	if t.inner != nil {
		ctx = t.inner.TraceQueryStart(ctx, conn, data)
	}
	return ctx
}

// transactionControl are the operations of the statements pgx runs for
// Begin, Commit and Rollback.
var transactionControl = map[string]bool{"BEGIN": true, "START": true, "COMMIT": true, "END": true, "ROLLBACK": true, "ABORT": true}

// stdlibPackage is the prefix of the functions of pgx/stdlib, pgx's
// database/sql driver.
const stdlibPackage = "github.com/jackc/pgx/v5/stdlib."

// viaDatabaseSQL reports whether pgx/stdlib runs the statement the tracer is
// called for, a few calls up (Exec, BeginTx or Commit of pgx, then stdlib's).
// database/sql's span is the span of its BeginTx, Commit and Rollback, but
// the driver does not get that span's context (Commit has none: stdlib runs
// it in BeginTx's): without this, a connection database/sql uses (through
// stdlib.OpenDBFromPool, or a config of a traced connection) would record a
// second BEGIN or COMMIT beside database/sql's. Its other statements run in
// the context of database/sql's span, and the runtime records only that one.
func viaDatabaseSQL() bool {
	var pcs [8]uintptr
	n := runtime.Callers(3, pcs[:]) // from the caller of TraceQueryStart
	frames := runtime.CallersFrames(pcs[:n])
	for {
		frame, more := frames.Next()
		if strings.HasPrefix(frame.Function, stdlibPackage) {
			return true
		}
		if !more {
			return false
		}
	}
}

func (t *tracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if t.inner != nil {
		t.inner.TraceQueryEnd(ctx, conn, data)
	}
	operationOf(ctx).end(data.Err)
}

// isEmpty: a statement that does nothing, which pgx sends as a ping.
func isEmpty(sql string) bool {
	return strings.Trim(sql, " \t\r\n;") == ""
}

// statement is the SQL a query runs, and its summary: sql, or, when sql
// names a statement the program prepared on this connection, that
// statement's.
func (t *tracer) statement(sql string) (string, sqlquery.Summary) {
	text := t.preparedSQL(sql)
	return text, sqlquery.Summarize(text)
}

// preparedSQL is the SQL of the statement prepared under the name sql, else sql.
func (t *tracer) preparedSQL(sql string) string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if prepared, ok := t.prepared[sql]; ok {
		return prepared
	}
	return sql
}

// attributes are a span's: the connection's, then the statement's.
func (t *tracer) attributes(operation, summary, collection, text string, more ...attribute.KeyValue) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, len(t.connection)+4+len(more))
	attrs = append(attrs, t.connection...)
	return append(statementAttributes(attrs, operation, summary, collection, text), more...)
}

// statementAttributes appends db.operation.name, db.query.summary,
// db.collection.name and db.query.text, where known, to attrs. The
// collection is one pgx's API names (CopyFrom's table), never one read from
// SQL: the conventions ask not to take it from the text of a database whose
// statements may name several tables.
func statementAttributes(attrs []attribute.KeyValue, operation, summary, collection, text string) []attribute.KeyValue {
	if operation != "" {
		attrs = append(attrs, semconv.DBOperationName(operation))
	}
	if summary != "" {
		attrs = append(attrs, semconv.DBQuerySummary(summary))
	}
	if collection != "" {
		attrs = append(attrs, semconv.DBCollectionName(collection))
	}
	if text != "" {
		attrs = append(attrs, semconv.DBQueryText(text))
	}
	return attrs
}

// --- SendBatch ------------------------------------------------------------------------------

func (t *tracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if otelrt.InClientSpan(otelrt.Parent(ctx)) {
		ctx = context.WithValue(ctx, opKey{}, quiet)
	} else if texts, ok := batchStatements(data.Batch); ok {
		for i, text := range texts {
			texts[i] = t.preparedSQL(text)
		}
		summary, op, text, size := batchSummary(texts)
		ctx = t.start(ctx, summary, t.attributes(op, summary, "", text, size...), &operation{})
	} else {
		// pgx's Batch did not say: named at the end, from the statements pgx reports.
		var size []attribute.KeyValue
		if n := batchLen(data.Batch); n > 1 {
			size = append(size, semconv.DBOperationBatchSize(n))
		}
		ctx = t.start(ctx, "BATCH", t.attributes("BATCH", "BATCH", "", "", size...), &operation{pending: []string{}})
	}
	if t.batch != nil {
		ctx = t.batch.TraceBatchStart(ctx, conn, data)
	}
	return ctx
}

func (t *tracer) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	if t.batch != nil {
		t.batch.TraceBatchQuery(ctx, conn, data)
	}
	op := operationOf(ctx)
	if op == nil || op.span == nil {
		return
	}
	if op.pending != nil {
		op.pending = append(op.pending, t.preparedSQL(data.SQL))
	}
	if data.Err != nil && op.failed == nil {
		op.failed = data.Err
	}
}

func (t *tracer) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	if t.batch != nil {
		t.batch.TraceBatchEnd(ctx, conn, data)
	}
	op := operationOf(ctx)
	if op == nil || op.span == nil {
		return
	}
	if len(op.pending) > 0 {
		summary, operation, text, _ := batchSummary(op.pending)
		op.span.SetName(summary)
		op.span.SetAttributes(statementAttributes(nil, operation, summary, "", text)...)
	}
	err := data.Err
	if err == nil {
		err = op.failed
	}
	op.end(err)
}

func batchLen(b *pgx.Batch) int {
	if b == nil {
		return 0
	}
	return b.Len()
}

// batchSummary summarizes a batch as the conventions do. A batch of one
// statement is that statement. Of more, db.query.summary (the span's name)
// is "BATCH " and the summary all statements have ("BATCH INSERT
// shipments"), else "BATCH"; db.operation.name is "BATCH " and the operation
// all do ("BATCH INSERT"), else "BATCH"; db.query.text is their text when
// all have the same, else the texts joined by "; " (the first maxListed of
// them). A statement without a summary makes the batch's "BATCH".
func batchSummary(texts []string) (summary, operation, text string, size []attribute.KeyValue) {
	if len(texts) == 1 {
		s := sqlquery.Summarize(texts[0])
		return s.SpanName(fallbackName), s.Operation, texts[0], nil
	}
	summary, operation = "BATCH", "BATCH"
	if len(texts) == 0 {
		return summary, operation, "", nil
	}
	first := sqlquery.Summarize(texts[0])
	sameSummary, sameOperation, sameText := first.String() != "", first.Operation != "", true
	for _, t := range texts[1:] {
		s := sqlquery.Summarize(t)
		sameSummary = sameSummary && s == first
		sameOperation = sameOperation && s.Operation == first.Operation
		sameText = sameText && t == texts[0]
	}
	if sameSummary {
		summary += " " + first.String()
	}
	if sameOperation {
		operation += " " + first.Operation
	}
	if sameText {
		text = texts[0]
	} else {
		listed := texts
		if len(listed) > maxListed {
			listed = append(listed[:maxListed:maxListed], "...")
		}
		text = strings.Join(listed, "; ")
	}
	return summary, operation, text, []attribute.KeyValue{semconv.DBOperationBatchSize(len(texts))}
}

// batchStatements are the SQL texts queued in a batch, when it says: pgx's
// Batch holds them in QueuedQueries[i].SQL since v5.5.3, and in the
// unexported queuedQueries[i].query of the releases before (which no longer
// change), read here without touching them.
func batchStatements(b *pgx.Batch) ([]string, bool) {
	if b == nil {
		return nil, false
	}
	batch := reflect.ValueOf(b).Elem()
	queued := field(batch, "QueuedQueries", "queuedQueries")
	if !queued.IsValid() || queued.Kind() != reflect.Slice {
		return nil, false
	}
	texts := make([]string, queued.Len())
	for i := range texts {
		q := queued.Index(i)
		if q.Kind() != reflect.Pointer || q.IsNil() || q.Elem().Kind() != reflect.Struct {
			return nil, false
		}
		sql := field(q.Elem(), "SQL", "query")
		if !sql.IsValid() || sql.Kind() != reflect.String {
			return nil, false
		}
		texts[i] = sql.String()
	}
	return texts, true
}

// field is the first of the named fields a struct has.
func field(v reflect.Value, names ...string) reflect.Value {
	for _, name := range names {
		if f := v.FieldByName(name); f.IsValid() {
			return f
		}
	}
	return reflect.Value{}
}

// --- CopyFrom -------------------------------------------------------------------------------

func (t *tracer) TraceCopyFromStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	if otelrt.InClientSpan(otelrt.Parent(ctx)) {
		ctx = context.WithValue(ctx, opKey{}, quiet)
	} else {
		// The statement pgx sends; it is given no SQL.
		columns := make([]string, len(data.ColumnNames))
		for i, column := range data.ColumnNames {
			columns[i] = pgx.Identifier{column}.Sanitize()
		}
		text := "copy " + data.TableName.Sanitize() + " ( " + strings.Join(columns, ", ") + " ) from stdin binary;"
		// The table is pgx's to name (a pgx.Identifier), not read from SQL:
		// the copy's db.collection.name, and its summary's target.
		summary := sqlquery.Summary{Operation: "COPY", Table: strings.Join(data.TableName, ".")}
		ctx = t.start(ctx, summary.String(), t.attributes(summary.Operation, summary.String(), summary.Table, text), &operation{})
	}
	if t.copyFrom != nil {
		ctx = t.copyFrom.TraceCopyFromStart(ctx, conn, data)
	}
	return ctx
}

func (t *tracer) TraceCopyFromEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromEndData) {
	if t.copyFrom != nil {
		t.copyFrom.TraceCopyFromEnd(ctx, conn, data)
	}
	operationOf(ctx).end(data.Err)
}

// --- Prepare --------------------------------------------------------------------------------

// TracePrepareStart starts the span of a statement the program prepares:
// "PREPARE orders" (its db.query.summary too), db.operation.name PREPARE.
// The statements pgx prepares for its statement cache while running a
// Query, Exec, SendBatch or CopyFrom are part of that operation: no span of
// their own.
func (t *tracer) TracePrepareStart(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	op := &operation{name: data.Name, sql: data.SQL, internal: operationOf(ctx) != nil}
	if op.internal {
		ctx = context.WithValue(ctx, opKey{}, op.quietCopy())
	} else {
		summary := sqlquery.Summary{Operation: "PREPARE", Table: sqlquery.Summarize(data.SQL).Table}
		ctx = t.start(ctx, summary.String(), t.attributes(summary.Operation, summary.String(), "", data.SQL), op)
	}
	if t.prepare != nil {
		ctx = t.prepare.TracePrepareStart(ctx, conn, data)
	}
	return ctx
}

func (t *tracer) TracePrepareEnd(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareEndData) {
	if t.prepare != nil {
		t.prepare.TracePrepareEnd(ctx, conn, data)
	}
	op := operationOf(ctx)
	if op == nil {
		return
	}
	if data.Err == nil && !op.internal {
		t.remember(op.name, op.sql)
	}
	op.end(data.Err)
}

// remember keeps the SQL of a statement the program prepared under a name it
// will run it by (pgx runs the statement when a query's SQL is its name).
func (t *tracer) remember(name, sql string) {
	if name == "" || name == sql {
		return // unnamed, or named by its SQL
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.prepared == nil {
		t.prepared = map[string]string{}
	}
	if _, ok := t.prepared[name]; ok || len(t.prepared) < maxPrepared {
		t.prepared[name] = sql
	}
}

// --- Connect --------------------------------------------------------------------------------

// A connection's dial and handshake get no span: they are no database
// operation of the conventions, and a pool dials in the background, or
// within an operation that already has its span. The program's tracer still
// sees them.

func (t *tracer) TraceConnectStart(ctx context.Context, data pgx.TraceConnectStartData) context.Context {
	if t.connect != nil {
		return t.connect.TraceConnectStart(ctx, data)
	}
	return ctx
}

func (t *tracer) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	if t.connect != nil {
		t.connect.TraceConnectEnd(ctx, data)
	}
}
