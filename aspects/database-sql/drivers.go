package dbsql

// The drivers without an integration of their own: PostgreSQL's (pgx's
// stdlib, lib/pq) and SQLite's (mattn/go-sqlite3, modernc.org/sqlite). Their
// data source names are read here, without importing them; an integration of
// one of them may register its own parser instead.
//
// SQLite has no server and the conventions no page of their own for it:
// db.namespace is the database file as the program named it (as
// OpenTelemetry's Python sqlite3 instrumentation does), server.* are unset.

import (
	"database/sql/driver"
	"path"
	"reflect"
	"strconv"

	"overlay-gen.invalid/dbsql/dsn"
)

func init() {
	for _, pkg := range []string{"github.com/jackc/pgx/v5/stdlib", "github.com/jackc/pgx/v4/stdlib", "github.com/lib/pq"} {
		RegisterDSN(pkg, dsn.Postgres)
	}
	for _, pkg := range []string{"github.com/jackc/pgx/v5/stdlib", "github.com/jackc/pgx/v4/stdlib"} {
		RegisterConnector(pkg, pgxConnector)
	}
	for _, pkg := range []string{"github.com/mattn/go-sqlite3", "modernc.org/sqlite"} {
		RegisterDSN(pkg, func(s string) (string, int, string) { return "", 0, dsn.SQLite(s) })
	}
}

// pgxConnector reads the connector stdlib.GetConnector makes of a
// pgx.ConnConfig: the struct embeds it, and so pgconn.Config's Host, Port and
// Database (exported fields, read without importing pgx).
func pgxConnector(c driver.Connector) (host string, port int, database string) {
	v := reflect.ValueOf(c)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return "", 0, ""
	}
	field := func(name string, kind ...reflect.Kind) reflect.Value {
		f := v.FieldByName(name)
		for _, k := range kind {
			if f.IsValid() && f.Kind() == k {
				return f
			}
		}
		return reflect.Value{}
	}
	if f := field("Database", reflect.String); f.IsValid() {
		database = f.String()
	}
	if f := field("Host", reflect.String); f.IsValid() && f.String() != "" {
		host = f.String()
		if p := field("Port", reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint); p.IsValid() {
			port = int(p.Uint())
		}
		if host[0] == '/' { // a Unix socket's directory, as for a DSN
			if port == 0 {
				port = dsn.PostgresPort
			}
			host, port = path.Join(host, ".s.PGSQL."+strconv.Itoa(port)), 0
		}
	}
	return host, port, database
}
