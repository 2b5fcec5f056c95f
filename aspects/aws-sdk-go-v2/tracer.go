package awstrace

import (
	"context"
	"net/url"
	"path"
	"reflect"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// provider is the TracerProvider otelaws gets: its tracers start spans with
// the global provider (the one otelrt installs, also when a config was
// loaded before it was), under the current conventions' schema URL.
var provider trace.TracerProvider = tracerProvider{}

type tracerProvider struct{ embedded.TracerProvider }

func (tracerProvider) Tracer(name string, options ...trace.TracerOption) trace.Tracer {
	options = append(options, trace.WithSchemaURL(semconv.SchemaURL))
	return tracer{inner: otel.GetTracerProvider().Tracer(name, options...)}
}

type tracer struct {
	embedded.Tracer
	inner trace.Tracer
}

// Start starts the span of one operation: otelaws names it Service.Operation
// and gives it rpc.*, aws.region; the operation's input (the call in the
// context) gives the service's own attributes, and SQS's messaging
// operations their messaging name and kind, at the start, for samplers.
func (t tracer) Start(ctx context.Context, name string, options ...trace.SpanStartOption) (context.Context, trace.Span) {
	config := trace.NewSpanStartConfig(options...)
	s := &span{}
	kind := config.SpanKind()
	attrs := s.translate(config.Attributes())
	c := callFrom(ctx)
	if c != nil && c.span == nil {
		d := describe(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), c.params)
		if d.name != "" {
			name, kind = d.name, d.kind
		}
		attrs = append(attrs, d.attrs...)
	}
	start := []trace.SpanStartOption{trace.WithSpanKind(kind), trace.WithAttributes(attrs...)}
	if links := config.Links(); len(links) > 0 {
		start = append(start, trace.WithLinks(links...))
	}
	if ts := config.Timestamp(); !ts.IsZero() {
		start = append(start, trace.WithTimestamp(ts))
	}
	if config.NewRoot() {
		start = append(start, trace.WithNewRoot())
	}
	ctx, inner := t.inner.Start(ctx, name, start...)
	s.Span = inner
	if c != nil && c.span == nil {
		c.span = s
	}
	return trace.ContextWithSpan(ctx, s), s
}

// --- what an operation's span is --------------------------------------------------------

// description is what an operation's input says of its span: a name and a
// kind other than otelaws's (name "": otelaws's), and attributes.
type description struct {
	name  string
	kind  trace.SpanKind
	attrs []attribute.KeyValue
}

// The services this package knows, by their SDK service id.
const (
	serviceS3  = "S3"
	serviceSQS = "SQS"
)

func describe(service, operation string, params any) description {
	switch service {
	case serviceS3:
		return description{attrs: s3Attributes(params)}
	case serviceSQS:
		return sqsDescription(operation, params)
	}
	return description{}
}

// s3Attributes are the aws.s3.* attributes of an S3 operation's input: the
// fields of that name every S3 input that has them has (read by reflection,
// so that programs without S3 need not link it).
func s3Attributes(params any) []attribute.KeyValue {
	var attrs []attribute.KeyValue
	if v, ok := stringField(params, "Bucket"); ok {
		attrs = append(attrs, semconv.AWSS3Bucket(v))
	}
	if v, ok := stringField(params, "Key"); ok {
		attrs = append(attrs, semconv.AWSS3Key(v))
	}
	if v, ok := stringField(params, "CopySource"); ok {
		attrs = append(attrs, semconv.AWSS3CopySource(v))
	}
	if v, ok := stringField(params, "UploadId"); ok {
		attrs = append(attrs, semconv.AWSS3UploadID(v))
	}
	if v, ok := intField(params, "PartNumber"); ok {
		attrs = append(attrs, semconv.AWSS3PartNumber(v))
	}
	return attrs
}

// The messaging operations of SQS: what their spans are, after the
// messaging conventions (a name "{operation} {queue}").
var sqsOperations = map[string]struct {
	name string
	kind trace.SpanKind
	typ  attribute.KeyValue
}{
	"SendMessage":        {"send", trace.SpanKindProducer, semconv.MessagingOperationTypeSend},
	"SendMessageBatch":   {"send", trace.SpanKindProducer, semconv.MessagingOperationTypeSend},
	"ReceiveMessage":     {"receive", trace.SpanKindClient, semconv.MessagingOperationTypeReceive},
	"DeleteMessage":      {"delete", trace.SpanKindClient, semconv.MessagingOperationTypeSettle},
	"DeleteMessageBatch": {"delete", trace.SpanKindClient, semconv.MessagingOperationTypeSettle},
}

func sqsDescription(operation string, params any) description {
	queueURL, ok := stringField(params, "QueueUrl")
	if !ok {
		return description{}
	}
	d := description{attrs: []attribute.KeyValue{semconv.AWSSQSQueueURL(queueURL)}}
	op, messaging := sqsOperations[operation]
	queue := queueName(queueURL)
	if !messaging || queue == "" {
		return d
	}
	d.name, d.kind = op.name+" "+queue, op.kind
	d.attrs = append(d.attrs, op.typ, semconv.MessagingOperationName(op.name), semconv.MessagingDestinationName(queue))
	if n, ok := lenField(params, "Entries"); ok && n != 1 {
		d.attrs = append(d.attrs, semconv.MessagingBatchMessageCount(n))
	}
	return d
}

// queueName is the name of the queue a queue URL names: its path's last
// part (https://sqs.us-east-1.amazonaws.com/123456789012/orders: orders).
func queueName(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil || u.Path == "" {
		return ""
	}
	name := path.Base(strings.TrimSuffix(u.Path, "/"))
	if name == "/" || name == "." {
		return ""
	}
	return name
}

// --- reading inputs -----------------------------------------------------------------------

// field is the named field of the struct params points to.
func field(params any, name string) (reflect.Value, bool) {
	v := reflect.ValueOf(params)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	f := v.Elem().FieldByName(name)
	return f, f.IsValid()
}

// stringField is a *string field's value, when it is set.
func stringField(params any, name string) (string, bool) {
	f, ok := field(params, name)
	if !ok || f.Kind() != reflect.Pointer || f.IsNil() || f.Elem().Kind() != reflect.String {
		return "", false
	}
	return f.Elem().String(), true
}

// intField is a *int32 (or other integer pointer) field's value, when it is set.
func intField(params any, name string) (int, bool) {
	f, ok := field(params, name)
	if !ok || f.Kind() != reflect.Pointer || f.IsNil() || !f.Elem().CanInt() {
		return 0, false
	}
	return int(f.Elem().Int()), true
}

// lenField is a slice field's length.
func lenField(params any, name string) (int, bool) {
	f, ok := field(params, name)
	if !ok || f.Kind() != reflect.Slice {
		return 0, false
	}
	return f.Len(), true
}

// awsRegionKey is otelaws's name for the region (RegionKey).
const awsRegionKey attribute.Key = "aws.region"

// --- the span --------------------------------------------------------------------------------

// span is an operation's span as otelaws sees it: what otelaws records is
// given its current name, and an error AWS answered its code.
type span struct {
	trace.Span

	mu      sync.Mutex
	code    string // the AWS error code the operation failed with
	message string // "code: message", the status description
}

func (s *span) SetAttributes(kvs ...attribute.KeyValue) {
	s.Span.SetAttributes(s.translate(kvs)...)
}

// translate gives otelaws's attributes their names in the conventions, and
// drops those without a value: aws.region is cloud.region; a queue URL is no server.address (the
// Finalize middleware records the endpoint's); error.type is the AWS error
// code when there is one, not the Go type.
func (s *span) translate(kvs []attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(kvs)+8)
	for _, kv := range kvs {
		if kv.Value.Type() == attribute.STRING && kv.Value.AsString() == "" {
			continue // what the input did not say (otelaws's aws.dynamodb.select of a Query without one)
		}
		switch kv.Key {
		case awsRegionKey:
			out = append(out, semconv.CloudRegion(kv.Value.AsString()))
		case semconv.ServerAddressKey:
			if !strings.Contains(kv.Value.AsString(), "://") {
				out = append(out, kv)
			}
		case semconv.ErrorTypeKey:
			s.mu.Lock()
			code := s.code
			s.mu.Unlock()
			if code != "" {
				kv = semconv.ErrorTypeKey.String(code)
			}
			out = append(out, kv)
		default:
			out = append(out, kv)
		}
	}
	return out
}

// SetStatus: otelaws's description of an error is the error's whole text,
// with the request's ids; an error AWS answered is described by its code
// and message.
func (s *span) SetStatus(code codes.Code, description string) {
	if code == codes.Error {
		s.mu.Lock()
		if s.message != "" {
			description = s.message
		}
		s.mu.Unlock()
	}
	s.Span.SetStatus(code, description)
}

// failed notes the error the operation ended with, before otelaws records it.
func (s *span) failed(err error) {
	code, message, ok := errorCode(err)
	if !ok {
		return
	}
	s.mu.Lock()
	s.code = code
	s.message = code
	if message != "" {
		s.message += ": " + message
	}
	s.mu.Unlock()
}
