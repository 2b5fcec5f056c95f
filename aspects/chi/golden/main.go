// Command chiapp is a small chi service that calls itself once per route and
// exits: the fixture of overlay-gen's chi integration. tests/test_integrations.py
// builds it with the overlay, runs it and compares its spans with
// expected-trace.toml. Written as a chi user would, with nothing for tracing.
package main; import (_og_chitrace "overlay-gen.invalid/chitrace"; _ "overlay-gen.invalid/goroutines"; _ "overlay-gen.invalid/nethttp"; _og_otelrt "overlay-gen.invalid/otelrt"; _og_spans "overlay-gen.invalid/spans")

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "os"

	"github.com/go-chi/chi/v5"
)

func routes() http.Handler {
	r := _og_chitrace.Router(chi.NewRouter())
	r.Use(logRequests)
	r.Get("/users/{id}", getUser)
	r.Route("/api", func(r chi.Router) {
		r.Group(func(r chi.Router) {
			r.Use(requireKey)
			r.Get("/orders/{id}", getOrder)
		})
	})
	r.Mount("/admin", admin())
	r.Get("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "it failed", http.StatusInternalServerError)
	})
	return r
}

func admin() http.Handler {
	r := _og_chitrace.Router(chi.NewRouter())
	r.Get("/stats", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "3 users") })
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
	name, err := lookup(r.Context(), "user", chi.URLParam(r, "id"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	fmt.Fprintln(w, name)
}

func getOrder(w http.ResponseWriter, r *http.Request) {
	name, err := lookup(r.Context(), "order", chi.URLParam(r, "id"))
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
//line :80:68

	if id == "0" {
		return "", errors.New("no such " + kind)
	}
	return kind + " " + id, nil
}

func main() {
defer _og_otelrt.Init()()
//line :87:14

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	server := &http.Server{Handler: routes()}
	go server.Serve(ln)
	base := "http://" + ln.Addr().String()

	calls := []struct {
		path string
		key  string
		want int
	}{
		{"/users/7", "", http.StatusOK},
		{"/api/orders/42", "k", http.StatusOK},
		{"/admin/stats", "", http.StatusOK},
		{"/fail", "", http.StatusInternalServerError},
		{"/missing", "", http.StatusNotFound},
	}
	failed := false
	for _, c := range calls {
		req, _ := http.NewRequest(http.MethodGet, base+c.path, nil)
		if c.key != "" {
			req.Header.Set("X-Key", c.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Printf("GET %s: %d\n", c.path, resp.StatusCode)
		failed = failed || resp.StatusCode != c.want
	}
	server.Shutdown(context.Background())
	if failed {
		_og_otelrt.Exit(1)
	}
}
