// Package gormtrace traces the statements gorm runs: one CLIENT span per
// Create, Query (First, Find, Take, Pluck, Count...), Update, Delete, Row
// (Row, Rows, Scan) and Raw (Exec) operation of every *gorm.DB a program
// opens, with the current database semantic conventions.
//
// The gorm integration's aspect wraps every gorm.Open call with Instrument,
// which registers this package's gorm plugin on the new DB: a callback just
// before each of gorm's statement callbacks (gorm:create, gorm:query,
// gorm:update, gorm:delete, gorm:row, gorm:raw) starts the span, one just
// after it ends it. The span covers the one statement gorm builds and sends,
// nothing else: the statements gorm runs for associations and preloads, and
// the ones a model's hooks (BeforeCreate, AfterFind...) run, are spans of
// their own beside it, and the COMMIT of gorm's default transaction is not
// inside it.
//
// The span starts from the statement's context (db.WithContext), else from
// the goroutine's active span (otelrt.Parent), and gorm hands the context
// holding it to database/sql: the database/sql span beneath (and the driver's
// beneath that) is not recorded, since the runtime records one CLIENT span
// per logical call. gorm runs BEGIN, COMMIT and ROLLBACK outside its
// callbacks, directly on database/sql (Begin, Commit, Transaction, and the
// default transaction around each write): their spans are database/sql's,
// children of the same context. Savepoints (nested Transaction, SavePoint)
// are statements gorm executes: spans of this package.
//
// Named "{db.operation.name} {db.collection.name}" ("SELECT users", "INSERT
// orders") through sqlquery, from the SQL gorm built, with:
//
//   - db.system.name (postgresql, sqlite, mysql... from the dialector's name),
//     db.namespace (the database the DSN names; for SQLite, the database file
//     as the DSN names it), server.address and server.port (PostgreSQL: the
//     first host the DSN names; its port if the DSN names one), known when
//     the span starts;
//   - db.operation.name, db.collection.name (the table the statement names,
//     else gorm's Statement.Table, except for Exec's SQL, which the program
//     wrote), db.query.text (gorm's statement with its placeholders, $1 or ?:
//     never the values, which gorm keeps apart in Statement.Vars and only its
//     logger and Explain inline), db.response.returned_rows (the rows a Query
//     operation read), once gorm has built the statement: a span starts with
//     the name the operation would have ("DELETE users"; a soft delete turns
//     out to be "UPDATE users").
//
// An error sets the status Error with error.type (PostgreSQL: the SQLSTATE,
// also db.response.status_code; otherwise the error's Go type) and records an
// exception event. gorm.ErrRecordNotFound is not an error of the span: the
// query ran and found nothing, which First, Take and Last report as an error
// and Find does not.
//
// The rows affected by a write have no attribute in the current conventions
// (db.response.returned_rows counts rows returned): they are not recorded.
//
// Why not gorm.io/plugin/opentelemetry, gorm's authors' plugin: its callback
// that ends a span is registered After("gorm:create"), which gorm places at
// the end of the chain, after associations, preloads, the model's hooks and
// the default transaction's COMMIT, so that under the runtime's one CLIENT
// span per call the statements of associations and preloads would not be
// recorded at all; its current release (v0.1.16) also imports the ClickHouse,
// MySQL and PostgreSQL drivers (every gorm program would link all three and
// get gorm >= v1.25.10), and its earlier ones (v0.1.8) leave the span in the
// statement's context after the operation and record semconv v1.10 names.
//
// It only exists under overlay-gen's overlay.
package gormtrace

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"overlay-gen.invalid/otelrt"
	"overlay-gen.invalid/otelrt/sqlquery"
)

// ScopeName is the instrumentation scope of gorm's spans.
const ScopeName = "overlay-gen/gorm"

var tracer = otel.Tracer(ScopeName)

// Instrument makes the DB gorm.Open returned trace its statements, and
// returns Open's results as they are. A DB whose Config already holds the
// plugin (a Config used for two Opens: gorm initialises its plugins again)
// is left as it is.
func Instrument(db *gorm.DB, err error) (*gorm.DB, error) {
	if err == nil && db != nil {
		// An error here can only be gorm's callback sorting refusing the
		// order a program's own callbacks ask for: the DB works untraced.
		_ = db.Use(plugin{})
	}
	return db, err
}

// PluginName is the name the plugin has in gorm's Config.Plugins.
const PluginName = "overlay-gen:tracing"

type plugin struct{}

func (plugin) Name() string { return PluginName }

// kind is one of gorm's callback processors.
type kind struct {
	name      string // the processor, and its statement callback: "create" for gorm:create
	operation string // the operation its statement usually is, before gorm builds it
}

var (
	create = kind{"create", "INSERT"}
	query  = kind{"query", "SELECT"}
	update = kind{"update", "UPDATE"}
	remove = kind{"delete", "DELETE"}
	row    = kind{"row", ""}
	raw    = kind{"raw", ""}
)

// Initialize registers the callbacks. Each span ends right after the
// statement's callback, before the next of gorm's own: After alone would put
// it at the end of the chain.
func (plugin) Initialize(db *gorm.DB) error {
	connection := connectionAttributes(db.Dialector)
	c := db.Callback()
	return errors.Join(
		c.Create().Before("gorm:create").Register("overlay-gen:before_create", start(create, connection)),
		c.Create().After("gorm:create").Before("gorm:save_after_associations").Register("overlay-gen:after_create", end(create)),
		c.Query().Before("gorm:query").Register("overlay-gen:before_query", start(query, connection)),
		c.Query().After("gorm:query").Before("gorm:preload").Register("overlay-gen:after_query", end(query)),
		c.Update().Before("gorm:update").Register("overlay-gen:before_update", start(update, connection)),
		c.Update().After("gorm:update").Before("gorm:save_after_associations").Register("overlay-gen:after_update", end(update)),
		c.Delete().Before("gorm:delete").Register("overlay-gen:before_delete", start(remove, connection)),
		c.Delete().After("gorm:delete").Before("gorm:after_delete").Register("overlay-gen:after_delete", end(remove)),
		c.Row().Before("gorm:row").Register("overlay-gen:before_row", start(row, connection)),
		c.Row().After("gorm:row").Register("overlay-gen:after_row", end(row)),
		c.Raw().Before("gorm:raw").Register("overlay-gen:before_raw", start(raw, connection)),
		c.Raw().After("gorm:raw").Register("overlay-gen:after_raw", end(raw)),
	)
}

// operationKey is the context key of the operation a statement's span traces.
type operationKey struct{}

// operation is one statement's span, kept in the statement's context between
// its two callbacks.
type operation struct {
	statement *gorm.Statement
	parent    context.Context // the statement's context before, put back at the end
	span      trace.Span
}

func start(k kind, connection []attribute.KeyValue) func(*gorm.DB) {
	return func(tx *gorm.DB) {
		stmt := tx.Statement
		if tx.Error != nil || tx.DryRun || stmt == nil {
			return // nothing will be sent
		}
		ctx := otelrt.Parent(stmt.Context)
		if otelrt.InClientSpan(ctx) {
			return // inside a CLIENT span already: this one would not be recorded
		}
		// Before gorm builds the statement, Raw's and Row's SQL may be there
		// (db.Exec, db.Raw), and the others' table is (gorm parsed the model).
		summary := summarize(k, stmt)
		attrs := append(make([]attribute.KeyValue, 0, len(connection)+2), connection...)
		attrs = append(attrs, summaryAttributes(k, stmt, summary)...)
		spanCtx, span := tracer.Start(ctx, summary.SpanName("gorm."+k.name),
			trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
		stmt.Context = context.WithValue(spanCtx, operationKey{}, &operation{statement: stmt, parent: stmt.Context, span: span})
	}
}

func end(k kind) func(*gorm.DB) {
	return func(tx *gorm.DB) {
		stmt := tx.Statement
		if stmt == nil || stmt.Context == nil {
			return
		}
		op, ok := stmt.Context.Value(operationKey{}).(*operation)
		if !ok || op.statement != stmt {
			return // no span of this statement: an outer statement's, if any
		}
		stmt.Context = op.parent
		span := op.span
		defer span.End()

		text := stmt.SQL.String()
		summary := summarize(k, stmt)
		span.SetName(summary.SpanName("gorm." + k.name))
		attrs := summaryAttributes(k, stmt, summary)
		if text != "" {
			attrs = append(attrs, semconv.DBQueryText(text))
		}
		err := tx.Error
		failed := err != nil && !errors.Is(err, gorm.ErrRecordNotFound)
		if k == query && !failed && stmt.RowsAffected >= 0 {
			attrs = append(attrs, semconv.DBResponseReturnedRows(int(stmt.RowsAffected)))
		}
		span.SetAttributes(attrs...)
		if failed {
			span.SetAttributes(errorAttributes(err)...)
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
	}
}

// summarize is what a statement does: its SQL's operation and table, else
// its kind's operation and gorm's Statement.Table (but for Exec, whose SQL
// the program wrote: a table the program's model names may not be the one
// it names).
func summarize(k kind, stmt *gorm.Statement) sqlquery.Summary {
	summary := sqlquery.Summarize(stmt.SQL.String())
	if summary.Operation == "" {
		summary.Operation = k.operation
	}
	if summary.Table == "" && k != raw {
		summary.Table = stmt.Table
	}
	return summary
}

// summaryAttributes are db.operation.name, db.query.summary (what the span is
// named: "SELECT users") and db.collection.name, as far as they are known. The
// collection is the table gorm itself names (the model's, Statement.Table),
// never one read from the SQL, which may name several; Exec's and Raw's SQL
// is the program's, so their model's table may not be the one they use.
func summaryAttributes(k kind, stmt *gorm.Statement, s sqlquery.Summary) []attribute.KeyValue {
	var attrs []attribute.KeyValue
	if s.Operation != "" {
		attrs = append(attrs, semconv.DBOperationName(s.Operation))
	}
	if text := s.String(); text != "" {
		attrs = append(attrs, semconv.DBQuerySummary(text))
	}
	if k != raw && stmt.Table != "" {
		attrs = append(attrs, semconv.DBCollectionName(stmt.Table))
	}
	return attrs
}

// errorAttributes are error.type and, for an error PostgreSQL answered (pgx's
// *pgconn.PgError, lib/pq's *pq.Error), db.response.status_code: the SQLSTATE.
// Other errors' error.type is their Go type.
func errorAttributes(err error) []attribute.KeyValue {
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		if code := coded.SQLState(); code != "" {
			return []attribute.KeyValue{semconv.DBResponseStatusCode(code), semconv.ErrorTypeKey.String(code)}
		}
	}
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(reflect.TypeOf(err).String())}
}

// --- the connection --------------------------------------------------------------------

// systems are db.system.name by gorm dialector name.
var systems = map[string]string{
	"postgres":   "postgresql",
	"sqlite":     "sqlite",
	"sqlite3":    "sqlite",
	"mysql":      "mysql",
	"sqlserver":  "microsoft.sql_server",
	"clickhouse": "clickhouse",
	"spanner":    "gcp.spanner",
}

// connectionAttributes are the attributes every span of one DB has, from its
// dialector: db.system.name and what its DSN names (never the DSN itself,
// which may hold a password). A dialector given a connection (Conn) rather
// than a DSN says nothing of it.
func connectionAttributes(d gorm.Dialector) []attribute.KeyValue {
	if d == nil {
		return nil
	}
	name := d.Name()
	system, ok := systems[name]
	if !ok {
		system = "other_sql"
	}
	attrs := []attribute.KeyValue{semconv.DBSystemNameKey.String(system)}
	dsn := stringField(d, "DSN")
	switch system {
	case "postgresql":
		attrs = append(attrs, postgresAttributes(dsn)...)
	case "sqlite":
		if file := sqliteFile(dsn); file != "" {
			attrs = append(attrs, semconv.DBNamespace(file))
		}
	}
	return attrs
}

// stringField is the string field name of the dialector (a struct or a
// pointer to one, maybe through an embedded *Config), or "". gorm's drivers
// keep their DSN there and offer no method that returns it.
func stringField(d any, name string) string {
	v := reflect.ValueOf(d)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return ""
	}
	field, ok := v.Type().FieldByName(name)
	if !ok {
		return ""
	}
	f, err := v.FieldByIndexErr(field.Index)
	if err != nil || f.Kind() != reflect.String {
		return ""
	}
	return f.String()
}

// postgresAttributes are db.namespace, server.address and server.port from a
// PostgreSQL connection string, a URL (postgres://user@host:port/db?...) or
// keyword/value pairs (host=... port=... dbname=...). The namespace is the
// database, qualified by the schema when the DSN sets search_path.
func postgresAttributes(dsn string) []attribute.KeyValue {
	settings := postgresSettings(dsn)
	var attrs []attribute.KeyValue
	if db := settings["dbname"]; db != "" {
		if schema, _, _ := strings.Cut(settings["search_path"], ","); strings.TrimSpace(schema) != "" {
			db += "." + strings.TrimSpace(schema)
		}
		attrs = append(attrs, semconv.DBNamespace(db))
	}
	host, _, _ := strings.Cut(settings["host"], ",") // the first of several hosts
	port, _, _ := strings.Cut(settings["port"], ",")
	if host == "" {
		return attrs
	}
	attrs = append(attrs, semconv.ServerAddress(host))
	if n, err := strconv.Atoi(port); err == nil && n > 0 && !strings.HasPrefix(host, "/") {
		attrs = append(attrs, semconv.ServerPort(n))
	}
	return attrs
}

// postgresSettings reads host, port, dbname and search_path from a DSN.
func postgresSettings(dsn string) map[string]string {
	settings := map[string]string{}
	dsn = strings.TrimSpace(dsn)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return settings
		}
		first, _, _ := strings.Cut(u.Host, ",") // the first of several hosts
		host := &url.URL{Host: first}
		settings["host"], settings["port"] = host.Hostname(), host.Port()
		settings["dbname"] = strings.TrimPrefix(u.Path, "/")
		for _, key := range []string{"host", "port", "dbname", "search_path"} {
			if v := u.Query().Get(key); v != "" {
				settings[key] = v
			}
		}
		if opts := u.Query().Get("options"); opts != "" {
			readSearchPath(opts, settings)
		}
		return settings
	}
	for _, pair := range keywordPairs(dsn) {
		switch pair[0] {
		case "host", "port", "dbname", "search_path":
			settings[pair[0]] = pair[1]
		case "options":
			readSearchPath(pair[1], settings)
		}
	}
	return settings
}

// readSearchPath reads "-c search_path=x" from libpq's options.
func readSearchPath(options string, settings map[string]string) {
	for _, field := range strings.Fields(options) {
		if v, ok := strings.CutPrefix(field, "search_path="); ok {
			settings["search_path"] = v
		}
	}
}

// keywordPairs splits "host=h port=5432 password='a b'" into its pairs,
// values unquoted.
func keywordPairs(dsn string) [][2]string {
	var pairs [][2]string
	s := dsn
	for {
		s = strings.TrimLeft(s, " \t\n")
		key, rest, ok := strings.Cut(s, "=")
		if !ok {
			return pairs
		}
		key = strings.TrimSpace(key)
		rest = strings.TrimLeft(rest, " ")
		var value strings.Builder
		if strings.HasPrefix(rest, "'") {
			i := 1
			for ; i < len(rest) && rest[i] != '\''; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				value.WriteByte(rest[i])
			}
			s = rest[min(i+1, len(rest)):]
		} else {
			end := strings.IndexAny(rest, " \t\n")
			if end < 0 {
				end = len(rest)
			}
			value.WriteString(rest[:end])
			s = rest[end:]
		}
		pairs = append(pairs, [2]string{key, value.String()})
	}
}

// sqliteFile is the database file a SQLite DSN names ("app.db",
// "file:app.db?cache=shared"), or "" for an in-memory database.
func sqliteFile(dsn string) string {
	file := strings.TrimPrefix(dsn, "file:")
	file, _, _ = strings.Cut(file, "?")
	if file == "" || file == ":memory:" || strings.Contains(dsn, "mode=memory") {
		return ""
	}
	return file
}
