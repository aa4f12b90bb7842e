"""The loopback OpenAI-compatible server: answers, fault injection, recording, and litellm's view of it."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import math
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from routeeval.testing.loopback import LoopbackServer

CHAT_PATH = "/v1/chat/completions"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def connect(server: LoopbackServer, timeout_s: float = 5.0) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", urlsplit(server.base_url).port, timeout=timeout_s)


def send(
    conn: http.client.HTTPConnection,
    body: Any,
    headers: dict[str, str] | None = None,
    path: str = CHAT_PATH,
) -> tuple[int, http.client.HTTPMessage, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", path, raw, {"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    return response.status, response.headers, json.loads(response.read())


def chat(
    server: LoopbackServer, model: str, content: str, headers: dict[str, str] | None = None, **extra: Any
) -> tuple[int, http.client.HTTPMessage, dict[str, Any]]:
    conn = connect(server)
    try:
        body = {"model": model, "messages": [{"role": "user", "content": content}], **extra}
        return send(conn, body, headers)
    finally:
        conn.close()


def test_default_answer_is_derived_from_model_and_prompt_with_usage(server: LoopbackServer) -> None:
    question = "What is the capital of France?"
    status, _, payload = chat(server, "tier-small", question)

    expected = "Answer " + hashlib.sha1(f"tier-small{question}".encode()).hexdigest()[:8]
    prompt_tokens, completion_tokens = math.ceil(len(question) / 4), math.ceil(len(expected) / 4)
    assert status == 200
    assert payload["object"] == "chat.completion"
    assert payload["model"] == "tier-small"
    assert payload["id"].startswith("chatcmpl-")
    choice = payload["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": expected}
    assert choice["finish_reason"] == "stop"
    assert choice["logprobs"] is None
    assert payload["usage"] == {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def test_same_request_gets_the_same_body(server: LoopbackServer) -> None:
    first = chat(server, "tier-large", "Same question")[2]
    second = chat(server, "tier-large", "Same question")[2]
    other_model = chat(server, "tier-small", "Same question")[2]

    assert {k: v for k, v in first.items() if k != "id"} == {k: v for k, v in second.items() if k != "id"}
    assert first["choices"][0]["message"]["content"] != other_model["choices"][0]["message"]["content"]


def test_echo_returns_last_user_message_and_counts_all_contents(server: LoopbackServer) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "second "}, {"type": "text", "text": "question"}],
        },
    ]
    conn = connect(server)
    status, _, payload = send(conn, {"model": "echo", "messages": messages})

    assert status == 200
    assert payload["choices"][0]["message"]["content"] == "second question"
    n_chars = len("Be brief.") + len("first question") + len("first answer") + len("second question")
    assert payload["usage"]["prompt_tokens"] == math.ceil(n_chars / 4)
    assert payload["usage"]["completion_tokens"] == math.ceil(len("second question") / 4)


def test_empty_answer_still_counts_one_completion_token(server: LoopbackServer) -> None:
    status, _, payload = chat(server, "echo", "")

    assert status == 200
    assert payload["choices"][0]["message"]["content"] == ""
    assert payload["usage"]["completion_tokens"] == 1


def test_answers_from_mapping_and_callable_fall_back_when_missing() -> None:
    def pick(model: str, messages: list[dict[str, Any]]) -> str | None:
        return "forty-two" if model == "oracle" else None

    with LoopbackServer(answers={"2+2?": "4"}) as mapped, LoopbackServer(answers=pick) as called:
        assert chat(mapped, "tier-small", "2+2?")[2]["choices"][0]["message"]["content"] == "4"
        assert chat(mapped, "echo", "unmapped")[2]["choices"][0]["message"]["content"] == "unmapped"
        assert chat(called, "oracle", "anything")[2]["choices"][0]["message"]["content"] == "forty-two"
        fallback = chat(called, "tier-small", "anything")[2]["choices"][0]["message"]["content"]
        assert fallback == "Answer " + hashlib.sha1(b"tier-smallanything").hexdigest()[:8]


def test_logprobs_have_one_entry_per_word_in_range_and_repeatable() -> None:
    with LoopbackServer(answers={"q": "the quick brown  fox\njumps"}) as server:
        first = chat(server, "tier-small", "q", logprobs=True)[2]["choices"][0]["logprobs"]
        second = chat(server, "tier-small", "q", logprobs=True)[2]["choices"][0]["logprobs"]

    entries = first["content"]
    assert [e["token"] for e in entries] == ["the", "quick", "brown", "fox", "jumps"]
    assert all(set(e) == {"token", "logprob", "bytes", "top_logprobs"} for e in entries)
    assert all(-2 <= e["logprob"] <= 0 and e["bytes"] is None and e["top_logprobs"] == [] for e in entries)
    assert len({e["logprob"] for e in entries}) > 1
    assert first == second


def test_fail429_fails_first_n_per_prompt_with_retry_after_then_succeeds() -> None:
    with LoopbackServer(retry_after_s="0.25") as server:
        results = [chat(server, "fail429-2", "hello") for _ in range(3)]
        other_prompt = chat(server, "fail429-2", "a different prompt")

    assert [status for status, _, _ in results] == [429, 429, 200]
    _, headers, payload = results[0]
    assert headers["Retry-After"] == "0.25"
    assert payload["error"]["type"] == "rate_limit_error"
    assert payload["error"]["code"] == "rate_limit_exceeded"
    assert "fail429-2" in payload["error"]["message"]
    assert results[2][1]["Retry-After"] is None
    assert other_prompt[0] == 429
    assert server.count(model="fail429-2") == 4
    assert server.count(model="fail429-2", status=429) == 3
    assert server.count(status=200) == 1


def test_provider_prefixed_model_name_still_selects_the_fault(server: LoopbackServer) -> None:
    assert [chat(server, "openai/fail500-1", "x")[0] for _ in range(2)] == [500, 200]


def test_fail500_then_success_and_down_always_503(server: LoopbackServer) -> None:
    statuses = [chat(server, "fail500-1-large", "hello")[0] for _ in range(3)]
    down = [chat(server, "down", "hello") for _ in range(3)]

    assert statuses == [500, 200, 200]
    assert [status for status, _, _ in down] == [503, 503, 503]
    assert down[0][2]["error"]["type"] == "server_error"
    assert server.count(model="down", status=503) == 3


def test_flaky_fails_a_stable_share_of_prompts(server: LoopbackServer) -> None:
    conn = connect(server)
    prompts = [f"prompt {i}" for i in range(200)]
    statuses = {p: send(conn, {"model": "flaky-30", "messages": [{"role": "user", "content": p}]})[0] for p in prompts}
    again = {p: send(conn, {"model": "flaky-30", "messages": [{"role": "user", "content": p}]})[0] for p in prompts}

    failed_share = sum(s == 500 for s in statuses.values()) / len(prompts)
    assert set(statuses.values()) == {200, 500}
    assert 0.2 <= failed_share <= 0.4
    assert again == statuses


def test_slow_delays_every_request(server: LoopbackServer) -> None:
    body = {"model": "slow-60", "messages": [{"role": "user", "content": "hello"}]}
    for _ in range(2):  # the same prompt again: slow holds every request, where slowfirst holds the first n
        impatient = connect(server, timeout_s=0.02)
        with pytest.raises(TimeoutError):  # no reply before the 60 ms are up
            send(impatient, body)
        impatient.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        impatient.close()
    assert send(connect(server), body)[0] == 200  # a client that waits gets the answer


def test_slowfirst_exceeds_client_timeout_once_and_disconnect_is_quiet(
    server: LoopbackServer, capfd: pytest.CaptureFixture[str]
) -> None:
    body = {"model": "slowfirst-1-300", "messages": [{"role": "user", "content": "hello"}]}
    impatient = connect(server, timeout_s=0.05)
    with pytest.raises(TimeoutError):
        send(impatient, body)
    # Abort rather than close, so the server's late reply meets a reset connection.
    impatient.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    impatient.close()

    assert send(connect(server, timeout_s=0.25), body)[0] == 200
    deadline = time.monotonic() + 2
    while server.count(model="slowfirst-1-300") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # the abandoned request is recorded once its delay ends
    server.stop()

    assert server.count(model="slowfirst-1-300", status=200) == 2
    assert capfd.readouterr().err == ""


def test_stop_interrupts_a_pending_delay() -> None:
    server = LoopbackServer().start()
    conn = connect(server, timeout_s=5)
    body = json.dumps({"model": "slow-10000", "messages": [{"role": "user", "content": "x"}]})
    conn.request("POST", CHAT_PATH, body, {"Content-Type": "application/json"})
    time.sleep(0.05)  # let the handler start its delay

    server.stop()

    # The request was answered, and so recorded, before stop() returned: its 10 s delay was cut short. Left to run,
    # stop() would have given up on the handler after its 2 s grace period, with nothing recorded.
    assert [(r.model, r.status) for r in server.requests] == [("slow-10000", 200)]


def test_wrong_or_missing_api_key_gets_401_and_is_recorded() -> None:
    with LoopbackServer(require_api_key="sk-right") as server:
        wrong = chat(server, "tier-small", "hi", headers={"Authorization": "Bearer sk-wrong"})
        missing = chat(server, "tier-small", "hi")
        right = chat(server, "tier-small", "hi", headers={"Authorization": "Bearer sk-right"})

    assert wrong[0] == 401
    assert wrong[2]["error"]["code"] == "invalid_api_key"
    assert missing[0] == 401
    assert right[0] == 200
    assert server.count(status=401) == 2
    assert server.requests[0].headers["authorization"] == "Bearer sk-wrong"


@pytest.mark.parametrize(
    "raw, problem",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON list; expected an object"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "'model'"),
        (b'{"model": "m", "messages": []}', "'messages'"),
        (b'{"model": "m", "messages": ["x"]}', "not an object"),
    ],
)
def test_malformed_body_gets_400_and_connection_stays_usable(server: LoopbackServer, raw: bytes, problem: str) -> None:
    conn = connect(server)
    status, _, payload = send(conn, raw)
    after = send(conn, {"model": "echo", "messages": [{"role": "user", "content": "ok"}]})

    assert status == 400
    assert problem in payload["error"]["message"]
    assert payload["error"]["type"] == "invalid_request_error"
    assert after[0] == 200
    assert server.count(status=400) == 1
    assert server.count() == 2


def test_keep_alive_serves_two_requests_on_one_connection(server: LoopbackServer) -> None:
    conn = connect(server)
    body = {"model": "echo", "messages": [{"role": "user", "content": "one"}]}
    assert send(conn, body)[0] == 200
    sock = conn.sock
    body["messages"][0]["content"] = "two"
    status, headers, payload = send(conn, body)

    assert sock is not None
    assert conn.sock is sock
    assert status == 200
    assert payload["choices"][0]["message"]["content"] == "two"
    assert int(headers["Content-Length"]) == len(json.dumps(payload, separators=(",", ":")))


def test_unprefixed_path_models_listing_and_unknown_path(server: LoopbackServer) -> None:
    conn = connect(server)
    body = {"model": "tier-small", "messages": [{"role": "user", "content": "x"}]}
    assert send(conn, body, path="/chat/completions")[0] == 200
    assert send(conn, body, path="/v1/embeddings")[0] == 404

    with urllib.request.urlopen(server.base_url + "/models", timeout=5) as response:
        listing = json.loads(response.read())
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(server.base_url + "/nowhere", timeout=5)

    assert [m["id"] for m in listing["data"]] == ["echo", "tier-small"]
    assert missing.value.code == 404
    assert server.count() == 1


def test_records_lowercased_headers_body_and_arrival_order(server: LoopbackServer) -> None:
    chat(server, "tier-small", "first", headers={"X-Route-Tier": "small"}, temperature=0)
    chat(server, "tier-large", "second")

    first, second = server.requests
    assert first.model == "tier-small"
    assert first.messages == [{"role": "user", "content": "first"}]
    assert first.body["temperature"] == 0
    assert first.headers["x-route-tier"] == "small"
    assert first.status == 200
    assert first.at <= second.at


def test_reset_clears_records_and_fault_counters(server: LoopbackServer) -> None:
    assert [chat(server, "fail429-1", "x")[0] for _ in range(2)] == [429, 200]
    server.reset()

    assert server.count() == 0
    assert chat(server, "fail429-1", "x")[0] == 429


def test_concurrent_requests_are_all_recorded(server: LoopbackServer) -> None:
    statuses: list[int] = []

    def worker(i: int) -> None:
        statuses.append(chat(server, "echo", f"message {i}")[0])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 24
    assert server.count(model="echo", status=200) == 24
    assert {r.messages[0]["content"] for r in server.requests} == {f"message {i}" for i in range(24)}


def test_refuses_non_loopback_host_and_reports_when_not_running() -> None:
    with pytest.raises(ValueError, match="'0.0.0.0' is not a loopback IPv4 address"):
        LoopbackServer(host="0.0.0.0").start()
    with pytest.raises(RuntimeError, match="not running"):
        _ = LoopbackServer().base_url


def test_litellm_round_trip_and_rate_limit(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    monkeypatch.setattr(litellm, "suppress_debug_info", True)

    async def call(model: str, content: str) -> Any:
        return await litellm.acompletion(
            model=model,
            api_base=server.base_url,
            api_key="sk-test",
            messages=[{"role": "user", "content": content}],
            num_retries=0,
        )

    async def scenario() -> tuple[Any, BaseException | None, Any]:
        echoed = await call("openai/echo", "hello litellm")
        try:
            await call("openai/fail429-1", "limited")
        except litellm.RateLimitError as exc:
            limited: BaseException | None = exc
        else:
            limited = None
        return echoed, limited, await call("openai/fail429-1", "limited")

    echoed, limited, retried = asyncio.run(scenario())

    assert echoed.choices[0].message.content == "hello litellm"
    assert echoed.usage.prompt_tokens == math.ceil(len("hello litellm") / 4)
    assert echoed.usage.completion_tokens == math.ceil(len("hello litellm") / 4)
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"

    assert isinstance(limited, litellm.RateLimitError)
    assert limited.status_code == 429
    # litellm 1.110 exposes the provider's Retry-After in both places (httpx.Headers, any case).
    assert limited.response.headers["Retry-After"] == "1"
    assert limited.litellm_response_headers["retry-after"] == "1"

    assert retried.choices[0].message.content.startswith("Answer ")
    # num_retries=0 means no hidden retry: one 429, then the next call succeeds.
    assert [r.status for r in server.requests if r.model == "fail429-1"] == [429, 200]
