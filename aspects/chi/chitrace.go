// Package chitrace names the net/http server span of every request a chi
// router serves after the route that matched: chi's RoutePattern(), the
// whole of it across mounted routers ("/api/orders/{id}"). The chi
// integration's aspect wraps every new router with Router; it only exists
// under overlay-gen's overlay.
package chitrace

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"overlay-gen.invalid/nethttp"
)

// Router adds the route-naming middleware to a router that has no routes
// yet (chi.NewRouter and chi.NewMux return such), and returns it.
func Router(mux *chi.Mux) *chi.Mux {
	mux.Use(nameRoute)
	return mux
}

// nameRoute reads the pattern once the router has matched all of it: after
// the request (also when the handler panics), when mounted routers have
// added their parts.
func nameRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if rctx := chi.RouteContext(r.Context()); rctx != nil {
				nethttp.SetRoute(r.Context(), rctx.RoutePattern())
			}
		}()
		next.ServeHTTP(w, r)
	})
}
