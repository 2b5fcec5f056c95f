package awstrace

// SQS: the trace context across the queue, which otelaws does not carry
// (it puts it in the HTTP request to SQS only).
//
//   - SendMessage and SendMessageBatch: each message gets the send span's
//     context in its message attributes (the configured propagator's fields:
//     traceparent, tracestate), unless that would give it more than the ten
//     attributes SQS allows. The program's input is not changed: the SDK
//     sends a copy.
//   - ReceiveMessage asks for those attributes too (unless the program asks
//     for all); what it asked for on its own is what the program gets back.
//     The receive span links to the context of every message received. Each
//     message gets a "process {queue}" CONSUMER span, child of the send span
//     whose context it carries (one trace from the producer to the
//     consumer), which lasts from the answer until the program deletes the
//     message (DeleteMessage, DeleteMessageBatch: the delete span is its
//     child) or receives from the queue again. When one message arrived
//     (ReceiveMessage's default), its process span is the goroutine's active
//     span meanwhile: spans the handling starts without a context of its own
//     are its children.

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// maxAttributes is how many message attributes SQS accepts on a message.
const maxAttributes = 10

// scope is the instrumentation scope of the process spans, this package's own.
const scope = "overlay-gen.invalid/awstrace"

// beforeSend is the input the SDK sends for the program's params, inside
// the operation's span (ctx).
func beforeSend(ctx context.Context, c *call, params any) any {
	switch p := params.(type) {
	case *sqs.SendMessageInput:
		cp := *p
		cp.MessageAttributes = inject(ctx, p.MessageAttributes)
		return &cp
	case *sqs.SendMessageBatchInput:
		cp := *p
		cp.Entries = slices.Clone(p.Entries)
		for i := range cp.Entries {
			cp.Entries[i].MessageAttributes = inject(ctx, cp.Entries[i].MessageAttributes)
		}
		return &cp
	case *sqs.ReceiveMessageInput:
		if p.QueueUrl != nil {
			endProcessing(func(ps *processSpan) bool { return ps.queueURL == *p.QueueUrl })
		}
		names, added := askFor(p.MessageAttributeNames)
		if len(added) == 0 {
			return params
		}
		cp := *p
		cp.MessageAttributeNames = names
		c.strip = added
		return &cp
	}
	return params
}

// inject is a message's attributes with the trace context of ctx added, in
// a new map; attrs itself when there is none or no room for it.
func inject(ctx context.Context, attrs map[string]types.MessageAttributeValue) map[string]types.MessageAttributeValue {
	fields := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, fields)
	if len(fields) == 0 {
		return attrs
	}
	added := 0
	for key := range fields {
		if _, ok := attrs[key]; !ok {
			added++
		}
	}
	if len(attrs)+added > maxAttributes {
		return attrs
	}
	out := make(map[string]types.MessageAttributeValue, len(attrs)+added)
	maps.Copy(out, attrs)
	for key, value := range fields {
		out[key] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
	}
	return out
}

// askFor is the message attribute names a receive asks for with the trace
// context's fields, and the fields it did not ask for itself.
func askFor(names []string) (all []string, added []string) {
	for _, name := range names {
		if name == "All" || name == ".*" {
			return names, nil
		}
	}
	for _, field := range otel.GetTextMapPropagator().Fields() {
		if !slices.Contains(names, field) {
			added = append(added, field)
		}
	}
	if len(added) == 0 {
		return names, nil
	}
	slices.Sort(added) // a composite propagator's fields come in no order
	return append(slices.Clip(names), added...), added
}

// carrier reads a message's attributes as a propagator's carrier.
type carrier map[string]types.MessageAttributeValue

func (c carrier) Get(key string) string {
	if v, ok := c[key]; ok && v.StringValue != nil {
		return *v.StringValue
	}
	return ""
}

func (c carrier) Set(key, value string) {
	c[key] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
}

func (c carrier) Keys() []string { return slices.Collect(maps.Keys(c)) }

// answered is what the operation's answer adds to its span, inside it.
func answered(ctx context.Context, c *call, result any) {
	switch r := result.(type) {
	case *sqs.SendMessageOutput:
		if r.MessageId != nil {
			c.span.SetAttributes(semconv.MessagingMessageID(*r.MessageId))
		}
	case *sqs.ReceiveMessageOutput:
		if p, ok := c.params.(*sqs.ReceiveMessageInput); ok && p.QueueUrl != nil {
			received(ctx, c, *p.QueueUrl, r.Messages)
		}
	}
}

// afterCall runs once the operation has returned without error, outside
// the SDK's checks of the answer: the program gets back the message
// attributes it asked for, no others.
func afterCall(c *call, result any) {
	if r, ok := result.(*sqs.ReceiveMessageOutput); ok && len(c.strip) > 0 {
		for i := range r.Messages {
			for _, name := range c.strip {
				delete(r.Messages[i].MessageAttributes, name)
			}
		}
	}
}

// settled ends the process spans of the messages an operation deleted,
// once it returned (the delete span is their child).
func settled(params any) {
	var handles []string
	switch p := params.(type) {
	case *sqs.DeleteMessageInput:
		if p.ReceiptHandle != nil {
			handles = append(handles, *p.ReceiptHandle)
		}
	case *sqs.DeleteMessageBatchInput:
		for _, e := range p.Entries {
			if e.ReceiptHandle != nil {
				handles = append(handles, *e.ReceiptHandle)
			}
		}
	default:
		return
	}
	endProcessing(func(ps *processSpan) bool { return slices.Contains(handles, ps.receipt) })
}

// --- the process spans --------------------------------------------------------------------

// processSpan is the span of one received message's processing.
type processSpan struct {
	span     trace.Span
	ctx      context.Context // its context, the goroutine's active one when restore is set
	restore  func()
	queueURL string
	receipt  string
}

// processing are the process spans that have not ended, by receipt handle.
var processing = struct {
	sync.Mutex
	spans []*processSpan
}{}

// endProcessing ends the process spans that match.
func endProcessing(match func(*processSpan) bool) {
	processing.Lock()
	var ended []*processSpan
	processing.spans = slices.DeleteFunc(processing.spans, func(ps *processSpan) bool {
		if match(ps) {
			ended = append(ended, ps)
			return true
		}
		return false
	})
	processing.Unlock()
	for _, ps := range ended {
		ps.span.End()
		// Only the goroutine whose active span it still is gets its previous one back.
		if ps.restore != nil && otelrt.GoroutineContext() == ps.ctx {
			ps.restore()
		}
	}
}

// received gives the receive span its links and each message its process
// span.
func received(ctx context.Context, c *call, queueURL string, messages []types.Message) {
	if len(messages) != 1 {
		c.span.SetAttributes(semconv.MessagingBatchMessageCount(len(messages)))
	}
	queue := queueName(queueURL)
	tracer := otel.GetTracerProvider().Tracer(scope, trace.WithSchemaURL(semconv.SchemaURL))
	receive := trace.Link{SpanContext: c.span.SpanContext()}
	var started []*processSpan
	for _, m := range messages {
		creation := trace.SpanContextFromContext(otel.GetTextMapPropagator().Extract(context.Background(), carrier(m.MessageAttributes)))
		parent := context.WithoutCancel(c.parent) // the processing outlives the receive's context
		if creation.IsValid() {
			c.span.AddLink(trace.Link{SpanContext: creation})
			parent = trace.ContextWithRemoteSpanContext(parent, creation)
		}
		attrs := []attribute.KeyValue{
			semconv.MessagingSystemAWSSQS,
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingOperationName("process"),
			semconv.MessagingDestinationName(queue),
			semconv.AWSSQSQueueURL(queueURL),
		}
		if m.MessageId != nil {
			attrs = append(attrs, semconv.MessagingMessageID(*m.MessageId))
		}
		if region := awsmiddleware.GetRegion(ctx); region != "" {
			attrs = append(attrs, semconv.CloudRegion(region))
		}
		pctx, span := tracer.Start(parent, "process "+queue,
			trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...), trace.WithLinks(receive))
		ps := &processSpan{span: span, ctx: pctx, queueURL: queueURL}
		if m.ReceiptHandle != nil {
			ps.receipt = *m.ReceiptHandle
		}
		started = append(started, ps)
	}
	if len(started) == 1 {
		started[0].restore = otelrt.Activate(started[0].ctx)
	}
	processing.Lock()
	processing.spans = append(processing.spans, started...)
	processing.Unlock()
}
