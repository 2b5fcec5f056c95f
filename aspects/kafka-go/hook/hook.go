// Package hook connects kafka-go, as overlay-gen rewrites it, to
// kafkagotrace: Writer.WriteMessages, the batches' completion and the
// Reader's ReadMessage, FetchMessage, CommitMessages and Close call the hook
// variables the kafka-go integration injects into package kafka, which this
// package sets.
//
// overlay-gen links it into programs that use kafka-go; it only exists under
// overlay-gen's overlay (the variables are declarations the integration
// injects).
package hook

import (
	"github.com/segmentio/kafka-go"

	"overlay-gen.invalid/kafkagotrace"
)

func init() {
	kafka.OverlayGenWrite = kafkagotrace.Write
	kafka.OverlayGenWritten = kafkagotrace.Written
	kafka.OverlayGenReceive = kafkagotrace.Receive
	kafka.OverlayGenCommit = kafkagotrace.Commit
	kafka.OverlayGenClose = kafkagotrace.Close
}
