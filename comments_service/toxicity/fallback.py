"""The offline fallback scorer: alt-profanity-check on the text and on its de-obfuscated form.

alt-profanity-check ships a small scikit-learn model trained on real data, so it works on any
machine with no download. It is a profanity detector, not a toxicity model: it catches obvious
abuse and swearing (also spelled "f u c k" or "sh1t", thanks to de-obfuscation), misses threats
and identity attacks written without swear words, and scores civil comments about violence around
0.5. The policy therefore judges its scores with separate ``fallback_thresholds`` and, with
``fail_closed``, holds whatever it does not reject. Labels: toxicity and obscene (same value).
"""

from __future__ import annotations

import time
from typing import Any

from ..domain.wordlists import deobfuscate
from .base import describe


class FallbackScorer:
    backend = "fallback"
    variant = "profanity-check"
    source = "fallback"
    labels: tuple[str, ...] = ("toxicity", "obscene")

    def __init__(self, reason: str | None = None, *, is_fallback: bool = True) -> None:
        start = time.perf_counter()
        from profanity_check import predict_prob  # imports scikit-learn and the pickled model

        try:
            from importlib.metadata import version

            self.package_version = version("alt-profanity-check")
        except Exception:  # pragma: no cover
            self.package_version = "unknown"
        self._predict_prob = predict_prob
        self.model_id = f"profanity-check-{self.package_version}" + (" (fallback)" if is_fallback else "")
        self.is_fallback = is_fallback
        self.fallback_reason = reason
        self.load_seconds = time.perf_counter() - start

    def score_batch(self, texts: list[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        plain = [deobfuscate(t) for t in texts]
        probs = self._predict_prob(list(texts) + plain)
        n = len(texts)
        out = []
        for i in range(n):
            p = float(max(probs[i], probs[n + i]))
            out.append({"toxicity": p, "obscene": p})
        return out

    def describe(self) -> dict[str, Any]:
        return describe(self, versions={"alt-profanity-check": self.package_version})
