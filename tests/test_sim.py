"""The simulated tiers: deterministic, documented behaviour, through litellm's custom provider."""

from __future__ import annotations

import asyncio

from routeeval.sim import SimRow, difficulty_for, simulate


def _rows(n: int, label: str):
    return [
        ([{"role": "user", "content": f"{label} question {i}"}], SimRow(f"right {i}", f"wrong {i}", label))
        for i in range(n)
    ]


def _accuracy(model, rows, skill):
    return sum(simulate(model, m, r, skill).correct for m, r in rows) / len(rows)


def test_simulation_is_deterministic():
    messages = [{"role": "user", "content": "hi"}]
    row = SimRow("Hello!", "Goodbye.", "easy")
    assert simulate("routeeval-sim/x", messages, row, 0.5) == simulate("routeeval-sim/x", messages, row, 0.5)


def test_accuracy_rises_with_skill_and_falls_with_difficulty():
    easy, hard = _rows(400, "easy"), _rows(400, "hard")
    weak_easy, strong_easy = _accuracy("w", easy, 0.5), _accuracy("s", easy, 0.8)
    weak_hard, strong_hard = _accuracy("w", hard, 0.5), _accuracy("s", hard, 0.8)
    assert strong_easy >= weak_easy > weak_hard
    assert strong_hard > weak_hard + 0.2
    # Documented curve: P = 1/(1+exp(-10(skill-difficulty))); easy 0.05±0.05, hard 0.7±0.15.
    assert 0.97 < weak_easy <= 1.0
    assert 0.05 < weak_hard < 0.30


def test_answers_are_reference_or_plausible_wrong_answer():
    for messages, row in _rows(50, "hard"):
        answer = simulate("m", messages, row, 0.5)
        assert answer.text == (row.reference if answer.correct else row.wrong_answer)


def test_tokens_follow_length_and_confidence_tracks_correctness():
    rows = _rows(300, "hard")
    answers = [simulate("m", m, r, 0.6) for m, r in rows]
    first = answers[0]
    assert first.prompt_tokens == -(-len("hard question 0") // 4)
    assert first.completion_tokens == -(-len(first.text) // 4)
    right = [sum(a.logprobs) / len(a.logprobs) for a in answers if a.correct]
    wrong = [sum(a.logprobs) / len(a.logprobs) for a in answers if not a.correct]
    assert sum(right) / len(right) > sum(wrong) / len(wrong) + 0.2


def test_difficulty_depends_on_label():
    assert all(0.0 <= difficulty_for("easy", str(i)) <= 0.1 for i in range(50))
    assert all(0.55 <= difficulty_for("hard", str(i)) <= 0.85 for i in range(50))
    assert all(0.25 <= difficulty_for(None, str(i)) <= 0.55 for i in range(50))


def test_simulated_tier_runs_through_litellm():
    from routeeval.pricing import import_litellm
    from routeeval.sim import SIM_METADATA_KEY, register_simulated_provider

    litellm = import_litellm()
    register_simulated_provider(litellm)
    register_simulated_provider(litellm)  # idempotent
    assert sum(p["provider"] == "routeeval-sim" for p in litellm.custom_provider_map) == 1
    row = SimRow("Your invoice is under Billing.", "Try again later.", "easy")
    messages = [{"role": "user", "content": "where is my invoice"}]
    response = asyncio.run(
        litellm.acompletion(
            model="routeeval-sim/gpt-4o-mini",
            messages=messages,
            metadata={SIM_METADATA_KEY: {**row.as_dict(), "skill": 0.5}},
            num_retries=0,
        )
    )
    expected = simulate("gpt-4o-mini", messages, row, 0.5)
    assert response.choices[0].message.content == expected.text
    assert response.usage.completion_tokens == expected.completion_tokens
    assert response._hidden_params["routeeval_latency_ms"] == expected.latency_ms
