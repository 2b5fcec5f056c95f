package dsn

import "testing"

func TestPostgres(t *testing.T) {
	for _, c := range []struct {
		dsn, host string
		port      int
		database  string
	}{
		{"postgres://postgres:s3cret@127.0.0.1:5433/shop?sslmode=disable", "127.0.0.1", 5433, "shop"},
		{"postgresql://db.internal/shop", "db.internal", 5432, "shop"},
		{"postgres://[::1]:6000/shop", "::1", 6000, "shop"},
		{"postgres://user@/shop?host=/var/run/postgresql", "/var/run/postgresql/.s.PGSQL.5432", 0, "shop"},
		{"postgres://user@db.internal?dbname=shop&port=7000", "db.internal", 7000, "shop"},
		{"postgres://a:5432,b:5432/shop", "", 0, "shop"},
		{"postgres:///shop", "", 0, "shop"},
		{"host=db.internal port=5434 dbname=shop user=u password=s3cret", "db.internal", 5434, "shop"},
		{"host = db.internal dbname = 'my shop' password='a \\' b'", "db.internal", 5432, "my shop"},
		{"hostaddr=10.0.0.1 dbname=shop", "10.0.0.1", 5432, "shop"},
		{"host=/tmp port=5439", "/tmp/.s.PGSQL.5439", 0, ""},
		{"host=a,b dbname=shop", "", 0, "shop"},
		{"host=db.internal port=x", "", 0, ""},
		{"", "", 0, ""},
		{"postgres://%zz", "", 0, ""},
		{"garbage", "", 0, ""},
	} {
		host, port, database := Postgres(c.dsn)
		if host != c.host || port != c.port || database != c.database {
			t.Errorf("Postgres(%q) = %q %d %q, want %q %d %q", c.dsn, host, port, database, c.host, c.port, c.database)
		}
	}
}

func TestSQLite(t *testing.T) {
	for _, c := range []struct{ dsn, file string }{
		{"shop.db", "shop.db"},
		{"/var/lib/app/shop.db?_busy_timeout=5000", "/var/lib/app/shop.db"},
		{"file:shop.db?cache=shared&mode=rwc", "shop.db"},
		{"file:///var/lib/app/my%20shop.db", "/var/lib/app/my shop.db"},
		{"file://localhost/var/lib/shop.db#x", "/var/lib/shop.db"},
		{":memory:", ":memory:"},
		{"file::memory:?cache=shared", ":memory:"},
		{"file://nohost", ""},
		{"", ""},
	} {
		if got := SQLite(c.dsn); got != c.file {
			t.Errorf("SQLite(%q) = %q, want %q", c.dsn, got, c.file)
		}
	}
}
