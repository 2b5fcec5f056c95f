// Command redisapp keeps a greeting and a few counters in Redis and checks
// every answer: the fixture of overlay-gen's go-redis integration.
// tests/test_integrations.py starts a redis-server, builds this program with
// the overlay, runs it with REDIS_ADDR and compares its spans with
// expected-trace.toml. Written as a go-redis user would, with nothing for
// tracing.
//
// The client reaches the server through its own dialer, as a client of a
// Redis behind a service name or a tunnel would: the address it is
// configured with, the one spans record, is the same on every run.
package main; import (_og_redistrace "overlay-gen.invalid/redistrace"; _ "overlay-gen.invalid/goroutines"; _og_otelrt "overlay-gen.invalid/otelrt"; _og_spans "overlay-gen.invalid/spans")

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
)

const (
	greeting = "s3cret-greeting"
	language = "s3cret-language"
)

func main() {
defer _og_otelrt.Init()()
//line :30:14

	server := os.Getenv("REDIS_ADDR")
	if server == "" {
		log.Fatal("REDIS_ADDR is not set")
	}
	rdb := _og_redistrace.Instrument(redis.NewClient(&redis.Options{
		Addr: "cache.internal:6379",
		Dialer: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}))
	defer rdb.Close()

	err := session(context.Background(), rdb)
	if err == nil {
		err = countVisit(rdb)
	}
	if err != nil {
		fmt.Println("FAIL:", err)
		rdb.Close()
		_og_otelrt.Exit(1)
	}
	fmt.Println("ok")
}

// session starts afresh (the server may have seen an earlier run), stores
// the greeting and reads it back, misses a key, runs a pipeline and a
// transaction, and makes one command fail.
//
//dd:span
func session(ctx context.Context, rdb *redis.Client) (_og_res0 error) {
_og_span := _og_spans.StartContext(&ctx, "session", "")
defer _og_spans.End(_og_span, &_og_res0)
//line :61:61

	if err := rdb.Del(ctx, "fixture:greeting", "fixture:language", "fixture:hits", "fixture:visits").Err(); err != nil {
		return fmt.Errorf("DEL: %w", err)
	}
	if err := rdb.Set(ctx, "fixture:greeting", greeting, 0).Err(); err != nil {
		return fmt.Errorf("SET: %w", err)
	}
	if got, err := rdb.Get(ctx, "fixture:greeting").Result(); err != nil || got != greeting {
		return fmt.Errorf("GET fixture:greeting: %q, %v", got, err)
	}
	if got, err := rdb.Get(ctx, "fixture:missing").Result(); !errors.Is(err, redis.Nil) {
		return fmt.Errorf("GET fixture:missing: %q, %v (want redis.Nil)", got, err)
	}

	var lang *redis.StringCmd
	if _, err := rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, "fixture:language", language, 0)
		lang = pipe.Get(ctx, "fixture:language")
		return nil
	}); err != nil || lang.Val() != language {
		return fmt.Errorf("pipeline: %q, %v", lang.Val(), err)
	}

	var hits, visits *redis.IntCmd
	if _, err := rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		hits = pipe.Incr(ctx, "fixture:hits")
		visits = pipe.Incr(ctx, "fixture:visits")
		return nil
	}); err != nil || hits.Val() != 1 || visits.Val() != 1 {
		return fmt.Errorf("transaction: %d, %d, %v", hits.Val(), visits.Val(), err)
	}

	// The greeting is no number.
	if err := rdb.Incr(ctx, "fixture:greeting").Err(); err == nil || !strings.Contains(err.Error(), "not an integer") {
		return fmt.Errorf("INCR fixture:greeting: %v (want: not an integer)", err)
	}
	return nil
}

// countVisit counts one more visit, from code that has no context to pass.
//
//dd:span
func countVisit(rdb *redis.Client) (_og_res0 error) {
_og_span := _og_spans.StartRoot("countVisit", "")
defer _og_spans.End(_og_span, &_og_res0)
//line :103:43

	visits, err := rdb.Incr(context.Background(), "fixture:visits").Result()
	if err != nil || visits != 2 {
		return fmt.Errorf("INCR fixture:visits: %d, %v (want 2)", visits, err)
	}
	return nil
}
