// Package muxtrace names the net/http server span of every request a
// gorilla/mux router serves after the route that matched: the route's path
// template, the whole of it across subrouters ("/api/orders/{id}"). The
// gorilla-mux integration's aspect wraps every new router with Router; it
// only exists under overlay-gen's overlay.
package muxtrace

import (
	"net/http"

	"github.com/gorilla/mux"

	"overlay-gen.invalid/nethttp"
)

// Router adds the route-naming middleware to a router mux.NewRouter just
// made, and returns it. mux builds a router's middleware chain when a
// request matches, so the middleware applies to routes defined before or
// after it, and to the routes of its subrouters (Route.Subrouter), which
// get the whole template. A request that matches no route (404, 405) runs
// no middleware: its span keeps the method alone.
func Router(r *mux.Router) *mux.Router {
	r.Use(nameRoute)
	return r
}

// nameRoute names the span before the handler runs: when a route's handler
// is another router, that router's middleware runs later and names it after
// its own, more precise route (the last name given wins).
func nameRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route := mux.CurrentRoute(r); route != nil {
			if template, err := route.GetPathTemplate(); err == nil {
				nethttp.SetRoute(r.Context(), template)
			}
		}
		next.ServeHTTP(w, r)
	})
}
