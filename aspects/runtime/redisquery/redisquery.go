// Package redisquery tells what a Redis command, pipeline or transaction
// does, for the span names and attributes of the database semantic
// conventions: db.operation.name (the span's name: "GET", "CONFIG GET",
// "PIPELINE", "MULTI INCR"), db.query.text (the commands with their names
// and keys only: every other argument is "?"), db.operation.batch.size and
// db.stored_procedure.name; and, for an error Redis answered,
// db.response.status_code (its prefix: ERR, WRONGTYPE...). Every Redis
// client integration (go-redis v8 and v9, redigo, rueidis, valkey-go) names its spans through it, so that
// one command reads alike whichever client sent it.
//
// A command is its arguments as the client sends them, the command's name
// first: go-redis's Cmder.Args(), or redigo's name followed by its args.
// Values never reach a result: a command this package does not know keeps
// its name alone ("AUTH ? ?").
package redisquery

import (
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
)

// Summary is what one operation does.
type Summary struct {
	Operation       string // db.operation.name, the span's name; "" for an empty command
	Text            string // db.query.text
	BatchSize       int    // db.operation.batch.size: the commands of a pipeline or transaction, when two or more; else 0
	StoredProcedure string // db.stored_procedure.name: the script (sha1) or function EVALSHA or FCALL runs; else ""
}

// Attributes are the span attributes of the summary, named name (its
// Operation, unless the integration names it otherwise): db.operation.name,
// db.query.text, and db.stored_procedure.name and db.operation.batch.size
// where they apply. (The keys are written out: the runtime's module builds
// with OpenTelemetry releases older than the semconv package that has them.)
func (s Summary) Attributes(name string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{attribute.String("db.operation.name", name), attribute.String("db.query.text", s.Text)}
	if s.StoredProcedure != "" {
		attrs = append(attrs, attribute.String("db.stored_procedure.name", s.StoredProcedure))
	}
	if s.BatchSize != 0 {
		attrs = append(attrs, attribute.Int("db.operation.batch.size", s.BatchSize))
	}
	return attrs
}

// Command is the summary of one command.
func Command(args []any) Summary {
	return Summary{Operation: OperationName(args), Text: QueryText(args), StoredProcedure: storedProcedure(args)}
}

// MaxListed is how many commands of a pipeline its db.query.text lists
// (then "...").
const MaxListed = 64

// Pipeline is the summary of commands sent together: a pipeline
// ("PIPELINE", or "PIPELINE GET" when all are GETs) or, when they start with
// MULTI and end with EXEC, a transaction ("MULTI", "MULTI INCR"), whose batch
// is the commands between. Its text lists every command (MULTI and EXEC
// included), or one when all read alike.
func Pipeline(cmds [][]any) Summary {
	prefix, ops := "PIPELINE", cmds
	if inner, ok := transaction(cmds); ok {
		prefix, ops = "MULTI", inner
	}
	s := Summary{Operation: prefix}
	if len(ops) > 0 {
		first := OperationName(ops[0])
		same := true
		for _, cmd := range ops[1:] {
			same = same && OperationName(cmd) == first
		}
		if same && first != "" {
			s.Operation = prefix + " " + first
		}
	}
	if len(ops) != 1 { // a batch of one is no batch (the conventions)
		s.BatchSize = len(ops)
	}
	texts := make([]string, 0, min(len(cmds), MaxListed+1))
	same := true
	for i, cmd := range cmds {
		if i == MaxListed {
			texts = append(texts, "...")
			break
		}
		texts = append(texts, QueryText(cmd))
		same = same && texts[i] == texts[0]
	}
	if same && len(texts) > 0 {
		texts = texts[:1] // the conventions: one text when all are the same
	}
	s.Text = strings.Join(texts, "; ")
	return s
}

// transaction is the commands between MULTI and EXEC, when cmds is a transaction.
func transaction(cmds [][]any) ([][]any, bool) {
	if len(cmds) >= 2 && is(cmds[0], "multi") && is(cmds[len(cmds)-1], "exec") {
		return cmds[1 : len(cmds)-1], true
	}
	return nil, false
}

func is(args []any, name string) bool {
	return len(args) > 0 && strings.EqualFold(word(args[0]), name)
}

// StatusCode is the status code of an error Redis answered with message
// ("WRONGTYPE Operation against a key..."): its prefix, an upper-case word;
// "" when the message has none ("redis: nil", an error of the client).
func StatusCode(message string) string {
	prefix, _, _ := strings.Cut(message, " ")
	if prefix == "" {
		return ""
	}
	for _, r := range prefix {
		if (r < 'A' || r > 'Z') && r != '_' && r != '-' {
			return ""
		}
	}
	return prefix
}

// What db.query.text keeps of a command: its name and, where this table
// knows where they are, its keys; every other argument is a value, or may
// be, and becomes "?". A command it does not know keeps its name alone
// ("AUTH ? ?"), so that no value is ever recorded: field names, options
// (EX, NX...) and the keys of commands not listed are "?" too.
type shape uint8

const (
	other      shape = iota
	firstKey         // GET key ...: the first argument is a key
	allKeys          // DEL key [key ...]: every argument is a key
	pairs            // MSET key value [key value ...]
	subcommand       // CONFIG GET ...: the first argument names the operation
	script           // EVALSHA sha1 numkeys key... arg...: the keys and the script's name
)

var shapes = map[string]shape{}

func init() {
	for s, names := range map[shape]string{
		firstKey: `append bitcount bitfield bitfield_ro bitpos blmove blmpop blpop brpop brpoplpush bzpopmax
			bzpopmin copy decr decrby dump expire expireat expiretime geoadd geodist geohash geopos georadius
			georadius_ro georadiusbymember georadiusbymember_ro geosearch geosearchstore get getbit getdel getex
			getrange getset hdel hexists hexpire hexpireat hexpiretime hget hgetall hgetdel hgetex hincrby
			hincrbyfloat hkeys hlen hmget hmset hpersist hpexpire hpexpireat hpexpiretime hpttl hrandfield hscan
			hset hsetex hsetnx hstrlen httl hvals incr incrby incrbyfloat lindex linsert llen lmove lpop lpos
			lpush lpushx lrange lrem lset ltrim move persist pexpire pexpireat pexpiretime pfadd psetex pttl
			restore rpop rpush rpushx sadd scard set setbit setex setnx setrange sismember smembers smismember
			smove sort sort_ro spop srandmember srem sscan strlen ttl type xack xadd xautoclaim xclaim xdel xlen
			xpending xrange xrevrange xsetid xtrim zadd zcard zcount zincrby zlexcount zmscore zpopmax zpopmin
			zrandmember zrange zrangebylex zrangebyscore zrangestore zrank zrem zremrangebylex zremrangebyrank
			zremrangebyscore zrevrange zrevrangebylex zrevrangebyscore zrevrank zscan zscore`,
		allKeys: `del exists mget pfcount pfmerge rename renamenx rpoplpush sdiff sdiffstore sinter sinterstore
			sunion sunionstore touch unlink watch`,
		pairs:      `mset msetnx`,
		subcommand: `acl client cluster command config function latency memory module object pubsub script slowlog xgroup xinfo`,
		script:     `eval eval_ro evalsha evalsha_ro fcall fcall_ro`,
	} {
		for _, name := range strings.Fields(names) {
			shapes[name] = s
		}
	}
}

// OperationName is a command's name as Redis documents it, upper case, with
// its subcommand for container commands: "GET", "CONFIG GET", "CLUSTER SLOTS".
func OperationName(args []any) string {
	if len(args) == 0 {
		return ""
	}
	name := strings.ToUpper(word(args[0]))
	if shapes[strings.ToLower(name)] == subcommand && len(args) > 1 {
		if sub := word(args[1]); isWord(sub) {
			name += " " + strings.ToUpper(sub)
		}
	}
	return name
}

// QueryText is a command as the Redis CLI would show it, values replaced by ?.
func QueryText(args []any) string {
	if len(args) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(strings.ToUpper(word(args[0])))
	rest := args[1:]
	keep := func(int) bool { return false }
	switch shapes[strings.ToLower(word(args[0]))] {
	case firstKey:
		keep = func(i int) bool { return i == 0 }
	case allKeys:
		keep = func(int) bool { return true }
	case pairs:
		keep = func(i int) bool { return i%2 == 0 }
	case subcommand:
		if len(rest) > 0 && isWord(word(rest[0])) {
			b.WriteString(" " + strings.ToUpper(word(rest[0])))
			rest = rest[1:]
		}
	case script:
		// name numkeys key...: EVAL's script is "?", EVALSHA's sha1 and FCALL's function stay.
		numKeys := -1
		if len(rest) > 1 {
			if n, err := strconv.Atoi(word(rest[1])); err == nil && n >= 0 {
				numKeys = n
			}
		}
		name := strings.ToLower(word(args[0]))
		eval := name == "eval" || name == "eval_ro"
		keep = func(i int) bool {
			switch {
			case i == 0:
				return !eval
			case numKeys < 0:
				return false
			default:
				return i <= 1+numKeys
			}
		}
	}
	for i, arg := range rest {
		b.WriteByte(' ')
		if keep(i) {
			b.WriteString(quote(word(arg)))
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// storedProcedure is the Lua script (sha1) or function an EVALSHA or FCALL runs.
func storedProcedure(args []any) string {
	if len(args) < 2 {
		return ""
	}
	switch strings.ToLower(word(args[0])) {
	case "evalsha", "evalsha_ro", "fcall", "fcall_ro":
		return word(args[1])
	}
	return ""
}

// word is an argument as Redis receives it (a string, bytes, a number);
// other values are formatted as the clients do (fmt.Sprint), and are only
// read where a name or key is expected.
func word(arg any) string {
	switch v := arg.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}

// isWord: a subcommand, not a value.
func isWord(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' && r != '-' && r != '|' {
			return false
		}
	}
	return true
}

// quote writes a key as the CLI reads it: bare, or quoted if it holds
// spaces, quotes or unprintable bytes.
func quote(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '\'' || r >= 0x7f }) {
		return strconv.Quote(s)
	}
	return s
}
