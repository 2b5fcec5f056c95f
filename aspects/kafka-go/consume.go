package kafkagotrace

import (
	"context"
	"sync"

	"github.com/segmentio/kafka-go"

	"overlay-gen.invalid/otelrt/kafkamsg"
)

// # Receiving
//
// A Reader is pulled from: the program calls ReadMessage or FetchMessage,
// gets a message, handles it, and asks for the next one. kafka-go fetches
// from the broker in goroutines of its own, ahead of the program, and those
// calls hand out what was fetched. So there is no span of the call itself
// (a "receive" span would time the wait on kafka-go's buffer, not the
// broker, and make one more trace per message); each message returned gets
// one span of its handling:
//
//   - "process {topic}", kind CONSUMER, started when ReadMessage or
//     FetchMessage returns the message;
//   - its parent is the message's creation context, extracted from its
//     headers through the configured propagators: the producer's send span,
//     so that the message's producer and its consumer are one trace (the
//     conventions allow the creation context as the parent of a process span
//     for a single message). It also links to that context, as the
//     conventions ask of every process span, and, when the call was made
//     under a span of the program's (in the context passed, else the
//     goroutine's active span), to that span too. A message that carries no
//     creation context is a child of that span instead;
//   - it is the goroutine's active span while the program handles the
//     message, so that what the handler does (an annotated function, an
//     HTTP call, a message it sends in turn) is its child;
//   - it ends at the first of: the goroutine's next ReadMessage or
//     FetchMessage call (of any Reader): the program is done with this
//     message and asks for another; a CommitMessages of this message (from
//     any goroutine): the program settles it; the Reader's Close. The
//     goroutine's active span is then the one it had before. ReadMessage's
//     own commit (with a GroupID) is not the program's and ends nothing.
//     A message whose handling the program hands to another goroutine is
//     still that goroutine's parent, but its span may end first;
//
// Attributes: messaging.system "kafka", messaging.operation.type and
// messaging.operation.name "process", messaging.destination.name,
// messaging.destination.partition.id, messaging.kafka.offset,
// messaging.consumer.group.name (a Reader with a GroupID),
// messaging.kafka.message.tombstone for a message without value, and
// server.address and server.port of the Reader's broker when its Brokers
// name one. A call that returns no message (an error, a closed Reader, a
// context done) has no span; nothing of the program's handling is known to
// be an error, and the commit's outcome is not recorded on it.

// The Readers' process spans (kafkamsg.Consumer: the spans still open, the
// loose one when the goroutine's active span cannot be kept).
var readers sync.Map // *kafka.Reader -> *kafkamsg.Consumer

// processes are the process spans of all Readers: a Reader's next call ends
// the goroutine's active one, whichever Reader's.
var processes = kafkamsg.NewTracker(tracer)

func stateOf(r *kafka.Reader) *kafkamsg.Consumer {
	if s, ok := readers.Load(r); ok {
		return s.(*kafkamsg.Consumer)
	}
	config := r.Config()
	s, _ := readers.LoadOrStore(r, processes.Consumer(config.GroupID, kafkamsg.Server(config.Brokers)...))
	return s.(*kafkamsg.Consumer)
}

// innerKey marks the context ReadMessage hands to its own FetchMessage and
// CommitMessages calls: their hooks leave the work to ReadMessage's.
type innerKey struct{}

// Receive is called first thing in Reader.ReadMessage and FetchMessage: it
// ends the span of the message the goroutine was handling, and returns the
// context the method goes on with (marked, so that the calls it makes of the
// Reader's other methods are not taken for the program's) and the function it
// calls, deferred, with the addresses of its results, which starts the span
// of the message it returns.
func Receive(r *kafka.Reader, ctx context.Context) (context.Context, func(*kafka.Message, *error)) {
	if ctx == nil || ctx.Value(innerKey{}) != nil {
		return ctx, func(*kafka.Message, *error) {}
	}
	processes.EndActive()
	if s, ok := readers.Load(r); ok {
		s.(*kafkamsg.Consumer).Next()
	}
	inner := context.WithValue(ctx, innerKey{}, true)
	return inner, func(m *kafka.Message, errp *error) {
		if m == nil || errp == nil || *errp != nil {
			return
		}
		stateOf(r).Start(ctx, position(m), kafkamsg.HeaderCarrier(&m.Headers), m.Value == nil)
	}
}

// position is a message's place in Kafka: what CommitMessages names it by.
func position(m *kafka.Message) kafkamsg.Position {
	return kafkamsg.Position{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}
}

// Commit is called first thing in Reader.CommitMessages: the messages the
// program commits are handled, their spans end.
func Commit(r *kafka.Reader, ctx context.Context, msgs []kafka.Message) {
	if ctx != nil && ctx.Value(innerKey{}) != nil {
		return // ReadMessage's own commit
	}
	s, ok := readers.Load(r)
	if !ok {
		return
	}
	at := make([]kafkamsg.Position, len(msgs))
	for i := range msgs {
		at[i] = position(&msgs[i])
	}
	s.(*kafkamsg.Consumer).Settle(at...)
}

// Close is called first thing in Reader.Close: the spans of the messages
// still being handled end, and the Reader is forgotten.
func Close(r *kafka.Reader) {
	if s, ok := readers.LoadAndDelete(r); ok {
		s.(*kafkamsg.Consumer).Close()
	}
}
