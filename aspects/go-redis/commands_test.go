package redistrace

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"

	"overlay-gen.invalid/otelrt/redisquery"
)

func cmd(args ...any) redis.Cmder { return redis.NewCmd(context.Background(), args...) }

// queryText and operationName are what a command's span records (redisquery's rules, through go-redis's Cmder).
func queryText(c redis.Cmder) string {
	return (&operation{cmds: []redis.Cmder{c}}).summary().Text
}

func operationName(c redis.Cmder) string { return (&operation{cmds: []redis.Cmder{c}}).name() }

func TestQueryTextKeepsNamesAndKeysOnly(t *testing.T) {
	for _, c := range []struct {
		args []any
		want string
	}{
		{[]any{"set", "user:1", "secret", "ex", 10}, "SET user:1 ? ? ?"},
		{[]any{"get", "user:1"}, "GET user:1"},
		{[]any{"hset", "h", "field", "secret"}, "HSET h ? ?"},
		{[]any{"mset", "a", "secret", "b", "secret"}, "MSET a ? b ?"},
		{[]any{"del", "a", "b"}, "DEL a b"},
		{[]any{"auth", "user", "secret"}, "AUTH ? ?"},
		{[]any{"hello", 3, "auth", "user", "secret"}, "HELLO ? ? ? ?"},
		{[]any{"echo", "secret"}, "ECHO ?"},
		{[]any{"config", "set", "requirepass", "secret"}, "CONFIG SET ? ?"},
		{[]any{"acl", "setuser", "bob", ">secret"}, "ACL SETUSER ? ?"},
		{[]any{"eval", "return 1", 1, "k", "secret"}, "EVAL ? 1 k ?"},
		{[]any{"evalsha", "abc123", "2", "k1", "k2", "secret"}, "EVALSHA abc123 2 k1 k2 ?"},
		{[]any{"fcall", "myfunc", "x", "k"}, "FCALL myfunc ? ?"},
		{[]any{"get", "with space"}, `GET "with space"`},
		{[]any{"get", []byte("bytes")}, "GET bytes"},
		{[]any{"ping"}, "PING"},
		{[]any{"ft.search", "idx", "secret query"}, "FT.SEARCH ? ?"},
	} {
		if got := queryText(cmd(c.args...)); got != c.want {
			t.Errorf("queryText(%v) = %q, want %q", c.args, got, c.want)
		}
	}
}

func TestOperationNames(t *testing.T) {
	for _, c := range []struct {
		op   operation
		want string
	}{
		{operation{cmds: []redis.Cmder{cmd("get", "k")}}, "GET"},
		{operation{cmds: []redis.Cmder{cmd("cluster", "slots")}}, "CLUSTER SLOTS"},
		{operation{cmds: []redis.Cmder{cmd("client", "setname", "x y")}}, "CLIENT SETNAME"},
		{operation{cmds: []redis.Cmder{cmd("get", "a"), cmd("get", "b")}, pipeline: true}, "PIPELINE GET"},
		{operation{cmds: []redis.Cmder{cmd("get", "a"), cmd("set", "b", "v")}, pipeline: true}, "PIPELINE"},
		{operation{cmds: []redis.Cmder{cmd("multi"), cmd("incr", "a"), cmd("incr", "b"), cmd("exec")}, pipeline: true}, "MULTI INCR"},
		{operation{cmds: []redis.Cmder{cmd("multi"), cmd("incr", "a"), cmd("get", "b"), cmd("exec")}, pipeline: true}, "MULTI"},
	} {
		if got := c.op.name(); got != c.want {
			t.Errorf("name of %v = %q, want %q", c.op.cmds, got, c.want)
		}
	}
}

func TestPipelineAttributes(t *testing.T) {
	attrs := func(op operation) map[attribute.Key]attribute.Value {
		m := map[attribute.Key]attribute.Value{}
		for _, kv := range op.attributes(op.name()) {
			m[kv.Key] = kv.Value
		}
		return m
	}
	got := attrs(operation{cmds: []redis.Cmder{cmd("incr", "a"), cmd("incr", "a"), cmd("incr", "a")}, pipeline: true})
	if got["db.query.text"].AsString() != "INCR a" || got["db.operation.batch.size"].AsInt64() != 3 {
		t.Errorf("a pipeline of one text: %v", got)
	}
	got = attrs(operation{cmds: []redis.Cmder{cmd("get", "a")}, pipeline: true})
	if _, ok := got["db.operation.batch.size"]; ok {
		t.Errorf("a batch of one has no size: %v", got)
	}
	var many []redis.Cmder
	for range redisquery.MaxListed + 10 {
		many = append(many, cmd("get", "a"), cmd("set", "a", "v"))
	}
	got = attrs(operation{cmds: many, pipeline: true})
	if n := got["db.operation.batch.size"].AsInt64(); n != int64(len(many)) {
		t.Errorf("batch size %d, want %d", n, len(many))
	}
}

type answered string

func (e answered) Error() string { return string(e) }
func (answered) RedisError()     {}

func TestErrorAttributes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want []attribute.KeyValue
	}{
		{answered("WRONGTYPE Operation against a key"), []attribute.KeyValue{
			attribute.String("db.response.status_code", "WRONGTYPE"), attribute.String("error.type", "WRONGTYPE"),
		}},
		{answered("redis: transaction failed"), []attribute.KeyValue{attribute.String("error.type", "redistrace.answered")}},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, []attribute.KeyValue{attribute.String("error.type", "*net.OpError")}},
	} {
		got := errorAttributes(c.err)
		if len(got) != len(c.want) {
			t.Errorf("errorAttributes(%v) = %v, want %v", c.err, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("errorAttributes(%v) = %v, want %v", c.err, got, c.want)
			}
		}
	}
}
