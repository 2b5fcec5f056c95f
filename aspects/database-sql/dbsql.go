// Package dbsql connects database/sql, as overlay-gen rewrites it, to
// OpenTelemetry: every query, execution, prepared statement and transaction
// step of every driver is a CLIENT span, child of the context the caller
// passed (else of the goroutine's active span), with the database semantic
// conventions' name and attributes:
//
//   - the name and db.query.summary "{operation} {table}" ("SELECT
//     orders", "BEGIN"), from sqlquery.Summarize, the summary every SQL
//     integration names spans by; the statement's first keyword alone when
//     it names no table surely; when it says nothing, no db.query.summary and
//     the name db.system.name;
//   - db.system.name, told from the driver's package;
//   - db.namespace, server.address and server.port, read from the data
//     source name the DB was opened with, or from the connector sql.OpenDB
//     was given, by the parser registered for the driver (RegisterDSN,
//     RegisterConnector): this package registers those of the PostgreSQL and
//     SQLite drivers, the integrations of other drivers (mysql) theirs;
//   - db.operation.name and db.query.text (the statement as the program
//     wrote it, parameterised: never the bound values); no
//     db.collection.name, which the conventions ask not to read from the
//     text of SQL, whose statements may name several tables (the table is in
//     the summary);
//   - an error: status Error, an exception event, db.response.status_code
//     (the database's code: SQLSTATE, or what RegisterErrorCode gives) and
//     error.type (that code, else the error's Go type).
//
// A Commit or Rollback of a transaction already ended (the deferred
// tx.Rollback() after Commit) sends nothing to the database and returns
// sql.ErrTxDone: database/sql does not call the hook for it (the injected
// code asks Tx.done), so it has no span.
//
// overlay-gen links this package into programs that use database/sql; it
// only exists under overlay-gen's overlay.
package dbsql

import (
	"context"
	"database/sql"
	"reflect"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
	"overlay-gen.invalid/otelrt/sqlquery"
)

// ScopeName is the instrumentation scope of the database spans.
const ScopeName = "overlay-gen/database/sql"

var tracer = otel.Tracer(ScopeName)

func init() {
	sql.OverlayGenSQL = start
}

// operations names what a method does when its statement does not say.
var operations = map[string]string{
	"PrepareContext": "PREPARE",
	"BeginTx":        "BEGIN",
	"Commit":         "COMMIT",
	"Rollback":       "ROLLBACK",
}

func start(ctx context.Context, db *sql.DB, method, query string) (context.Context, func(error)) {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx = otelrt.Parent(ctx)
	if otelrt.InClientSpan(ctx) {
		// A library above database/sql (gorm) has this operation's span: one
		// started here would not be recorded.
		return ctx, func(error) {}
	}
	conn := describe(db)
	summary := sqlquery.Summarize(query)
	if operation := operations[method]; operation != "" {
		summary.Operation = operation // a prepared statement keeps its table
	}
	attrs := make([]attribute.KeyValue, 0, len(conn.attrs)+3)
	attrs = append(attrs, conn.attrs...)
	if summary.Operation != "" {
		attrs = append(attrs, semconv.DBOperationName(summary.Operation), semconv.DBQuerySummary(summary.String()))
	}
	if query != "" {
		attrs = append(attrs, semconv.DBQueryText(query))
	}
	ctx, span := tracer.Start(ctx, summary.SpanName(conn.system), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			if code := conn.statusCode(err); code != "" {
				span.SetAttributes(semconv.DBResponseStatusCode(code), semconv.ErrorTypeKey.String(code))
			} else {
				span.SetAttributes(semconv.ErrorTypeKey.String(reflect.TypeOf(err).String()))
			}
		}
		span.End()
	}
}
