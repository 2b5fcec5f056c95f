// Package hook connects confluent-kafka-go, as overlay-gen rewrites it, to
// confluentkafkatrace: NewProducer, NewConsumer, the Producer's produce and
// Close, the delivery reports, and the Consumer's Poll, CommitMessage and
// Close call the hook variables the confluent-kafka-go integration injects
// into package kafka, which this package sets.
//
// overlay-gen links it into programs that use confluent-kafka-go; it only
// exists under overlay-gen's overlay (the variables are declarations the
// integration injects).
package hook

import (
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"overlay-gen.invalid/confluentkafkatrace"
)

func init() {
	confluentkafkatrace.ErrorName = kafka.OverlayGenErrorName
	kafka.OverlayGenNewProducer = confluentkafkatrace.NewProducer
	kafka.OverlayGenNewConsumer = confluentkafkatrace.NewConsumer
	kafka.OverlayGenProduce = produce
	kafka.OverlayGenProducerClosed = confluentkafkatrace.ProducerClosed
	kafka.OverlayGenPoll = confluentkafkatrace.Poll
	kafka.OverlayGenCommit = confluentkafkatrace.Commit
	kafka.OverlayGenClose = confluentkafkatrace.Close
}

// produce starts a message's span; the copy it enqueues carries the
// program's Opaque inside the OverlayGenDelivery that waits for its report.
func produce(p *kafka.Producer, msg *kafka.Message, fromChannel bool) (*kafka.Message, func(error)) {
	sent, delivered, end := confluentkafkatrace.Produce(p, msg, fromChannel)
	if delivered == nil {
		return sent, func(error) {}
	}
	sent.Opaque = &kafka.OverlayGenDelivery{Opaque: msg.Opaque, Delivered: delivered}
	return sent, end
}
