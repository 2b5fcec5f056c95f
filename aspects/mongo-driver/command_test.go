package mongotrace

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.opentelemetry.io/contrib/instrumentation/go.mongodb.org/mongo-driver/mongo/otelmongo"
	"overlay-gen.invalid/otelrt/mongoquery"
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

func TestFailuresQuoteNoServerMessage(t *testing.T) {
	for _, c := range []struct {
		failure mongoquery.Failure
		want    mongoquery.Failure
	}{
		{commandFailure("(BadValue) unknown operator: $gtx"), mongoquery.Failure{Kind: "BadValue", Description: "BadValue"}},
		{commandFailure("connection(db:27017[-1]) socket was unexpectedly closed: EOF"),
			mongoquery.Failure{Kind: "_OTHER", Description: "connection(db:27017[-1]) socket was unexpectedly closed: EOF"}},
		{commandFailure("(not a name) x"), mongoquery.Failure{Kind: "_OTHER", Description: "(not a name) x"}},
	} {
		if c.failure != c.want {
			t.Errorf("got %+v, want %+v", c.failure, c.want)
		}
	}
	dup := bson.D{{Key: "index", Value: 0}, {Key: "code", Value: 11000}, {Key: "errmsg", Value: `E11000 duplicate key error dup key: { _id: "s3cret" }`}}
	for _, c := range []struct {
		reply bson.D
		want  mongoquery.Failure
		ok    bool
	}{
		{bson.D{{Key: "n", Value: 0}, {Key: "writeErrors", Value: bson.A{dup}}, {Key: "ok", Value: 1.0}},
			mongoquery.Failure{Code: "11000", Kind: "11000", Description: "write error 11000"}, true},
		{bson.D{{Key: "n", Value: 1}, {Key: "writeConcernError", Value: bson.D{{Key: "code", Value: 64}, {Key: "codeName", Value: "WriteConcernFailed"}, {Key: "errmsg", Value: "s3cret"}}}},
			mongoquery.Failure{Code: "64", Kind: "64", Description: "WriteConcernFailed"}, true},
		{bson.D{{Key: "n", Value: 1}, {Key: "ok", Value: 1.0}}, mongoquery.Failure{}, false},
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
