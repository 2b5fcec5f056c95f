package redisquery

import "testing"

func cmd(args ...any) []any { return args }

func TestQueryTextKeepsNamesAndKeysOnly(t *testing.T) {
	for _, c := range []struct {
		args []any
		want string
	}{
		{cmd("set", "user:1", "secret", "ex", 10), "SET user:1 ? ? ?"},
		{cmd("SET", "user:1", []byte("secret")), "SET user:1 ?"},
		{cmd("get", "user:1"), "GET user:1"},
		{cmd("hset", "h", "field", "secret"), "HSET h ? ?"},
		{cmd("mset", "a", "secret", "b", "secret"), "MSET a ? b ?"},
		{cmd("del", "a", "b"), "DEL a b"},
		{cmd("auth", "user", "secret"), "AUTH ? ?"},
		{cmd("hello", 3, "auth", "user", "secret"), "HELLO ? ? ? ?"},
		{cmd("echo", "secret"), "ECHO ?"},
		{cmd("select", 2), "SELECT ?"},
		{cmd("config", "set", "requirepass", "secret"), "CONFIG SET ? ?"},
		{cmd("acl", "setuser", "bob", ">secret"), "ACL SETUSER ? ?"},
		{cmd("eval", "return 1", 1, "k", "secret"), "EVAL ? 1 k ?"},
		{cmd("evalsha", "abc123", "2", "k1", "k2", "secret"), "EVALSHA abc123 2 k1 k2 ?"},
		{cmd("fcall", "myfunc", "x", "k"), "FCALL myfunc ? ?"},
		{cmd("get", "with space"), `GET "with space"`},
		{cmd("get", []byte("bytes")), "GET bytes"},
		{cmd("incrby", 42, 1), "INCRBY 42 ?"},
		{cmd("ping"), "PING"},
		{cmd("ft.search", "idx", "secret query"), "FT.SEARCH ? ?"},
		{cmd(), ""},
	} {
		if got := QueryText(c.args); got != c.want {
			t.Errorf("QueryText(%v) = %q, want %q", c.args, got, c.want)
		}
	}
}

func TestOperationNames(t *testing.T) {
	for _, c := range []struct {
		summary Summary
		want    string
	}{
		{Command(cmd("get", "k")), "GET"},
		{Command(cmd("cluster", "slots")), "CLUSTER SLOTS"},
		{Command(cmd("CLIENT", "setname", "x y")), "CLIENT SETNAME"},
		{Command(cmd("config", "x y")), "CONFIG"},
		{Pipeline([][]any{cmd("get", "a"), cmd("get", "b")}), "PIPELINE GET"},
		{Pipeline([][]any{cmd("get", "a")}), "PIPELINE GET"},
		{Pipeline([][]any{cmd("get", "a"), cmd("set", "b", "v")}), "PIPELINE"},
		{Pipeline([][]any{cmd("multi"), cmd("incr", "a"), cmd("incr", "b"), cmd("exec")}), "MULTI INCR"},
		{Pipeline([][]any{cmd("MULTI"), cmd("INCR", "a"), cmd("EXEC")}), "MULTI INCR"},
		{Pipeline([][]any{cmd("multi"), cmd("incr", "a"), cmd("get", "b"), cmd("exec")}), "MULTI"},
		{Pipeline([][]any{cmd("multi"), cmd("exec")}), "MULTI"},
		{Pipeline(nil), "PIPELINE"},
	} {
		if got := c.summary.Operation; got != c.want {
			t.Errorf("operation %q, want %q", got, c.want)
		}
	}
}

func TestPipelines(t *testing.T) {
	s := Pipeline([][]any{cmd("incr", "a"), cmd("incr", "a"), cmd("incr", "a")})
	if s.Text != "INCR a" || s.BatchSize != 3 {
		t.Errorf("a pipeline of one text: %+v", s)
	}
	s = Pipeline([][]any{cmd("get", "a")})
	if s.BatchSize != 0 || s.Text != "GET a" {
		t.Errorf("a batch of one has no size: %+v", s)
	}
	s = Pipeline([][]any{cmd("multi"), cmd("incr", "a"), cmd("set", "b", "secret"), cmd("exec")})
	if s.Text != "MULTI; INCR a; SET b ?; EXEC" || s.BatchSize != 2 {
		t.Errorf("a transaction: %+v", s)
	}
	var many [][]any
	for range MaxListed + 10 {
		many = append(many, cmd("get", "a"), cmd("set", "a", "v"))
	}
	s = Pipeline(many)
	if s.BatchSize != len(many) {
		t.Errorf("batch size %d, want %d", s.BatchSize, len(many))
	}
	if want := MaxListed + 1; len(splitTexts(s.Text)) != want {
		t.Errorf("%d texts listed, want %d", len(splitTexts(s.Text)), want)
	}
}

func splitTexts(text string) []string {
	var texts []string
	start := 0
	for i := 0; i+1 < len(text); i++ {
		if text[i] == ';' && text[i+1] == ' ' {
			texts = append(texts, text[start:i])
			start = i + 2
		}
	}
	return append(texts, text[start:])
}

func TestStoredProcedure(t *testing.T) {
	if got := Command(cmd("evalsha", "abc123", 0)).StoredProcedure; got != "abc123" {
		t.Errorf("EVALSHA: %q", got)
	}
	if got := Command(cmd("eval", "return 1", 0)).StoredProcedure; got != "" {
		t.Errorf("EVAL names no stored procedure: %q", got)
	}
}

func TestStatusCode(t *testing.T) {
	for message, want := range map[string]string{
		"WRONGTYPE Operation against a key": "WRONGTYPE",
		"ERR value is not an integer":       "ERR",
		"NOSCRIPT No matching script":       "NOSCRIPT",
		"redis: transaction failed":         "",
		"":                                  "",
	} {
		if got := StatusCode(message); got != want {
			t.Errorf("StatusCode(%q) = %q, want %q", message, got, want)
		}
	}
}
