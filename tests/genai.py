"""A loopback stand-in for the OpenAI and Anthropic HTTP APIs: their protocol, not a model.

The GenAI client fixtures (openai-go, go-openai, anthropic-sdk-go) talk to this
server: HTTP/1.1 on 127.0.0.1 and a free port, answering the documented
requests with bodies and server-sent-event streams shaped as the APIs shape
them:

* OpenAI (under ``/v1``): ``POST /chat/completions`` (JSON, or with
  ``"stream": true`` ``data:`` chunks ending in ``data: [DONE]``, the usage in
  a last chunk without choices when ``stream_options.include_usage`` asks for
  it), ``POST /responses`` (the Responses API: a response object, or its
  ``response.created`` ... ``response.completed`` event stream; cut at
  ``max_output_tokens``, it is ``incomplete``), ``POST /completions``,
  ``POST /embeddings`` (floats or base64);
* Anthropic: ``POST /v1/messages`` (JSON, or the ``message_start`` ...
  ``message_stop`` event stream).

A chat answer echoes the last user message ("You said: ..."), cut to
``max_tokens`` words (then ``length`` / ``max_tokens`` is its finish reason);
a token is a word, so usage is deterministic. The answer's model is the
requested one with a date (``gpt-4o-mini`` answers as
``gpt-4o-mini-2024-07-18``), as the real APIs answer, to show that a span
reads the response's model. A response's id is a digest of what was asked
(the same on every run). A model whose name starts with ``unknown`` gets
the API's 404 error body (OpenAI ``model_not_found``, Anthropic
``not_found_error``); a request without an API key (``Authorization:
Bearer`` or ``x-api-key``) the API's 401.

Every request's method, path and ``traceparent`` header is kept
(``requests``): ``assert_propagated`` checks that every request made since
``mark()`` carried the trace context of an exported GenAI span.

    with GenAIServer() as server:
        server.url  # http://127.0.0.1:PORT
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import threading
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from servers import assert_propagated

CREATED = 1767225600  # 2026-01-01: a fixed "created"
MODEL_DATES = {"openai": "2024-07-18", "anthropic": "20250514"}


class APIError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def _openai_error(status: int, message: str, kind: str, code: str | None, param: str | None = None) -> APIError:
    return APIError(status, {"error": {"message": message, "type": kind, "param": param, "code": code}})


def _anthropic_error(status: int, kind: str, message: str) -> APIError:
    return APIError(status, {"type": "error", "error": {"type": kind, "message": message}})


def _text(content: Any) -> str:
    """A message's content as text: a string, or its text parts (OpenAI) or blocks (Anthropic)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and "text" in p)
    return ""


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


class _Answer:
    """What a chat answers: its words (cut to max_tokens), whether it was cut, its usage."""

    def __init__(self, prompt_texts: list[str], last: str, max_tokens: int | None) -> None:
        words = f"You said: {last}".split()
        self.cut = max_tokens is not None and len(words) > max_tokens
        self.words = words[:max_tokens] if self.cut else words
        self.input_tokens = sum(len(t.split()) for t in prompt_texts)
        self.output_tokens = len(self.words)

    @property
    def text(self) -> str:
        return " ".join(self.words)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, str | None]] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            self.server.requests.append((self.command, path, self.headers.get("traceparent")))
        anthropic = path.rstrip("/").endswith("/messages")
        try:
            if not (
                self.headers.get("x-api-key")
                if anthropic
                else self.headers.get("Authorization", "").startswith("Bearer ")
            ):
                if anthropic:
                    raise _anthropic_error(401, "authentication_error", "x-api-key header is required")
                raise _openai_error(401, "You didn't provide an API key.", "invalid_request_error", None)
            request = json.loads(body) if body.strip() else {}
            if self.command != "POST" or not isinstance(request, dict):
                raise _openai_error(404, f"Invalid URL ({self.command} {path})", "invalid_request_error", None)
            if anthropic:
                self._messages(request)
            elif path.endswith("/chat/completions"):
                self._chat(request)
            elif path.endswith("/responses"):
                self._responses(request)
            elif path.endswith("/completions"):
                self._completions(request)
            elif path.endswith("/embeddings"):
                self._embeddings(request)
            else:
                raise _openai_error(404, f"Invalid URL (POST {path})", "invalid_request_error", None)
        except APIError as e:
            self._json(e.status, e.body)

    def _json(self, status: int, value: Any) -> None:
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req_" + _digest(value)[:16])
        self.end_headers()
        self.wfile.write(data)

    def _events(self, events: Iterable[tuple[str | None, Any]]) -> None:
        """A server-sent-event stream: (event name or None, data: JSON or a string)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for name, data in events:
            chunk = "" if name is None else f"event: {name}\n"
            chunk += f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"
            self.wfile.write(chunk.encode())
            self.wfile.flush()
        self.close_connection = True

    def _model(self, request: dict[str, Any], provider: str) -> tuple[str, str]:
        model = request.get("model")
        if not isinstance(model, str) or not model:
            if provider == "anthropic":
                raise _anthropic_error(400, "invalid_request_error", "model: Field required")
            raise _openai_error(400, "you must provide a model parameter", "invalid_request_error", None, "model")
        if model.startswith("unknown"):
            if provider == "anthropic":
                raise _anthropic_error(404, "not_found_error", f"model: {model}")
            raise _openai_error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        return model, f"{model}-{MODEL_DATES[provider]}"

    # OpenAI

    def _chat(self, request: dict[str, Any]) -> None:
        model, answered = self._model(request, "openai")
        messages = request.get("messages") or []
        texts = [_text(m.get("content")) for m in messages if isinstance(m, dict)]
        last = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        limit = request.get("max_completion_tokens", request.get("max_tokens"))
        answer = _Answer(texts, last, limit)
        finish = "length" if answer.cut else "stop"
        stream = bool(request.get("stream"))
        ident = "chatcmpl-" + _digest("chat", model, texts, limit, stream)
        usage = {
            "prompt_tokens": answer.input_tokens,
            "completion_tokens": answer.output_tokens,
            "total_tokens": answer.input_tokens + answer.output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }
        head = {"id": ident, "created": CREATED, "model": answered, "system_fingerprint": "fp_fixture"}
        if not stream:
            message = {"role": "assistant", "content": answer.text, "refusal": None, "annotations": []}
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            self._json(
                200,
                {**head, "object": "chat.completion", "choices": [choice], "usage": usage, "service_tier": "default"},
            )
            return
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))

        def chunks() -> Iterator[tuple[str | None, Any]]:
            def chunk(choices: list[Any], usage_value: Any = None) -> dict[str, Any]:
                c = {**head, "object": "chat.completion.chunk", "service_tier": "default", "choices": choices}
                if include_usage:
                    c["usage"] = usage_value
                return c

            yield (
                None,
                chunk(
                    [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": "", "refusal": None},
                            "logprobs": None,
                            "finish_reason": None,
                        }
                    ]
                ),
            )
            for n, word in enumerate(answer.words):
                piece = word if n == 0 else " " + word
                yield None, chunk([{"index": 0, "delta": {"content": piece}, "logprobs": None, "finish_reason": None}])
            yield None, chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish}])
            if include_usage:
                yield None, chunk([], usage)
            yield None, "[DONE]"

        self._events(chunks())

    def _responses(self, request: dict[str, Any]) -> None:
        model, answered = self._model(request, "openai")
        given = request.get("input")
        items = (
            [{"role": "user", "content": given}]
            if isinstance(given, str)
            else [i for i in given or [] if isinstance(i, dict)]
        )
        texts = [_text(request.get("instructions"))] + [_text(i.get("content")) for i in items]
        last = next((_text(i.get("content")) for i in reversed(items) if i.get("role") == "user"), "")
        limit = request.get("max_output_tokens")
        answer = _Answer(texts, last, limit)
        stream = bool(request.get("stream"))
        ident = _digest("responses", model, texts, limit, stream)
        message_id = "msg_" + ident
        done = {"type": "output_text", "text": answer.text, "annotations": []}
        message = {"type": "message", "id": message_id, "status": "completed", "role": "assistant", "content": [done]}
        usage = {
            "input_tokens": answer.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": answer.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": answer.input_tokens + answer.output_tokens,
        }
        response = {
            "id": "resp_" + ident,
            "object": "response",
            "created_at": CREATED,
            "status": "incomplete" if answer.cut else "completed",
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if answer.cut else None,
            "instructions": request.get("instructions"),
            "max_output_tokens": limit,
            "model": answered,
            "output": [message],
            "parallel_tool_calls": True,
            "temperature": request.get("temperature", 1.0),
            "tool_choice": "auto",
            "tools": [],
            "top_p": request.get("top_p", 1.0),
            "usage": usage,
            "service_tier": "default",
        }
        if not stream:
            self._json(200, response)
            return

        def events() -> Iterator[tuple[str | None, Any]]:
            sequence = iter(range(1000))

            def event(kind: str, **fields: Any) -> tuple[str, Any]:
                return kind, {"type": kind, "sequence_number": next(sequence), **fields}

            started = {**response, "status": "in_progress", "incomplete_details": None, "output": [], "usage": None}
            yield event("response.created", response=started)
            yield event("response.in_progress", response=started)
            empty = {**message, "status": "in_progress", "content": []}
            yield event("response.output_item.added", output_index=0, item=empty)
            where = {"item_id": message_id, "output_index": 0, "content_index": 0}
            yield event("response.content_part.added", **where, part={**done, "text": ""})
            for n, word in enumerate(answer.words):
                yield event("response.output_text.delta", **where, delta=word if n == 0 else " " + word)
            yield event("response.output_text.done", **where, text=answer.text)
            yield event("response.content_part.done", **where, part=done)
            yield event("response.output_item.done", output_index=0, item=message)
            yield event("response.incomplete" if answer.cut else "response.completed", response=response)

        self._events(events())

    def _completions(self, request: dict[str, Any]) -> None:
        model, answered = self._model(request, "openai")
        prompt = request.get("prompt")
        texts = [prompt] if isinstance(prompt, str) else [p for p in prompt or [] if isinstance(p, str)]
        limit = request.get("max_tokens", 16)
        answer = _Answer(texts, texts[-1] if texts else "", limit)
        usage = {
            "prompt_tokens": answer.input_tokens,
            "completion_tokens": answer.output_tokens,
            "total_tokens": answer.input_tokens + answer.output_tokens,
        }
        choice = {
            "index": 0,
            "text": answer.text,
            "logprobs": None,
            "finish_reason": "length" if answer.cut else "stop",
        }
        ident = "cmpl-" + _digest("completions", model, texts, limit)
        self._json(
            200,
            {
                "id": ident,
                "object": "text_completion",
                "created": CREATED,
                "model": answered,
                "choices": [choice],
                "usage": usage,
            },
        )

    def _embeddings(self, request: dict[str, Any]) -> None:
        model, _ = self._model(request, "openai")
        inputs = request.get("input")
        texts = [inputs] if isinstance(inputs, str) else [t for t in inputs or [] if isinstance(t, str)]
        dimensions = int(request.get("dimensions") or 8)
        data = []
        for n, text in enumerate(texts):
            seed = hashlib.sha256(text.encode()).digest()
            vector = [round((seed[i % len(seed)] - 128) / 128, 4) for i in range(dimensions)]
            if request.get("encoding_format") == "base64":
                embedding: Any = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
            else:
                embedding = vector
            data.append({"object": "embedding", "index": n, "embedding": embedding})
        tokens = sum(len(t.split()) for t in texts)
        # The embeddings API answers with the model's name as asked (no id).
        self._json(
            200,
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    # Anthropic

    def _messages(self, request: dict[str, Any]) -> None:
        model, answered = self._model(request, "anthropic")
        if not isinstance(request.get("max_tokens"), int):
            raise _anthropic_error(400, "invalid_request_error", "max_tokens: Field required")
        messages = request.get("messages") or []
        texts = [_text(request.get("system"))] + [_text(m.get("content")) for m in messages if isinstance(m, dict)]
        last = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        answer = _Answer(texts, last, request["max_tokens"])
        stop = "max_tokens" if answer.cut else "end_turn"
        stream = bool(request.get("stream"))
        ident = "msg_" + _digest("messages", model, texts, request["max_tokens"], stream)
        usage = {
            "input_tokens": answer.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": answer.output_tokens,
            "service_tier": "standard",
        }
        message = {"id": ident, "type": "message", "role": "assistant", "model": answered, "stop_sequence": None}
        if not stream:
            content = [{"type": "text", "text": answer.text}]
            self._json(200, {**message, "content": content, "stop_reason": stop, "usage": usage})
            return

        def events() -> Iterator[tuple[str | None, Any]]:
            start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
            yield "message_start", {"type": "message_start", "message": start}
            yield (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            )
            yield "ping", {"type": "ping"}
            for n, word in enumerate(answer.words):
                piece = word if n == 0 else " " + word
                yield (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
                )
            yield "content_block_stop", {"type": "content_block_stop", "index": 0}
            delta = {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": answer.output_tokens},
            }
            yield "message_delta", delta
            yield "message_stop", {"type": "message_stop"}

        self._events(events())


class GenAIServer:
    """``with GenAIServer() as server: server.url`` (``http://127.0.0.1:PORT``)."""

    def __init__(self) -> None:
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not running"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[tuple[str, str, str | None]]:
        """Every request received so far: method, path and traceparent header (or None)."""
        assert self._server is not None, "the server is not running"
        with self._server.lock:
            return list(self._server.requests)

    def mark(self) -> int:
        """Where the requests a test is about to cause begin (for ``assert_propagated``)."""
        return len(self.requests)

    def assert_propagated(self, spans: Iterable[Any], since: int = 0) -> None:
        """Every request received since ``since`` carried a W3C traceparent that names an exported
        GenAI CLIENT span (never the net/http span beneath it, which is not recorded), a span of its own."""
        assert_propagated(
            self.requests[since:],
            spans,
            lambda span: span.kind == "client" and "gen_ai.operation.name" in span.attributes,
            "a GenAI span",
        )

    def __enter__(self) -> GenAIServer:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, name="genai", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None
