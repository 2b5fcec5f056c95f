// Package httproutertrace names the net/http server span of every request an
// httprouter router serves after the route that matched, as the program
// registered it ("/users/:id", "/static/*filepath").
//
// httprouter has no middleware and tells a handle its route only when the
// program asks (SaveMatchedRoutePath, unreleased). So the httprouter
// integration makes Router.Handle, which every registration goes through
// (GET, POST, Handler, HandlerFunc, ServeFiles...), wrap each handle in a
// function that passes the request and the route to the hook variable
// httprouter.OverlayGenRoute before the handle runs; this package sets it.
// overlay-gen links it into programs that use httprouter; it only exists
// under overlay-gen's overlay.
package httproutertrace

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"overlay-gen.invalid/nethttp"
)

func init() {
	httprouter.OverlayGenRoute = nameRoute
}

// nameRoute runs before the handle: when routers are nested, the innermost
// names the span last, and the last name given wins.
func nameRoute(req *http.Request, route string) {
	nethttp.SetRoute(req.Context(), route)
}
