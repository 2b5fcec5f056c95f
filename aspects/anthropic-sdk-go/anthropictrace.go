// Package anthropictrace traces the API calls of every anthropic-sdk-go
// client (github.com/anthropics/anthropic-sdk-go) a program makes: one
// CLIENT span per Messages call, streamed or not, with the OpenTelemetry
// GenAI semantic conventions (see overlay-gen.invalid/otelrt/genai, which
// records them for every GenAI client integration alike).
//
// The anthropic-sdk-go integration's aspects replace the program's calls of
// anthropic.NewClient with NewClient, which does what a user does by hand: it
// gives the client one more request option, a middleware (the SDK's own
// extension point, option.WithMiddleware) that hands each request to
// genai.Do. It comes after the program's options, so it is the innermost
// middleware: the span covers the HTTP exchange the client makes (each retry
// is a span of its own) and the program's middlewares run around it.
//
// It only exists under overlay-gen's overlay.
package anthropictrace

import (
	"net/http"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"overlay-gen.invalid/otelrt/genai"
)

// NewClient stands in for anthropic.NewClient: the client it makes is traced.
func NewClient(opts ...option.RequestOption) anthropic.Client {
	return anthropic.NewClient(append(opts[:len(opts):len(opts)], Option())...)
}

// Option is the request option that traces a client's calls.
func Option() option.RequestOption { return option.WithMiddleware(Middleware) }

// Middleware traces one call (the SDK's option.Middleware).
func Middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	return genai.Do(genai.Anthropic, req, next)
}
