package awstrace

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// s3Input stands for an S3 input: the fields are read by name.
type s3Input struct {
	Bucket     *string
	Key        *string
	PartNumber *int32
	Other      *string
}

func attrMap(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

func TestS3AttributesAreTheBucketAndKeyOfTheInput(t *testing.T) {
	got := attrMap(s3Attributes(&s3Input{Bucket: aws.String("receipts"), Key: aws.String("2026/1001.txt"), PartNumber: aws.Int32(3)}))
	want := map[string]string{"aws.s3.bucket": "receipts", "aws.s3.key": "2026/1001.txt", "aws.s3.part_number": "3"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if got := s3Attributes(&s3Input{}); len(got) != 0 {
		t.Errorf("an input without bucket or key: %v", got)
	}
	for _, params := range []any{nil, s3Input{Bucket: aws.String("b")}, (*s3Input)(nil), "x"} {
		if got := s3Attributes(params); len(got) != 0 {
			t.Errorf("%#v: %v", params, got)
		}
	}
}

func TestQueueNameIsTheURLsLastPart(t *testing.T) {
	for url, want := range map[string]string{
		"https://sqs.us-east-1.amazonaws.com/123456789012/orders": "orders",
		"http://127.0.0.1:4566/000000000000/jobs.fifo":            "jobs.fifo",
		"http://127.0.0.1:4566/000000000000/jobs/":                "jobs",
		"http://127.0.0.1:4566":                                   "",
		"http://127.0.0.1:4566/":                                  "",
		"::":                                                      "",
	} {
		if got := queueName(url); got != want {
			t.Errorf("queueName(%q) = %q, want %q", url, got, want)
		}
	}
}

func TestSQSMessagingOperationsHaveMessagingNamesAndKinds(t *testing.T) {
	url := aws.String("http://127.0.0.1:4566/123456789012/orders")
	cases := []struct {
		operation string
		params    any
		name      string
		kind      trace.SpanKind
		attrs     map[string]string
	}{
		{"SendMessage", &sqs.SendMessageInput{QueueUrl: url}, "send orders", trace.SpanKindProducer, map[string]string{
			"aws.sqs.queue.url": *url, "messaging.operation.type": "send", "messaging.operation.name": "send", "messaging.destination.name": "orders",
		}},
		{"SendMessageBatch", &sqs.SendMessageBatchInput{QueueUrl: url, Entries: make([]types.SendMessageBatchRequestEntry, 3)}, "send orders", trace.SpanKindProducer, map[string]string{
			"aws.sqs.queue.url": *url, "messaging.operation.type": "send", "messaging.operation.name": "send", "messaging.destination.name": "orders", "messaging.batch.message_count": "3",
		}},
		{"ReceiveMessage", &sqs.ReceiveMessageInput{QueueUrl: url}, "receive orders", trace.SpanKindClient, map[string]string{
			"aws.sqs.queue.url": *url, "messaging.operation.type": "receive", "messaging.operation.name": "receive", "messaging.destination.name": "orders",
		}},
		{"DeleteMessage", &sqs.DeleteMessageInput{QueueUrl: url}, "delete orders", trace.SpanKindClient, map[string]string{
			"aws.sqs.queue.url": *url, "messaging.operation.type": "settle", "messaging.operation.name": "delete", "messaging.destination.name": "orders",
		}},
		{"GetQueueAttributes", &sqs.GetQueueAttributesInput{QueueUrl: url}, "", trace.SpanKindUnspecified, map[string]string{"aws.sqs.queue.url": *url}},
		{"CreateQueue", &sqs.CreateQueueInput{QueueName: aws.String("orders")}, "", trace.SpanKindUnspecified, map[string]string{}},
	}
	for _, c := range cases {
		d := describe("SQS", c.operation, c.params)
		got := attrMap(d.attrs)
		if d.name != c.name || d.kind != c.kind || len(got) != len(c.attrs) {
			t.Errorf("%s: %q %v %v, want %q %v %v", c.operation, d.name, d.kind, got, c.name, c.kind, c.attrs)
			continue
		}
		for k, v := range c.attrs {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", c.operation, k, got[k], v)
			}
		}
	}
	if d := describe("DynamoDB", "GetItem", &sqs.SendMessageInput{QueueUrl: url}); d.name != "" || len(d.attrs) != 0 {
		t.Errorf("another service's operation: %+v", d)
	}
}

func TestServerAttributesNameTheEndpoint(t *testing.T) {
	for _, c := range []struct {
		scheme, host string
		want         map[string]string
	}{
		{"https", "sqs.us-east-1.amazonaws.com", map[string]string{"server.address": "sqs.us-east-1.amazonaws.com", "server.port": "443"}},
		{"http", "127.0.0.1:4566", map[string]string{"server.address": "127.0.0.1", "server.port": "4566"}},
		{"http", "[::1]:4566", map[string]string{"server.address": "::1", "server.port": "4566"}},
		{"", "", map[string]string{}},
	} {
		got := attrMap(serverAttributes(c.scheme, c.host))
		if len(got) != len(c.want) || got["server.address"] != c.want["server.address"] || got["server.port"] != c.want["server.port"] {
			t.Errorf("%s %s: %v, want %v", c.scheme, c.host, got, c.want)
		}
	}
}

func withPropagator(t *testing.T) {
	previous := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	t.Cleanup(func() { otel.SetTextMapPropagator(previous) })
}

func spanContext() context.Context {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c},
		SpanID:     trace.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31},
		TraceFlags: trace.FlagsSampled,
	})
	return trace.ContextWithSpanContext(context.Background(), sc)
}

func TestSendMessageCarriesTheTraceContextInACopy(t *testing.T) {
	withPropagator(t)
	mine := map[string]types.MessageAttributeValue{"customer": {DataType: aws.String("String"), StringValue: aws.String("c-7")}}
	input := &sqs.SendMessageInput{QueueUrl: aws.String("q"), MessageAttributes: mine}
	sent := beforeSend(spanContext(), &call{}, input).(*sqs.SendMessageInput)
	if sent == input || len(mine) != 1 {
		t.Fatal("the program's input was changed")
	}
	want := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	if got := carrier(sent.MessageAttributes).Get("traceparent"); got != want {
		t.Errorf("traceparent %q, want %q", got, want)
	}
	if len(sent.MessageAttributes) != 2 || *sent.MessageAttributes["customer"].StringValue != "c-7" {
		t.Errorf("attributes sent: %v", sent.MessageAttributes)
	}
	extracted := otel.GetTextMapPropagator().Extract(context.Background(), carrier(sent.MessageAttributes))
	if !trace.SpanContextFromContext(extracted).Equal(trace.SpanContextFromContext(spanContext()).WithRemote(true)) {
		t.Errorf("extracted %v", trace.SpanContextFromContext(extracted))
	}
}

func TestAMessageWithTenAttributesGetsNoTraceContext(t *testing.T) {
	withPropagator(t)
	full := map[string]types.MessageAttributeValue{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		full[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(k)}
	}
	if got := inject(spanContext(), full); len(got) != 10 {
		t.Errorf("%d attributes: over SQS's limit", len(got))
	}
	if got := inject(context.Background(), nil); got != nil {
		t.Errorf("no trace context, yet attributes: %v", got)
	}
}

func TestReceiveAsksForTheTraceContextUnlessItAsksForAll(t *testing.T) {
	withPropagator(t)
	names, added := askFor([]string{"customer"})
	if !slices.Equal(names, []string{"customer", "baggage", "traceparent", "tracestate"}) || !slices.Equal(added, []string{"baggage", "traceparent", "tracestate"}) {
		t.Errorf("names %v, added %v", names, added)
	}
	for _, all := range [][]string{{"All"}, {".*"}, {"customer", "All"}} {
		if names, added := askFor(all); !slices.Equal(names, all) || added != nil {
			t.Errorf("%v: names %v, added %v", all, names, added)
		}
	}
	mine := []string{"traceparent"}
	names, added = askFor(mine)
	if !slices.Equal(added, []string{"baggage", "tracestate"}) || len(names) != 3 || len(mine) != 1 {
		t.Errorf("names %v, added %v, mine %v", names, added, mine)
	}
}

func TestTheProgramGetsBackTheAttributesItAskedFor(t *testing.T) {
	out := &sqs.ReceiveMessageOutput{Messages: []types.Message{{MessageAttributes: map[string]types.MessageAttributeValue{
		"customer": {StringValue: aws.String("c-7")}, "traceparent": {StringValue: aws.String("00-...")},
	}}}}
	afterCall(&call{strip: []string{"traceparent", "tracestate"}}, out)
	if got := out.Messages[0].MessageAttributes; len(got) != 1 || got["customer"].StringValue == nil {
		t.Errorf("attributes: %v", got)
	}
}

func TestAnAWSErrorIsRecordedByItsCode(t *testing.T) {
	err := &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: &smithy.GenericAPIError{Code: "NoSuchKey", Message: "The specified key does not exist."}}
	s := &span{Span: trace.SpanFromContext(context.Background())}
	s.failed(err)
	if s.code != "NoSuchKey" || s.message != "NoSuchKey: The specified key does not exist." {
		t.Errorf("code %q, message %q", s.code, s.message)
	}
	got := attrMap(s.translate([]attribute.KeyValue{attribute.String("error.type", "*smithy.OperationError"), attribute.String("aws.region", "us-east-1"), attribute.String("server.address", "http://127.0.0.1:1/q")}))
	if len(got) != 2 || got["error.type"] != "NoSuchKey" || got["cloud.region"] != "us-east-1" {
		t.Errorf("translated: %v", got)
	}
	other := &span{Span: s.Span}
	other.failed(errors.New("dial tcp: connection refused"))
	if other.code != "" {
		t.Errorf("an error AWS did not answer has a code: %q", other.code)
	}
}

func TestAddTracingAddsOtelawsOnceAndGivesWayToTheProgramsOwn(t *testing.T) {
	stack := middleware.NewStack("GetObject", func() any { return nil })
	if err := addTracing(stack); err != nil {
		t.Fatal(err)
	}
	if err := addTracing(stack); err != nil {
		t.Fatalf("a second time: %v", err)
	}
	var theirs APIOptions
	AppendMiddlewares(&theirs)
	for _, add := range theirs {
		if err := add(stack); err != nil {
			t.Fatalf("the program's own otelaws after ours: %v", err)
		}
	}
	if _, ok := stack.Initialize.Get(callID); ok {
		t.Error("ours is still on the stack")
	}
	if _, ok := stack.Initialize.Get(otelawsInitializeBefore); !ok {
		t.Error("the program's otelaws is not on the stack")
	}
	if err := addTracing(stack); err != nil {
		t.Fatalf("ours after the program's: %v", err)
	}
	if _, ok := stack.Initialize.Get(callID); ok {
		t.Error("ours was added beside the program's")
	}
}

func TestAReceivedMessageIsProcessedUnderItsSendSpanUntilItIsDeleted(t *testing.T) {
	withPropagator(t)
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(previous) })

	url := "http://127.0.0.1:4566/123456789012/orders"
	send := trace.SpanContextFromContext(spanContext())
	attrs := inject(spanContext(), nil)
	_, receive := tp.Tracer("test").Start(context.Background(), "receive orders")
	c := &call{parent: context.Background(), span: &span{Span: receive}}
	received(context.Background(), c, url, []types.Message{
		{MessageId: aws.String("m-1"), ReceiptHandle: aws.String("r-1"), MessageAttributes: attrs},
		{MessageId: aws.String("m-2"), ReceiptHandle: aws.String("r-2")},
	})
	receive.End()
	settled(&sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("r-1")})
	ended := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range recorder.Ended() {
		ended[s.Name()+" "+attrMap(s.Attributes())["messaging.message.id"]] = s
	}
	first, ok := ended["process orders m-1"]
	if !ok {
		t.Fatalf("the deleted message's process span has not ended: %v", ended)
	}
	if first.Parent().SpanID() != send.SpanID() || first.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("process span: parent %v kind %v, want the send span %v, consumer", first.Parent().SpanID(), first.SpanKind(), send.SpanID())
	}
	if _, ok := ended["process orders m-2"]; ok {
		t.Error("the other message's process span ended with the first's deletion")
	}
	links := ended["receive orders "].Links()
	if len(links) != 1 || links[0].SpanContext.SpanID() != send.SpanID() {
		t.Errorf("receive span's links: %v, want the send span", links)
	}
	if got := attrMap(ended["receive orders "].Attributes())["messaging.batch.message_count"]; got != "2" {
		t.Errorf("batch count %q", got)
	}
	// Receiving from the queue again ends what was received before.
	beforeSend(context.Background(), &call{}, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
	if _, ok := func() (sdktrace.ReadOnlySpan, bool) {
		for _, s := range recorder.Ended() {
			if attrMap(s.Attributes())["messaging.message.id"] == "m-2" {
				return s, true
			}
		}
		return nil, false
	}(); !ok {
		t.Error("the second message's process span did not end at the next receive")
	}
}
