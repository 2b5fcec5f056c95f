package valkeytrace

import (
	"errors"
	"net"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"overlay-gen.invalid/otelrt/redisquery"
)

func cmd(words string) []string { return strings.Fields(words) }

// queryText is what a command's span records as db.query.text (redisquery's rules).
func queryText(words []string) string { return (&operation{cmds: [][]string{words}}).summary().Text }

const maxListed = redisquery.MaxListed

func TestQueryTextKeepsNamesAndKeysOnly(t *testing.T) {
	for _, c := range []struct {
		cmd  []string
		want string
	}{
		{cmd("SET user:1 secret EX 10"), "SET user:1 ? ? ?"},
		{cmd("GET user:1"), "GET user:1"},
		{cmd("HSET h field secret"), "HSET h ? ?"},
		{cmd("MSET a secret b secret"), "MSET a ? b ?"},
		{cmd("DEL a b"), "DEL a b"},
		{cmd("AUTH user secret"), "AUTH ? ?"},
		{cmd("HELLO 3 AUTH user secret"), "HELLO ? ? ? ?"},
		{cmd("ECHO secret"), "ECHO ?"},
		{cmd("CONFIG SET requirepass secret"), "CONFIG SET ? ?"},
		{cmd("ACL SETUSER bob >secret"), "ACL SETUSER ? ?"},
		{[]string{"EVAL", "return 1", "1", "k", "secret"}, "EVAL ? 1 k ?"},
		{cmd("EVALSHA abc123 2 k1 k2 secret"), "EVALSHA abc123 2 k1 k2 ?"},
		{cmd("FCALL myfunc x k"), "FCALL myfunc ? ?"},
		{[]string{"GET", "with space"}, `GET "with space"`},
		{cmd("get lower"), "GET lower"},
		{cmd("PING"), "PING"},
		{[]string{"FT.SEARCH", "idx", "secret query"}, "FT.SEARCH ? ?"},
		{nil, ""},
	} {
		if got := queryText(c.cmd); got != c.want {
			t.Errorf("queryText(%q) = %q, want %q", c.cmd, got, c.want)
		}
	}
}

func TestOperationNames(t *testing.T) {
	for _, c := range []struct {
		op   operation
		want string
	}{
		{operation{cmds: [][]string{cmd("GET k")}}, "GET"},
		{operation{cmds: [][]string{cmd("CLUSTER SHARDS")}}, "CLUSTER SHARDS"},
		{operation{cmds: [][]string{{"CLIENT", "SETNAME", "x y"}}}, "CLIENT SETNAME"},
		{operation{cmds: [][]string{cmd("GET a"), cmd("GET b")}, batch: true}, "PIPELINE GET"},
		{operation{cmds: [][]string{cmd("GET a"), cmd("SET b v")}, batch: true}, "PIPELINE"},
		{operation{cmds: [][]string{cmd("MULTI"), cmd("INCR a"), cmd("INCR b"), cmd("EXEC")}, batch: true}, "MULTI INCR"},
		{operation{cmds: [][]string{cmd("MULTI"), cmd("INCR a"), cmd("GET b"), cmd("EXEC")}, batch: true}, "MULTI"},
		{operation{cmds: nil, batch: true}, "PIPELINE"},
	} {
		if got := c.op.name(); got != c.want {
			t.Errorf("name of %q = %q, want %q", c.op.cmds, got, c.want)
		}
	}
}

func TestBatchAttributes(t *testing.T) {
	attrs := func(op operation) map[attribute.Key]attribute.Value {
		m := map[attribute.Key]attribute.Value{}
		for _, kv := range op.attributes(op.name()) {
			m[kv.Key] = kv.Value
		}
		return m
	}
	got := attrs(operation{cmds: [][]string{cmd("INCR a"), cmd("INCR a"), cmd("INCR a")}, batch: true})
	if got["db.query.text"].AsString() != "INCR a" || got["db.operation.batch.size"].AsInt64() != 3 {
		t.Errorf("a batch of one text: %v", got)
	}
	got = attrs(operation{cmds: [][]string{cmd("GET a")}, batch: true})
	if _, ok := got["db.operation.batch.size"]; ok {
		t.Errorf("a batch of one has no size: %v", got)
	}
	got = attrs(operation{cmds: [][]string{cmd("EVALSHA abc 1 k v")}})
	if got["db.stored_procedure.name"].AsString() != "abc" {
		t.Errorf("EVALSHA names its script: %v", got)
	}
	var many [][]string
	for range maxListed + 10 {
		many = append(many, cmd("GET a"), cmd("SET a v"))
	}
	got = attrs(operation{cmds: many, batch: true})
	if n := got["db.operation.batch.size"].AsInt64(); n != int64(len(many)) {
		t.Errorf("batch size %d, want %d", n, len(many))
	}
	if text := got["db.query.text"].AsString(); !strings.HasSuffix(text, "; ...") || strings.Count(text, ";") != maxListed {
		t.Errorf("a long batch lists %d commands: %q", maxListed, text)
	}
}

func TestConnectionAttributes(t *testing.T) {
	for _, c := range []struct {
		db   int
		addr string
		want []attribute.KeyValue
	}{
		{0, "cache.internal:6379", []attribute.KeyValue{
			system, attribute.String("db.namespace", "0"),
			attribute.String("server.address", "cache.internal"), attribute.Int("server.port", 6379),
		}},
		{3, "[::1]:7000", []attribute.KeyValue{
			system, attribute.String("db.namespace", "3"),
			attribute.String("server.address", "::1"), attribute.Int("server.port", 7000),
		}},
		{0, "", []attribute.KeyValue{system, attribute.String("db.namespace", "0")}},
	} {
		got := nodeAttributes(c.db, c.addr)
		if len(got) != len(c.want) {
			t.Errorf("nodeAttributes(%d, %q) = %v, want %v", c.db, c.addr, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("nodeAttributes(%d, %q) = %v, want %v", c.db, c.addr, got, c.want)
			}
		}
	}
}

func TestErrorAttributes(t *testing.T) {
	got := errorAttributes(&net.OpError{Op: "dial", Err: errors.New("refused")})
	if len(got) != 1 || got[0] != attribute.String("error.type", "*net.OpError") {
		t.Errorf("errorAttributes(dial error) = %v", got)
	}
	for message, want := range map[string]string{
		"WRONGTYPE Operation against a key holding the wrong kind of value": "WRONGTYPE",
		"NOSCRIPT No matching script":                                       "NOSCRIPT",
		"value is not an integer or out of range":                           "ERR", // valkey-go took "ERR " off
		"": "ERR",
	} {
		got := answerAttributes(message)
		if len(got) != 2 || got[0] != attribute.String("db.response.status_code", want) || got[1] != attribute.String("error.type", want) {
			t.Errorf("answerAttributes(%q) = %v, want %s", message, got, want)
		}
	}
}

func TestSystemIsValkey(t *testing.T) {
	if system != attribute.String("db.system.name", "valkey") {
		t.Errorf("db.system.name is %v", system)
	}
}
