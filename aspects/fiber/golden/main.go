// Command fiberapp is a small fiber service that calls itself once per route
// and exits: the fixture of overlay-gen's fiber integration.
// tests/test_integrations.py builds it with the overlay, runs it and compares
// its spans with expected-trace.toml. Written as a fiber user would, with
// nothing for tracing.
package main; import (_ "overlay-gen.invalid/fasthttptrace"; _og_fibertrace "overlay-gen.invalid/fibertrace"; _ "overlay-gen.invalid/goroutines"; _ "overlay-gen.invalid/nethttp"; _og_otelrt "overlay-gen.invalid/otelrt"; _og_spans "overlay-gen.invalid/spans")

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "os"

	"github.com/gofiber/fiber/v2"
)

func routes() *fiber.App {
	app := _og_fibertrace.App(fiber.New(fiber.Config{DisableStartupMessage: true}))
	app.Use(logRequests)
	app.Get("/users/:id", getUser)
	api := app.Group("/api")
	v1 := api.Group("/v1", requireKey)
	v1.Get("/orders/:id", getOrder)
	app.Get("/fail", func(c *fiber.Ctx) error {
		return errors.New("it failed")
	})
	return app
}

func logRequests(c *fiber.Ctx) error {
	log.Printf("%s %s", c.Method(), c.Path())
	return c.Next()
}

func requireKey(c *fiber.Ctx) error {
	if c.Get("X-Key") == "" {
		return c.Status(fiber.StatusUnauthorized).SendString("no key")
	}
	return c.Next()
}

func getUser(c *fiber.Ctx) error {
	name, err := lookup(c.UserContext(), "user", c.Params("id"))
	if err != nil {
		return fiber.NewError(fiber.StatusNotFound, err.Error())
	}
	return c.SendString(name)
}

func getOrder(c *fiber.Ctx) error {
	name, err := lookup(c.UserContext(), "order", c.Params("id"))
	if err != nil {
		return fiber.NewError(fiber.StatusNotFound, err.Error())
	}
	return c.SendString(name)
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
	app := routes()
	go app.Listener(ln)
	base := "http://" + ln.Addr().String()

	calls := []struct {
		path string
		key  string
		want int
	}{
		{"/users/7", "", http.StatusOK},
		{"/api/v1/orders/42", "k", http.StatusOK},
		{"/api/v1/orders/42", "", http.StatusUnauthorized},
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
	if err := app.Shutdown(); err != nil {
		log.Fatal(err)
	}
	if failed {
		_og_otelrt.Exit(1)
	}
}
