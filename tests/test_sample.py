"""routeeval.labeling.sample: seeded, stratified, deduplicated samples of log rows, on generated logs."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from routeeval.errors import ConfigError, DataError
from routeeval.labeling.labels import SAMPLE_SCHEMA, read_sample
from routeeval.labeling.sample import allocate_sample, normalize_text, sample_logs
from routeeval.logs import load_logs

INTENTS = ("billing", "login", "outage")


def make_rows(count: int, intents=INTENTS, weights=(6, 3, 1), seed: int = 1, start_day: int = 1) -> list[dict]:
    """``count`` distinct log rows, intents in proportion to ``weights``, timestamps spread over days."""
    r = random.Random(seed)
    pool = [intent for intent, weight in zip(intents, weights, strict=True) for _ in range(weight)]
    rows = []
    for i in range(count):
        intent = pool[i * len(pool) // count] if count >= len(pool) else r.choice(pool)
        rows.append(
            {
                "id": f"q{i:05d}",
                "timestamp": f"2026-11-{start_day + i % 28:02d}T{i % 24:02d}:15:00Z",
                "input": f"question {i} about {intent}",
                "model": "gpt-4o",
                "response": f"answer {i}",
                "prompt_tokens": 100 + i % 7,
                "completion_tokens": 20 + i % 5,
                "intent": intent,
                "metadata": {"channel": "web"},
            }
        )
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def body(path: str | Path) -> list[dict]:
    """A sample file's records, the header without its created_at."""
    records = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
    records[0].pop("created_at")
    return records


@pytest.fixture
def logs(tmp_path) -> Path:
    return write_jsonl(tmp_path / "logs.jsonl", make_rows(1000))


# --- reproducible by seed ---------------------------------------------------------------------------
def test_same_seed_gives_the_same_file_and_another_seed_another_sample(tmp_path, logs):
    first = sample_logs(logs, n=50, seed=7, out=tmp_path / "a.jsonl")
    again = sample_logs(logs, n=50, seed=7, out=tmp_path / "b.jsonl")
    other = sample_logs(logs, n=50, seed=8, out=tmp_path / "c.jsonl")
    assert body(first.path) == body(again.path)
    header_line = Path(first.path).read_text().splitlines()[1:]
    assert header_line == Path(again.path).read_text().splitlines()[1:]  # the rows byte for byte
    ids = [row["id"] for row in body(first.path)[1:]]
    assert len(ids) == 50 == len(set(ids))
    assert set(ids) != {row["id"] for row in body(other.path)[1:]}
    assert "created_at" in first.header


def test_rows_are_written_in_a_seeded_random_order_not_file_order(tmp_path, logs):
    result = sample_logs(logs, n=40, out=tmp_path / "s.jsonl")
    ids = [row["id"] for row in body(result.path)[1:]]
    assert ids != sorted(ids)


# --- stratification ---------------------------------------------------------------------------------
def test_stratified_sample_is_proportional_and_records_population_sizes(tmp_path, logs):
    result = sample_logs(logs, n=100, out=tmp_path / "s.jsonl")
    header, *rows = body(result.path)
    assert header["routeeval_sample"] == SAMPLE_SCHEMA
    assert header["stratify"] == "intent"
    assert header["strata"] == {
        "billing": {"population": 600, "sampled": 60},
        "login": {"population": 300, "sampled": 30},
        "outage": {"population": 100, "sampled": 10},
    }
    assert header["population"] == {"rows_read": 1000, "rows_in_window": 1000, "after_dedupe": 1000}
    assert Counter(row["stratum"] for row in rows) == {"billing": 60, "login": 30, "outage": 10}
    assert all(row["stratum"] == row["intent"] for row in rows)


def test_intent_from_metadata_and_rows_without_intent_form_their_own_stratum(tmp_path):
    rows = make_rows(100, weights=(5, 3, 2))
    for row in rows:
        if row["intent"] == "login":
            row["metadata"] = {"intent": row.pop("intent")}
        elif row["intent"] == "outage":
            del row["intent"]
    result = sample_logs(write_jsonl(tmp_path / "logs.jsonl", rows), n=10, out=tmp_path / "s.jsonl")
    assert result.header["strata"] == {
        "billing": {"population": 50, "sampled": 5},
        "login": {"population": 30, "sampled": 3},
        "(none)": {"population": 20, "sampled": 2},
    }


def test_stratify_none_is_a_simple_random_sample(tmp_path, logs):
    result = sample_logs(logs, n=100, stratify="none", out=tmp_path / "s.jsonl")
    assert result.header["strata"] == {"all": {"population": 1000, "sampled": 100}}
    assert {row["stratum"] for row in body(result.path)[1:]} == {"all"}


def test_allocation_gives_each_stratum_a_row_when_n_allows():
    assert allocate_sample({"a": 990, "b": 5, "c": 5}, 10) == {"a": 8, "b": 1, "c": 1}
    assert allocate_sample({"a": 600, "b": 300, "c": 100}, 100) == {"a": 60, "b": 30, "c": 10}
    # fewer rows wanted than strata: the largest remainders win, the rest get none
    assert allocate_sample({"a": 50, "b": 30, "c": 20}, 2) == {"a": 1, "b": 1, "c": 0}
    assert allocate_sample({"a": 3, "b": 2}, 10) == {"a": 3, "b": 2}  # all rows


def test_allocation_sums_to_n_and_never_exceeds_a_stratum():
    r = random.Random(3)
    for _ in range(300):
        populations = {f"s{i}": r.choice([1, 2, 5, r.randrange(1, 500)]) for i in range(r.randrange(1, 9))}
        n = r.randrange(1, 60)
        allocation = allocate_sample(populations, n)
        assert sum(allocation.values()) == min(n, sum(populations.values()))
        assert all(0 <= allocation[s] <= populations[s] for s in populations)
        if n >= len(populations):
            assert all(k >= 1 for k in allocation.values())
        exact = {s: n * p / sum(populations.values()) for s, p in populations.items()}
        if n < sum(populations.values()) and min(exact.values()) >= 1:
            assert all(abs(allocation[s] - exact[s]) < 1 for s in populations)  # proportional up to rounding


# --- dedupe -----------------------------------------------------------------------------------------
def dup_logs(tmp_path) -> Path:
    rows = make_rows(60)
    planted = []
    for i in range(10):  # 10 exact repeats of rows 0-9
        planted.append({**rows[i], "id": f"exact{i}", "response": "again"})
    for i in range(10, 18):  # 8 repeats of rows 10-17 that differ only once normalized
        text = rows[i]["input"]
        planted.append({**rows[i], "id": f"norm{i}", "input": "  " + text.upper().replace(" ", "  ") + "?! "})
    return write_jsonl(tmp_path / "dups.jsonl", rows + planted)


@pytest.mark.parametrize(("dedupe", "after"), [("none", 78), ("exact", 68), ("normalized", 60)])
def test_dedupe_counts_the_population_after_it_and_samples_no_duplicate(tmp_path, dedupe, after):
    result = sample_logs(dup_logs(tmp_path), n=500, dedupe=dedupe, out=tmp_path / "s.jsonl")
    header, *rows = body(result.path)
    assert header["dedupe"] == dedupe
    assert header["population"] == {"rows_read": 78, "rows_in_window": 78, "after_dedupe": after}
    assert result.n_rows_after_dedupe == after == len(rows)
    assert sum(s["population"] for s in header["strata"].values()) == after
    texts = [row["input"] for row in rows]
    if dedupe == "exact":
        assert len(set(texts)) == len(texts)
        assert not any(row["id"].startswith("exact") for row in rows)  # the first occurrence is kept
    if dedupe == "normalized":
        assert len({normalize_text(text) for text in texts}) == len(texts)
        assert not any(row["id"].startswith(("exact", "norm")) for row in rows)


def test_normalized_key_drops_case_punctuation_and_extra_whitespace():
    assert normalize_text("  How do I RESET my password?! ") == normalize_text("how do i reset my password")
    assert normalize_text("reset password") != normalize_text("reset passwords")


# --- fewer rows than n, window ----------------------------------------------------------------------
def test_fewer_rows_than_n_takes_them_all_and_says_so(tmp_path):
    result = sample_logs(write_jsonl(tmp_path / "small.jsonl", make_rows(12)), n=50, out=tmp_path / "s.jsonl")
    assert result.n_sampled == 12
    assert "fewer rows than --n 50: took all 12" in result.notes
    assert sorted(row["id"] for row in body(result.path)[1:]) == [f"q{i:05d}" for i in range(12)]


def test_since_and_until_select_whole_utc_days_until_inclusive(tmp_path, logs):
    result = sample_logs(logs, n=1000, since="2026-11-03", until="2026-11-04", out=tmp_path / "s.jsonl")
    header, *rows = body(result.path)
    assert {row["timestamp"][:10] for row in rows} == {"2026-11-03", "2026-11-04"}
    expected = sum(1 for row in make_rows(1000) if row["timestamp"][:10] in ("2026-11-03", "2026-11-04"))
    assert header["population"]["rows_in_window"] == expected == len(rows)
    assert (header["since"], header["until"]) == ("2026-11-03", "2026-11-04")


def test_window_by_iso_time_and_rows_without_a_timestamp(tmp_path):
    rows = make_rows(56)
    for row in rows[:5]:
        del row["timestamp"]
    path = write_jsonl(tmp_path / "logs.jsonl", rows)
    result = sample_logs(path, n=100, since="2026-11-02T12:00:00+01:00", out=tmp_path / "s.jsonl")
    sampled = body(result.path)[1:]
    assert all(row["timestamp"] >= "2026-11-02T11:00:00Z" for row in sampled)
    assert "5 rows without a timestamp left out of the --since/--until window" in result.notes
    assert (
        result.n_rows_in_window
        == len(sampled)
        == sum(1 for row in rows if "timestamp" in row and row["timestamp"] >= "2026-11-02T11:00:00Z")
    )


def test_an_empty_window_is_a_clear_error(tmp_path, logs):
    with pytest.raises(ConfigError) as caught:
        sample_logs(logs, since="2027-01-01", out=tmp_path / "s.jsonl")
    assert str(caught.value) == (
        f"no row of {logs} falls in the window --since 2027-01-01; its 1000 rows run from 2026-11-01T00:15:00Z "
        "to 2026-11-28T23:15:00Z."
    )
    with pytest.raises(ConfigError, match="--since 2026-11-05 is not before --until 2026-11-04: the window is empty"):
        sample_logs(logs, since="2026-11-05", until="2026-11-04")
    with pytest.raises(ConfigError, match=r"--until 'last week' is not a date \(2026-11-01\) or an ISO 8601 time"):
        sample_logs(logs, until="last week")
    assert not (tmp_path / "s.jsonl").exists()


# --- output formats ---------------------------------------------------------------------------------
def test_sample_reads_back_with_read_sample_and_load_logs(tmp_path):
    rows = make_rows(30)
    rows[3]["input"] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "where is my invoice?"},
    ]
    result = sample_logs(write_jsonl(tmp_path / "logs.jsonl", rows), n=30, out=tmp_path / "s.jsonl")
    sample = read_sample(result.path)
    assert sample.header == result.header
    assert sorted(sample.ids) == sorted(row["id"] for row in rows)
    log_set = load_logs(result.path)  # the header is skipped
    assert [record.query.row_id for record in log_set.records] == sample.ids
    by_id = {record.query.row_id: record for record in log_set.records}
    for row in rows:
        record = by_id[row["id"]]
        assert record.query.input_value == row["input"]
        assert (record.response, record.model, record.timestamp) == (row["response"], "gpt-4o", row["timestamp"])
        assert (record.prompt_tokens, record.completion_tokens) == (row["prompt_tokens"], row["completion_tokens"])
        assert record.query.intent == row["intent"]
        assert record.query.metadata == {"channel": "web"}


def test_parquet_file_and_folder_give_the_same_sample_as_jsonl(tmp_path):
    rows = make_rows(300)
    folder = tmp_path / "folder"
    folder.mkdir()
    write_parquet(folder / "part-1.parquet", rows[:120])
    write_parquet(folder / "part-2.parquet", rows[120:])
    samples = [
        sample_logs(source, n=25, seed=3, out=tmp_path / f"s{i}.jsonl")
        for i, source in enumerate(
            [write_jsonl(tmp_path / "logs.jsonl", rows), write_parquet(tmp_path / "logs.parquet", rows), folder]
        )
    ]
    assert [s.header["source"]["format"] for s in samples] == ["jsonl", "parquet", "parquet folder"]
    first = body(samples[0].path)[1:]
    for other in samples[1:]:
        assert body(other.path)[1:] == first
    assert samples[2].header["source"]["sha256"] != samples[1].header["source"]["sha256"]


def test_rows_without_ids_or_with_repeated_ids_get_unique_ids(tmp_path):
    rows = make_rows(20)
    for row in rows:
        del row["id"]
    result = sample_logs(write_jsonl(tmp_path / "noid.jsonl", rows), n=20, out=tmp_path / "a.jsonl")
    sampled = body(result.path)[1:]
    assert sorted(row["id"] for row in sampled) == sorted(f"row-{i}" for i in range(1, 21))
    assert not any("log_id" in row for row in sampled)
    assert result.notes[-1].startswith("20 sampled rows have no id")

    rows = make_rows(20)
    for row in rows:
        row["id"] = "same" if int(row["id"][1:]) % 2 else row["id"]
    result = sample_logs(write_jsonl(tmp_path / "dup.jsonl", rows), n=20, out=tmp_path / "b.jsonl")
    sampled = body(result.path)[1:]
    assert len({row["id"] for row in sampled}) == 20
    assert Counter(row["log_id"] for row in sampled)["same"] == 10
    read_sample(result.path)


def test_label_studio_tasks_and_config(tmp_path):
    rows = make_rows(40)
    rows[0]["input"] = [{"role": "user", "content": "hi"}, {"role": "user", "content": "refund please"}]
    out = tmp_path / "out" / "week.jsonl"
    result = sample_logs(write_jsonl(tmp_path / "logs.jsonl", rows), n=40, fmt="label-studio", out=out)
    assert result.paths == [
        str(out),
        str(tmp_path / "out/week.label-studio.json"),
        str(tmp_path / "out/week.label-studio.xml"),
    ]
    tasks = json.loads(Path(result.label_studio_tasks).read_text(encoding="utf-8"))
    sample = read_sample(out)
    assert [task["data"]["id"] for task in tasks] == sample.ids
    by_id = {task["data"]["id"]: task["data"] for task in tasks}
    assert by_id["q00000"]["text"] == "user: hi\nuser: refund please"
    assert by_id["q00001"] == {"id": "q00001", "text": rows[1]["input"], "intent": "billing", "response": "answer 1"}
    view = ET.parse(result.label_studio_config).getroot()
    assert view.tag == "View"
    text, choices = view.find("Text"), view.find("Choices")
    assert (text.get("name"), text.get("value")) == ("text", "$text")
    assert (choices.get("toName"), choices.get("choice")) == ("text", "single")
    assert [choice.get("value") for choice in choices] == ["easy", "hard"]


def test_default_out_is_named_for_the_logs_in_the_current_folder(tmp_path, logs, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = sample_logs(logs, n=5)
    assert result.path == "logs-sample-5.jsonl"
    assert (tmp_path / "logs-sample-5.jsonl").exists()


# --- bad input --------------------------------------------------------------------------------------
def test_a_bad_log_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    lines = [json.dumps(row) for row in make_rows(5)]
    lines[2] = '{"id": "x", "input": '
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"^{path} line 3: not valid JSON"):
        sample_logs(path, out=tmp_path / "s.jsonl")
    rows = make_rows(5)
    rows[3]["timestamp"] = "yesterday"
    with pytest.raises(DataError, match=r"bad2.jsonl line 4: field 'timestamp' must be an ISO 8601 date and time"):
        sample_logs(write_jsonl(tmp_path / "bad2.jsonl", rows), out=tmp_path / "s.jsonl")
    assert not (tmp_path / "s.jsonl").exists()


def test_bad_options_and_empty_logs(tmp_path, logs):
    with pytest.raises(ConfigError, match=r"unknown --stratify 'model'; choose from: intent, none\."):
        sample_logs(logs, stratify="model")
    with pytest.raises(ConfigError, match=r"unknown --dedupe 'fuzzy'; choose from: exact, normalized, none\."):
        sample_logs(logs, dedupe="fuzzy")
    with pytest.raises(ConfigError, match=r"--n must be a whole number of at least 1, got 0\."):
        sample_logs(logs, n=0)
    with pytest.raises(ConfigError, match="is the logs file itself"):
        sample_logs(logs, out=logs)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty.jsonl: has no log rows"):
        sample_logs(empty, out=tmp_path / "s.jsonl")
