package gormtrace

import (
	"errors"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"gorm.io/gorm"
)

// dialector stands for a gorm driver's: its DSN in a field, maybe through an
// embedded *Config (gorm.io/driver/postgres), maybe directly (sqlite).
type dialector struct {
	gorm.Dialector
	name string
	*Config
}

type Config struct{ DSN string }

func (d dialector) Name() string { return d.name }

type sqliteDialector struct {
	gorm.Dialector
	DriverName string
	DSN        string
}

func (sqliteDialector) Name() string { return "sqlite" }

func attrs(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func TestPostgresConnectionAttributes(t *testing.T) {
	for _, c := range []struct {
		dsn  string
		want map[string]any
	}{
		{"host=db.internal port=5432 user=app password='a b=c' dbname=shop sslmode=disable", map[string]any{
			"db.system.name": "postgresql", "db.namespace": "shop", "server.address": "db.internal", "server.port": int64(5432),
		}},
		{"postgres://app:secret@10.0.0.7:6432/orders?sslmode=disable&search_path=sales,public", map[string]any{
			"db.system.name": "postgresql", "db.namespace": "orders.sales", "server.address": "10.0.0.7", "server.port": int64(6432),
		}},
		{"postgresql://[::1]/shop", map[string]any{
			"db.system.name": "postgresql", "db.namespace": "shop", "server.address": "::1",
		}},
		{"host=/var/run/postgresql port=5432 dbname=shop options='-c search_path=inventory'", map[string]any{
			"db.system.name": "postgresql", "db.namespace": "shop.inventory", "server.address": "/var/run/postgresql",
		}},
		{"host=a,b port=5432,5433 dbname=shop", map[string]any{
			"db.system.name": "postgresql", "db.namespace": "shop", "server.address": "a", "server.port": int64(5432),
		}},
		{"", map[string]any{"db.system.name": "postgresql"}}, // a Conn, no DSN
		{"postgres://h1:5433,h2:5432/shop", map[string]any{
			"db.system.name": "postgresql", "db.namespace": "shop", "server.address": "h1", "server.port": int64(5433),
		}},
		{"postgres://%zz", map[string]any{"db.system.name": "postgresql"}},
	} {
		got := attrs(connectionAttributes(dialector{name: "postgres", Config: &Config{DSN: c.dsn}}))
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%q: %v, want %v", c.dsn, got, c.want)
		}
		for _, kv := range got {
			if s, ok := kv.(string); ok && (s == "secret" || s == "a b=c") {
				t.Errorf("%q: a password is recorded: %v", c.dsn, got)
			}
		}
	}
}

func TestOtherConnectionAttributes(t *testing.T) {
	for _, c := range []struct {
		d    gorm.Dialector
		want map[string]any
	}{
		{sqliteDialector{DSN: "library.db"}, map[string]any{"db.system.name": "sqlite", "db.namespace": "library.db"}},
		{sqliteDialector{DSN: "file:/data/app.db?cache=shared&_fk=1"}, map[string]any{"db.system.name": "sqlite", "db.namespace": "/data/app.db"}},
		{sqliteDialector{DSN: ":memory:"}, map[string]any{"db.system.name": "sqlite"}},
		{sqliteDialector{DSN: "file:test?mode=memory&cache=shared"}, map[string]any{"db.system.name": "sqlite"}},
		{dialector{name: "mysql", Config: &Config{DSN: "user:pw@tcp(db:3306)/shop"}}, map[string]any{"db.system.name": "mysql"}},
		{dialector{name: "somedb"}, map[string]any{"db.system.name": "other_sql"}}, // nil *Config
		{nil, map[string]any{}},
	} {
		if got := attrs(connectionAttributes(c.d)); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%#v: %v, want %v", c.d, got, c.want)
		}
	}
}

type pgError struct{ code string }

func (e *pgError) Error() string    { return "ERROR: boom (SQLSTATE " + e.code + ")" }
func (e *pgError) SQLState() string { return e.code }

func TestErrorAttributes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want map[string]any
	}{
		{&pgError{"23505"}, map[string]any{"db.response.status_code": "23505", "error.type": "23505"}},
		{fmt.Errorf("create: %w", &pgError{"40001"}), map[string]any{"db.response.status_code": "40001", "error.type": "40001"}},
		{errors.New("UNIQUE constraint failed"), map[string]any{"error.type": "*errors.errorString"}},
	} {
		if got := attrs(errorAttributes(c.err)); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%v: %v, want %v", c.err, got, c.want)
		}
	}
}
