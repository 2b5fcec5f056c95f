package rueidistrace

import (
	"go.opentelemetry.io/otel/attribute"

	"overlay-gen.invalid/otelrt/redisquery"
)

// summary is what the operation does, by the rules every Redis integration
// shares (redisquery), over the words rueidis sends (Completed.Commands()).
func (op *operation) summary() redisquery.Summary {
	cmds := make([][]any, len(op.cmds))
	for i, words := range op.cmds {
		cmds[i] = make([]any, len(words))
		for j, w := range words {
			cmds[i][j] = w
		}
	}
	if !op.batch {
		return redisquery.Command(cmds[0])
	}
	return redisquery.Pipeline(cmds)
}

// name is the span's name: db.operation.name.
func (op *operation) name() string { return op.summary().Operation }

// attributes are the operation's own attributes; name is op.name().
func (op *operation) attributes(name string) []attribute.KeyValue {
	return op.summary().Attributes(name)
}
