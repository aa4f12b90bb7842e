"""LLM router: a cheap tier is asked whether a query is easy or hard (or which tier it needs).

This module holds the prompt and the answer -> tier mapping; the caller replays the router
model's calls (cached like any call) and adds their cost and latency to every query routed.
"""

from __future__ import annotations

from routeeval.routers.base import RouterBase
from routeeval.runtime import fill_llm_prompt, parse_llm_answer, query_text

DEFAULT_SYSTEM = "You triage queries for a model router. Reply with exactly one word."
DEFAULT_PROMPT = (
    "Decide whether a small, cheap model can answer the query below correctly (easy) or whether it "
    "needs the strongest model (hard).{intents}\n\nAnswer with one word: easy or hard.\n\nQuery:\n{query}"
)


class LLMRouter(RouterBase):
    """``mapping`` (answer word -> tier) defaults to easy -> the first tier, hard -> the last, and each
    tier's own name -> that tier. ``intents`` (or the intents seen in ``fit``) go into the prompt."""

    def __init__(
        self,
        tiers: tuple[str, ...],
        classifier_tier: str | None = None,
        default_tier: str | None = None,
        intents: tuple[str, ...] = (),
        mapping: dict | None = None,
        system: str | None = None,
        prompt: str | None = None,
    ) -> None:
        self.tiers = tiers
        self.classifier_tier = classifier_tier
        self.default_tier = default_tier
        self.intents = intents
        self.mapping = mapping
        self.system = system
        self.prompt = prompt

    def fit(self, X=None, y=None, intents=None) -> LLMRouter:
        names = [str(t) for t in self.tiers]
        for what, name in (("classifier_tier", self.classifier_tier), ("default_tier", self.default_tier)):
            if name is not None and name not in names:
                raise ValueError(f"{what} is '{name}'; choose from: {', '.join(names)}")
        self.tiers_ = names
        taxonomy = sorted({str(i) for i in (self.intents or intents or ()) if i is not None and i == i})
        self.intents_ = taxonomy
        mapping = {name.lower(): name for name in names}
        mapping.update({"easy": names[0], "hard": names[-1]})
        mapping.update({str(k).lower(): v for k, v in (self.mapping or {}).items()})
        unknown = sorted(v for v in mapping.values() if v not in names)
        if unknown:
            raise ValueError(f"mapping names unknown tier '{unknown[0]}'; choose from: {', '.join(names)}")
        self.mapping_ = mapping
        self.classifier_tier_ = self.classifier_tier or names[0]
        self.default_tier_ = self.default_tier or names[-1]
        self.system_ = self.system or DEFAULT_SYSTEM
        listed = f"\n\nKnown intents: {', '.join(taxonomy)}." if taxonomy else ""
        self.prompt_ = (self.prompt or DEFAULT_PROMPT).replace("{intents}", listed)
        return self

    def request(self, query) -> list[dict]:
        """The chat messages for the router model, as the runtime builds them."""
        self._check_fitted("mapping_")
        text, _ = query_text(query)
        return [
            {"role": "system", "content": self.system_},
            {"role": "user", "content": fill_llm_prompt(self.prompt_, text)},
        ]

    def decide(self, answers):
        """Tier index per router-model answer (the default tier for an answer it does not recognise)."""
        import numpy as np

        self._check_fitted("mapping_")
        return np.array(
            [self.tiers_.index(parse_llm_answer(a, self.mapping_) or self.default_tier_) for a in answers], dtype=int
        )

    def to_policy(self) -> dict:
        self._check_fitted("mapping_")
        return {
            "classifier_tier": self.classifier_tier_,
            "default_tier": self.default_tier_,
            "system": self.system_,
            "prompt": self.prompt_,
            "mapping": dict(self.mapping_),
            "intents": list(self.intents_),
        }
