// Package kgotrace traces the records every franz-go (kgo) client produces
// and consumes through kotel, the OpenTelemetry plugin franz-go's authors
// keep (github.com/twmb/franz-go/plugin/kotel), added as a user adds it by
// hand: kgo.WithHooks(kotel.NewKotel(kotel.WithTracer(kotel.NewTracer(...))).Hooks()...).
//
// The franz-go integration's aspects replace every kgo.NewClient call (in
// the program and its dependencies, not inside franz-go) with NewClient,
// which appends one hook after the caller's options, and every EachRecord
// and RecordsAll call (of kgo.Fetches, FetchTopic, FetchPartition) with
// Processed, which runs the caller's function, or the body of the loop over
// the records, for each record inside a process span.
//
// The hook holds a kotel Tracer, made when the client is (kgo's
// OnNewClient hook, which tells the consumer group and client ID kotel
// records: messaging.consumer.group.name on consumer spans and
// messaging.client.id, kgo's default "kgo" unless kgo.ClientID says
// otherwise), and hands kotel every record hook call, adding what kotel does
// not do itself:
//
//   - a record produced with a context that holds no span gets the
//     goroutine's active span (otelrt.Parent) before kotel starts its span
//     from the record's Context: Produce(context.Background(), r, nil) inside
//     a span still nests;
//   - kotel is given a TracerProvider of this package: the spans kotel starts
//     through it get the names, kinds and attributes of the current messaging
//     conventions (semconv v1.43.0: "send orders", "receive orders", "process
//     orders"; messaging.operation.type, messaging.destination.partition.id,
//     messaging.kafka.offset, messaging.consumer.group.name...) instead of
//     kotel's v1.18.0 ones ("orders publish", messaging.operation,
//     messaging.kafka.source.partition, messaging.kafka.consumer.group...),
//     computed at span creation from the record itself, so that every kotel
//     release records the same. kotel itself is neither copied nor changed:
//     which spans exist, when they start and end, the headers, the parents,
//     are kotel's. The record's key (messaging.kafka.message.key, which
//     kotel records) is left out: keys may be secret. The body is never
//     recorded, only its size (messaging.message.body.size).
//
// Spans, per record:
//
//   - PRODUCER "send {topic}": from the buffering of a produced record to
//     its acknowledgement (kotel's produce hooks), child of the record's
//     Context (the ctx given to Produce or ProduceSync), else of the
//     goroutine's active span. Its context is injected into the record's
//     headers through the global propagator (W3C traceparent by default,
//     OTEL_PROPAGATORS), which kotel reads when the client is created: the
//     runtime's, or OpenTelemetry's global delegate, which forwards to it
//     once installed. The partition and offset are recorded once the broker
//     acknowledged the record; a failed produce has status Error, an
//     exception event and error.type (the Kafka error code's name, such as
//     MESSAGE_TOO_LARGE, else the error's Go type).
//   - CLIENT "receive {topic}": from the fetch that buffered a record to the
//     poll that returned it (kotel's fetch hooks), child of the producer's
//     span, whose context kotel extracts from the headers. Span kind CLIENT
//     as the current conventions give receive spans (kotel says CONSUMER).
//     The record's Context then holds it.
//   - CONSUMER "process {topic}": the caller's function given to EachRecord,
//     or the body of a loop over RecordsAll, for one record, child of the
//     receive span; kotel's own WithProcessSpan
//     starts it. The function runs with it active on the goroutine
//     (otelrt.Activate) and as the record's Context, so spans it starts, with
//     r.Context or with no context, are its children. A panic in the
//     function ends it with status Error and goes on.
//
// Records handled otherwise (a loop over fetches.Records() or a RecordIter)
// have no process span: their handler's spans started from
// r.Context are children of the receive span; those started without a
// context have no parent.
//
// A client to which the caller already gives a kotel Tracer (kgo.WithHooks
// with kotel's hooks) traces itself: this package's hook then does nothing,
// so that no record gets two spans. Not recorded: server.address and
// server.port (a record goes to its partition's leader, which the record
// hooks are not told), messaging.message.id (Kafka has none).
//
// It only exists under overlay-gen's overlay.
package kgotrace

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"overlay-gen.invalid/otelrt"
)

// NewClient stands in for kgo.NewClient: the same client, with this
// package's hook after the caller's options (the caller's slice, when it
// spreads one, is copied, never written to).
func NewClient(opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append(opts[:len(opts):len(opts)], kgo.WithHooks(&hooks{}))...)
}

// Processed stands in for a method value m, such as fetches.EachRecord or
// fetches.RecordsAll: when it is an EachRecord of kgo's (a
// func(func(*kgo.Record))), the function it is called with runs for each
// record inside the record's process span (Process); when it is a
// RecordsAll (a func() iter.Seq[*kgo.Record]), the body of the loop ranging
// over its records does; any other method is returned as it is.
func Processed[M any](m M) M {
	switch method := any(m).(type) {
	case func(func(*kgo.Record)):
		if method != nil {
			var each func(func(*kgo.Record)) = func(fn func(*kgo.Record)) { method(Process(fn)) }
			return any(each).(M)
		}
	case func() iter.Seq[*kgo.Record]:
		if method != nil {
			var all func() iter.Seq[*kgo.Record] = func() iter.Seq[*kgo.Record] { return processedSeq(method()) }
			return any(all).(M)
		}
	}
	return m
}

// processedSeq yields seq's records, the loop's body for each running inside
// its process span.
func processedSeq(seq iter.Seq[*kgo.Record]) iter.Seq[*kgo.Record] {
	if seq == nil {
		return nil
	}
	return func(yield func(*kgo.Record) bool) {
		more := true
		body := Process(func(r *kgo.Record) { more = yield(r) })
		seq(func(r *kgo.Record) bool {
			body(r)
			return more
		})
	}
}

// Process returns fn, run for a record that this package's hook saw fetched
// inside a process span, child of the record's Context (its receive span),
// active on the goroutine and set as the record's Context while fn runs.
func Process(fn func(*kgo.Record)) func(*kgo.Record) {
	if fn == nil {
		return nil
	}
	return func(r *kgo.Record) {
		var t *kotel.Tracer
		if r != nil && r.Context != nil {
			t, _ = r.Context.Value(tracerKey{}).(*kotel.Tracer)
		}
		if t == nil {
			fn(r)
			return
		}
		ctx, span := t.WithProcessSpan(r)
		r.Context = ctx
		restore := otelrt.Activate(ctx)
		defer func() {
			restore()
			if p := recover(); p != nil {
				span.SetStatus(codes.Error, fmt.Sprint(p))
				span.End()
				panic(p)
			}
			span.End()
		}()
		fn(r)
	}
}

// --- the hook -----------------------------------------------------------------------

// recordKey holds, in the context kotel starts a record's span with, the
// record; tracerKey the kotel Tracer that fetched it.
type (
	recordKey struct{}
	tracerKey struct{}
)

// hooks is the hook NewClient adds. tracer is nil until the client exists,
// and stays nil when the client has a kotel Tracer of the caller's.
type hooks struct {
	tracer *kotel.Tracer
}

var (
	_ kgo.HookNewClient               = (*hooks)(nil)
	_ kgo.HookProduceRecordBuffered   = (*hooks)(nil)
	_ kgo.HookProduceRecordUnbuffered = (*hooks)(nil)
	_ kgo.HookFetchRecordBuffered     = (*hooks)(nil)
	_ kgo.HookFetchRecordUnbuffered   = (*hooks)(nil)
)

func (h *hooks) OnNewClient(cl *kgo.Client) {
	if h.tracer != nil || tracedByCaller(cl) {
		return // a client made from another's options (cl.Opts()) keeps the first one's tracer
	}
	opts := []kotel.TracerOpt{kotel.TracerProvider(provider)}
	if group, _ := cl.OptValue(kgo.ConsumerGroup).(string); group != "" {
		opts = append(opts, kotel.ConsumerGroup(group))
	}
	if id, _ := cl.OptValue(kgo.ClientID).(string); id != "" {
		opts = append(opts, kotel.ClientID(id))
	}
	// No TracerPropagator: kotel takes the global propagator, the runtime's.
	// The Tracer is the one hook kotel.NewKotel(kotel.WithTracer(t)).Hooks()
	// would give; this hook calls it (no kotel Meter: the runtime exports no
	// metrics).
	h.tracer = kotel.NewTracer(opts...)
}

// tracedByCaller reports whether the client's hooks hold a kotel Tracer
// other than this package's (kgo.WithHooks(kotel...Hooks()...)).
func tracedByCaller(cl *kgo.Client) bool {
	all := reflect.ValueOf(cl.OptValue(kgo.WithHooks)) // kgo's unexported hooks type, a []kgo.Hook
	if all.Kind() != reflect.Slice {
		return false
	}
	for i := range all.Len() {
		if _, ok := all.Index(i).Interface().(*kotel.Tracer); ok {
			return true
		}
	}
	return false
}

func (h *hooks) OnProduceRecordBuffered(r *kgo.Record) {
	if h.tracer == nil {
		return
	}
	r.Context = context.WithValue(otelrt.Parent(r.Context), recordKey{}, r)
	h.tracer.OnProduceRecordBuffered(r)
}

func (h *hooks) OnProduceRecordUnbuffered(r *kgo.Record, err error) {
	if h.tracer == nil {
		return
	}
	if s, ok := trace.SpanFromContext(r.Context).(*span); ok && s.record == r {
		s.Span.SetAttributes(sent(r, err)...)
	}
	h.tracer.OnProduceRecordUnbuffered(r, err) // ends the span
}

func (h *hooks) OnFetchRecordBuffered(r *kgo.Record) {
	if h.tracer == nil {
		return
	}
	ctx := r.Context
	if ctx == nil {
		ctx = context.Background()
	}
	r.Context = context.WithValue(context.WithValue(ctx, tracerKey{}, h.tracer), recordKey{}, r)
	h.tracer.OnFetchRecordBuffered(r)
}

func (h *hooks) OnFetchRecordUnbuffered(r *kgo.Record, polled bool) {
	if h.tracer == nil {
		return
	}
	h.tracer.OnFetchRecordUnbuffered(r, polled) // ends the receive span
}

// --- the tracer kotel starts its spans with ------------------------------------------

// provider is the TracerProvider kotel gets: its tracers start spans with
// the global provider (the runtime's; OpenTelemetry's delegate when a client
// is made before the runtime installed it).
var provider trace.TracerProvider = tracerProvider{}

type tracerProvider struct{ embedded.TracerProvider }

func (tracerProvider) Tracer(name string, options ...trace.TracerOption) trace.Tracer {
	// The spans follow semconv v1.43.0, not the v1.18.0 kotel names.
	options = append(options[:len(options):len(options)], trace.WithSchemaURL(semconv.SchemaURL))
	return tracer{inner: otel.GetTracerProvider().Tracer(name, options...)}
}

type tracer struct {
	embedded.Tracer
	inner trace.Tracer
}

// operation is what a span kotel starts does, from its name ("orders
// publish", "orders receive", "orders process").
type operation struct {
	kind     trace.SpanKind
	typ      attribute.KeyValue // messaging.operation.type
	name     string             // messaging.operation.name
	consumer bool
}

var operations = map[string]operation{
	"publish": {trace.SpanKindProducer, semconv.MessagingOperationTypeSend, "send", false},
	"receive": {trace.SpanKindClient, semconv.MessagingOperationTypeReceive, "receive", true},
	"process": {trace.SpanKindConsumer, semconv.MessagingOperationTypeProcess, "process", true},
}

// kotelOperation is the operation of a span kotel names name for record r.
func kotelOperation(name string, r *kgo.Record) (operation, bool) {
	word, ok := strings.CutPrefix(name, r.Topic+" ")
	if !ok {
		return operation{}, false
	}
	op, ok := operations[word]
	return op, ok
}

func (t tracer) Start(ctx context.Context, name string, options ...trace.SpanStartOption) (context.Context, trace.Span) {
	r, _ := ctx.Value(recordKey{}).(*kgo.Record)
	if r == nil {
		return t.inner.Start(ctx, name, options...)
	}
	op, ok := kotelOperation(name, r)
	if !ok {
		return t.inner.Start(ctx, name, options...)
	}
	config := trace.NewSpanStartConfig(options...)
	attrs := attributes(op, r, config.Attributes())
	start := []trace.SpanStartOption{trace.WithSpanKind(op.kind), trace.WithAttributes(attrs...)}
	if links := config.Links(); len(links) > 0 {
		start = append(start, trace.WithLinks(links...))
	}
	if config.NewRoot() {
		start = append(start, trace.WithNewRoot())
	}
	ctx, inner := t.inner.Start(ctx, op.name+" "+r.Topic, start...)
	s := &span{Span: inner, record: r}
	return trace.ContextWithSpan(ctx, s), s
}

// attributes are a span's attributes for operation op on record r; kotel's
// are the attributes kotel gave it, of which the client ID and the consumer
// group are taken (renamed), the rest computed anew from the record.
func attributes(op operation, r *kgo.Record, kotel []attribute.KeyValue) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKafka,
		semconv.MessagingDestinationName(r.Topic),
		op.typ,
		semconv.MessagingOperationName(op.name),
		semconv.MessagingMessageBodySize(len(r.Value)),
	}
	if op.consumer {
		attrs = append(attrs,
			semconv.MessagingDestinationPartitionID(strconv.Itoa(int(r.Partition))),
			semconv.MessagingKafkaOffset(int(r.Offset)))
	}
	if r.Key != nil && r.Value == nil {
		attrs = append(attrs, semconv.MessagingKafkaMessageTombstone(true))
	}
	for _, kv := range kotel {
		switch kv.Key {
		case "messaging.kafka.client_id":
			attrs = append(attrs, semconv.MessagingClientID(kv.Value.AsString()))
		case "messaging.kafka.consumer.group":
			if op.consumer {
				attrs = append(attrs, semconv.MessagingConsumerGroupName(kv.Value.AsString()))
			}
		}
	}
	return attrs
}

// sent are the attributes of a produced record once the broker answered.
func sent(r *kgo.Record, err error) []attribute.KeyValue {
	if r.Partition < 0 {
		return nil
	}
	attrs := []attribute.KeyValue{semconv.MessagingDestinationPartitionID(strconv.Itoa(int(r.Partition)))}
	if err == nil {
		attrs = append(attrs, semconv.MessagingKafkaOffset(int(r.Offset)))
	}
	return attrs
}

// span is a span kotel started through this package's tracer: the
// attributes kotel sets later, in its older names (the partition and offset
// of a produced record, which sent records), are dropped; errors get
// error.type.
type span struct {
	trace.Span
	record *kgo.Record
}

func (s *span) SetAttributes(kvs ...attribute.KeyValue) {
	kept := kvs[:0:0]
	for _, kv := range kvs {
		if !strings.HasPrefix(string(kv.Key), "messaging.") {
			kept = append(kept, kv)
		}
	}
	if len(kept) > 0 {
		s.Span.SetAttributes(kept...)
	}
}

func (s *span) RecordError(err error, options ...trace.EventOption) {
	if err != nil {
		s.Span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
	}
	s.Span.RecordError(err, options...)
}

// errorType is error.type: a Kafka error code's name (MESSAGE_TOO_LARGE,
// UNKNOWN_TOPIC_OR_PARTITION...), else the error's Go type.
func errorType(err error) string {
	var coded *kerr.Error
	if errors.As(err, &coded) {
		return coded.Message
	}
	if errors.Is(err, context.Canceled) {
		return "context.Canceled"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "context.DeadlineExceeded"
	}
	return reflect.TypeOf(err).String()
}
