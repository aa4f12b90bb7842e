"""Write the log-format fixtures in this folder from the first rows of the demo logs (evalsets/support-logs.jsonl).

Run from the project root: ``.venv/bin/python tests/data/log-formats/make_fixtures.py``. The output is deterministic
(ids and times derive from the demo rows), so rerunning it leaves the files unchanged. Where each shape comes from is
in README.md beside this script.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SYSTEM = "You are the support assistant of a B2B SaaS company. Answer in two sentences at most."
N_ROWS = 8


def demo_rows() -> list[dict]:
    lines = (ROOT / "evalsets" / "support-logs.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:N_ROWS]]


def _hex(text: str, n: int = 24) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _uuid(text: str) -> str:
    h = _hex(text, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _moment(row: dict) -> datetime:
    return datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00"))


def _completion(row: dict, model: str) -> dict:
    """A chat.completion object as OpenAI's API (and litellm) return it."""
    return {
        "id": f"chatcmpl-{_hex(row['id'], 29)}",
        "object": "chat.completion",
        "created": int(_moment(row).timestamp()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": row["response"], "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": row["prompt_tokens"],
            "completion_tokens": row["completion_tokens"],
            "total_tokens": row["prompt_tokens"] + row["completion_tokens"],
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": f"fp_{_hex(model, 10)}",
    }


def _messages(row: dict) -> list[dict]:
    if "messages" in row:  # the demo row's own conversation (a system prompt, earlier turns, the user's question)
        return row["messages"]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": row["input"]}]


def litellm_spend_logs(rows: list[dict]) -> list[dict]:
    """GET /spend/logs: LiteLLM_SpendLogs rows (schema.prisma), JSON columns as JSON, newest first."""
    out = []
    for index, row in enumerate(rows):
        start = _moment(row)
        end = start + timedelta(milliseconds=row["latency_ms"])
        call_id = _uuid(row["id"])
        body = {"model": "large", "messages": _messages(row), "temperature": 0, "max_tokens": 512}
        stored_in_messages = index % 2 == 0  # older proxies store the prompt in messages, newer in the request body
        failed = index == 5
        metadata = {
            "user_api_key": _hex("sk-team-support", 64),
            "user_api_key_alias": "support-bot",
            "user_api_key_team_id": "team-support",
            "user_api_key_user_id": "svc-support",
            "user_api_key_team_alias": "support",
            "spend_logs_metadata": None,
            "requester_ip_address": "",
            "batch_models": None,
            "additional_usage_values": {"prompt_tokens_details": None, "completion_tokens_details": None},
            "intent_hint": None,
            "status": "failure" if failed else "success",
        }
        if failed:
            metadata["error_information"] = {
                "error_code": "429",
                "error_class": "RateLimitError",
                "llm_provider": "openai",
                "error_message": "litellm.RateLimitError: Rate limit reached for gpt-4o",
            }
        out.append(
            {
                "request_id": f"chatcmpl-{call_id}",
                "call_type": "acompletion",
                "api_key": _hex("sk-team-support", 64),
                "spend": 0.0 if failed else row["cost_usd"],
                "total_tokens": 0 if failed else row["prompt_tokens"] + row["completion_tokens"],
                "prompt_tokens": 0 if failed else row["prompt_tokens"],
                "completion_tokens": 0 if failed else row["completion_tokens"],
                "startTime": start.isoformat(timespec="microseconds"),
                "endTime": end.isoformat(timespec="microseconds"),
                "request_duration_ms": row["latency_ms"],
                "completionStartTime": None if failed else end.isoformat(timespec="microseconds"),
                "model": "gpt-4o",
                "model_id": _hex("deployment-large", 64),
                "model_group": "large",
                "custom_llm_provider": "openai",
                "api_base": "https://api.openai.com/v1",
                "user": "svc-support",
                "metadata": metadata,
                "cache_hit": "False",
                "cache_key": "Cache OFF",
                "request_tags": [],
                "team_id": "team-support",
                "organization_id": None,
                "end_user": "",
                "requester_ip_address": "",
                "messages": _messages(row) if stored_in_messages else {},
                "response": {} if failed else _completion(row, "gpt-4o-2024-08-06"),
                "session_id": call_id,
                "status": "failure" if failed else "success",
                "mcp_namespaced_tool_name": None,
                "billing_agent_id": None,
                "agent_id": None,
                "proxy_server_request": {} if stored_in_messages else body,
                "litellm_call_id": call_id,
                "created_at": end.isoformat(timespec="microseconds"),
                "updated_at": end.isoformat(timespec="microseconds"),
            }
        )
    return sorted(out, key=lambda r: r["startTime"], reverse=True)  # /spend/logs orders by startTime, descending


def openai_chat_records(rows: list[dict]) -> list[dict]:
    """Request/response pairs as a team's own wrapper logs them: the create() parameters and the chat.completion."""
    return [
        {
            "request": {"model": "gpt-4o", "messages": _messages(row), "temperature": 0, "max_tokens": 512},
            "response": _completion(row, "gpt-4o-2024-08-06"),
            "latency_ms": row["latency_ms"],
            "cost_usd": row["cost_usd"],
        }
        for row in rows
    ]


def openai_batch(rows: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """A /v1/chat/completions batch: the input file, the output file and the error file OpenAI returns."""
    inputs, outputs, errors = [], [], []
    for index, row in enumerate(rows):
        custom_id = f"ticket-{row['id'].split('-')[1]}"
        inputs.append(
            {
                "custom_id": custom_id,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": "gpt-4o-mini", "messages": _messages(row), "max_tokens": 512},
            }
        )
        line = {"id": f"batch_req_{_hex(custom_id, 32)}", "custom_id": custom_id}
        if index == 3:  # a request the provider refused: in the error file, with its HTTP status and error body
            errors.append(
                {
                    **line,
                    "response": {
                        "status_code": 429,
                        "request_id": _hex("req" + custom_id, 32),
                        "body": {
                            "error": {
                                "message": "Rate limit reached for gpt-4o-mini in organization org-demo on tokens "
                                "per day (TPD). Limit 2000000, Used 2000000.",
                                "type": "tokens",
                                "param": None,
                                "code": "rate_limit_exceeded",
                            }
                        },
                    },
                    "error": None,
                }
            )
        elif index == 6:  # a request the batch never ran before its 24h window closed
            errors.append(
                {
                    **line,
                    "response": None,
                    "error": {
                        "code": "batch_expired",
                        "message": "This request could not be executed before the completion window expired.",
                    },
                }
            )
        else:
            outputs.append(
                {
                    **line,
                    "response": {
                        "status_code": 200,
                        "request_id": _hex("req" + custom_id, 32),
                        "body": _completion(row, "gpt-4o-mini-2024-07-18"),
                    },
                    "error": None,
                }
            )
    outputs.reverse()  # the output's order need not follow the input's: lines are joined by custom_id
    return inputs, outputs, errors


def _jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def main() -> None:
    rows = demo_rows()
    (HERE / "litellm-spend-logs.json").write_text(
        json.dumps(litellm_spend_logs(rows), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (HERE / "openai-chat.json").write_text(
        json.dumps(openai_chat_records(rows), ensure_ascii=False) + "\n", encoding="utf-8"
    )
    inputs, outputs, errors = openai_batch(rows)
    batch = HERE / "openai-batch"
    batch.mkdir(exist_ok=True)
    _jsonl(batch / "batch_input.jsonl", inputs)
    _jsonl(batch / "batch_output.jsonl", outputs)
    _jsonl(batch / "batch_errors.jsonl", errors)


if __name__ == "__main__":
    main()
