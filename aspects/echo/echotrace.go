// Package echotrace names the net/http server span of every request an echo
// (v4) instance serves after the route that matched, echo's c.Path() with its
// groups' prefixes ("/api/orders/:id"), and records on that span the error a
// handler returns when it is the server's fault. The echo integration's
// aspect wraps every new instance with New; this package only exists under
// overlay-gen's overlay.
package echotrace

import (
	"errors"
	"net/http"
	"reflect"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/nethttp"
)

// New adds the middleware to an instance that has no routes yet (echo.New
// returns such), and returns it. Middleware added with Use runs after the
// router matched, so c.Path() is known.
func New(e *echo.Echo) *echo.Echo {
	e.Use(handle)
	return e
}

// handle names the span before the handler runs: an instance mounted inside
// this one's handler (echo.WrapHandler), which knows the longer route, names
// it after this one.
func handle(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		if matched(c) {
			nethttp.SetRoute(ctx, c.Path())
		}
		err := next(c)
		if err != nil && serverFault(err) {
			trace.SpanFromContext(ctx).RecordError(err)
		}
		return err
	}
}

// matched says whether the router found a route: when it found none, for the
// path (404) or for the method (405), it hands the request to the handler in
// echo.NotFoundHandler or echo.MethodNotAllowedHandler, and c.Path() is
// empty, a prefix of a route or, before v4.10, the request's own path: no
// route for the span's name.
func matched(c echo.Context) bool {
	h := reflect.ValueOf(c.Handler())
	if !h.IsValid() || h.IsNil() {
		return false
	}
	p := h.Pointer()
	return p != reflect.ValueOf(echo.NotFoundHandler).Pointer() &&
		p != reflect.ValueOf(echo.MethodNotAllowedHandler).Pointer()
}

// serverFault is false for the errors with which a handler, a middleware or
// the router answer the client on purpose: an *echo.HTTPError below 500 (the
// router's 404 and 405, "unauthorized", "bad request"). Every other error
// (echo's error handler answers it with 500) and an HTTPError from 500 on
// are recorded as an exception event; the span's status and error.type
// follow the status code, as net/http's integration sets them.
func serverFault(err error) bool {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code >= http.StatusInternalServerError
	}
	return true
}
