// Command routerapp is a small httprouter service that calls itself once per
// route and exits: the fixture of overlay-gen's httprouter integration.
// tests/test_integrations.py builds it with the overlay, runs it and compares
// its spans with expected-trace.toml. Written as an httprouter user would,
// with nothing for tracing.
package main; import (_ "overlay-gen.invalid/goroutines"; _ "overlay-gen.invalid/httproutertrace"; _ "overlay-gen.invalid/nethttp"; _og_otelrt "overlay-gen.invalid/otelrt"; _og_spans "overlay-gen.invalid/spans")

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "os"

	"github.com/julienschmidt/httprouter"
)

func routes() http.Handler {
	r := httprouter.New()
	r.GET("/users/:id", getUser)
	r.Handler(http.MethodGet, "/api/orders/:id", requireKey(http.HandlerFunc(getOrder)))
	r.HandlerFunc(http.MethodGet, "/files/*path", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "file", httprouter.ParamsFromContext(r.Context()).ByName("path"))
	})
	r.GET("/fail", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		http.Error(w, "it failed", http.StatusInternalServerError)
	})
	return r
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

func getUser(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	name, err := lookup(r.Context(), "user", ps.ByName("id"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	fmt.Fprintln(w, name)
}

func getOrder(w http.ResponseWriter, r *http.Request) {
	name, err := lookup(r.Context(), "order", httprouter.ParamsFromContext(r.Context()).ByName("id"))
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
//line :64:68

	if id == "0" {
		return "", errors.New("no such " + kind)
	}
	return kind + " " + id, nil
}

func main() {
defer _og_otelrt.Init()()
//line :71:14

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
		{http.MethodGet, "/files/docs/a.txt", "", http.StatusOK},
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
