package rueidistrace

// The same rules as the go-redis integration's commands.go, for the words
// rueidis sends (Completed.Commands()); aspects/valkey-go/commands.go is this
// file for valkey-go: keep the three alike.

import (
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

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

// maxListed is how many commands of a batch db.query.text lists.
const maxListed = 64

// name is the span's name: db.operation.name.
func (op *operation) name() string {
	if !op.batch {
		return operationName(op.cmds[0])
	}
	prefix, ops := "PIPELINE", op.cmds
	if inner, ok := transaction(op.cmds); ok {
		prefix, ops = "MULTI", inner
	}
	if len(ops) == 0 {
		return prefix
	}
	first := operationName(ops[0])
	for _, cmd := range ops[1:] {
		if operationName(cmd) != first {
			return prefix
		}
	}
	return prefix + " " + first
}

// attributes are the operation's own attributes; name is op.name().
func (op *operation) attributes(name string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{semconv.DBOperationName(name)}
	if !op.batch {
		cmd := op.cmds[0]
		attrs = append(attrs, semconv.DBQueryText(queryText(cmd)))
		if name := storedProcedure(cmd); name != "" {
			attrs = append(attrs, semconv.DBStoredProcedureName(name))
		}
		return attrs
	}
	ops := op.cmds
	if inner, ok := transaction(op.cmds); ok {
		ops = inner
	}
	if len(ops) != 1 { // a batch of one is no batch (the conventions)
		attrs = append(attrs, semconv.DBOperationBatchSize(len(ops)))
	}
	texts := make([]string, 0, min(len(op.cmds), maxListed+1))
	same := true
	for i, cmd := range op.cmds {
		if i == maxListed {
			texts = append(texts, "...")
			break
		}
		texts = append(texts, queryText(cmd))
		same = same && texts[i] == texts[0]
	}
	if same && len(texts) > 0 {
		texts = texts[:1] // the conventions: one text when all are the same
	}
	return append(attrs, semconv.DBQueryText(strings.Join(texts, "; ")))
}

// transaction is the commands between MULTI and EXEC, when cmds is a transaction.
func transaction(cmds [][]string) ([][]string, bool) {
	if len(cmds) >= 2 && isCommand(cmds[0], "multi") && isCommand(cmds[len(cmds)-1], "exec") {
		return cmds[1 : len(cmds)-1], true
	}
	return nil, false
}

func isCommand(cmd []string, name string) bool {
	return len(cmd) > 0 && strings.EqualFold(cmd[0], name)
}

// operationName is a command's name as Redis documents it, upper case, with
// its subcommand for container commands: "GET", "CONFIG GET", "CLUSTER SLOTS".
func operationName(cmd []string) string {
	if len(cmd) == 0 {
		return ""
	}
	name := strings.ToUpper(cmd[0])
	if shapes[strings.ToLower(name)] == subcommand && len(cmd) > 1 && isWord(cmd[1]) {
		name += " " + strings.ToUpper(cmd[1])
	}
	return name
}

// queryText is a command as the Redis CLI would show it, values replaced by ?.
func queryText(cmd []string) string {
	if len(cmd) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(strings.ToUpper(cmd[0]))
	rest := cmd[1:]
	keep := func(int) bool { return false }
	switch shapes[strings.ToLower(cmd[0])] {
	case firstKey:
		keep = func(i int) bool { return i == 0 }
	case allKeys:
		keep = func(int) bool { return true }
	case pairs:
		keep = func(i int) bool { return i%2 == 0 }
	case subcommand:
		if len(rest) > 0 && isWord(rest[0]) {
			b.WriteString(" " + strings.ToUpper(rest[0]))
			rest = rest[1:]
		}
	case script:
		// name numkeys key...: EVAL's script is "?", EVALSHA's sha1 and FCALL's function stay.
		numKeys := -1
		if len(rest) > 1 {
			if n, err := strconv.Atoi(rest[1]); err == nil && n >= 0 {
				numKeys = n
			}
		}
		name := strings.ToLower(cmd[0])
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
			b.WriteString(quote(arg))
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// storedProcedure is the Lua script (sha1) or function an EVALSHA or FCALL runs.
func storedProcedure(cmd []string) string {
	if len(cmd) < 2 {
		return ""
	}
	switch strings.ToLower(cmd[0]) {
	case "evalsha", "evalsha_ro", "fcall", "fcall_ro":
		return cmd[1]
	}
	return ""
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
