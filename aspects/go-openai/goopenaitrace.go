// Package goopenaitrace traces the API calls of every go-openai client
// (github.com/sashabaranov/go-openai) a program makes: one CLIENT span per
// chat completion, completion and embeddings call, streamed or not, with the
// OpenTelemetry GenAI semantic conventions (see overlay-gen.invalid/otelrt/genai,
// which records them for every GenAI client integration alike).
//
// The go-openai integration's aspects replace the program's calls of
// openai.NewClientWithConfig, NewClient and NewOrgClient with this package's,
// which do what a user does by hand: the client's config gets an HTTPClient
// (go-openai's HTTPDoer, from v1.29.0) that hands each request to genai.Do
// around the program's own HTTPClient. The span starts before that client's
// Do, so the net/http CLIENT span beneath it is not recorded (the runtime's
// nesting rule) and the request carries the GenAI span's traceparent.
//
// It only exists under overlay-gen's overlay.
package goopenaitrace

import (
	"net/http"

	openai "github.com/sashabaranov/go-openai"

	"overlay-gen.invalid/otelrt/genai"
)

// NewClientWithConfig stands in for openai.NewClientWithConfig: the client it
// makes is traced.
func NewClientWithConfig(config openai.ClientConfig) *openai.Client {
	return openai.NewClientWithConfig(Config(config))
}

// NewClient stands in for openai.NewClient (DefaultConfig's client).
func NewClient(authToken string) *openai.Client {
	return NewClientWithConfig(openai.DefaultConfig(authToken))
}

// NewOrgClient stands in for openai.NewOrgClient.
func NewOrgClient(authToken, org string) *openai.Client {
	config := openai.DefaultConfig(authToken)
	config.OrgID = org
	return NewClientWithConfig(config)
}

// Config is config with its HTTPClient traced.
func Config(config openai.ClientConfig) openai.ClientConfig {
	if _, traced := config.HTTPClient.(doer); traced || config.HTTPClient == nil {
		return config // nil: go-openai fails as it would have
	}
	config.HTTPClient = doer{inner: config.HTTPClient}
	return config
}

// doer traces the calls of the HTTPClient it wraps.
type doer struct{ inner openai.HTTPDoer }

func (d doer) Do(req *http.Request) (*http.Response, error) {
	return genai.Do(genai.OpenAI, req, d.inner.Do)
}
