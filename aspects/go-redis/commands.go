package redistrace

import (
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"

	"overlay-gen.invalid/otelrt/redisquery"
)

// summary is what the operation does, by the rules every Redis integration
// shares (redisquery): its name, and its text with names and keys only.
func (op *operation) summary() redisquery.Summary {
	if !op.pipeline {
		return redisquery.Command(op.cmds[0].Args())
	}
	return redisquery.Pipeline(args(op.cmds))
}

func args(cmds []redis.Cmder) [][]any {
	out := make([][]any, len(cmds))
	for i, cmd := range cmds {
		out[i] = cmd.Args()
	}
	return out
}

// name is the span's name: db.operation.name.
func (op *operation) name() string { return op.summary().Operation }

// attributes are the operation's own attributes; name is op.name().
func (op *operation) attributes(name string) []attribute.KeyValue {
	return op.summary().Attributes(name)
}
