"""The Scorer protocol and helpers shared by the backends (no torch import here)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

# detoxify's label renaming (detoxify.detoxify.load_checkpoint)
CLASS_RENAMES = {"toxic": "toxicity", "identity_hate": "identity_attack", "severe_toxic": "severe_toxicity"}
MAX_TOKENS = 512
# tokens per window when a long comment is split (leaves room for [CLS]/[SEP] and for a window
# tokenising to a few more tokens on its own than inside the whole text)
WINDOW_TOKENS = 480


class ModelUnavailable(RuntimeError):
    """The configured model could not be loaded (missing files, no network, bad checkpoint)."""


@runtime_checkable
class Scorer(Protocol):
    """Scores comments. Synchronous and CPU-bound: call it from a worker process or thread,
    never on the event loop. One instance is not safe for concurrent calls."""

    model_id: str  # recorded with every score, e.g. "detoxify-original@1a2b3c4d5e6f"
    labels: tuple[str, ...]
    backend: str  # "detoxify" | "onnx" | "fallback"
    variant: str
    source: str  # "download" | "cache" | "local" | "fallback"
    load_seconds: float
    is_fallback: bool
    fallback_reason: str | None

    def score_batch(self, texts: list[str]) -> list[dict[str, float]]:
        """One dict label -> probability (0..1) per text, in order."""
        ...

    def describe(self) -> dict[str, Any]:
        """Diagnostics: the fields above plus runtime versions and settings."""
        ...


def describe(scorer: Any, **extra: Any) -> dict[str, Any]:
    info = {
        "model_id": scorer.model_id,
        "backend": scorer.backend,
        "variant": scorer.variant,
        "source": scorer.source,
        "labels": list(scorer.labels),
        "load_seconds": round(scorer.load_seconds, 3),
        "is_fallback": scorer.is_fallback,
        "fallback_reason": scorer.fallback_reason,
    }
    info.update(extra)
    return info


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def dir_sha256(path: str | Path) -> str:
    """Hash of the file names and contents of a config/tokenizer folder (not recursive)."""
    digest = hashlib.sha256()
    for item in sorted(Path(path).iterdir()):
        if item.is_file():
            digest.update(item.name.encode() + b"\0")
            digest.update(file_sha256(item).encode())
    return digest.hexdigest()


Offsets = Sequence[tuple[int, int]]


def plan_windows(texts: Sequence[str], offsets_of: Callable[[list[str]], Sequence[Offsets]],
                 max_chunks: int) -> tuple[list[str], list[int]]:
    """Split texts longer than one model window into windows of whole tokens.

    Returns (pieces, owner): ``pieces[j]`` is scored and belongs to ``texts[owner[j]]``. Only
    texts longer than WINDOW_TOKENS characters can exceed a window (a token covers at least
    one character), so short comments are never tokenised twice.
    """
    pieces: list[str] = []
    owner: list[int] = []
    long_idx = [i for i, t in enumerate(texts) if len(t) > WINDOW_TOKENS]
    offsets_by_idx = dict(zip(long_idx, offsets_of([texts[i] for i in long_idx]), strict=True)) if long_idx else {}
    for i, text in enumerate(texts):
        offs = [o for o in offsets_by_idx.get(i, ()) if o[1] > o[0]]
        if len(offs) <= WINDOW_TOKENS:
            pieces.append(text)
            owner.append(i)
            continue
        for n, start in enumerate(range(0, len(offs), WINDOW_TOKENS)):
            if n >= max_chunks:
                break
            window = offs[start:start + WINDOW_TOKENS]
            pieces.append(text[window[0][0]:window[-1][1]])
            owner.append(i)
    return pieces, owner


def merge_windows(n: int, owner: list[int], scored: list[dict[str, float]]) -> list[dict[str, float]]:
    """Each label of a split comment takes the maximum over its windows."""
    out: list[dict[str, float] | None] = [None] * n
    for i, scores in zip(owner, scored, strict=True):
        current = out[i]
        if current is None:
            out[i] = dict(scores)
        else:
            for label, value in scores.items():
                if value > current.get(label, 0.0):
                    current[label] = value
    return [s if s is not None else {} for s in out]


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def score_in_windows(texts: list[str], long_text: str, max_chunks: int,
                     offsets_of: Callable[[list[str]], Sequence[Offsets]],
                     run: Callable[[list[str]], list[dict[str, float]]]) -> list[dict[str, float]]:
    """Score ``texts`` with ``run``; in "split" mode comments longer than one model window are
    scored window by window and each label keeps its highest score."""
    if not texts:
        return []
    if long_text == "split":
        pieces, owner = plan_windows(texts, offsets_of, max_chunks)
    else:
        pieces, owner = list(texts), list(range(len(texts)))
    return merge_windows(len(texts), owner, run(pieces))
