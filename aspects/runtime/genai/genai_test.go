package genai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

var recorder = tracetest.NewSpanRecorder()

func init() {
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder)))
}

// trickle hands out its data a few bytes at a time, as a network would.
type trickle struct {
	data []byte
	n    int
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.data) == 0 {
		return 0, io.EOF
	}
	t.n = t.n%7 + 1
	n := min(t.n, len(p), len(t.data))
	copy(p, t.data[:n])
	t.data = t.data[n:]
	return n, nil
}

func (t *trickle) Close() error { return nil }

// answer is a next handler that answers with status, content type and body,
// and keeps the request it was given.
func answer(status int, contentType, body string, got **http.Request) func(*http.Request) (*http.Response, error) {
	return func(req *http.Request) (*http.Response, error) {
		*got = req
		h := http.Header{}
		h.Set("Content-Type", contentType)
		return &http.Response{StatusCode: status, Header: h, Body: &trickle{data: []byte(body)}, Request: req}, nil
	}
}

func post(t *testing.T, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// call runs one call through Do and returns the body the client read and the span.
func run(t *testing.T, provider string, req *http.Request, next func(*http.Request) (*http.Response, error)) (string, sdktrace.ReadOnlySpan) {
	t.Helper()
	before := len(recorder.Ended())
	resp, err := Do(provider, req, next)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ended := recorder.Ended()
	if len(ended) != before+1 {
		t.Fatalf("%d spans ended, want 1", len(ended)-before)
	}
	return string(body), ended[len(ended)-1]
}

func attrs(span sdktrace.ReadOnlySpan) map[string]any {
	out := map[string]any{}
	for _, kv := range span.Attributes() {
		out[string(kv.Key)] = kv.Value.AsInterface()
	}
	return out
}

func check(t *testing.T, span sdktrace.ReadOnlySpan, name string, want map[string]any) {
	t.Helper()
	if span.Name() != name || span.SpanKind() != trace.SpanKindClient {
		t.Errorf("span %q (%v), want %q (client)", span.Name(), span.SpanKind(), name)
	}
	if got := attrs(span); !reflect.DeepEqual(got, want) {
		t.Errorf("attributes\n got %v\nwant %v", got, want)
	}
}

const chatRequest = `{"model":"gpt-4o-mini","response_format":{"type":"json_object"},"service_tier":"flex","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"s3cret question"}],"max_completion_tokens":64,"temperature":0.2,"n":2,"stop":"END"}`

func TestChatJSON(t *testing.T) {
	const reply = `{"id":"chatcmpl-1","model":"gpt-4o-mini-2024-07-18","choices":[{"index":1,"message":{"role":"assistant","content":"s3cret b"},"finish_reason":"length"},{"index":0,"message":{"role":"assistant","content":"s3cret a"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":3}},"service_tier":"default","system_fingerprint":"fp_1"}`
	var sent *http.Request
	body, span := run(t, OpenAI, post(t, "https://api.openai.com/v1/chat/completions", chatRequest), answer(200, "application/json", reply, &sent))
	if body != reply {
		t.Errorf("the client read %q", body)
	}
	if b, _ := io.ReadAll(sent.Body); string(b) != chatRequest {
		t.Errorf("the request sent %q", b)
	}
	if trace.SpanContextFromContext(sent.Context()).SpanID() != span.SpanContext().SpanID() {
		t.Error("the request was not sent in the span's context")
	}
	check(t, span, "chat gpt-4o-mini", map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini", "openai.api.type": "chat_completions",
		"gen_ai.request.max_tokens": int64(64), "gen_ai.request.temperature": 0.2, "gen_ai.request.choice.count": int64(2),
		"gen_ai.request.stop_sequences": []string{"END"}, "gen_ai.output.type": "json", "openai.request.service_tier": "flex", "server.address": "api.openai.com", "server.port": int64(443),
		"gen_ai.response.id": "chatcmpl-1", "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
		"gen_ai.response.finish_reasons": []string{"stop", "length"}, "gen_ai.usage.input_tokens": int64(5),
		"gen_ai.usage.output_tokens": int64(7), "gen_ai.usage.cache_read.input_tokens": int64(2),
		"gen_ai.usage.reasoning.output_tokens": int64(3), "openai.response.service_tier": "default", "openai.response.system_fingerprint": "fp_1",
	})
	if span.Status().Code != codes.Unset {
		t.Errorf("status %v", span.Status())
	}
}

const chatStream = "data: {\"id\":\"chatcmpl-2\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\r\n\r\n" +
	"data: {\"id\":\"chatcmpl-2\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"s3cret\"},\"finish_reason\":null}]}\n\n" +
	": a comment\n\n" +
	"data: {\"id\":\"chatcmpl-2\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"q\\\":\"}}]},\"finish_reason\":null}]}\n\n" +
	"data: {\"id\":\"chatcmpl-2\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]},\"finish_reason\":null}]}\n\n" +
	"data: {\"id\":\"chatcmpl-2\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n" +
	"data: {\"id\":\"chatcmpl-2\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}}\n\n" +
	"data: [DONE]\n\n"

func TestChatStream(t *testing.T) {
	var sent *http.Request
	req := post(t, "http://127.0.0.1:8080/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[]}`)
	body, span := run(t, OpenAI, req, answer(200, "text/event-stream; charset=utf-8", chatStream, &sent))
	if body != chatStream {
		t.Errorf("the client read %q", body)
	}
	check(t, span, "chat gpt-4o", map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
		"openai.api.type": "chat_completions", "gen_ai.request.stream": true,
		"server.address": "127.0.0.1", "server.port": int64(8080),
		"gen_ai.response.id": "chatcmpl-2", "gen_ai.response.model": "gpt-4o-2024-08-06",
		"gen_ai.response.finish_reasons": []string{"tool_calls"}, "gen_ai.usage.input_tokens": int64(9),
		"gen_ai.usage.output_tokens": int64(3),
	})
}

func TestStreamClosedEarly(t *testing.T) {
	var sent *http.Request
	before := len(recorder.Ended())
	resp, err := Do(OpenAI, post(t, "http://h/v1/chat/completions", `{"model":"m","stream":true}`), answer(200, "text/event-stream", chatStream, &sent))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 200)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	if len(recorder.Ended()) != before {
		t.Fatal("the span ended before the stream did")
	}
	resp.Body.Close()
	ended := recorder.Ended()
	if len(ended) != before+1 {
		t.Fatal("closing the stream did not end the span")
	}
	if got := attrs(ended[len(ended)-1]); got["gen_ai.response.id"] != "chatcmpl-2" || got["gen_ai.response.finish_reasons"] != nil {
		t.Errorf("attributes %v", got)
	}
}

const messagesStream = `event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"usage":{"input_tokens":10,"cache_read_input_tokens":4,"cache_creation_input_tokens":0,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"s3cret answer"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":12}}

event: message_stop
data: {"type":"message_stop"}
`

func TestMessagesStream(t *testing.T) {
	var sent *http.Request
	req := post(t, "https://api.anthropic.com/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":100,"top_k":5,"stop_sequences":["X"],"stream":true,"system":"s3cret system","messages":[{"role":"user","content":"s3cret"}]}`)
	_, span := run(t, Anthropic, req, answer(200, "text/event-stream", messagesStream, &sent))
	check(t, span, "chat claude-sonnet-4-5", map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
		"gen_ai.request.stream": true, "gen_ai.request.max_tokens": int64(100), "gen_ai.request.top_k": float64(5), "gen_ai.request.stop_sequences": []string{"X"},
		"server.address": "api.anthropic.com", "server.port": int64(443),
		"gen_ai.response.id": "msg_1", "gen_ai.response.model": "claude-sonnet-4-5-20250929",
		"gen_ai.response.finish_reasons": []string{"end_turn"}, "gen_ai.usage.input_tokens": int64(14),
		"gen_ai.usage.output_tokens": int64(12), "gen_ai.usage.cache_read.input_tokens": int64(4),
	})
}

func TestErrorAnswers(t *testing.T) {
	for _, c := range []struct {
		provider, body string
		status         int
		want           string
	}{
		{OpenAI, `{"error":{"message":"no s3cret","type":"invalid_request_error","param":null,"code":"model_not_found"}}`, 404, "model_not_found"},
		{OpenAI, `{"error":{"message":"slow down","type":"requests","param":null,"code":null}}`, 429, "requests"},
		{Anthropic, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, 529, "overloaded_error"},
		{OpenAI, `<html>bad gateway</html>`, 502, "502"},
	} {
		var sent *http.Request
		path := "/v1/chat/completions"
		if c.provider == Anthropic {
			path = "/v1/messages"
		}
		body, span := run(t, c.provider, post(t, "http://h"+path, `{"model":"m"}`), answer(c.status, "application/json", c.body, &sent))
		if body != c.body {
			t.Errorf("the client read %q", body)
		}
		if got := attrs(span)["error.type"]; got != c.want || span.Status().Code != codes.Error || span.Status().Description != "" {
			t.Errorf("%s: error.type %v, status %v (want %s)", c.body, got, span.Status(), c.want)
		}
	}
}

func TestErrorEventInStream(t *testing.T) {
	var sent *http.Request
	stream := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"model\":\"claude-x\",\"usage\":{\"input_tokens\":3}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	_, span := run(t, Anthropic, post(t, "http://h/v1/messages", `{"model":"claude-x"}`), answer(200, "text/event-stream", stream, &sent))
	if got := attrs(span); got["error.type"] != "overloaded_error" || got["gen_ai.response.id"] != "msg_2" || span.Status().Code != codes.Error {
		t.Errorf("attributes %v, status %v", got, span.Status())
	}
}

type refused struct{}

func (refused) Error() string { return "connection refused" }

func TestNoAnswer(t *testing.T) {
	before := len(recorder.Ended())
	_, err := Do(OpenAI, post(t, "http://h/v1/embeddings", `{"model":"e"}`), func(*http.Request) (*http.Response, error) { return nil, refused{} })
	if !errors.Is(err, refused{}) {
		t.Fatalf("error %v", err)
	}
	span := recorder.Ended()[before]
	if got := attrs(span); got["error.type"] != "genai.refused" || got["gen_ai.operation.name"] != "embeddings" || span.Status().Code != codes.Error || len(span.Events()) != 1 {
		t.Errorf("attributes %v, status %v, events %v", got, span.Status(), span.Events())
	}
}

func TestUntraced(t *testing.T) {
	before := len(recorder.Ended())
	for _, req := range []*http.Request{
		post(t, "http://h/v1/files", `{}`),
		post(t, "http://h/v1/messages/count_tokens", `{}`),
	} {
		var sent *http.Request
		if _, err := Do(Anthropic, req, answer(200, "application/json", `{}`, &sent)); err != nil || sent != req {
			t.Errorf("%s: not sent as it was (%v)", req.URL, err)
		}
	}
	get, _ := http.NewRequest(http.MethodGet, "http://h/v1/chat/completions", nil)
	var sent *http.Request
	if _, err := Do(OpenAI, get, answer(200, "application/json", `{}`, &sent)); err != nil || sent != get {
		t.Errorf("GET: not sent as it was (%v)", err)
	}
	if n := len(recorder.Ended()) - before; n != 0 {
		t.Errorf("%d spans", n)
	}
}

func TestNoContentUnlessCaptured(t *testing.T) {
	const reply = `{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"s3cret"},"finish_reason":"stop"}]}`
	var sent *http.Request
	t.Setenv(CaptureVariable, "")
	_, span := run(t, OpenAI, post(t, "http://h/v1/chat/completions", chatRequest), answer(200, "application/json", reply, &sent))
	for _, kv := range span.Attributes() {
		if strings.Contains(kv.Value.Emit(), "s3cret") {
			t.Errorf("%s records content: %s", kv.Key, kv.Value.Emit())
		}
	}

	t.Setenv(CaptureVariable, "true")
	_, span = run(t, OpenAI, post(t, "http://h/v1/chat/completions", chatRequest), answer(200, "application/json", reply, &sent))
	got := attrs(span)
	wantIn := `[{"role":"system","parts":[{"type":"text","content":"Be brief."}]},{"role":"user","parts":[{"type":"text","content":"s3cret question"}]}]`
	wantOut := `[{"role":"assistant","parts":[{"type":"text","content":"s3cret"}],"finish_reason":"stop"}]`
	if got["gen_ai.input.messages"] != wantIn || got["gen_ai.output.messages"] != wantOut {
		t.Errorf("input %v\noutput %v", got["gen_ai.input.messages"], got["gen_ai.output.messages"])
	}
}

func TestCapturedStreams(t *testing.T) {
	t.Setenv(CaptureVariable, "span_only")
	var sent *http.Request
	_, span := run(t, OpenAI, post(t, "http://h/v1/chat/completions", `{"model":"gpt-4o","stream":true}`), answer(200, "text/event-stream", chatStream, &sent))
	want := `[{"role":"assistant","parts":[{"type":"text","content":"s3cret"},{"type":"tool_call","id":"call_1","name":"lookup","arguments":{"q":1}}],"finish_reason":"tool_calls"}]`
	if got := attrs(span)["gen_ai.output.messages"]; got != want {
		t.Errorf("openai output %v\nwant %v", got, want)
	}

	req := post(t, "http://h/v1/messages", `{"model":"c","system":[{"type":"text","text":"s3cret system"}],"messages":[{"role":"user","content":[{"type":"text","text":"q"},{"type":"image","source":{}}]},{"role":"assistant","content":[{"type":"tool_use","id":"tu_1","name":"f","input":{"a":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"tu_1","content":"42"}]}]}`)
	_, span = run(t, Anthropic, req, answer(200, "text/event-stream", messagesStream, &sent))
	got := attrs(span)
	checks := map[string]string{
		"gen_ai.system_instructions": `[{"type":"text","content":"s3cret system"}]`,
		"gen_ai.input.messages":      `[{"role":"user","parts":[{"type":"text","content":"q"},{"type":"image"}]},{"role":"assistant","parts":[{"type":"tool_call","id":"tu_1","name":"f","arguments":{"a":1}}]},{"role":"user","parts":[{"type":"tool_call_response","id":"tu_1","response":"42"}]}]`,
		"gen_ai.output.messages":     `[{"role":"assistant","parts":[{"type":"text","content":"s3cret answer"}],"finish_reason":"end_turn"}]`,
	}
	for key, want := range checks {
		if got[key] != want {
			t.Errorf("%s\n got %v\nwant %s", key, got[key], want)
		}
	}
}

func TestEvents(t *testing.T) {
	var got []string
	var e Events
	emit := func(name string, data []byte) { got = append(got, name+"|"+string(data)) }
	for _, piece := range []string{"event: a\r\ndata: 1\r\nda", "ta: 2\r\n\r\n", ": comment\n\n", "data:x\n\ndata: last"} {
		e.Write([]byte(piece), emit)
	}
	e.Flush(emit)
	want := []string{"a|1\n2", "|x", "|last"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestReadErrorReachesTheClient(t *testing.T) {
	boom := errors.New("reset")
	before := len(recorder.Ended())
	resp, err := Do(OpenAI, post(t, "http://h/v1/chat/completions", `{"model":"m"}`), func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(io.MultiReader(strings.NewReader(`{"id":`), failing{boom}))}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if !errors.Is(err, boom) || !bytes.Equal(body, []byte(`{"id":`)) {
		t.Errorf("the client read %q, %v", body, err)
	}
	span := recorder.Ended()[before]
	if span.Status().Code != codes.Error {
		t.Errorf("status %v", span.Status())
	}
}

const responsesStream = `event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-4o-2024-08-06","output":[],"usage":null,"error":null}}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"s3cret"}

event: response.incomplete
data: {"type":"response.incomplete","sequence_number":2,"response":{"id":"resp_1","object":"response","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"model":"gpt-4o-2024-08-06","output":[{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"s3cret","annotations":[]}]}],"usage":{"input_tokens":4,"input_tokens_details":{"cached_tokens":0},"output_tokens":1,"output_tokens_details":{"reasoning_tokens":0}},"service_tier":"default","error":null}}

`

func TestResponses(t *testing.T) {
	t.Setenv(CaptureVariable, "true")
	var sent *http.Request
	req := post(t, "https://api.openai.com/v1/responses", `{"model":"gpt-4o","stream":true,"max_output_tokens":1,"instructions":"s3cret rules","input":"s3cret input","text":{"format":{"type":"json_schema"}}}`)
	_, span := run(t, OpenAI, req, answer(200, "text/event-stream", responsesStream, &sent))
	got := attrs(span)
	want := map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
		"openai.api.type": "responses", "gen_ai.request.stream": true, "gen_ai.request.max_tokens": int64(1),
		"gen_ai.output.type": "json", "server.address": "api.openai.com", "server.port": int64(443),
		"gen_ai.response.id": "resp_1", "gen_ai.response.model": "gpt-4o-2024-08-06",
		"gen_ai.response.finish_reasons": []string{"max_output_tokens"}, "gen_ai.usage.input_tokens": int64(4),
		"gen_ai.usage.output_tokens": int64(1), "openai.response.service_tier": "default",
		"gen_ai.system_instructions": `[{"type":"text","content":"s3cret rules"}]`,
		"gen_ai.input.messages":      `[{"role":"user","parts":[{"type":"text","content":"s3cret input"}]}]`,
		"gen_ai.output.messages":     `[{"role":"assistant","parts":[{"type":"text","content":"s3cret"}],"finish_reason":"max_output_tokens"}]`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("attributes\n got %v\nwant %v", got, want)
	}

	failed := "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"id\":\"resp_2\",\"object\":\"response\",\"status\":\"failed\",\"model\":\"m\",\"error\":{\"code\":\"server_error\",\"message\":\"s3cret\"}}}\n\n"
	_, span = run(t, OpenAI, post(t, "http://h/v1/responses", `{"model":"m","stream":true}`), answer(200, "text/event-stream", failed, &sent))
	if got := attrs(span); got["error.type"] != "server_error" || got["gen_ai.response.id"] != "resp_2" || span.Status().Code != codes.Error {
		t.Errorf("failed: %v %v", got, span.Status())
	}
	event := "event: error\ndata: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"slow\",\"param\":null}\n\n"
	_, span = run(t, OpenAI, post(t, "http://h/v1/responses", `{"model":"m","stream":true}`), answer(200, "text/event-stream", event, &sent))
	if got := attrs(span)["error.type"]; got != "rate_limit_exceeded" {
		t.Errorf("error event: %v", got)
	}
}

func TestResponsesItems(t *testing.T) {
	t.Setenv(CaptureVariable, "true")
	const reply = `{"id":"resp_3","object":"response","status":"completed","model":"gpt-4o","output":[{"type":"reasoning","id":"rs_1","summary":[]},{"type":"function_call","call_id":"call_9","name":"lookup","arguments":"{\"id\":7}"}],"usage":{"input_tokens":9,"output_tokens":5,"output_tokens_details":{"reasoning_tokens":2}}}`
	var sent *http.Request
	input := `[{"role":"user","content":"s3cret"},{"type":"function_call","call_id":"call_1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"call_1","output":"42"},{"type":"message","role":"user","content":[{"type":"input_text","text":"more"},{"type":"input_image","image_url":"x"}]}]`
	_, span := run(t, OpenAI, post(t, "http://h/v1/responses", `{"model":"gpt-4o","input":`+input+`}`), answer(200, "application/json", reply, &sent))
	got := attrs(span)
	wantIn := `[{"role":"user","parts":[{"type":"text","content":"s3cret"}]},{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"f","arguments":{}}]},{"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"42"}]},{"role":"user","parts":[{"type":"text","content":"more"},{"type":"input_image"}]}]`
	wantOut := `[{"role":"assistant","parts":[{"type":"tool_call","id":"call_9","name":"lookup","arguments":{"id":7}}],"finish_reason":"stop"}]`
	if got["gen_ai.input.messages"] != wantIn || got["gen_ai.output.messages"] != wantOut || got["gen_ai.usage.reasoning.output_tokens"] != int64(2) {
		t.Errorf("input %v\noutput %v\n%v", got["gen_ai.input.messages"], got["gen_ai.output.messages"], got)
	}
}
