"""Golden decisions: the runtime router's decisions on every demo query, pinned bit for bit.

The policies in ``tests/data/runtime/`` are the demo's own, written by a run that tries one router each::

    routeeval run evalsets/support.jsonl --logs evalsets/support-logs.jsonl --out /tmp/demo-knn \\
        --monthly-queries 1000000 --router knn        # then copy /tmp/demo-knn/policy.json to knn-policy.json

(likewise ``--router classifier`` and ``--router static``). They are committed, not refit here, so that this
test pins the runtime alone: each policy's decision (tier index, reason, score and per-tier scores, exactly as
``Router.route`` reports them) on every eval and log query of the demo and a few odd ones lives in
``tests/golden/runtime_decisions.json``. Work that makes routing faster must keep them identical; a change that
alters them on purpose updates the file in its own commit, saying why:
``ROUTEEVAL_UPDATE_GOLDEN=1 pytest tests/test_runtime_decisions.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import DATA, ROOT

from routeeval.runtime import Router, query_text

GOLDEN = Path(__file__).resolve().parent / "golden" / "runtime_decisions.json"
KINDS = ("classifier", "knn", "static")
KNN_NEIGHBOURS = "knn neighbours"  # the golden file's list of the knn policy's nearest rows per query


def demo_queries() -> list:
    """Every eval and log query of the demo (strings, and chat messages as the logs hold them), then a few odd
    ones: a text past the featurizer's 8,000-character prefix, repeats, code, digits, unicode, nothing in the
    vocabulary, and queries that get the fallback tier."""
    queries = []
    for name in ("support.jsonl", "support-logs.jsonl"):
        lines = (ROOT / "evalsets" / name).read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
        queries += [record.get("input", record.get("messages")) for record in records]
    texts = [q for q in queries if isinstance(q, str)]
    queries += [
        " ".join(texts),
        " ".join(texts[:5]) * 3,
        "invoice invoice invoice? refund refund 42",
        "def parse(x):\n    return x\n```python\nimport os\n```",
        "Wo ist meine Rechnung? 🙏 ÄÖÜ straße",
        "zzzq qqxv wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww",
        "?",
        "",
        None,
        [{"role": "assistant", "content": "hi"}],
    ]
    return queries


def decisions(kind: str) -> list[list]:
    router = Router.load(DATA / "runtime" / f"{kind}-policy.json")
    produced = []
    for query in demo_queries():
        decision = router.route(query)
        scores = list(decision.tier_scores) if decision.tier_scores is not None else None
        produced.append([router.tier_names.index(decision.tier), decision.reason, decision.score, scores])
    return produced


@pytest.mark.parametrize("kind", KINDS)
def test_the_runtime_decides_as_its_golden_file_says(kind):
    produced = decisions(kind)
    golden = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    if os.environ.get("ROUTEEVAL_UPDATE_GOLDEN") == "1":
        golden = {name: golden.get(name, []) for name in (*KINDS, KNN_NEIGHBOURS)} | {kind: produced}
        GOLDEN.write_text(_one_decision_a_line(golden), encoding="utf-8")
    expected = golden[kind]
    assert len(produced) == len(expected)
    for number, (ours, theirs) in enumerate(zip(produced, expected, strict=True)):
        assert ours == theirs, f"{kind}: query {number} decides differently; if on purpose, see the module doc"


def _one_decision_a_line(golden: dict[str, list]) -> str:
    kinds = [
        json.dumps(kind) + ": [\n" + ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n]"
        for kind, rows in golden.items()
    ]
    return "{\n" + ",\n".join(kinds) + "\n}\n"


def test_the_golden_decisions_are_varied():
    """The file pins something: several tiers, reasons and scores per policy, and fallbacks for odd queries."""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for kind in KINDS:
        tiers = {tier for tier, _, _, _ in golden[kind]}
        assert len(tiers) >= 2, kind
        assert any(reason.startswith("fallback") for _, reason, _, _ in golden[kind]), kind
    for kind in ("classifier", "knn"):
        assert len({tuple(scores or ()) for _, _, _, scores in golden[kind]}) > 50, kind
    assert len({tuple(rows) for rows in golden[KNN_NEIGHBOURS]}) > 300


def test_the_knn_policy_finds_the_neighbours_its_golden_file_says():
    """The rows behind each knn vote, in rank order: a vote of 0/1 scores can hide a changed neighbour."""
    router = Router.load(DATA / "runtime" / "knn-policy.json")
    produced = []
    for query in demo_queries():
        try:
            text, turns = query_text(query)
        except ValueError:
            text, turns = "", 1
        neighbours = router._knn().neighbours(text, turns)  # what route() votes with
        assert neighbours == router._nearest(router._knn_similarities(text, turns)), text  # the plain ranking's
        produced.append(neighbours)
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    if os.environ.get("ROUTEEVAL_UPDATE_GOLDEN") == "1":
        golden[KNN_NEIGHBOURS] = produced
        GOLDEN.write_text(_one_decision_a_line(golden), encoding="utf-8")
    assert produced == golden[KNN_NEIGHBOURS]


def test_the_knn_policy_ranks_like_a_sort_of_every_row_on_random_queries():
    """route()'s ranking looks only at the rows sharing a term; on queries drawn from the policy's own vocabulary
    (many shared terms, many near ties) it picks the rows a sort of every row's quantized similarity picks."""
    import random

    from routeeval.runtime import quantize

    router = Router.load(DATA / "runtime" / "knn-policy.json")
    knn = router._knn()
    words = [term for term in knn.featurizer.word_vocabulary_ if " " not in term]
    rng = random.Random(16)
    for _ in range(500):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 60)))
        sims = router._knn_similarities(text, 1)
        ranking = sorted((-quantize(sim), row) for row, sim in enumerate(sims))
        assert knn.neighbours(text, 1) == [row for negative, row in ranking if negative < 0][: knn.k], text


def test_the_knn_policy_gives_the_same_similarities_through_its_dict_and_its_list():
    """Short queries add into a dict of the rows they touch, long ones into a list of every row: forced each way on
    every demo query, the similarities and the neighbours are the same, bit for bit."""
    knn = Router.load(DATA / "runtime" / "knn-policy.json")._knn()
    texts = []
    for query in demo_queries():
        try:
            texts.append(query_text(query))
        except ValueError:
            continue
    results = {}
    for dense_terms in (0, float("inf")):
        knn._dense_terms = dense_terms
        results[dense_terms] = [(knn.similarities(*text), knn.neighbours(*text)) for text in texts]
    assert results[0] == results[float("inf")]
    assert sum(1 for sims, _ in results[0] if any(sims)) > 300
