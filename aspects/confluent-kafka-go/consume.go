package confluentkafkatrace

import (
	"context"
	"sync"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"overlay-gen.invalid/otelrt/kafkamsg"
)

// # Receiving
//
// A Consumer is pulled from: the program calls Poll (or ReadMessage, which
// calls Poll until it gets a message or an error), gets a message, handles
// it, and polls again. librdkafka fetches from the broker in threads of its
// own, ahead of the program, and Poll hands out what was fetched. So there
// is no span of the call itself (a "receive" span would time the wait on
// librdkafka's queue, not the broker, and make one more trace per message);
// each message returned gets one span of its handling:
//
//   - "process {topic}", kind CONSUMER, started when Poll returns the
//     message (a *kafka.Message without an error);
//   - its parent is the message's creation context, extracted from its
//     headers through the configured propagators: the producer's send span,
//     so that the message's producer and its consumer are one trace (the
//     conventions allow the creation context as the parent of a process span
//     for a single message). It also links to that context, as the
//     conventions ask of every process span, and, when the call was made
//     under a span of the program's (the goroutine's active span), to that
//     span too. A message that carries no creation context is a child of
//     that span instead;
//   - it is the goroutine's active span while the program handles the
//     message, so that what the handler does (an annotated function, an
//     HTTP call, a message it sends in turn) is its child;
//   - it ends at the first of: the goroutine's next Poll or ReadMessage (of
//     any Consumer): the program is done with this message and asks for
//     another; a CommitMessage or StoreMessage of this message (from any
//     goroutine): the program settles it (StoreMessage is how a program
//     with enable.auto.offset.store false says a message is handled); the
//     Consumer's Close. The goroutine's active span
//     is then the one it had before. A message whose handling the program
//     hands to another goroutine is still that goroutine's parent, but its
//     span may end first.
//
// Attributes: messaging.system "kafka", messaging.operation.type and
// messaging.operation.name "process", messaging.destination.name,
// messaging.destination.partition.id, messaging.kafka.offset,
// messaging.consumer.group.name (the Consumer's group.id),
// messaging.kafka.message.tombstone for a message without value, and
// server.address and server.port of the Consumer's broker when its
// bootstrap.servers name one. A Poll that returns anything else (an error,
// a rebalance, nothing) has no span; nothing of the program's handling is
// known to be an error, and the commit's outcome is not recorded on it.
// The deprecated Events() channel of a Consumer (go.events.channel.enable)
// is fed by the library's own goroutine: its messages get no span.

// The Consumers' process spans (kafkamsg.Consumer: the spans still open, the
// loose one when the goroutine's active span cannot be kept).
var consumers sync.Map // *kafka.Consumer -> *kafkamsg.Consumer

// processes are the process spans of all Consumers: a Consumer's next Poll
// ends the goroutine's active one, whichever Consumer's.
var processes = kafkamsg.NewTracker(tracer)

// NewConsumer is called with every Consumer that NewConsumer makes and the
// configuration it was made with.
func NewConsumer(conf *kafka.ConfigMap, c *kafka.Consumer) {
	group := ""
	if conf != nil {
		if g, ok := (*conf)["group.id"].(string); ok {
			group = g
		}
	}
	consumers.Store(c, processes.Consumer(group, kafkamsg.Server(brokers(conf))...))
}

// Poll is called first thing in Consumer.Poll: it ends the span of the
// message the goroutine was handling, and returns the function Poll calls,
// deferred, with the event it returns, which starts the span of a message.
// It returns nil for a Consumer it does not know or one that is closing
// (Close polls until librdkafka is done).
func Poll(c *kafka.Consumer) func(kafka.Event) {
	s, ok := consumers.Load(c)
	if !ok {
		return nil
	}
	state := s.(*kafkamsg.Consumer)
	if !state.Next() {
		return nil
	}
	processes.EndActive()
	return func(ev kafka.Event) {
		if m, ok := ev.(*kafka.Message); ok && m != nil && m.TopicPartition.Error == nil {
			state.Start(context.Background(), position(m), kafkamsg.HeaderCarrier(&m.Headers), m.Value == nil)
		}
	}
}

// position is a message's place in Kafka: what CommitMessage and
// StoreMessage name it by.
func position(m *kafka.Message) kafkamsg.Position {
	topic := ""
	if m.TopicPartition.Topic != nil {
		topic = *m.TopicPartition.Topic
	}
	return kafkamsg.Position{Topic: topic, Partition: int(m.TopicPartition.Partition), Offset: int64(m.TopicPartition.Offset)}
}

// Commit is called first thing in Consumer.CommitMessage and StoreMessage:
// the message the program commits or stores is handled, its span ends.
func Commit(c *kafka.Consumer, m *kafka.Message) {
	if m == nil || m.TopicPartition.Topic == nil {
		return
	}
	if s, ok := consumers.Load(c); ok {
		s.(*kafkamsg.Consumer).Settle(position(m))
	}
}

// Close is called first thing in Consumer.Close: the spans of the messages
// still being handled end, and the Consumer polls no more spans. It returns
// the function Close calls, deferred, that forgets the Consumer.
func Close(c *kafka.Consumer) func() {
	s, ok := consumers.Load(c)
	if !ok {
		return func() {}
	}
	s.(*kafkamsg.Consumer).Close()
	return func() { consumers.Delete(c) }
}
