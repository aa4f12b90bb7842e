"""A loopback OpenAI-compatible chat-completions server that tests and benchmarks run in-process.

Standard library only. It binds a loopback address (port 0 by default), keeps HTTP/1.1 connections
alive, answers deterministically, and injects faults chosen by the model name in the request:

========================  ===============================================================
``fail429-<n>...``        the first n requests per prompt get 429 with ``Retry-After``
``fail500-<n>...``        the first n requests per prompt get 500
``slowfirst-<n>-<ms>...`` the first n requests per prompt wait <ms> milliseconds first
``slow-<ms>...``          every request waits <ms> milliseconds first
``flaky-<pct>...``        pct% of prompts (chosen by hash) always get 500
``down``                  every request gets 503
``echo``                  answers with the last user message
``logprob-<n>...``        asked for logprobs, gives every token the logprob -n/1000
``nologprobs...``         never returns logprobs, even when asked
``unauth...``             every request gets 401 (a wrong key)
``notfound...``           every request gets 404 (an unknown model)
``emptychoices...``       200 with ``"choices": []``
``nullcontent...``        200 with ``"content": null``
``nousage...``            200 without ``usage``
``negusage...``           200 with negative token counts
``hugeusage...``          200 claiming 10,000,000 completion tokens
``badjson...``            200 whose body is not JSON
``reset...``              closes the connection without replying
anything else             answers ``Answer <8 hex chars of sha1(model + last user message)>``
========================  ===============================================================

Asked for logprobs (``"logprobs": true``), any other model gives each answer token a logprob
from -2 to 0 chosen by hash.

A prompt is a (model, messages) pair. A provider prefix (``openai/fail429-2``) is ignored when
choosing the fault. Only chat-completion requests are recorded, including the ones that failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Answers = Mapping[str, str] | Callable[[str, list[dict[str, Any]]], str | None]

# Fixed so that identical requests get byte-identical responses.
CREATED = 1_700_000_000
ECHO_MODEL = "echo"
CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
MODELS_PATHS = frozenset({"/v1/models", "/models"})

_FAULT_PATTERNS = (
    ("fail429", re.compile(r"fail429-(\d+)")),
    ("fail500", re.compile(r"fail500-(\d+)")),
    ("slowfirst", re.compile(r"slowfirst-(\d+)-(\d+)")),
    ("slow", re.compile(r"slow-(\d+)")),
    ("flaky", re.compile(r"flaky-(\d+)")),
    ("down", re.compile(r"down(?:-|$)")),
    ("logprob", re.compile(r"logprob-(\d+)")),
    ("nologprobs", re.compile(r"nologprobs")),
    ("unauth", re.compile(r"unauth")),
    ("notfound", re.compile(r"notfound")),
    ("emptychoices", re.compile(r"emptychoices")),
    ("nullcontent", re.compile(r"nullcontent")),
    ("nousage", re.compile(r"nousage")),
    ("negusage", re.compile(r"negusage")),
    ("hugeusage", re.compile(r"hugeusage")),
    ("badjson", re.compile(r"badjson")),
    ("reset", re.compile(r"reset")),
)
_RESET = "reset"  # a reply with this raw body is not sent: the connection is cut instead
_STOP_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One chat-completion request as the server saw it, with the status it returned.

    It is recorded when its reply is ready, after any injected delay; ``at`` is when it arrived
    (``time.monotonic()``).
    """

    model: str
    messages: list[dict[str, Any]]
    body: dict[str, Any]
    headers: dict[str, str]
    status: int
    at: float


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    payload: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()
    raw: bytes | None = None  # sent instead of the JSON payload (a broken body), or _RESET


class LoopbackServer:
    """Serve chat completions on a loopback port from a background thread.

    ``answers`` maps the last user message to the answer text, or is a callable
    ``(model, messages) -> str | None``; a miss falls back to the built-in answers.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        answers: Answers | None = None,
        require_api_key: str | None = None,
        retry_after_s: str = "1",
    ) -> None:
        self.host = host
        self.port = port
        self.answers = answers
        self.require_api_key = require_api_key
        self.retry_after_s = retry_after_s
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._attempts: dict[tuple[str, str], int] = {}
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LoopbackServer:
        if self._httpd is not None:
            raise RuntimeError("LoopbackServer is already running; call stop() before start().")
        _check_loopback(self.host)
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.loopback = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.01},  # how soon stop() is noticed
            name=f"routeeval-loopback-{httpd.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, cut open connections, and wait for handlers to finish. Idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()
        httpd.close_connections(timeout_s=_STOP_TIMEOUT_S)
        self._httpd = self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self if self._httpd is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("LoopbackServer is not running; call start() before reading base_url.")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def count(self, model: str | None = None, status: int | None = None) -> int:
        """Recorded requests, optionally only those for one model and/or with one status."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (model is None or r.model == model) and (status is None or r.status == status)
            )

    def reset(self) -> None:
        """Forget recorded requests and per-prompt attempt counts."""
        with self._lock:
            self.requests.clear()
            self._attempts.clear()

    def _serve_chat(self, headers: dict[str, str], raw: bytes | None) -> _Reply:
        at = time.monotonic()
        body, problem = _parse_chat_body(raw)
        model = body.get("model") if isinstance(body.get("model"), str) else ""
        messages = body.get("messages") if isinstance(body.get("messages"), list) else []
        if not self._authorized(headers):
            reply = _unauthorized()
        elif problem:
            reply = _error_reply(400, problem, "invalid_request_error", None)
        else:
            reply = self._complete(model, messages, body)
        record = RecordedRequest(model, messages, body, headers, reply.status, at)
        with self._lock:
            self.requests.append(record)
        return reply

    def _serve_models(self, headers: dict[str, str]) -> _Reply:
        if not self._authorized(headers):
            return _unauthorized()
        with self._lock:
            names = sorted({r.model for r in self.requests if r.model} | {ECHO_MODEL})
        data = [{"id": n, "object": "model", "created": CREATED, "owned_by": "routeeval"} for n in names]
        return _Reply(200, {"object": "list", "data": data})

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.require_api_key is None:
            return True
        return headers.get("authorization") == f"Bearer {self.require_api_key}"

    def _complete(self, model: str, messages: list[dict[str, Any]], body: dict[str, Any]) -> _Reply:
        digest = _digest_messages(messages)
        with self._lock:
            attempt = self._attempts.get((model, digest), 0) + 1
            self._attempts[model, digest] = attempt
        kind, args = _parse_fault(model.rsplit("/", 1)[-1])
        if kind == "fail429" and attempt <= args[0]:
            return _error_reply(
                429,
                f"Rate limit reached for {model} (loopback fault: attempt {attempt} of {args[0]}).",
                "rate_limit_error",
                "rate_limit_exceeded",
                headers=(("Retry-After", str(self.retry_after_s)),),
            )
        if kind == "fail500" and attempt <= args[0]:
            return _error_reply(
                500,
                f"The server had an error (loopback fault: attempt {attempt} of {args[0]}).",
                "server_error",
                None,
            )
        if (kind == "slowfirst" and attempt <= args[0]) or kind == "slow":
            self._stopping.wait(args[-1] / 1000)
        if kind == "flaky" and _hash_share(f"{model}\n{digest}") < args[0] / 100:
            return _error_reply(500, "The server had an error (loopback fault: flaky).", "server_error", None)
        if kind == "down":
            return _error_reply(
                503,
                "The engine is currently overloaded (loopback fault: down).",
                "server_error",
                "service_unavailable",
            )
        if kind == "unauth":
            return _unauthorized()
        if kind == "notfound":
            return _error_reply(
                404, f"The model '{model}' does not exist (loopback fault: notfound).", "invalid_request_error", None
            )
        if kind == "reset":
            return _Reply(200, {}, raw=_RESET.encode())
        if kind == "badjson":
            return _Reply(200, {}, raw=b"<html>upstream proxy error</html>")
        answer = self._answer_text(model, messages)
        logprobs = None
        if body.get("logprobs") is True and kind != "nologprobs":
            logprobs = _token_logprobs(answer, -args[0] / 1000 if kind == "logprob" else None)
        payload = _completion(model, messages, answer, logprobs, f"chatcmpl-{digest[:20]}{attempt}")
        return _Reply(200, _broken(payload, kind))

    def _answer_text(self, model: str, messages: list[dict[str, Any]]) -> str:
        last_user = _last_user_content(messages)
        if self.answers is not None:
            found = self.answers(model, messages) if callable(self.answers) else self.answers.get(last_user)
            if found is not None:
                return found
        if model.rsplit("/", 1)[-1] == ECHO_MODEL:
            return last_user
        return "Answer " + hashlib.sha1((model + last_user).encode()).hexdigest()[:8]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    loopback: LoopbackServer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_changed = threading.Condition()
        super().__init__(*args, **kwargs)

    def add_connection(self, conn: socket.socket) -> None:
        with self._connections_changed:
            self._connections.add(conn)

    def remove_connection(self, conn: socket.socket) -> None:
        with self._connections_changed:
            self._connections.discard(conn)
            self._connections_changed.notify_all()

    def close_connections(self, timeout_s: float) -> None:
        """Shut down kept-alive connections so their handler threads end, then wait for them."""
        with self._connections_changed:
            for conn in self._connections:
                with contextlib.suppress(OSError):  # the peer may have closed it already
                    conn.shutdown(socket.SHUT_RDWR)
            self._connections_changed.wait_for(lambda: not self._connections, timeout=timeout_s)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffer the status line, headers and body so they leave in one send; no Nagle delay.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.add_connection(self.connection)

    def finish(self) -> None:
        try:
            # Closing the buffered writer flushes it again; a vanished client makes that fail.
            with contextlib.suppress(OSError):
                super().finish()
        finally:
            self.server.remove_connection(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            # The client went away (timed out, reset, or the server is stopping): nothing to report.
            self.close_connection = True

    def handle_expect_100(self) -> bool:
        proceed = super().handle_expect_100()
        self.wfile.flush()  # the interim 100 response must not wait in the write buffer
        return proceed

    def log_message(self, *args: Any) -> None:
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        # Skip the Date and Server headers: less work per request, byte-stable replies.
        self.send_response_only(code, message)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path not in CHAT_PATHS:
            self._drain_body()
            self._send(_not_found(path))
            return
        raw = self._drain_body()
        headers = {name.lower(): value for name, value in self.headers.items()}
        self._send(self.server.loopback._serve_chat(headers, raw))

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path in MODELS_PATHS:
            headers = {name.lower(): value for name, value in self.headers.items()}
            self._send(self.server.loopback._serve_models(headers))
        else:
            self._send(_not_found(path))

    def _drain_body(self) -> bytes | None:
        """The request body, or None when it cannot be framed (and the connection must close)."""
        if "transfer-encoding" in self.headers:
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self.close_connection = True
            return None
        if length < 0:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, reply: _Reply) -> None:
        if reply.raw == _RESET.encode():
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        data = reply.raw if reply.raw is not None else json.dumps(reply.payload, separators=(",", ":")).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def _check_loopback(host: str) -> None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or address.version != 4 or not address.is_loopback:
        raise ValueError(f"LoopbackServer host {host!r} is not a loopback IPv4 address; use 127.0.0.1.")


def _parse_chat_body(raw: bytes | None) -> tuple[dict[str, Any], str | None]:
    """The decoded body and the problem with it, if any (the body is {} when it is not an object)."""
    if raw is None:
        return {}, "The request body needs a valid Content-Length; chunked bodies are not supported."
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, f"The request body is not valid JSON: {exc}."
    if not isinstance(body, dict):
        return {}, f"The request body is a JSON {type(body).__name__}; expected an object."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return body, "Field 'model' is missing or not a non-empty string."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return body, "Field 'messages' is missing or not a non-empty array."
    if not all(isinstance(m, dict) for m in messages):
        return body, "Field 'messages' holds an item that is not an object."
    if body.get("stream"):
        return body, "Streaming is not supported by the loopback server; send 'stream': false."
    return body, None


@lru_cache(maxsize=256)
def _parse_fault(name: str) -> tuple[str, tuple[int, ...]]:
    for kind, pattern in _FAULT_PATTERNS:
        match = pattern.match(name)
        if match:
            return kind, tuple(int(g) for g in match.groups())
    return "none", ()


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _last_user_content(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def _digest_messages(messages: list[dict[str, Any]]) -> str:
    canonical = json.dumps(messages, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha1(canonical.encode()).hexdigest()


def _hash_share(text: str) -> float:
    """A deterministic number in [0, 1] derived from text."""
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def _token_logprobs(answer: str, logprob: float | None = None) -> dict[str, list[dict[str, Any]]]:
    """OpenAI's ``logprobs`` for an answer: one entry per word, ``logprob`` each or one chosen by hash."""
    content = [
        {
            "token": token,
            "logprob": round(-2 * _hash_share(f"{i}:{token}"), 6) if logprob is None else logprob,
            "bytes": None,
            "top_logprobs": [],
        }
        for i, token in enumerate(answer.split())
    ]
    return {"content": content}


def _completion(
    model: str, messages: list[dict[str, Any]], answer: str, logprobs: dict[str, Any] | None, completion_id: str
) -> dict[str, Any]:
    prompt_tokens = math.ceil(sum(len(_content_text(m.get("content"))) for m in messages) / 4)
    completion_tokens = max(1, math.ceil(len(answer) / 4))
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer},
                "logprobs": logprobs,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _broken(payload: dict[str, Any], kind: str) -> dict[str, Any]:
    """A completion as a misbehaving provider sends it (``kind``: one of the 200-reply faults), else unchanged."""
    if kind == "emptychoices":
        payload["choices"] = []
    elif kind == "nullcontent":
        payload["choices"][0]["message"]["content"] = None
    elif kind == "nousage":
        del payload["usage"]
    elif kind == "negusage":
        payload["usage"].update(prompt_tokens=-50, completion_tokens=-100, total_tokens=-150)
    elif kind == "hugeusage":
        payload["usage"].update(
            completion_tokens=10_000_000, total_tokens=10_000_000 + payload["usage"]["prompt_tokens"]
        )
    return payload


def _error_reply(
    status: int,
    message: str,
    error_type: str,
    code: str | None,
    headers: tuple[tuple[str, str], ...] = (),
) -> _Reply:
    payload = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return _Reply(status, payload, headers)


def _unauthorized() -> _Reply:
    return _error_reply(
        401,
        "Incorrect API key provided; send 'Authorization: Bearer <key>' with the key the server expects.",
        "invalid_request_error",
        "invalid_api_key",
    )


def _not_found(path: str) -> _Reply:
    return _error_reply(
        404,
        f"Unknown path {path!r}; this server serves POST /v1/chat/completions and GET /v1/models.",
        "invalid_request_error",
        "unknown_url",
    )
