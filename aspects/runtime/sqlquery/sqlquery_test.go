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

func TestString(t *testing.T) {
	for _, c := range []struct{ query, summary string }{
		{"SELECT * FROM orders", "SELECT orders"},
		{"insert into shop.orders (id) values (?)", "INSERT shop.orders"},
		{"BEGIN", "BEGIN"},
		{"SELECT * FROM (SELECT 1) AS t", "SELECT"},
		{"", ""},
		{"'quoted' FROM x", ""},
	} {
		if got := Summarize(c.query).String(); got != c.summary {
			t.Errorf("Summarize(%q).String() = %q, want %q", c.query, got, c.summary)
		}
	}
	if got := (Summary{Operation: "PREPARE", Table: "orders"}).String(); got != "PREPARE orders" {
		t.Error(got)
	}
	if got := (Summary{Table: "orders"}).String(); got != "" {
		t.Errorf("a table without an operation: %q", got)
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
