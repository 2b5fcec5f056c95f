// Command fasthttpapp is a small fasthttp service that calls itself once per
// route and exits: the fixture of overlay-gen's fasthttp integration.
// tests/test_integrations.py builds it with the overlay, runs it and compares
// its spans with expected-trace.toml. Written as a fasthttp user would, with
// nothing for tracing.
package main; import (_ "overlay-gen.invalid/fasthttptrace"; _ "overlay-gen.invalid/goroutines"; _ "overlay-gen.invalid/nethttp"; _og_otelrt "overlay-gen.invalid/otelrt"; _og_spans "overlay-gen.invalid/spans")

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "os"
	"strings"

	"github.com/valyala/fasthttp"
)

// base is where the server listens, for the handler that calls it back.
var base string

func handle(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	switch {
	case path == "/hello":
		fmt.Fprintln(ctx, "hello")
	case strings.HasPrefix(path, "/users/"):
		name, err := lookup(ctx, "user", strings.TrimPrefix(path, "/users/"))
		if err != nil {
			ctx.Error(err.Error(), fasthttp.StatusNotFound)
			return
		}
		fmt.Fprintln(ctx, name)
	case path == "/relay":
		// Another service's answer (here: this one's), fetched with net/http.
		resp, err := http.Get(base + "/hello")
		if err != nil {
			ctx.Error(err.Error(), fasthttp.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		ctx.SetStatusCode(resp.StatusCode)
		ctx.Write(body)
	case path == "/fail":
		ctx.Error("it failed", fasthttp.StatusInternalServerError)
	default:
		ctx.Error("not found", fasthttp.StatusNotFound)
	}
}

// lookup stands for the work a handler does with the request's context.
//
//dd:span
func lookup(ctx context.Context, kind, id string) (_og_res0 string, _og_res1 error) {
_og_span := _og_spans.StartContext(&ctx, "lookup", "")
defer _og_spans.End(_og_span, &_og_res1)
//line :58:68

	if id == "0" {
		return "", errors.New("no such " + kind)
	}
	return kind + " " + id, nil
}

func main() {
defer _og_otelrt.Init()()
//line :65:14

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	server := &fasthttp.Server{Handler: handle}
	go server.Serve(ln)
	base = "http://" + ln.Addr().String()

	calls := []struct {
		path string
		want int
	}{
		{"/hello", http.StatusOK},
		{"/users/7", http.StatusOK},
		{"/relay", http.StatusOK},
		{"/fail", http.StatusInternalServerError},
		{"/missing", http.StatusNotFound},
	}
	failed := false
	for _, c := range calls {
		resp, err := http.Get(base + c.path)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Printf("GET %s: %d\n", c.path, resp.StatusCode)
		failed = failed || resp.StatusCode != c.want
	}
	server.Shutdown()
	if failed {
		_og_otelrt.Exit(1)
	}
}
