package mongoquery

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func TestSpanNamesAndServers(t *testing.T) {
	for _, c := range []struct {
		command, database, collection, connection string
		name                                      string
		server                                    []attribute.KeyValue
	}{
		{"find", "shop", "orders", "db.internal:27017[-3]", "find orders",
			[]attribute.KeyValue{attribute.String("server.address", "db.internal"), attribute.Int("server.port", 27017)}},
		{"ping", "admin", "", "[::1]:27018[-1]", "ping admin",
			[]attribute.KeyValue{attribute.String("server.address", "::1"), attribute.Int("server.port", 27018)}},
		{"find", "shop", "orders", "db.internal[-3]", "find orders",
			[]attribute.KeyValue{attribute.String("server.address", "db.internal"), attribute.Int("server.port", 27017)}},
		{"find", "shop", "orders", "/tmp/mongodb-27017.sock[-2]", "find orders",
			[]attribute.KeyValue{attribute.String("server.address", "/tmp/mongodb-27017.sock")}},
		{"endSessions", "", "", "", "endSessions", nil},
	} {
		name, attrs := Command(c.command, c.database, c.collection, c.connection)
		if name != c.name {
			t.Errorf("name %q, want %q", name, c.name)
		}
		got := map[attribute.Key]attribute.Value{}
		for _, kv := range attrs {
			got[kv.Key] = kv.Value
		}
		if _, ok := got["server.port"]; ok != (len(c.server) == 2) {
			t.Errorf("%s: server.port %v", c.connection, got)
		}
		if _, ok := got["server.address"]; ok != (len(c.server) > 0) {
			t.Errorf("%s: server.address %v", c.connection, got)
		}
		for _, kv := range c.server {
			if got[kv.Key] != kv.Value {
				t.Errorf("%s: %s = %v, want %v", c.connection, kv.Key, got[kv.Key].Emit(), kv.Value.Emit())
			}
		}
		if got["db.system.name"].AsString() != "mongodb" || got["db.operation.name"].AsString() != c.command ||
			got["db.namespace"].AsString() != c.database || got["db.collection.name"].AsString() != c.collection {
			t.Errorf("attributes %v", attrs)
		}
	}
}

func TestFailuresQuoteNoServerMessage(t *testing.T) {
	for _, c := range []struct {
		code, name, what string
		want             Failure
	}{
		{"11000", "", "write error", Failure{Code: "11000", Kind: "11000", Description: "write error 11000"}},
		{"64", "WriteConcernFailed", "write concern error", Failure{Code: "64", Kind: "64", Description: "WriteConcernFailed"}},
		{"", "BadValue", "error", Failure{Kind: "BadValue", Description: "BadValue"}},
		{"", "", "write error", Failure{Kind: "_OTHER", Description: "write error"}},
		{"2", "not a name: s3cret", "error", Failure{Code: "2", Kind: "2", Description: "error 2"}},
	} {
		if got := Coded(c.code, c.name, c.what); got != c.want {
			t.Errorf("Coded(%q, %q, %q) = %+v, want %+v", c.code, c.name, c.what, got, c.want)
		}
	}
	attrs := Coded("11000", "DuplicateKey", "write error").Attributes()
	if len(attrs) != 2 || attrs[0] != attribute.String("db.response.status_code", "11000") || attrs[1] != attribute.String("error.type", "11000") {
		t.Errorf("attributes of a coded failure: %v", attrs)
	}
	if attrs := Other("failed").Attributes(); len(attrs) != 1 || attrs[0] != attribute.String("error.type", "_OTHER") {
		t.Errorf("attributes of a failure without a code: %v", attrs)
	}
}
