// Package hook connects nats.go, as overlay-gen rewrites it, to natstrace:
// nats.go's publishing, requesting, responding and subscribing methods call
// the hook variables this package sets (nats.OverlayGenNATSPublish,
// OverlayGenNATSReply, OverlayGenNATSProcess).
//
// overlay-gen links it into programs that use nats.go; it only exists
// under overlay-gen's overlay (the variables are among the declarations the
// nats integration injects).
package hook

import (
	"github.com/nats-io/nats.go"

	"overlay-gen.invalid/natstrace"
)

func init() {
	nats.OverlayGenNATSProcess = natstrace.Process
	nats.OverlayGenNATSReply = natstrace.Reply
	nats.OverlayGenNATSPublish = natstrace.Publish
}
