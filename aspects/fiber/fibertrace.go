// Package fibertrace names the server span of every request a fiber app
// serves after the route that matched, and hands that span to the handlers.
// fiber runs on fasthttp, whose integration (overlay-gen.invalid/fasthttptrace)
// makes the one SERVER span of each request; the fiber integration's aspect
// wraps every new app with App, whose middleware, first in the app,
//
//   - makes c.UserContext() carry the server span, before the handlers run:
//     what fiber users pass downstream;
//   - after them, names the span after the route that matched, fiber's
//     c.Route().Path with its groups ("GET /api/v1/orders/:id"), and hands
//     the error they returned to the span, which records it when fiber's
//     error handler makes it a server error (from 500 on).
//
// It only exists under overlay-gen's overlay.
package fibertrace

import (
	"reflect"

	"github.com/gofiber/fiber/v2"

	"overlay-gen.invalid/fasthttptrace"
)

// App adds the tracing middleware to a new app (fiber.New returns one with
// no routes yet), and returns it.
func App(app *fiber.App) *fiber.App {
	app.Use(trace)
	return app
}

func trace(c *fiber.Ctx) error {
	request := c.Context()
	c.SetUserContext(fasthttptrace.Context(c.UserContext(), request))
	err := c.Next()
	// After the handlers: c.Route() is the last route that matched, a
	// middleware's (app.Use, group.Use) when no route did (404, 405) or when
	// a middleware answered without calling Next; those name nothing.
	if route := c.Route(); route != nil && !isMiddleware(route) {
		fasthttptrace.SetRoute(request, route.Path)
	}
	if err != nil {
		fasthttptrace.SetError(request, err)
	}
	return err
}

// useField is the index of fiber.Route's unexported use field ("USE matches
// path prefixes"), which only middleware routes set; fiber says it nowhere
// else. -1 when a release has no such field: then every route names the span.
var useField = func() int {
	field, ok := reflect.TypeOf(fiber.Route{}).FieldByName("use")
	if !ok || field.Type.Kind() != reflect.Bool || len(field.Index) != 1 {
		return -1
	}
	return field.Index[0]
}()

func isMiddleware(route *fiber.Route) bool {
	return useField >= 0 && reflect.ValueOf(route).Elem().Field(useField).Bool()
}
