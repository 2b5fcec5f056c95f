// Package genai traces the HTTP calls of generative-AI clients (openai-go,
// anthropic-sdk-go, go-openai) with the OpenTelemetry GenAI semantic
// conventions, so that every client integration records a call alike: the
// integrations only hand it each request the client sends (a middleware, an
// HTTP doer) and the provider it talks to.
//
// Do starts one CLIENT span per API call it knows (below), sends the request
// with that span's context (so the net/http CLIENT span beneath it is not
// recorded, the runtime's nesting rule, and the traceparent header names this
// span) and ends the span when the answer is read: at once for a JSON answer
// (read here, and handed to the client unchanged), when the stream ends or is
// closed for a server-sent-event stream (read as the client reads it).
//
// Calls it knows, by the request's path (POST only); any other request is sent
// as it is, untraced here (its net/http span is recorded):
//
//   - OpenAI (and OpenAI-compatible servers): .../chat/completions "chat",
//     .../responses "chat" (openai.api.type "responses"; its finish reason is
//     "stop" for a completed response, the reason of an incomplete one),
//     .../completions "text_completion", .../embeddings "embeddings";
//   - Anthropic: .../messages "chat".
//
// The span is named "{gen_ai.operation.name} {gen_ai.request.model}" ("chat
// gpt-4o") and has gen_ai.operation.name, gen_ai.provider.name (openai,
// anthropic; azure.ai.openai for hosts under .openai.azure.com),
// gen_ai.request.model, gen_ai.request.stream (true, for a streamed call), the
// request parameters the conventions name when the request sets them
// (gen_ai.request.max_tokens, temperature, top_p, top_k, frequency_penalty,
// presence_penalty, stop_sequences, seed, choice.count when not 1,
// encoding_formats, gen_ai.embeddings.dimension.count, gen_ai.output.type from
// OpenAI's response_format, openai.request.service_tier unless "auto"),
// openai.api.type "chat_completions" for OpenAI's chat, server.address and
// server.port (the request's URL), and from the answer gen_ai.response.id,
// gen_ai.response.model, gen_ai.response.finish_reasons,
// gen_ai.usage.input_tokens (Anthropic's cached input included, as the
// conventions ask), gen_ai.usage.output_tokens, when not zero
// gen_ai.usage.cache_read.input_tokens,
// gen_ai.usage.cache_creation.input_tokens and
// gen_ai.usage.reasoning.output_tokens, and OpenAI's
// openai.response.service_tier and openai.response.system_fingerprint. A
// stream's are what its events said (OpenAI streams tell usage only when the
// request asks for it: stream_options.include_usage). The time to a stream's
// first chunk (gen_ai.response.time_to_first_chunk) is not recorded.
//
// An answer of 400 or more is an error: status Error, error.type the error
// code or type the provider's error body gives ("invalid_request_error",
// "rate_limit_exceeded"), else the status code; the error's message is not
// recorded (it may quote the request). An error event inside a stream
// (Anthropic's "event: error") is the same. A request that got no answer is
// an error with error.type the Go type of what failed (*net.OpError) and an
// exception event.
//
// Prompts and completions are never recorded, unless the environment variable
// OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is "true" (or
// "span_only", "span_and_event", as OpenTelemetry's Python instrumentations
// accept it). Then the span gets them as the conventions' attributes
// gen_ai.input.messages, gen_ai.output.messages and gen_ai.system_instructions
// (JSON, the conventions' message schema: role, parts of type text, tool_call,
// tool_call_response, finish_reason), not as events.
package genai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"overlay-gen.invalid/otelrt"
)

// ScopeName is the instrumentation scope of the GenAI spans.
const ScopeName = "overlay-gen.invalid/otelrt/genai"

// The providers, as gen_ai.provider.name spells them.
const (
	OpenAI    = "openai"
	Anthropic = "anthropic"
	Azure     = "azure.ai.openai"
)

// CaptureVariable is the environment variable that switches the recording of
// prompts and completions on.
const CaptureVariable = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

// The conventions' attribute names.
const (
	attrOperation        = "gen_ai.operation.name"
	attrProvider         = "gen_ai.provider.name"
	attrRequestModel     = "gen_ai.request.model"
	attrMaxTokens        = "gen_ai.request.max_tokens"
	attrTemperature      = "gen_ai.request.temperature"
	attrTopP             = "gen_ai.request.top_p"
	attrTopK             = "gen_ai.request.top_k"
	attrFrequencyPenalty = "gen_ai.request.frequency_penalty"
	attrPresencePenalty  = "gen_ai.request.presence_penalty"
	attrStopSequences    = "gen_ai.request.stop_sequences"
	attrSeed             = "gen_ai.request.seed"
	attrChoiceCount      = "gen_ai.request.choice.count"
	attrEncodingFormats  = "gen_ai.request.encoding_formats"
	attrDimensions       = "gen_ai.embeddings.dimension.count"
	attrStream           = "gen_ai.request.stream"
	attrOutputType       = "gen_ai.output.type"
	attrAPIType          = "openai.api.type"
	attrRequestTier      = "openai.request.service_tier"
	attrResponseTier     = "openai.response.service_tier"
	attrFingerprint      = "openai.response.system_fingerprint"
	attrReasoning        = "gen_ai.usage.reasoning.output_tokens"
	attrResponseID       = "gen_ai.response.id"
	attrResponseModel    = "gen_ai.response.model"
	attrFinishReasons    = "gen_ai.response.finish_reasons"
	attrInputTokens      = "gen_ai.usage.input_tokens"
	attrOutputTokens     = "gen_ai.usage.output_tokens"
	attrCacheRead        = "gen_ai.usage.cache_read.input_tokens"
	attrCacheCreation    = "gen_ai.usage.cache_creation.input_tokens"
	attrInputMessages    = "gen_ai.input.messages"
	attrOutputMessages   = "gen_ai.output.messages"
	attrSystem           = "gen_ai.system_instructions"
	attrServerAddress    = "server.address"
	attrServerPort       = "server.port"
	attrErrorType        = "error.type"
)

var tracer = otel.Tracer(ScopeName)

// Capture reports whether prompts and completions are recorded (the
// environment variable CaptureVariable).
func Capture() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(CaptureVariable))) {
	case "true", "1", "span_only", "span_and_event":
		return true
	}
	return false
}

// Operation is the gen_ai.operation.name of a request to provider's API, or
// "" for a request this package does not trace.
func Operation(provider, method, path string) string {
	if method != http.MethodPost {
		return ""
	}
	path = strings.TrimRight(path, "/")
	switch provider {
	case Anthropic:
		if strings.HasSuffix(path, "/messages") {
			return "chat"
		}
	default:
		switch {
		case strings.HasSuffix(path, "/chat/completions"):
			return "chat"
		case strings.HasSuffix(path, "/completions"):
			return "text_completion"
		case strings.HasSuffix(path, "/embeddings"):
			return "embeddings"
		case strings.HasSuffix(path, "/responses"):
			return "chat"
		}
	}
	return ""
}

// Do traces the call req makes to provider's API (OpenAI, Anthropic), which
// next sends: an SDK's middleware calls it with its next handler, an HTTP doer
// with the doer it wraps. A request Operation does not know is sent as it is.
func Do(provider string, req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	if req == nil || req.URL == nil {
		return next(req)
	}
	if provider == OpenAI && strings.HasSuffix(req.URL.Hostname(), ".openai.azure.com") {
		provider = Azure
	}
	operation := Operation(provider, req.Method, req.URL.Path)
	if operation == "" {
		return next(req)
	}
	ctx := otelrt.Parent(req.Context())
	if otelrt.InClientSpan(ctx) { // a CLIENT span the program started around the call is its span
		return next(req)
	}
	body, err := requestBody(req)
	if err != nil {
		return next(req)
	}
	var in request
	_ = json.Unmarshal(body, &in) // a body that is not JSON leaves the request's attributes out

	c := &call{provider: provider, operation: operation, capture: Capture()}
	if provider != Anthropic && operation == "chat" {
		c.apiType = "chat_completions"
		if strings.HasSuffix(strings.TrimRight(req.URL.Path, "/"), "/responses") {
			c.apiType = "responses"
		}
	}
	name := operation
	if in.Model != "" {
		name += " " + in.Model
	}
	ctx, c.span = tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(c.requestAttributes(req.URL, &in)...))
	if c.capture {
		c.captureInput(&in)
	}

	resp, err := next(req.WithContext(ctx))
	if err != nil {
		c.fail(err)
		return resp, err
	}
	if resp == nil || resp.Body == nil {
		c.end()
		return resp, err
	}
	if resp.StatusCode < 400 && strings.HasPrefix(strings.ToLower(resp.Header.Get("Content-Type")), "text/event-stream") {
		resp.Body = &stream{inner: resp.Body, call: c}
		return resp, nil
	}
	data, readErr := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rest io.Reader = bytes.NewReader(data)
	if readErr != nil { // the client sees what was read, then the error
		rest = io.MultiReader(rest, failing{readErr})
	}
	resp.Body = io.NopCloser(rest)
	c.answer(resp.StatusCode, data)
	if readErr != nil && c.errType == "" {
		c.fail(readErr)
		return resp, nil
	}
	c.end()
	return resp, nil
}

// requestBody is req's body, read without taking it from the client.
func requestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	data, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return data, nil
}

type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }

// request is what a request body tells, of every API Operation knows.
type request struct {
	Model               string          `json:"model"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	TopK                *float64        `json:"top_k"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	PresencePenalty     *float64        `json:"presence_penalty"`
	Seed                *int64          `json:"seed"`
	N                   *int64          `json:"n"`
	Stop                json.RawMessage `json:"stop"`           // OpenAI: a string or strings
	StopSequences       []string        `json:"stop_sequences"` // Anthropic
	EncodingFormat      string          `json:"encoding_format"`
	Dimensions          *int64          `json:"dimensions"`
	Stream              bool            `json:"stream"`
	ServiceTier         string          `json:"service_tier"`      // OpenAI
	ResponseFormat      *format         `json:"response_format"`   // OpenAI chat
	MaxOutputTokens     *int64          `json:"max_output_tokens"` // OpenAI Responses
	Text                *struct {
		Format *format `json:"format"`
	} `json:"text"` // OpenAI Responses

	// Content, read only when it is captured.
	Messages json.RawMessage `json:"messages"`
	System   json.RawMessage `json:"system"` // Anthropic
	Prompt   json.RawMessage `json:"prompt"` // OpenAI completions
	// OpenAI Responses
	Instructions json.RawMessage `json:"instructions"`
	Input        json.RawMessage `json:"input"`
}

type format struct {
	Type string `json:"type"`
}

func (c *call) requestAttributes(u *url.URL, in *request) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		attribute.String(attrOperation, c.operation),
		attribute.String(attrProvider, c.provider),
	}
	if in.Model != "" {
		attrs = append(attrs, attribute.String(attrRequestModel, in.Model))
	}
	openai := c.provider != Anthropic
	if c.apiType != "" {
		attrs = append(attrs, attribute.String(attrAPIType, c.apiType))
	}
	if in.Stream {
		attrs = append(attrs, attribute.Bool(attrStream, true))
	}
	if openai && in.ServiceTier != "" && in.ServiceTier != "auto" {
		attrs = append(attrs, attribute.String(attrRequestTier, in.ServiceTier))
	}
	if in.Text != nil && in.Text.Format != nil && in.ResponseFormat == nil { // Responses' output format
		in.ResponseFormat = in.Text.Format
	}
	if in.ResponseFormat != nil {
		switch in.ResponseFormat.Type {
		case "text":
			attrs = append(attrs, attribute.String(attrOutputType, "text"))
		case "json_object", "json_schema":
			attrs = append(attrs, attribute.String(attrOutputType, "json"))
		}
	}
	if in.MaxCompletionTokens != nil {
		attrs = append(attrs, attribute.Int64(attrMaxTokens, *in.MaxCompletionTokens))
	} else if in.MaxOutputTokens != nil {
		attrs = append(attrs, attribute.Int64(attrMaxTokens, *in.MaxOutputTokens))
	} else if in.MaxTokens != nil {
		attrs = append(attrs, attribute.Int64(attrMaxTokens, *in.MaxTokens))
	}
	floats := []struct {
		key string
		v   *float64
	}{{attrTemperature, in.Temperature}, {attrTopP, in.TopP}, {attrTopK, in.TopK}, {attrFrequencyPenalty, in.FrequencyPenalty}, {attrPresencePenalty, in.PresencePenalty}}
	for _, f := range floats {
		if f.v != nil {
			attrs = append(attrs, attribute.Float64(f.key, *f.v))
		}
	}
	stops := in.StopSequences
	if len(in.Stop) > 0 {
		var one string
		if json.Unmarshal(in.Stop, &one) == nil {
			stops = []string{one}
		} else {
			_ = json.Unmarshal(in.Stop, &stops)
		}
	}
	if len(stops) > 0 {
		attrs = append(attrs, attribute.StringSlice(attrStopSequences, stops))
	}
	if in.Seed != nil {
		attrs = append(attrs, attribute.Int64(attrSeed, *in.Seed))
	}
	if in.N != nil && *in.N != 1 {
		attrs = append(attrs, attribute.Int64(attrChoiceCount, *in.N))
	}
	if in.EncodingFormat != "" {
		attrs = append(attrs, attribute.StringSlice(attrEncodingFormats, []string{in.EncodingFormat}))
	}
	if in.Dimensions != nil {
		attrs = append(attrs, attribute.Int64(attrDimensions, *in.Dimensions))
	}
	if host := u.Hostname(); host != "" {
		attrs = append(attrs, attribute.String(attrServerAddress, host))
		port, err := strconv.Atoi(u.Port())
		if err != nil {
			port = 443
			if u.Scheme == "http" {
				port = 80
			}
		}
		attrs = append(attrs, attribute.Int(attrServerPort, port))
	}
	return attrs
}

// call is one traced call: its span and what the answer told so far.
type call struct {
	span                trace.Span
	provider, operation string
	apiType             string // openai.api.type
	capture             bool

	once          sync.Once
	id, model     string
	finish        map[int]string // by choice index
	input, output *int64
	cacheRead     *int64
	cacheCreation *int64
	reasoning     *int64
	tier          string // OpenAI's service_tier
	fingerprint   string // OpenAI's system_fingerprint
	errType       string
	outputs       map[int]*outMessage // captured completions, by choice index
}

// answer reads a JSON answer (or one event of a stream).
func (c *call) answer(status int, data []byte) {
	var out response
	if err := json.Unmarshal(data, &out); err != nil {
		if status >= 400 { // an error body of another shape ("message" a string...)
			var e struct {
				Error *apiError       `json:"error"`
				Code  json.RawMessage `json:"code"`
			}
			_ = json.Unmarshal(data, &e)
			if c.errType = e.Error.kind(); c.errType == "" {
				c.errType = (&apiError{Code: e.Code}).kind()
			}
			if c.errType == "" {
				c.errType = strconv.Itoa(status)
			}
		}
		return
	}
	if status >= 400 || out.Error != nil || out.Type == "error" {
		c.errType = out.Error.kind()
		if c.errType == "" { // a Responses error event: its code at the top
			c.errType = (&apiError{Code: out.Code}).kind()
		}
		if c.errType == "" {
			c.errType = strconv.Itoa(status)
		}
		return
	}
	if r := out.Response; r != nil && r.Error != nil { // a Responses stream's response.failed
		if c.errType = r.Error.kind(); c.errType == "" {
			c.errType = "_OTHER"
		}
	}
	c.read(&out)
}

// read takes what one answer or event says.
func (c *call) read(out *response) {
	if out.Message != nil { // Anthropic's message_start
		c.read(out.Message)
	}
	if out.Response != nil { // OpenAI Responses' events
		c.read(out.Response)
	}
	if out.ID != "" && out.Type != "content_block_start" {
		c.id = out.ID
	}
	if out.Model != "" {
		c.model = out.Model
	}
	if c.provider != Anthropic {
		if out.ServiceTier != "" {
			c.tier = out.ServiceTier
		}
		if out.SystemFingerprint != "" {
			c.fingerprint = out.SystemFingerprint
		}
	}
	if c.finish == nil {
		c.finish = map[int]string{}
	}
	for _, choice := range out.Choices {
		if choice.FinishReason != nil && *choice.FinishReason != "" {
			c.finish[choice.Index] = *choice.FinishReason
		}
		if c.capture {
			c.captureChoice(&choice)
		}
	}
	if out.StopReason != nil && *out.StopReason != "" {
		c.finish[0] = *out.StopReason
	}
	if out.Object == "response" { // OpenAI Responses: its status says why it ended
		switch out.Status {
		case "completed":
			c.finish[0] = "stop"
		case "incomplete":
			if out.IncompleteDetails != nil && out.IncompleteDetails.Reason != "" {
				c.finish[0] = out.IncompleteDetails.Reason
			}
		}
		if c.capture && (out.Status == "completed" || out.Status == "incomplete") {
			c.captureResponse(out.Output)
		}
	}
	if out.Delta != nil && out.Delta.StopReason != nil && *out.Delta.StopReason != "" {
		c.finish[0] = *out.Delta.StopReason
	}
	if c.capture {
		c.captureAnthropic(out)
	}
	if u := out.Usage; u != nil {
		set := func(dst **int64, v *int64) {
			if v != nil {
				*dst = v
			}
		}
		set(&c.input, u.PromptTokens)
		set(&c.output, u.CompletionTokens)
		set(&c.input, u.InputTokens)
		set(&c.output, u.OutputTokens)
		set(&c.cacheRead, u.CacheRead)
		set(&c.cacheCreation, u.CacheCreation)
		if u.PromptDetails != nil {
			set(&c.cacheRead, u.PromptDetails.CachedTokens)
		}
		if u.CompletionDetails != nil {
			set(&c.reasoning, u.CompletionDetails.ReasoningTokens)
		}
		if u.InputDetails != nil {
			set(&c.cacheRead, u.InputDetails.CachedTokens)
		}
		if u.OutputDetails != nil {
			set(&c.reasoning, u.OutputDetails.ReasoningTokens)
		}
	}
}

// fail ends the span of a call that got no (whole) answer.
func (c *call) fail(err error) {
	c.once.Do(func() {
		c.span.SetAttributes(c.responseAttributes()...)
		c.span.SetAttributes(attribute.String(attrErrorType, errorType(err)))
		c.span.RecordError(err)
		c.span.SetStatus(codes.Error, err.Error())
		c.span.End()
	})
}

// end ends the span with what the answer told.
func (c *call) end() {
	c.once.Do(func() {
		c.span.SetAttributes(c.responseAttributes()...)
		if c.errType != "" {
			c.span.SetAttributes(attribute.String(attrErrorType, c.errType))
			c.span.SetStatus(codes.Error, "")
		}
		c.span.End()
	})
}

func (c *call) responseAttributes() []attribute.KeyValue {
	var attrs []attribute.KeyValue
	if c.id != "" {
		attrs = append(attrs, attribute.String(attrResponseID, c.id))
	}
	if c.model != "" {
		attrs = append(attrs, attribute.String(attrResponseModel, c.model))
	}
	if len(c.finish) > 0 {
		indices := make([]int, 0, len(c.finish))
		for i := range c.finish {
			indices = append(indices, i)
		}
		sort.Ints(indices)
		reasons := make([]string, len(indices))
		for n, i := range indices {
			reasons[n] = c.finish[i]
		}
		attrs = append(attrs, attribute.StringSlice(attrFinishReasons, reasons))
	}
	if c.input != nil {
		input := *c.input
		if c.provider == Anthropic { // Anthropic's input_tokens leaves the cached input out
			for _, v := range []*int64{c.cacheRead, c.cacheCreation} {
				if v != nil {
					input += *v
				}
			}
		}
		attrs = append(attrs, attribute.Int64(attrInputTokens, input))
	}
	if c.output != nil {
		attrs = append(attrs, attribute.Int64(attrOutputTokens, *c.output))
	}
	if c.cacheRead != nil && *c.cacheRead > 0 {
		attrs = append(attrs, attribute.Int64(attrCacheRead, *c.cacheRead))
	}
	if c.cacheCreation != nil && *c.cacheCreation > 0 {
		attrs = append(attrs, attribute.Int64(attrCacheCreation, *c.cacheCreation))
	}
	if c.reasoning != nil && *c.reasoning > 0 {
		attrs = append(attrs, attribute.Int64(attrReasoning, *c.reasoning))
	}
	if c.tier != "" {
		attrs = append(attrs, attribute.String(attrResponseTier, c.tier))
	}
	if c.fingerprint != "" {
		attrs = append(attrs, attribute.String(attrFingerprint, c.fingerprint))
	}
	if c.capture && len(c.outputs) > 0 {
		attrs = append(attrs, attribute.String(attrOutputMessages, c.outputJSON()))
	}
	return attrs
}

// errorType is error.type for a request that got no answer: the Go type of
// what failed, beneath the *url.Error of net/http's client.
func errorType(err error) string {
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	var u *url.Error
	if errors.As(err, &u) && u.Err != nil {
		err = u.Err
	}
	return fmt.Sprintf("%T", err)
}

// response is what an answer, a stream's event or an error body tells, of
// every API Operation knows.
type response struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"` // Anthropic: "message", the event's type, "error"
	Model      string    `json:"model"`
	Choices    []choice  `json:"choices"`     // OpenAI
	StopReason *string   `json:"stop_reason"` // Anthropic
	Usage      *usage    `json:"usage"`
	Message    *response `json:"message"`  // Anthropic's message_start
	Response   *response `json:"response"` // OpenAI Responses' events
	Delta      *struct { // Anthropic's message_delta and content_block_delta
		StopReason  *string `json:"stop_reason"`
		Type        string  `json:"type"`
		Text        string  `json:"text"`
		PartialJSON string  `json:"partial_json"`
	} `json:"delta"`
	Index        *int            `json:"index"`         // Anthropic's content_block_*
	ContentBlock *block          `json:"content_block"` // Anthropic's content_block_start
	Content      json.RawMessage `json:"content"`       // Anthropic's message
	Role         string          `json:"role"`
	Error        *apiError       `json:"error"`

	ServiceTier       string `json:"service_tier"`       // OpenAI
	SystemFingerprint string `json:"system_fingerprint"` // OpenAI

	// OpenAI Responses: the response object, and the code of an error event
	Object            string `json:"object"`
	Status            string `json:"status"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Output json.RawMessage `json:"output"`
	Code   json.RawMessage `json:"code"`
}

type usage struct {
	PromptTokens     *int64 `json:"prompt_tokens"`
	CompletionTokens *int64 `json:"completion_tokens"`
	InputTokens      *int64 `json:"input_tokens"`
	OutputTokens     *int64 `json:"output_tokens"`
	CacheRead        *int64 `json:"cache_read_input_tokens"`
	CacheCreation    *int64 `json:"cache_creation_input_tokens"`
	PromptDetails    *struct {
		CachedTokens *int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionDetails *struct {
		ReasoningTokens *int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
	InputDetails *struct { // Responses
		CachedTokens *int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputDetails *struct { // Responses
		ReasoningTokens *int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

type choice struct {
	Index        int      `json:"index"`
	FinishReason *string  `json:"finish_reason"`
	Message      *message `json:"message"` // a chat answer
	Delta        *message `json:"delta"`   // a chat stream's chunk
	Text         *string  `json:"text"`    // completions
}

// apiError is an error body's error: OpenAI's {"message", "type", "param",
// "code"}, Anthropic's {"type", "message"}.
type apiError struct {
	Type string          `json:"type"`
	Code json.RawMessage `json:"code"`
}

// kind is error.type: the error's code, else its type.
func (e *apiError) kind() string {
	if e == nil {
		return ""
	}
	var code string
	if json.Unmarshal(e.Code, &code) == nil && code != "" {
		return code
	}
	if n := strings.TrimSpace(string(e.Code)); n != "" && n != "null" && n != `""` {
		return n
	}
	return e.Type
}
