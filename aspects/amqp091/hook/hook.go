// Package hook connects amqp091-go, as overlay-gen rewrites it, to
// amqptrace: amqp091-go's publishing, consuming, getting and settling
// methods call the hook variables this package sets
// (amqp091.OverlayGenAMQPPublish, OverlayGenAMQPConsume, OverlayGenAMQPGet,
// OverlayGenAMQPSettle).
//
// overlay-gen links it into programs that use amqp091-go; it only exists
// under overlay-gen's overlay (the variables are among the declarations the
// amqp091 integration injects).
package hook

import (
	amqp "github.com/rabbitmq/amqp091-go"

	"overlay-gen.invalid/amqptrace"
)

func init() {
	amqp.OverlayGenAMQPSettle = amqptrace.Settle
	amqp.OverlayGenAMQPGet = amqptrace.Get
	amqp.OverlayGenAMQPConsume = amqptrace.Consume
	amqp.OverlayGenAMQPPublish = amqptrace.Publish
}
