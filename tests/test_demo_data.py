"""The bundled demo data is what its generator writes: scripts/make_demo_data.py rewrites evalsets/ byte for byte,
and the drift demo months keep the properties the drift demo relies on."""

from __future__ import annotations

import json
import re
from collections import Counter

from helpers import ROOT, load_script

EVALSETS = ROOT / "evalsets"
GENERATED = [
    "drift/support-logs-2026-11.jsonl",
    "drift/support-logs-2026-12.jsonl",
    "support-logs.jsonl",
    "support.jsonl",
]
NEW_INTENT = "ai_assistant"


def _first_different_line(a: bytes, b: bytes) -> int:
    pairs = zip(a.splitlines(), b.splitlines(), strict=False)
    return next((n for n, (x, y) in enumerate(pairs, 1) if x != y), min(a.count(b"\n"), b.count(b"\n")) + 1)


def _jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _text(row: dict) -> str:
    value = row.get("input", row.get("messages"))
    return value if isinstance(value, str) else [m["content"] for m in value if m["role"] == "user"][-1]


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _shares(rows: list[dict], field: str) -> Counter:
    return Counter({k: v / len(rows) for k, v in Counter(row[field] for row in rows).items()})


def test_the_generator_writes_the_bundled_demo_data_byte_for_byte(tmp_path, capsys):
    generator = load_script("make_demo_data.py")
    assert generator.main(["--out", str(tmp_path)]) == 0
    capsys.readouterr()  # its summary tables
    written = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file())
    bundled = sorted(path.relative_to(EVALSETS).as_posix() for path in EVALSETS.rglob("*.jsonl"))
    assert written == bundled == GENERATED
    for name in written:
        produced, kept = (tmp_path / name).read_bytes(), (EVALSETS / name).read_bytes()
        assert produced == kept, (
            f"evalsets/{name} differs from what scripts/make_demo_data.py writes, from line "
            f"{_first_different_line(produced, kept)}; change the generator, not the file, and rerun it"
        )


def test_the_drift_months_are_a_stationary_november_and_a_shifted_december():
    generator = load_script("make_demo_data.py")
    october = _jsonl(EVALSETS / "support-logs.jsonl")
    november = _jsonl(EVALSETS / "drift/support-logs-2026-11.jsonl")
    december = _jsonl(EVALSETS / "drift/support-logs-2026-12.jsonl")
    eval_rows = _jsonl(EVALSETS / "support.jsonl")
    # October's file carries neither intent nor label: its rows' are the generator's, recomputed in-process.
    r = generator.Random(generator.SEED)
    generator.make_eval(r)
    oct_rows, oct_truth = generator.make_month(r, generator.OCTOBER, generator.eval_keys(eval_rows))
    assert oct_rows == october
    oct_labelled = [{"intent": intent, "label": label} for intent, label in oct_truth]
    oct_hard = _shares(oct_labelled, "label")["hard"]

    fields = set(october[0]) - {"input"}
    for month in (november, december):
        assert 380 <= len(month) <= 420
        for row in month:
            assert set(row) - {"input", "messages"} == fields | {"intent", "label"}
            assert row["label"] in ("easy", "hard") and row["model"] == "openai/gpt-4o"
    assert all(row["id"].startswith("log-2611-") and row["timestamp"].startswith("2026-11-") for row in november)
    assert all(row["id"].startswith("log-2612-") and row["timestamp"].startswith("2026-12-") for row in december)
    ids = [row["id"] for row in october + november + december]
    assert len(set(ids)) == len(ids)

    # No month repeats an input of the eval set or of an earlier month (repeats within the month are planned).
    earlier = {_key(_text(row)) for row in eval_rows} | {_key(_text(row)) for row in october}
    for month in (november, december):
        keys = {_key(_text(row)) for row in month}
        assert not keys & earlier
        earlier |= keys

    # November is stationary: each intent's share and the hard share within 3 points of October's.
    oct_intents, nov_intents = _shares(oct_labelled, "intent"), _shares(november, "intent")
    assert set(nov_intents) == set(oct_intents) == {row["intent"] for row in eval_rows}
    assert all(abs(nov_intents[k] - oct_intents[k]) <= 0.03 for k in oct_intents), (nov_intents, oct_intents)
    assert abs(_shares(november, "label")["hard"] - oct_hard) <= 0.03

    # December is shifted: a new intent (absent from the eval set and October) is 15-20% of rows, and the
    # hard share is at least 1.7 times October's.
    dec_intents = _shares(december, "intent")
    assert NEW_INTENT not in oct_intents and NEW_INTENT not in {row["intent"] for row in eval_rows}
    assert 0.15 <= dec_intents[NEW_INTENT] <= 0.20
    assert _shares(december, "label")["hard"] >= 1.7 * oct_hard
