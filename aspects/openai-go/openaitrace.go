// Package openaitrace traces the API calls of every openai-go v3 client
// (github.com/openai/openai-go/v3) a program makes: one CLIENT span per chat
// completion, response (the Responses API), completion and embeddings call,
// streamed or not, with the
// OpenTelemetry GenAI semantic conventions (see overlay-gen.invalid/otelrt/genai,
// which records them for every GenAI client integration alike).
//
// The openai-go integration's aspects replace the program's calls of
// openai.NewClient with NewClient, which does what a user does by hand: it
// gives the client one more request option, a middleware (openai-go's own
// extension point, option.WithMiddleware) that hands each request to
// genai.Do. It comes after the program's options, so it is the innermost
// middleware: the span covers the HTTP exchange the client makes (each retry
// is a span of its own) and the program's middlewares run around it.
//
// It only exists under overlay-gen's overlay.
package openaitrace

import (
	"net/http"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"overlay-gen.invalid/otelrt/genai"
)

// NewClient stands in for openai.NewClient: the client it makes is traced.
func NewClient(opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append(opts[:len(opts):len(opts)], Option())...)
}

// Option is the request option that traces a client's calls.
func Option() option.RequestOption { return option.WithMiddleware(Middleware) }

// Middleware traces one call (openai-go's option.Middleware).
func Middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	return genai.Do(genai.OpenAI, req, next)
}
