"""Toxicity scoring: a Scorer protocol, detoxify and ONNX int8 backends, an offline fallback.

Usage (in a scoring worker process or thread, never on the event loop)::

    from comments_service.toxicity import ToxicitySettings, load_scorer

    scorer = load_scorer(ToxicitySettings.from_env())   # never raises for a missing model
    scores = scorer.score_batch(["first comment", "second comment"])  # list[dict[label, 0..1]]
    # store scorer.model_id with every score; pass PolicyContext(model_fallback=scorer.is_fallback)
    # to comments_service.domain.policy.decide(); show scorer.describe() in diagnostics; when
    # scorer.is_fallback, log scorer.fallback_reason and retry load_scorer with backoff.

Scorer (protocol, ``base.Scorer``): ``model_id: str`` ("detoxify-original@<sha12>",
"onnx-int8-detoxify-original@<sha12>", "profanity-check-1.9.1 (fallback)"), ``labels``,
``backend`` (detoxify|onnx|fallback|none), ``variant``, ``source``
(download|cache|local|onnx-cache|onnx-export|fallback), ``load_seconds``, ``is_fallback``,
``fallback_reason`` (also set when the onnx backend failed and detoxify stands in),
``score_batch(texts) -> list[dict[str, float]]`` and ``describe() -> dict``.

Backends (``COMMENTS_TOXICITY_BACKEND``; ``config.DEFAULT_BACKEND`` when unset):

* ``onnx`` (the default) — the same checkpoint (loaded by detoxify's code) exported to ONNX once,
  in a child process (``onnx_export``), quantised to int8 and cached under
  ``COMMENTS_TOXICITY_CACHE_DIR`` keyed by the checkpoint's sha256; the worker scores with
  onnxruntime on the CPU and never imports torch. Falls back to ``detoxify`` when the export
  fails, with the reason in ``fallback_reason``.
* ``detoxify`` — the reference: detoxify's own loading code and predict(); downloads the variant
  on first use where the network allows, or loads ``COMMENTS_TOXICITY_CHECKPOINT`` with
  ``COMMENTS_TOXICITY_CONFIG_DIR`` fully offline.
* fallback — alt-profanity-check on the text and its de-obfuscated form, when no model loads.

Long comments: split into windows of at most 512 tokens, each label's score is the maximum over
the windows (``COMMENTS_TOXICITY_LONG_TEXT=split``, at most ``MAX_CHUNKS`` windows) or truncated.

Environment: COMMENTS_TOXICITY_BACKEND, _VARIANT, _MODEL_DIR, _CHECKPOINT, _CONFIG_DIR, _CACHE_DIR,
_MISSING_MODEL, _DEVICE, _THREADS, _BATCH_SIZE, _FAIL_CLOSED, _LONG_TEXT, _MAX_CHUNKS, and for
``model fetch`` _CHECKPOINT_URL, _HUB_URL (see ``config.ToxicitySettings``).

``model_kit`` makes and checks a model dir (`comments-service model fetch|export|verify`): the
checkpoint, its config and tokenizer files and the ONNX export in one folder that loads offline.

``testing`` builds Detoxify-format checkpoints offline (a tiny one for tests, random BERT-base /
ALBERT-base-v2 for benchmarks).
"""

from .base import ModelUnavailable, Scorer
from .config import ToxicitySettings
from .loader import NullScorer, load_scorer

__all__ = ["ModelUnavailable", "NullScorer", "Scorer", "ToxicitySettings", "load_scorer"]
