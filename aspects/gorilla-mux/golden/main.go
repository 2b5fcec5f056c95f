// Command muxapp is a small gorilla/mux service that calls itself once per
// route and exits: the fixture of overlay-gen's gorilla-mux integration.
// tests/test_integrations.py builds it with the overlay, runs it and compares
// its spans with expected-trace.toml. Written as a mux user would, with
// nothing for tracing.
package main; import (_og_muxtrace "overlay-gen.invalid/muxtrace"; _ "overlay-gen.invalid/goroutines"; _ "overlay-gen.invalid/nethttp"; _og_otelrt "overlay-gen.invalid/otelrt"; _og_spans "overlay-gen.invalid/spans")

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "os"

	"github.com/gorilla/mux"
)

func routes() http.Handler {
	r := _og_muxtrace.Router(mux.NewRouter())
	r.Use(logRequests)
	r.HandleFunc("/users/{id}", getUser).Methods(http.MethodGet)
	api := r.PathPrefix("/api").Subrouter()
	api.Use(requireKey)
	api.HandleFunc("/orders/{id}", getOrder).Methods(http.MethodGet)
	r.PathPrefix("/admin/").Handler(admin())
	r.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "it failed", http.StatusInternalServerError)
	})
	return r
}

// admin is a router of its own, which the main router hands /admin/... to.
func admin() http.Handler {
	r := _og_muxtrace.Router(mux.NewRouter())
	r.HandleFunc("/admin/stats", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "3 users") })
	return r
}

func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s", r.Method, r.URL.Path)
		next.ServeHTTP(w, r)
	})
}

func requireKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Key") == "" {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func getUser(w http.ResponseWriter, r *http.Request) {
	name, err := lookup(r.Context(), "user", mux.Vars(r)["id"])
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	fmt.Fprintln(w, name)
}

func getOrder(w http.ResponseWriter, r *http.Request) {
	name, err := lookup(r.Context(), "order", mux.Vars(r)["id"])
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	fmt.Fprintln(w, name)
}

// lookup stands for the work a handler does with the request's context.
//
//dd:span
func lookup(ctx context.Context, kind, id string) (_og_res0 string, _og_res1 error) {
_og_span := _og_spans.StartContext(&ctx, "lookup", "")
defer _og_spans.End(_og_span, &_og_res1)
//line :79:68

	if id == "0" {
		return "", errors.New("no such " + kind)
	}
	return kind + " " + id, nil
}

func main() {
defer _og_otelrt.Init()()
//line :86:14

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	server := &http.Server{Handler: routes()}
	go server.Serve(ln)
	base := "http://" + ln.Addr().String()

	calls := []struct {
		method string
		path   string
		key    string
		want   int
	}{
		{http.MethodGet, "/users/7", "", http.StatusOK},
		{http.MethodGet, "/api/orders/42", "k", http.StatusOK},
		{http.MethodGet, "/admin/stats", "", http.StatusOK},
		{http.MethodGet, "/fail", "", http.StatusInternalServerError},
		{http.MethodGet, "/missing", "", http.StatusNotFound},
		{http.MethodDelete, "/users/7", "", http.StatusMethodNotAllowed},
	}
	failed := false
	for _, c := range calls {
		req, _ := http.NewRequest(c.method, base+c.path, nil)
		if c.key != "" {
			req.Header.Set("X-Key", c.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Printf("%s %s: %d\n", c.method, c.path, resp.StatusCode)
		failed = failed || resp.StatusCode != c.want
	}
	server.Shutdown(context.Background())
	if failed {
		_og_otelrt.Exit(1)
	}
}
