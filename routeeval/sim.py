"""Simulated tiers for the offline demo, registered as a litellm custom provider.

A tier whose model is ``routeeval-sim/<model>`` goes through litellm's real ``acompletion`` code
path, but its answer comes from this module instead of the network. The behaviour is documented
and deterministic (seeded by the text of the request):

* Each tier has a *skill* in 0-1 (``skill = ...`` in the tier's config, else a default for the
  model it stands for). Each row has a *difficulty* in 0-1: 0.05 ± 0.05 for ``easy`` rows (the
  long tail a small model answers as well as a large one), 0.7 ± 0.15 for ``hard`` rows and
  0.4 ± 0.15 when unlabeled, moved within that band by a hash of the row.
* P(correct) = 1 / (1 + exp(-10 · (skill - difficulty))). The uniform draw compared with it is
  75% shared by all tiers on a row and 25% the tier's own, so a stronger tier is usually right
  where a weaker one is, as with real models.
* A correct answer is the row's reference (its first acceptable answer); a wrong answer is a
  plausible one: the reference of another row with the same intent, supplied by the replay.
* Token usage follows text length (about 4 characters a token); the tier is priced like the model
  it stands for. Latency is modelled, not slept: ``200 + 800·skill`` ms plus ``5 + 20·skill`` ms a
  completion token, with ±20% jitter.
* The mean token log-probability is higher when the answer is right (a usable, imperfect
  confidence signal for cascades).

Every output of a run that used a simulated tier says *simulated*.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from routeeval.config import SIM_PROVIDER

# Default skills for the models the demo's tiers stand for; any other model gets 0.6.
DEFAULT_SKILLS = {
    "gpt-4o-mini": 0.50,
    "claude-haiku-4-5": 0.62,
    "anthropic/claude-haiku-4-5": 0.62,
    "gpt-4o": 0.80,
    "openai/gpt-4o": 0.80,
    "openai/gpt-4o-mini": 0.50,
}
DEFAULT_SKILL = 0.6
SIM_METADATA_KEY = "routeeval_sim"
SIM_VERSION = 2  # part of every simulated call's cache key: change it when the behaviour changes
_DIFFICULTY = {"easy": (0.05, 0.05), "hard": (0.7, 0.15)}
_UNLABELED = (0.4, 0.15)
_SLOPE = 10.0
_WRONG_FALLBACKS = (
    "I'm sorry, I don't have enough information to answer that. Please contact support.",
    "You can find this under Settings > Account; let me know if anything else comes up.",
    "That isn't supported on your current plan.",
)


@dataclass(frozen=True)
class SimRow:
    """What the simulator knows about the row a request belongs to (passed by the replay)."""

    reference: str | None = None
    wrong_answer: str | None = None
    label: str | None = None
    seed: int = 0

    def as_dict(self) -> dict:
        return {
            "reference": self.reference,
            "wrong_answer": self.wrong_answer,
            "label": self.label,
            "seed": self.seed,
            "version": SIM_VERSION,
        }


@dataclass(frozen=True)
class SimAnswer:
    text: str
    correct: bool
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    logprobs: list[float]


def skill_for(model: str, skill: float | None = None) -> float:
    if skill is not None:
        return float(skill)
    name = model.removeprefix(SIM_PROVIDER + "/")
    return DEFAULT_SKILLS.get(name, DEFAULT_SKILL)


def difficulty_for(label: str | None, row_text: str, seed: int = 0) -> float:
    centre, spread = _DIFFICULTY.get((label or "").lower(), _UNLABELED)
    jitter = (_uniform(seed, "difficulty", row_text) - 0.5) * 2 * spread
    return min(1.0, max(0.0, centre + jitter))


def simulate(model: str, messages: list[dict], row: SimRow | None, skill: float | None = None) -> SimAnswer:
    """The simulated model's answer to ``messages``; a pure function of its arguments."""
    row = row or SimRow()
    row_text = "\n".join(str(m.get("content", "")) for m in messages)
    tier_skill = skill_for(model, skill)
    if row.reference is None and row.wrong_answer is None:
        # A request the simulator has no answer key for (a judge or router prompt, say).
        text = f"Simulated answer {_digest(row.seed, model, row_text)[:8]}"
        correct = True
    else:
        difficulty = difficulty_for(row.label, row_text, row.seed)
        p_correct = 1.0 / (1.0 + math.exp(-_SLOPE * (tier_skill - difficulty)))
        draw = 0.75 * _uniform(row.seed, "row", row_text) + 0.25 * _uniform(row.seed, model, row_text)
        correct = draw < p_correct
        if correct and row.reference is not None:
            text = row.reference
        elif row.wrong_answer:
            text = row.wrong_answer
        else:
            text = _WRONG_FALLBACKS[int(_uniform(row.seed, "wrong", model, row_text) * len(_WRONG_FALLBACKS))]
    prompt_tokens = max(1, math.ceil(len(row_text) / 4))
    completion_tokens = max(1, math.ceil(len(text) / 4))
    jitter = 0.8 + 0.4 * _uniform(row.seed, "latency", model, row_text)
    latency_ms = (200 + 800 * tier_skill + (5 + 20 * tier_skill) * completion_tokens) * jitter
    mean_logprob = _mean_logprob(correct, _uniform(row.seed, "confidence", model, row_text))
    logprobs = [
        round(min(0.0, mean_logprob + (_uniform(row.seed, "tok", i, model, row_text) - 0.5) * 0.2), 4)
        for i in range(min(completion_tokens, 64))
    ]
    return SimAnswer(text, correct, prompt_tokens, completion_tokens, round(latency_ms, 1), logprobs)


def _mean_logprob(correct: bool, u: float) -> float:
    # Right answers are mostly confident; wrong ones mostly not, with overlap.
    return -0.05 - 0.5 * u if correct else -0.25 - 0.9 * u


def register_simulated_provider(litellm) -> None:
    """Register the ``routeeval-sim`` provider with litellm (idempotent)."""
    providers = list(getattr(litellm, "custom_provider_map", None) or [])
    if any(p.get("provider") == SIM_PROVIDER for p in providers):
        return
    providers.append({"provider": SIM_PROVIDER, "custom_handler": _make_handler(litellm)})
    litellm.custom_provider_map = providers


def _make_handler(litellm):
    from litellm import CustomLLM

    class SimulatedTier(CustomLLM):
        """litellm custom provider that answers with :func:`simulate`."""

        async def acompletion(self, model, messages, *args, **kwargs):
            return self._respond(model, messages, kwargs)

        def completion(self, model, messages, *args, **kwargs):
            return self._respond(model, messages, kwargs)

        def _respond(self, model, messages, kwargs):
            model_response = kwargs["model_response"]
            metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
            context = metadata.get(SIM_METADATA_KEY) or {}
            row = SimRow(
                **{k: context.get(k) for k in ("reference", "wrong_answer", "label")},
                seed=int(context.get("seed") or 0),
            )
            answer = simulate(model, messages, row, context.get("skill"))
            model_response.choices[0].message.content = answer.text
            model_response.choices[0].finish_reason = "stop"
            model_response.usage = litellm.Usage(
                prompt_tokens=answer.prompt_tokens,
                completion_tokens=answer.completion_tokens,
                total_tokens=answer.prompt_tokens + answer.completion_tokens,
            )
            model_response.model = model
            model_response._hidden_params["routeeval_latency_ms"] = answer.latency_ms
            model_response._hidden_params["routeeval_logprobs"] = answer.logprobs
            return model_response

    return SimulatedTier()


def _uniform(*parts) -> float:
    return int(_digest(*parts)[:13], 16) / float(16**13)


def _digest(*parts) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


# --- what the simulator needs to know about each row (its answer key) -----------------------------


def wrong_answers(rows) -> dict[str, str]:
    """A plausible wrong answer per eval row (``rows``: routeeval.data.Query): the reference of another row with
    the same intent."""
    by_intent: dict[str | None, list[str]] = {}
    for row in rows:
        reference = _first(row.reference)
        if reference is not None:
            by_intent.setdefault(row.intent, []).append(reference)
    every = [ref for refs in by_intent.values() for ref in refs]
    wrong = {}
    for row in rows:
        own = _first(row.reference)
        pool = [r for r in by_intent.get(row.intent, []) if r != own] or [r for r in every if r != own]
        if pool:
            wrong[row.row_id] = pool[stable_index(row.row_id, len(pool))]
    return wrong


def eval_sim_row(row, wrong: dict[str, str]) -> SimRow:
    """An eval row's answer key: its reference when right, another row's when wrong, its label's difficulty."""
    return SimRow(reference=_first(row.reference), wrong_answer=wrong.get(row.row_id), label=row.label)


def log_sim_rows(records) -> list[SimRow]:
    """Log rows' answer keys: the production answer when right, another log's when wrong; a row's easy/hard
    ``label`` (from labeling, or the drift demo months) sets its difficulty."""
    responses = [r.response for r in records if r.response]
    keys = []
    for record in records:
        others = [r for r in responses if r != record.response]
        wrong_answer = others[stable_index(record.query.row_id, len(others))] if others else None
        keys.append(SimRow(reference=record.response, wrong_answer=wrong_answer, label=record.query.label))
    return keys


def judge_sim_row(right: bool) -> SimRow:
    """A simulated judge agrees with exact match as often as its skill allows: the verdict it gives when right."""
    verdicts = ("SCORE: 10", "SCORE: 0") if right else ("SCORE: 0", "SCORE: 10")
    return SimRow(reference=verdicts[0], wrong_answer=verdicts[1], label="easy")


def triage_sim_row(label: str | None) -> SimRow | None:
    """A simulated triage model names the row's label as often as its skill allows on a task of middling
    difficulty (triage is easier than answering a hard query); None for a row without a label."""
    if label not in ("easy", "hard"):
        return None
    return SimRow(reference=label, wrong_answer="hard" if label == "easy" else "easy", label=None)


def stable_index(text: str, n: int) -> int:
    """A number in 0 .. n-1 chosen by a hash of ``text`` (the same on every run and machine)."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % n


def _first(reference) -> str | None:
    if isinstance(reference, list):
        return reference[0] if reference else None
    return reference
