package sqlquery

import "testing"

func TestSummarize(t *testing.T) {
	for _, c := range []struct{ query, operation, table string }{
		{"SELECT id, total FROM orders WHERE id = $1", "SELECT", "orders"},
		{"select * from shop.orders o join items i on i.order_id = o.id", "SELECT", "shop.orders"},
		{`SELECT "id" FROM "Orders"`, "SELECT", "Orders"},
		{"SELECT `id` FROM `orders`", "SELECT", "orders"},
		{"SELECT (SELECT max(id) FROM items) FROM orders", "SELECT", "orders"},
		{"SELECT * FROM (SELECT 1) AS t", "SELECT", ""},
		{"SELECT 1", "SELECT", ""},
		{"  -- the total\n/* hint */ INSERT INTO orders (id) VALUES (?)", "INSERT", "orders"},
		{"UPDATE ONLY orders SET total = 0", "UPDATE", "orders"},
		{"DELETE FROM orders WHERE id = 'FROM x'", "DELETE", "orders"},
		{"CREATE TABLE IF NOT EXISTS orders (id int)", "CREATE", "orders"},
		{"CREATE INDEX orders_id ON orders (id)", "CREATE", ""},
		{"DROP TABLE orders", "DROP", "orders"},
		{"TRUNCATE TABLE orders", "TRUNCATE", "orders"},
		{"COPY orders (id) FROM STDIN", "COPY", "orders"},
		{"BEGIN", "BEGIN", ""},
		{"WITH recent AS (SELECT * FROM orders) SELECT * FROM recent", "WITH", ""},
		{"", "", ""},
		{"'quoted' FROM x", "", ""},
		{"SELECT * FROM", "SELECT", ""},
		{"SELECT * FROM 'orders'", "SELECT", ""},
	} {
		got := Summarize(c.query)
		if got.Operation != c.operation || got.Table != c.table {
			t.Errorf("Summarize(%q) = %q %q, want %q %q", c.query, got.Operation, got.Table, c.operation, c.table)
		}
	}
}

func TestSpanName(t *testing.T) {
	if got := Summarize("SELECT * FROM orders").SpanName("x"); got != "SELECT orders" {
		t.Error(got)
	}
	if got := Summarize("BEGIN").SpanName("x"); got != "BEGIN" {
		t.Error(got)
	}
	if got := Summarize("").SpanName("pgx.query"); got != "pgx.query" {
		t.Error(got)
	}
}
