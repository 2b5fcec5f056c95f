// Package dbsql connects database/sql, as overlay-gen rewrites it, to
// OpenTelemetry: every query, execution, prepared statement and transaction
// step of every driver is a CLIENT span, child of the context the caller
// passed (else of the goroutine's active span), with the database semantic conventions' attributes
// (db.system.name from the driver, db.operation.name, db.query.text) and the
// operation's error.
//
// overlay-gen links this package into programs that use database/sql; it
// only exists under overlay-gen's overlay.
package dbsql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
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

func start(ctx context.Context, d driver.Driver, method, query string) (context.Context, func(error)) {
	// A caller without a span in its context (gorm's transactions, code
	// passing context.Background()) still nests under its goroutine's span.
	ctx = otelrt.Parent(ctx)
	operation := operations[method]
	if operation == "" {
		operation = firstWord(query)
	}
	attrs := []attribute.KeyValue{semconv.DBSystemNameKey.String(system(d))}
	if operation != "" {
		attrs = append(attrs, semconv.DBOperationName(operation))
	}
	if query != "" {
		attrs = append(attrs, semconv.DBQueryText(query))
	}
	name := operation
	if name == "" {
		name = "database/sql " + method
	}
	ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx, func(err error) {
		// Rollback after Commit (the usual deferred Rollback) is not a failure.
		if err != nil && !(method == "Rollback" && errors.Is(err, sql.ErrTxDone)) {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			span.SetAttributes(semconv.ErrorTypeKey.String(reflect.TypeOf(err).String()))
		}
		span.End()
	}
}

// firstWord is a statement's operation: its first keyword, upper-cased.
func firstWord(query string) string {
	fields := strings.Fields(query)
	if len(fields) == 0 {
		return ""
	}
	return strings.ToUpper(strings.TrimRight(fields[0], ";("))
}

// system is db.system.name, told from the driver's package.
func system(d driver.Driver) string {
	if d == nil {
		return "other_sql"
	}
	t := reflect.TypeOf(d)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pkg := t.PkgPath()
	switch {
	case strings.Contains(pkg, "jackc/pgx"), strings.Contains(pkg, "lib/pq"):
		return "postgresql"
	case strings.Contains(pkg, "go-sql-driver/mysql"):
		return "mysql"
	case strings.Contains(pkg, "sqlite"):
		return "sqlite"
	case strings.Contains(pkg, "mssql"):
		return "microsoft.sql_server"
	}
	return "other_sql"
}
