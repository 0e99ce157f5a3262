"""load_scorer: the configured backend, or a fallback that says why. Never raises for a model
that is missing or broken."""

from __future__ import annotations

import logging
import time
from typing import Any

from .base import ModelUnavailable, Scorer, describe
from .config import ToxicitySettings

log = logging.getLogger(__name__)


class NullScorer:
    """Last resort when even the fallback cannot load: no labels, empty scores. The worker must
    treat ``is_fallback`` scores as degraded (PolicyContext.model_fallback), so with fail_closed
    everything is held."""

    backend = "none"
    variant = "none"
    source = "fallback"
    labels: tuple[str, ...] = ()
    is_fallback = True
    load_seconds = 0.0

    def __init__(self, reason: str) -> None:
        self.model_id = "none (no model available)"
        self.fallback_reason: str | None = reason

    def score_batch(self, texts: list[str]) -> list[dict[str, float]]:
        return [{} for _ in texts]

    def describe(self) -> dict[str, Any]:
        return describe(self)


def _fallback(reason: str) -> Scorer:
    log.warning("toxicity model unavailable, using the offline fallback scorer: %s", reason)
    try:
        from .fallback import FallbackScorer

        return FallbackScorer(reason)
    except Exception as exc:  # pragma: no cover - alt-profanity-check missing
        log.error("fallback scorer unavailable too: %r", exc)
        return NullScorer(f"{reason}; fallback scorer unavailable: {exc!r}")


def load_scorer(config: ToxicitySettings) -> Scorer:
    """Load the configured backend. On failure: the onnx backend falls back to detoxify (and says
    so in ``fallback_reason``), and a model that cannot load at all gives the alt-profanity-check
    fallback with ``is_fallback=True`` and the reason (each reason said once).

    With ``model_dir`` the checkpoint, config and export come from its manifest, and nothing is
    fetched from the network."""
    start = time.perf_counter()
    try:
        from .model_kit import resolve_model_dir

        config = resolve_model_dir(config)
    except ModelUnavailable as exc:
        return _fallback(str(exc))
    onnx_error: str | None = None
    if config.backend == "onnx":
        try:
            from .onnx_backend import OnnxScorer

            scorer: Scorer = OnnxScorer(config)
            log.info("toxicity scorer %s loaded in %.2fs (%s)", scorer.model_id,
                     time.perf_counter() - start, scorer.source)
            return scorer
        except Exception as exc:
            from .onnx_cache import ModelFilesUnavailable

            if isinstance(exc, ModelFilesUnavailable):
                # detoxify would read the same missing files: importing torch into the worker
                # (on every retry) to fail the same way helps nobody
                return _fallback(f"onnx backend failed ({exc}); the detoxify backend needs the same files")
            onnx_error = str(exc)
            log.warning("onnx toxicity backend failed, using the detoxify backend: %s", exc)
    try:
        from .detoxify_backend import DetoxifyScorer

        scorer = DetoxifyScorer(config, fallback_reason=f"onnx backend failed ({onnx_error})" if onnx_error else None)
    except Exception as exc:
        return _fallback(_both(onnx_error, str(exc)))
    log.info("toxicity scorer %s loaded in %.2fs (%s)", scorer.model_id,
             time.perf_counter() - start, scorer.source)
    return scorer


def _both(onnx_error: str | None, detoxify_error: str) -> str:
    """Why neither backend loaded, each distinct reason once (the export child usually failed on
    what the detoxify backend then failed on again)."""
    if onnx_error is None:
        return detoxify_error
    if detoxify_error in onnx_error:
        return f"onnx backend failed, and the detoxify backend the same way ({onnx_error})"
    return f"onnx backend failed ({onnx_error}); detoxify backend failed ({detoxify_error})"
