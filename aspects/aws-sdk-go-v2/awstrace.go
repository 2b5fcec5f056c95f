// Package awstrace traces every AWS call of a program built on
// aws-sdk-go-v2, whatever the service, through otelaws, the OpenTelemetry
// project's instrumentation of the SDK, as a user would install it by hand
// (otelaws.AppendMiddlewares on the aws.Config's APIOptions), with what
// otelaws lacks added around it.
//
// The aws-sdk-go-v2 integration's aspects hand every aws.Config a program
// gets from config.LoadDefaultConfig (Loaded) or writes as a literal
// (Config, ConfigPointer) one more API option, addTracing. Every service
// client made from that config (s3.NewFromConfig, sqs.NewFromConfig...)
// copies the config's API options and runs them on the middleware stack of
// each operation, so one hook covers every service, present and future.
// addTracing puts on the stack, in this order:
//
//   - this package's outer Initialize middleware (callMiddleware): the
//     operation's context gets the goroutine's active span when it has none
//     (otelrt.Parent), and the operation's input, for the tracer;
//   - otelaws's middlewares, given this package's TracerProvider: one span
//     per operation, named Service.Operation ("S3.PutObject"), with
//     rpc.system.name "aws-api", rpc.method "S3/PutObject" (semantic
//     conventions v1.39 and later fold rpc.service into rpc.method),
//     aws.request_id, http.response.status_code, DynamoDB's aws.dynamodb.*
//     attributes, messaging.system for SQS; the trace context in the HTTP
//     request's headers;
//   - this package's inner Initialize middleware (messageMiddleware), inside
//     otelaws's span: SQS messages carry the trace context in their message
//     attributes, received messages get a process span each (sqs.go), an
//     error's code is recorded;
//   - a Finalize middleware: server.address and server.port of the endpoint
//     the request goes to.
//
// The tracer (tracer.go) gives otelaws's spans what the conventions ask for
// and otelaws does not record: cloud.region (otelaws says aws.region),
// aws.s3.bucket and aws.s3.key at the span's start (otelaws records them from
// v0.72.0 on, once the operation returned; before, nothing for S3), and the
// messaging names of SQS's messaging operations: SendMessage is a PRODUCER
// span "send {queue}", ReceiveMessage "receive {queue}", DeleteMessage
// "delete {queue}" (a settlement), with messaging.destination.name,
// messaging.operation.type and .name, aws.sqs.queue.url. An error's span
// has status Error, its message and error.type the AWS error code
// ("NoSuchKey"), not the Go type otelaws records.
//
// The HTTP request beneath an operation gets no span of its own: its CLIENT
// span would start inside otelaws's recording CLIENT (or PRODUCER) span, and
// the runtime records only the outermost (aspects/runtime/nesting.go); the
// request still carries the operation span's traceparent.
//
// A program that installs otelaws itself keeps its own: addTracing does
// nothing on a stack that has otelaws's middlewares already, and the
// program's call of otelaws.AppendMiddlewares is replaced by
// AppendMiddlewares, which removes this package's from the stack before
// adding the program's (otelaws cannot be on a stack twice: the SDK refuses
// a middleware whose id is there already).
//
// It only exists under overlay-gen's overlay.
package awstrace

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// APIOptions is the type of aws.Config's APIOptions.
type APIOptions = []func(*middleware.Stack) error

// Loaded is what config.LoadDefaultConfig returned, its config instrumented.
func Loaded(cfg aws.Config, err error) (aws.Config, error) {
	if err == nil {
		cfg.APIOptions = withTracing(cfg.APIOptions)
	}
	return cfg, err
}

// Config is an aws.Config literal, instrumented.
func Config(cfg aws.Config) aws.Config {
	cfg.APIOptions = withTracing(cfg.APIOptions)
	return cfg
}

// ConfigPointer is a &aws.Config literal, instrumented.
func ConfigPointer(cfg *aws.Config) *aws.Config {
	if cfg != nil {
		cfg.APIOptions = withTracing(cfg.APIOptions)
	}
	return cfg
}

// withTracing is options and addTracing, in a new array: a config copied
// from another one before must not see this one's options.
func withTracing(options APIOptions) APIOptions {
	return append(options[:len(options):len(options)], addTracing)
}

// The ids of otelaws's middlewares, by step (otelaws's aws.go), and of
// this package's.
const (
	otelawsInitializeBefore = "OTelInitializeMiddlewareBefore"
	otelawsInitializeAfter  = "OTelInitializeMiddlewareAfter"
	otelawsFinalize         = "OTelFinalizeMiddleware"
	otelawsDeserialize      = "OTelDeserializeMiddleware"

	callID    = "overlay-gen.awstrace.Call"
	messageID = "overlay-gen.awstrace.Message"
	serverID  = "overlay-gen.awstrace.Server"
)

// addTracing is the API option every instrumented config gets.
func addTracing(stack *middleware.Stack) error {
	if _, ok := stack.Initialize.Get(otelawsInitializeBefore); ok {
		return nil // the program's own otelaws, or this option twice
	}
	if err := stack.Initialize.Add(callMiddleware, middleware.Before); err != nil {
		return err
	}
	for _, add := range otelawsOptions() {
		if err := add(stack); err != nil {
			return err
		}
	}
	if err := stack.Initialize.Add(messageMiddleware, middleware.After); err != nil {
		return err
	}
	return stack.Finalize.Add(serverMiddleware, middleware.After)
}

// otelawsOptions are otelaws's middlewares, made once, with this package's
// TracerProvider (whose tracers start spans with the global provider: the
// one otelrt installs). The propagator is otelaws's default, the global one.
var otelawsOptions = sync.OnceValue(func() APIOptions {
	var options APIOptions
	otelaws.AppendMiddlewares(&options, otelaws.WithTracerProvider(provider), otelaws.WithAttributeBuilder(serviceAttributes))
	return options
})

// serviceAttributes are otelaws's service attributes (DynamoDB's, SQS's...),
// which it reads from the input once the operation returned: an input the
// SDK refused (a DynamoDB input without its TableName) has none, instead of
// a panic where the program would get the SDK's error.
func serviceAttributes(ctx context.Context, in middleware.InitializeInput, out middleware.InitializeOutput) (attrs []attribute.KeyValue) {
	defer func() {
		if recover() != nil {
			attrs = nil
		}
	}()
	return otelaws.DefaultAttributeBuilder(ctx, in, out)
}

// AppendMiddlewares stands in for the program's own otelaws.AppendMiddlewares:
// the program's otelaws, with the program's options, replaces this
// package's on the stack, wherever the two are in the API options.
func AppendMiddlewares(apiOptions *[]func(*middleware.Stack) error, opts ...otelaws.Option) {
	var theirs APIOptions
	otelaws.AppendMiddlewares(&theirs, opts...)
	*apiOptions = append(*apiOptions, func(stack *middleware.Stack) error {
		if _, ok := stack.Initialize.Get(callID); ok {
			removeTracing(stack)
		}
		for _, add := range theirs {
			if err := add(stack); err != nil {
				return err
			}
		}
		return nil
	})
}

// removeTracing takes what addTracing added off the stack.
func removeTracing(stack *middleware.Stack) {
	for _, id := range []string{callID, otelawsInitializeBefore, otelawsInitializeAfter, messageID} {
		_, _ = stack.Initialize.Remove(id)
	}
	for _, id := range []string{otelawsFinalize, serverID} {
		_, _ = stack.Finalize.Remove(id)
	}
	_, _ = stack.Deserialize.Remove(otelawsDeserialize)
}

// --- the middlewares ---------------------------------------------------------------------

// callKey is the context key of the operation being traced.
type callKey struct{}

// call is one operation, as the middlewares and the tracer see it.
type call struct {
	params any             // the operation's input, as the program gave it
	parent context.Context // the caller's context (with the goroutine's span), without the operation's
	span   *span           // the operation's span, once the tracer started it
	strip  []string        // the message attributes a receive asked for that the program did not
}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	return c
}

// callMiddleware is the outermost of this package's: the operation's
// context, and what must happen once the operation has returned (outside
// the SDK's own checks of the answer).
var callMiddleware = middleware.InitializeMiddlewareFunc(callID, func(
	ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler,
) (middleware.InitializeOutput, middleware.Metadata, error) {
	ctx = otelrt.Parent(ctx)
	c := &call{params: in.Parameters, parent: ctx}
	out, metadata, err := next.HandleInitialize(context.WithValue(ctx, callKey{}, c), in)
	settled(c.params)
	if err == nil {
		afterCall(c, out.Result)
	}
	return out, metadata, err
})

// messageMiddleware runs inside otelaws's span: it is where the span's
// context can be put in messages, and where the operation's error is seen
// before otelaws records it.
var messageMiddleware = middleware.InitializeMiddlewareFunc(messageID, func(
	ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler,
) (middleware.InitializeOutput, middleware.Metadata, error) {
	c := callFrom(ctx)
	if c != nil && c.span != nil {
		in.Parameters = beforeSend(ctx, c, in.Parameters)
	}
	out, metadata, err := next.HandleInitialize(ctx, in)
	if c != nil && c.span != nil {
		if err != nil {
			c.span.failed(err)
		} else {
			answered(ctx, c, out.Result)
		}
	}
	return out, metadata, err
})

// serverMiddleware records where the request goes, once the endpoint is
// resolved (in the Finalize step, per attempt).
var serverMiddleware = middleware.FinalizeMiddlewareFunc(serverID, func(
	ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler,
) (middleware.FinalizeOutput, middleware.Metadata, error) {
	if req, ok := in.Request.(*smithyhttp.Request); ok && req.URL != nil {
		if s, ok := trace.SpanFromContext(ctx).(*span); ok {
			s.SetAttributes(serverAttributes(req.URL.Scheme, req.URL.Host)...)
		}
	}
	return next.HandleFinalize(ctx, in)
})

// serverAttributes are server.address and server.port of an endpoint's
// host ("sqs.us-east-1.amazonaws.com", "127.0.0.1:4566"); the port is the
// scheme's when the URL names none.
func serverAttributes(scheme, host string) []attribute.KeyValue {
	name, port := host, 0
	if h, p, err := net.SplitHostPort(host); err == nil {
		name = h
		port, _ = strconv.Atoi(p)
	} else {
		switch scheme {
		case "https":
			port = 443
		case "http":
			port = 80
		}
	}
	if name == "" {
		return nil
	}
	attrs := []attribute.KeyValue{semconv.ServerAddress(name)}
	if port > 0 {
		attrs = append(attrs, semconv.ServerPort(port))
	}
	return attrs
}

// errorCode is the code of an error AWS answered ("NoSuchKey",
// "ResourceNotFoundException"), with its message; ok is false for other
// errors (the endpoint could not be reached...).
func errorCode(err error) (code, message string, ok bool) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() != "" {
		return apiErr.ErrorCode(), apiErr.ErrorMessage(), true
	}
	return "", "", false
}
