// Package gintrace names the net/http server span of every request a gin
// engine serves after the route that matched, gin's FullPath() with its
// groups' prefixes ("/api/orders/:id"), and records the errors the handler
// chain attached to the request (c.Errors) on that span. It also makes the
// span reachable from gin's own context: trace.SpanFromContext(c) finds it,
// through a hook the gin integration adds to (*gin.Context).Value that looks
// up OpenTelemetry's context keys in the request's context, as gin does for
// every key only when Engine.ContextWithFallback is set. The gin
// integration's aspects wrap every new engine with New; this package only
// exists under overlay-gen's overlay.
package gintrace

import (
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/nethttp"
)

func init() {
	gin.OverlayGenRequestKey = telemetryKey
}

// New adds the middleware to an engine that has no routes yet (gin.New and
// gin.Default return such), and returns it.
func New(engine *gin.Engine) *gin.Engine {
	engine.Use(handle)
	return engine
}

// handle names the span before the rest of the chain runs: gin knows the
// route once it matched, and an engine mounted inside this one's handler
// (gin.WrapH), which knows the longer route, names it after this one. No
// route matched (404, 405): the span keeps its name.
func handle(c *gin.Context) {
	ctx := c.Request.Context()
	if route := c.FullPath(); route != "" {
		nethttp.SetRoute(ctx, route)
	}
	defer func() { // also when a handler panics
		if len(c.Errors) == 0 {
			return
		}
		span := trace.SpanFromContext(ctx)
		for _, err := range c.Errors {
			span.RecordError(err.Err)
		}
	}()
	c.Next()
}

// telemetryKey says whether a context key is OpenTelemetry's (the current
// span, baggage) or one of overlay-gen's integrations' (the request a
// router names): those (*gin.Context).Value looks up in the request's
// context. Every other key gets what gin gives it.
func telemetryKey(key interface{}) bool {
	t := reflect.TypeOf(key)
	if t == nil {
		return false
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	path := t.PkgPath()
	return strings.HasPrefix(path, "go.opentelemetry.io/") || strings.HasPrefix(path, "overlay-gen.invalid/")
}
