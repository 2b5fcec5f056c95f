package dbsql

// What a DB's spans say of its connection, and the per-driver registry it is
// told by. A driver is known by the package its driver.Driver type is
// declared in (its import path: "github.com/go-sql-driver/mysql"), a
// connector by its type's package, so that a driver registered under another
// name (sql.Register("pg", ...)) is still known.

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

var (
	registry   sync.RWMutex
	dsnParsers = map[string]func(string) (string, int, string){}
	connectors = map[string]func(driver.Connector) (string, int, string){}
	errorCodes = map[string]func(error) string{}
)

// RegisterDSN makes parse read the data source names of the DBs opened
// (sql.Open) with a driver of package pkg: it returns where the database is,
// the server's host name or address (a Unix socket's path) and port (0:
// none), and the database's name (db.namespace), each left empty where the
// DSN does not say. It must never return anything else of the DSN (a
// password, a parameter), and should not fail: what it cannot read, it
// leaves out (a panic is taken for that too). A later registration for the
// same package replaces the earlier one.
func RegisterDSN(pkg string, parse func(dsn string) (host string, port int, database string)) {
	registry.Lock()
	defer registry.Unlock()
	dsnParsers[pkg] = parse
}

// RegisterConnector makes read tell, as parse does for RegisterDSN, where
// the database of a DB made by sql.OpenDB with a connector of package pkg is
// (database/sql sees no data source name then).
func RegisterConnector(pkg string, read func(c driver.Connector) (host string, port int, database string)) {
	registry.Lock()
	defer registry.Unlock()
	connectors[pkg] = read
}

// RegisterErrorCode makes code give db.response.status_code for the errors
// of the driver of package pkg: the database's code for an error it
// answered, "" for others. Without one, an error with a SQLState() string
// method (pgx's, lib/pq's) gives its SQLSTATE.
func RegisterErrorCode(pkg string, code func(error) string) {
	registry.Lock()
	defer registry.Unlock()
	errorCodes[pkg] = code
}

// connection is what every span of one DB says of it.
type connection struct {
	system string
	attrs  []attribute.KeyValue // db.system.name, db.namespace, server.address, server.port
	code   func(error) string   // the driver's registered error codes, or nil
}

var unknown = &connection{system: "other_sql", attrs: []attribute.KeyValue{semconv.DBSystemNameKey.String("other_sql")}}

// describe is db's connection, computed on its first span.
func describe(db *sql.DB) *connection {
	if db == nil {
		return unknown
	}
	conn, _ := sql.OverlayGenDescribe(db, func(dsn string, c driver.Connector) any { return newConnection(dsn, c) }).(*connection)
	if conn == nil {
		return unknown
	}
	return conn
}

func newConnection(dsn string, c driver.Connector) *connection {
	if c == nil {
		return unknown
	}
	pkg := packageOf(c.Driver())
	conn := &connection{system: system(pkg)}
	registry.RLock()
	parse, read := dsnParsers[pkg], connectors[packageOf(c)]
	conn.code = errorCodes[pkg]
	registry.RUnlock()
	var host, database string
	var port int
	switch {
	case dsn != "" && parse != nil:
		safely(func() { host, port, database = parse(dsn) })
	case dsn == "" && read != nil:
		safely(func() { host, port, database = read(c) })
	}
	conn.attrs = append(conn.attrs, semconv.DBSystemNameKey.String(conn.system))
	if database != "" {
		conn.attrs = append(conn.attrs, semconv.DBNamespace(database))
	}
	if host != "" {
		conn.attrs = append(conn.attrs, semconv.ServerAddress(host))
		if port > 0 {
			conn.attrs = append(conn.attrs, semconv.ServerPort(port))
		}
	}
	return conn
}

// statusCode is db.response.status_code of an operation's error, or "".
func (c *connection) statusCode(err error) (code string) {
	if c.code != nil {
		safely(func() { code = c.code(err) })
		return code
	}
	var state interface{ SQLState() string }
	if errors.As(err, &state) {
		safely(func() { code = state.SQLState() })
	}
	return code
}

// safely runs f, taking a panic for "nothing found": a registered function
// that reads a driver's internals must not bring the program down when a
// release changes them.
func safely(f func()) {
	defer func() { _ = recover() }()
	f()
}

// packageOf is the import path of the package x's type is declared in.
func packageOf(x any) string {
	t := reflect.TypeOf(x)
	if t == nil {
		return ""
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}

// system is db.system.name, told from the driver's package.
func system(pkg string) string {
	switch {
	case strings.Contains(pkg, "jackc/pgx"), strings.Contains(pkg, "lib/pq"):
		return "postgresql"
	case strings.Contains(pkg, "go-sql-driver/mysql"):
		// MariaDB servers too: the driver does not tell them apart before
		// connecting (the conventions have "mariadb" for them).
		return "mysql"
	case strings.Contains(pkg, "sqlite"):
		return "sqlite"
	case strings.Contains(pkg, "mssql"):
		return "microsoft.sql_server"
	}
	return "other_sql"
}
