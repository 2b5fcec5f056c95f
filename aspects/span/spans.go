// Package spans makes functions annotated with //dd:span or //otel:span
// spans: the span integration's aspects call StartContext, StartRequest or
// StartRoot first thing in the function, by where its parent is, and defer
// End. It only exists under overlay-gen's overlay.
package spans

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// ScopeName is the instrumentation scope of the spans of annotated functions.
const ScopeName = "overlay-gen"

// The global tracer delegates to whatever provider is installed, also when
// otelrt.Init runs after this variable was set.
var tracer = otel.Tracer(ScopeName)

// Span is a span an annotated function started, and how to put back the
// goroutine's active span from before it, which End does.
type Span struct {
	trace.Span
	restore func() // puts the goroutine's previous active span back
}

// StartContext starts a span whose parent is *ctx and makes *ctx the new
// span's context, so the function body and its callees see it.
func StartContext(ctx *context.Context, name, tags string) Span {
	next, span := start(otelrt.Parent(*ctx), name, tags)
	*ctx = next
	return span
}

// request is what StartRequest needs of *http.Request, without importing
// net/http into every program.
type request[R any] interface {
	Context() context.Context
	WithContext(ctx context.Context) R
}

// StartRequest starts a span whose parent is the request's context and
// replaces *r with a shallow copy carrying the new span's context.
func StartRequest[R request[R]](r *R, name, tags string) Span {
	next, span := start(otelrt.Parent((*r).Context()), name, tags)
	*r = (*r).WithContext(next)
	return span
}

// StartRoot starts a span for a function with no context: its parent is the
// goroutine's active span, if any, else none.
func StartRoot(name, tags string) Span {
	_, span := start(otelrt.Parent(nil), name, tags)
	return span
}

// End ends a span started by a Start function; instrumented functions defer
// it. errp points at the function's error result (nil when it has none): a
// non-nil error is recorded and sets the status to Error. A panic is recorded
// the same way and then continues.
func End(span Span, errp *error) {
	defer span.restore()
	if r := recover(); r != nil {
		err := fmt.Errorf("panic: %v", r)
		span.RecordError(err, trace.WithStackTrace(true))
		span.SetStatus(codes.Error, err.Error())
		span.End()
		panic(r)
	}
	if errp != nil && *errp != nil {
		span.RecordError(*errp)
		span.SetStatus(codes.Error, (*errp).Error())
	}
	span.End()
}

func start(parent context.Context, name, tags string) (context.Context, Span) {
	t := parseTags(tags)
	if t.name != "" {
		name = t.name
	}
	ctx, span := tracer.Start(parent, name, trace.WithAttributes(t.attributes...))
	return ctx, Span{span, otelrt.Activate(ctx)}
}

type parsedTags struct {
	name       string
	attributes []attribute.KeyValue
}

var tagCache sync.Map // string -> parsedTags

// parseTags reads directive arguments, "key:value" pairs separated by
// spaces, as orchestrion's //dd:span does: span.name names the span, every
// other pair becomes a string attribute. Each distinct string is parsed once.
func parseTags(tags string) parsedTags {
	if tags == "" {
		return parsedTags{}
	}
	if cached, ok := tagCache.Load(tags); ok {
		return cached.(parsedTags)
	}
	var t parsedTags
	for _, field := range strings.Fields(tags) {
		key, value, found := strings.Cut(field, ":")
		switch {
		case !found || key == "":
			continue
		case key == "span.name":
			t.name = value
		default:
			t.attributes = append(t.attributes, attribute.String(key, value))
		}
	}
	tagCache.Store(tags, t)
	return t
}
