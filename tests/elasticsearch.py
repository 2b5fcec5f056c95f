"""A loopback stand-in for Elasticsearch: its REST protocol, not its engine.

No Elasticsearch can run on the test machines (a JVM and a distribution
that no package registry serves), so the go-elasticsearch fixture talks to
this server: HTTP/1.1 and JSON on 127.0.0.1 and a free port, answering the
requests a client sends with bodies shaped as Elasticsearch 8 shapes them
(info, index and create, get, search, count, bulk, delete, indices' deletion; a
missing index is Elasticsearch's 404 ``index_not_found_exception``), with the
``X-Elastic-Product: Elasticsearch`` header the client's product check
demands. It answers as a deployment on Elastic Cloud does, behind its proxy:
``X-Found-Handling-Cluster`` and ``X-Found-Handling-Instance`` name the
cluster and the node. Documents live in memory, per index; searches know
``match_all``, ``match`` (any word of the field), ``term`` (the whole
value) and ``q=field:value``.

Every request's method, path and ``traceparent`` header is kept
(``requests``), so that a test can check what the client propagated:
``assert_propagated`` checks that every request made since ``mark()``
carried the trace context of a span the program exported.

    with ElasticsearchServer() as es:
        es.url  # http://127.0.0.1:PORT
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from servers import assert_propagated

CLUSTER = "fixture-cluster"
NODE = "instance-0000000001"
VERSION = "8.19.7"
COMPATIBLE = "application/vnd.elasticsearch+json;compatible-with=8"


class ElasticsearchError(Exception):
    """An answer with an error body, as Elasticsearch gives it."""

    def __init__(self, status: int, kind: str, reason: str, **extra: Any) -> None:
        super().__init__(reason)
        cause = {"type": kind, "reason": reason, **extra}
        self.status = status
        self.body = {"error": {"root_cause": [cause], **cause}, "status": status}


def _missing_index(index: str) -> ElasticsearchError:
    return ElasticsearchError(
        404,
        "index_not_found_exception",
        f"no such index [{index}]",
        **{"resource.type": "index_or_alias", "resource.id": index, "index_uuid": "_na_", "index": index},
    )


class _Index:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}  # id -> {"source", "version", "seq_no"}
        self.seq_no = -1


class Store:
    """Documents by index, and the operations Elasticsearch's REST API runs on them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.indices: dict[str, _Index] = {}

    def _meta(self, index: str, doc_id: str, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "_index": index,
            "_id": doc_id,
            "_version": doc["version"],
            "_shards": {"total": 2, "successful": 1, "failed": 0},
            "_seq_no": doc["seq_no"],
            "_primary_term": 1,
        }

    def put(self, index: str, doc_id: str | None, source: Any, create: bool = False) -> tuple[int, dict[str, Any]]:
        if not isinstance(source, dict):
            raise ElasticsearchError(400, "mapper_parsing_exception", "failed to parse")
        with self.lock:
            idx = self.indices.setdefault(index, _Index())
            doc_id = doc_id or uuid.uuid4().hex[:20]
            old = idx.docs.get(doc_id)
            if old is not None and create:
                raise ElasticsearchError(
                    409,
                    "version_conflict_engine_exception",
                    f"[{doc_id}]: version conflict, document already exists (current version [{old['version']}])",
                    index=index,
                )
            idx.seq_no += 1
            doc = {"source": source, "version": (old["version"] + 1) if old else 1, "seq_no": idx.seq_no}
            idx.docs[doc_id] = doc
            result = "updated" if old else "created"
            return (200 if old else 201), {**self._meta(index, doc_id, doc), "result": result}

    def get(self, index: str, doc_id: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            idx = self.indices.get(index)
            if idx is None:
                raise _missing_index(index)
            doc = idx.docs.get(doc_id)
            if doc is None:
                return 404, {"_index": index, "_id": doc_id, "found": False}
            meta = self._meta(index, doc_id, doc)
            del meta["_shards"]
            return 200, {**meta, "found": True, "_source": doc["source"]}

    def delete(self, index: str, doc_id: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            idx = self.indices.get(index)
            if idx is None:
                raise _missing_index(index)
            doc = idx.docs.pop(doc_id, None)
            idx.seq_no += 1
            if doc is None:
                gone = {"version": 1, "seq_no": idx.seq_no}
                return 404, {**self._meta(index, doc_id, gone), "result": "not_found"}
            doc = {**doc, "version": doc["version"] + 1, "seq_no": idx.seq_no}
            return 200, {**self._meta(index, doc_id, doc), "result": "deleted"}

    def delete_indices(self, names: list[str], ignore_unavailable: bool) -> dict[str, Any]:
        with self.lock:
            missing = [n for n in names if n not in self.indices]
            if missing and not ignore_unavailable:
                raise _missing_index(missing[0])
            for name in names:
                self.indices.pop(name, None)
            return {"acknowledged": True}

    def search(self, names: list[str], query: dict[str, Any] | None, size: int) -> dict[str, Any]:
        started = time.monotonic()
        with self.lock:
            if not names:
                names = sorted(self.indices)
            hits = []
            for name in names:
                idx = self.indices.get(name)
                if idx is None:
                    raise _missing_index(name)
                for doc_id, doc in idx.docs.items():
                    if _matches(query, doc["source"]):
                        hits.append({"_index": name, "_id": doc_id, "_score": 1.0, "_source": doc["source"]})
        return {
            "took": int((time.monotonic() - started) * 1000),
            "timed_out": False,
            "_shards": {"total": len(names), "successful": len(names), "skipped": 0, "failed": 0},
            "hits": {
                "total": {"value": len(hits), "relation": "eq"},
                "max_score": 1.0 if hits else None,
                "hits": hits[:size],
            },
        }

    def count(self, names: list[str], query: dict[str, Any] | None) -> dict[str, Any]:
        found = self.search(names, query, 0)
        return {"count": found["hits"]["total"]["value"], "_shards": found["_shards"]}

    def bulk(self, default_index: str | None, body: bytes) -> dict[str, Any]:
        started = time.monotonic()
        lines = [line for line in body.split(b"\n") if line.strip()]
        items, errors, i = [], False, 0
        while i < len(lines):
            try:
                action = json.loads(lines[i])
            except ValueError as e:
                raise ElasticsearchError(400, "x_content_parse_exception", "malformed action/metadata line") from e
            if not isinstance(action, dict) or len(action) != 1:
                raise ElasticsearchError(400, "illegal_argument_exception", "Malformed action/metadata line")
            (name, meta), i = next(iter(action.items())), i + 1
            index = meta.get("_index") or default_index
            doc_id = meta.get("_id")
            if name not in ("index", "create", "update", "delete") or index is None:
                raise ElasticsearchError(400, "illegal_argument_exception", f"Unknown action [{name}]")
            source = None
            if name != "delete":
                if i >= len(lines):
                    raise ElasticsearchError(400, "illegal_argument_exception", "The bulk request must be terminated")
                source, i = json.loads(lines[i]), i + 1
            try:
                if name == "delete":
                    status, result = self.delete(index, doc_id)
                elif name == "update":
                    status, current = self.get(index, doc_id)
                    if status == 404:
                        raise ElasticsearchError(404, "document_missing_exception", f"[{doc_id}]: document missing")
                    merged = {**current["_source"], **(source or {}).get("doc", {})}
                    status, result = self.put(index, doc_id, merged)
                else:
                    status, result = self.put(index, doc_id, source, create=name == "create")
                result["status"] = status
            except ElasticsearchError as e:
                errors = True
                result = {"_index": index, "_id": doc_id, "status": e.status, "error": e.body["error"]["root_cause"][0]}
            items.append({name: result})
        took = int((time.monotonic() - started) * 1000)
        return {"took": took, "errors": errors, "items": items}


def _words(value: Any) -> set[str]:
    return set(re.findall(r"\w+", str(value).lower()))


def _matches(query: dict[str, Any] | None, source: dict[str, Any]) -> bool:
    if not query or "match_all" in query:
        return True
    if "match" in query:
        field, wanted = next(iter(query["match"].items()))
        if isinstance(wanted, dict):
            wanted = wanted.get("query", "")
        return bool(_words(wanted) & _words(source.get(field, "")))
    if "term" in query:
        field, wanted = next(iter(query["term"].items()))
        if isinstance(wanted, dict):
            wanted = wanted.get("value")
        return source.get(field) == wanted
    raise ElasticsearchError(400, "parsing_exception", f"unknown query [{next(iter(query))}]")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses its connections
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        compatible = "compatible-with" in self.headers.get("Accept", "")
        self.send_response(status)
        self.send_header("Content-Type", COMPATIBLE if compatible else "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("X-Found-Handling-Cluster", CLUSTER)
        self.send_header("X-Found-Handling-Instance", NODE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self) -> None:
        body = self._body()
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query).items()}
        self.server.record(self.command, split.path, self.headers.get("traceparent"))
        try:
            status, answer = self.server.route(self.command, split.path, params, body)
        except ElasticsearchError as e:
            status, answer = e.status, e.body
        except (ValueError, KeyError, StopIteration, AttributeError, TypeError) as e:
            status, answer = 400, ElasticsearchError(400, "parse_exception", f"request body: {e}").body
        self._answer(status, answer)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.store = Store()
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, str | None]] = []

    def record(self, method: str, path: str, traceparent: str | None) -> None:
        with self.lock:
            self.requests.append((method, path, traceparent))

    def route(self, method: str, path: str, params: dict[str, str], body: bytes) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        store = self.store
        if not parts and method in ("GET", "HEAD"):
            return 200, {
                "name": NODE,
                "cluster_name": CLUSTER,
                "cluster_uuid": "fXnXqGLtRmW3M0qYJ9e2aw",
                "version": {
                    "number": VERSION,
                    "build_flavor": "default",
                    "build_type": "docker",
                    "build_hash": "0000000000000000000000000000000000000000",
                    "build_date": "2025-10-01T00:00:00.000000000Z",
                    "build_snapshot": False,
                    "lucene_version": "9.12.2",
                    "minimum_wire_compatibility_version": "7.17.0",
                    "minimum_index_compatibility_version": "7.0.0",
                },
                "tagline": "You Know, for Search",
            }
        if parts and parts[-1] == "_bulk" and method in ("POST", "PUT") and len(parts) <= 2:
            return 200, store.bulk(parts[0] if len(parts) == 2 else None, body)
        if parts and parts[-1] in ("_search", "_count") and method in ("GET", "POST") and len(parts) <= 2:
            request = json.loads(body) if body.strip() else {}
            query = request.get("query")
            if "q" in params:
                field, _, value = params["q"].partition(":")
                query = {"match": {field: value}} if value else {"match_all": {}}
            names = parts[0].split(",") if len(parts) == 2 else []
            if parts[-1] == "_count":
                return 200, store.count(names, query)
            return 200, store.search(names, query, int(request.get("size", params.get("size", 10))))
        if len(parts) == 1 and method == "DELETE" and not parts[0].startswith("_"):
            ignore = params.get("ignore_unavailable") == "true"
            return 200, store.delete_indices(parts[0].split(","), ignore)
        if len(parts) in (2, 3) and parts[1] in ("_doc", "_create") and not parts[0].startswith("_"):
            index, doc_id = parts[0], parts[2] if len(parts) == 3 else None
            if method in ("PUT", "POST"):
                return store.put(index, doc_id, json.loads(body), create=parts[1] == "_create")
            if doc_id is not None and method in ("GET", "HEAD") and parts[1] == "_doc":
                return store.get(index, doc_id)
            if doc_id is not None and method == "DELETE" and parts[1] == "_doc":
                return store.delete(index, doc_id)
        raise ElasticsearchError(
            400, "illegal_argument_exception", f"request [{path}] contains unrecognized parameters or path"
        )


class ElasticsearchServer:
    """``with ElasticsearchServer() as es: es.url`` (``http://127.0.0.1:PORT``)."""

    def __init__(self) -> None:
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the server is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

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
        Elasticsearch CLIENT span (never one that was not recorded), a span of its own."""
        assert_propagated(
            self.requests[since:],
            spans,
            lambda span: span.kind == "client" and span.attributes.get("db.system.name") == "elasticsearch",
            "an Elasticsearch span",
        )

    def __enter__(self) -> ElasticsearchServer:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, name="elasticsearch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None
