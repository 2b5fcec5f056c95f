package mongotrace

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.opentelemetry.io/contrib/instrumentation/go.mongodb.org/mongo-driver/mongo/otelmongo"
	"go.opentelemetry.io/otel/attribute"
)

func raw(t *testing.T, doc bson.D) bson.Raw {
	t.Helper()
	b, err := bson.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCollectionIsTheCommandsTarget(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  bson.D
		want string
	}{
		{"find", bson.D{{Key: "find", Value: "orders"}, {Key: "filter", Value: bson.D{{Key: "customer", Value: "s3cret"}}}}, "orders"},
		{"insert", bson.D{{Key: "insert", Value: "orders"}, {Key: "documents", Value: bson.A{"s3cret"}}}, "orders"},
		{"getMore", bson.D{{Key: "getMore", Value: int64(42)}, {Key: "collection", Value: "orders"}}, "orders"},
		{"aggregate", bson.D{{Key: "aggregate", Value: 1}, {Key: "pipeline", Value: bson.A{}}}, ""},
		{"ping", bson.D{{Key: "ping", Value: 1}}, ""},
		{"endSessions", bson.D{{Key: "endSessions", Value: bson.A{}}}, ""},
		{"find", bson.D{{Key: "$db", Value: "shop"}, {Key: "find", Value: "orders"}}, ""}, // not the first field
	} {
		evt := &event.CommandStartedEvent{CommandName: c.name, Command: raw(t, c.doc)}
		if got := collection(evt); got != c.want {
			t.Errorf("collection(%v) = %q, want %q", c.doc, got, c.want)
		}
	}
	if got := collection(&event.CommandStartedEvent{CommandName: "find", Command: bson.Raw{1, 2}}); got != "" {
		t.Errorf("collection of a malformed command = %q", got)
	}
}

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
	} {
		name, attrs := commandAttributes(c.command, c.database, c.collection, c.connection)
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
		for _, kv := range c.server {
			if got[kv.Key] != kv.Value {
				t.Errorf("%s: %s = %v, want %v", c.connection, kv.Key, got[kv.Key].Emit(), kv.Value.Emit())
			}
		}
		if got["db.operation.name"].AsString() != c.command || got["db.namespace"].AsString() != c.database {
			t.Errorf("attributes %v", attrs)
		}
	}
}

func TestFailuresQuoteNoServerMessage(t *testing.T) {
	for _, c := range []struct {
		failure failure
		want    failure
	}{
		{commandFailure("(BadValue) unknown operator: $gtx"), failure{kind: "BadValue", description: "BadValue"}},
		{commandFailure("connection(db:27017[-1]) socket was unexpectedly closed: EOF"),
			failure{kind: "_OTHER", description: "connection(db:27017[-1]) socket was unexpectedly closed: EOF"}},
		{commandFailure("(not a name) x"), failure{kind: "_OTHER", description: "(not a name) x"}},
	} {
		if c.failure != c.want {
			t.Errorf("got %+v, want %+v", c.failure, c.want)
		}
	}
	dup := bson.D{{Key: "index", Value: 0}, {Key: "code", Value: 11000}, {Key: "errmsg", Value: `E11000 duplicate key error dup key: { _id: "s3cret" }`}}
	for _, c := range []struct {
		reply bson.D
		want  failure
		ok    bool
	}{
		{bson.D{{Key: "n", Value: 0}, {Key: "writeErrors", Value: bson.A{dup}}, {Key: "ok", Value: 1.0}},
			failure{code: "11000", kind: "11000", description: "write error 11000"}, true},
		{bson.D{{Key: "n", Value: 1}, {Key: "writeConcernError", Value: bson.D{{Key: "code", Value: 64}, {Key: "codeName", Value: "WriteConcernFailed"}, {Key: "errmsg", Value: "s3cret"}}}},
			failure{code: "64", kind: "64", description: "WriteConcernFailed"}, true},
		{bson.D{{Key: "n", Value: 1}, {Key: "ok", Value: 1.0}}, failure{}, false},
	} {
		got, ok := replyFailure(raw(t, c.reply))
		if got != c.want || ok != c.ok {
			t.Errorf("replyFailure(%v) = %+v, %v; want %+v, %v", c.reply, got, ok, c.want, c.ok)
		}
	}
}

func TestOptionsChainTheProgramsMonitor(t *testing.T) {
	var seen int
	own := &event.CommandMonitor{Started: func(context.Context, *event.CommandStartedEvent) { seen++ }}
	opts := Options([]*options.ClientOptions{options.Client().SetMonitor(own), options.Client().SetAppName("shop")})
	if len(opts) != 3 || opts[2].Monitor == nil || opts[2].Monitor == own {
		t.Fatalf("Options: %v", opts)
	}
	merged := options.MergeClientOptions(opts...)
	merged.Monitor.Started(context.Background(), &event.CommandStartedEvent{CommandName: "ping", Command: raw(t, bson.D{{Key: "ping", Value: 1}})})
	if seen != 1 || merged.AppName == nil || *merged.AppName != "shop" {
		t.Errorf("the program's monitor saw %d events; app name %v", seen, merged.AppName)
	}
	// A program that traces with otelmongo itself keeps its own spans, and only those.
	traced := []*options.ClientOptions{options.Client().SetMonitor(otelmongo.NewMonitor())}
	if got := Options(traced); len(got) != 1 {
		t.Errorf("Options added a monitor to otelmongo's: %v", got)
	}
}
