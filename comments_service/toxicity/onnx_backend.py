"""The ONNX Runtime int8 backend at run time: loads the export of the configured checkpoint
(``onnx_cache.cached_export``, which has the export child build it on the first start) and scores
with it.

Only numpy, tokenizers and onnxruntime are imported (no torch): the same tokenizer, truncation to
512 tokens, sigmoid per label, the same labels as detoxify. A batch is sorted by token length and
cut into sub-batches, each padded to its own longest (``plan_sub_batches``): the model's work grows
with comments x padded length, and one long comment would otherwise make 31 short ones pay for its
length. Long comments are split into windows like the detoxify backend does.

Failure anywhere raises; ``load_scorer`` then uses the detoxify backend and says why.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import time
from typing import Any

from .base import describe, score_in_windows
from .config import ToxicitySettings
from .onnx_cache import cached_export
from .onnx_export import META_FILE, MODEL_FILE, SLOW_FUSIONS, TOKENIZER_FILE

PADDED_TOKEN_BUDGET = 4096  # most (comments x padded length) per model call
# What one extra model call costs, in padded tokens: measured with onnxruntime 1.32 on BERT-base,
# a call costs about (12 + comments x padded length) x 0.55 ms on one core. Used to choose where
# to cut a length-sorted batch into sub-batches.
CALL_COST_TOKENS = 16
# After a call this large (long comments: typical batches of 32 pad to ~800 tokens), freed
# activation buffers are returned to the OS (~1 ms, against ~150 ms for such a call).
TRIM_AFTER_PADDED_TOKENS = 1024


def _return_freed_memory() -> None:
    """Give the heap's free pages back to the OS. glibc keeps what onnxruntime freed while
    loading (the weights as read from the file, replaced by their prepacked copies): BERT-base's
    worker measured 263 MB loaded without this, 189 MB with it), and the activations of a large
    batch (310 MB after 8 comments of 512 tokens, 193 MB with it)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def plan_sub_batches(lengths: list[int], max_batch: int, budget: int = PADDED_TOKEN_BUDGET,
                     call_cost: int = CALL_COST_TOKENS) -> list[tuple[int, int]]:
    """Cut ascending token lengths into consecutive sub-batches [start, end) that minimise the
    model's work: each sub-batch is padded to its longest, and each call costs ``call_cost``
    tokens on top. One long comment in a batch of short ones would otherwise triple the padded
    size (the bench's batches of 32: mean 18 tokens, longest 50-60). Dynamic programming over the
    cut points, O(n x max_batch)."""
    n = len(lengths)
    best = [0.0] + [float("inf")] * n
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        for start in range(end - 1, max(0, end - max_batch) - 1, -1):
            padded = (end - start) * lengths[end - 1]
            if padded > budget and end - start > 1:
                break
            cost = best[start] + call_cost + padded
            if cost < best[end]:
                best[end], cut[end] = cost, start
    spans = []
    end = n
    while end > 0:
        spans.append((cut[end], end))
        end = cut[end]
    return spans[::-1]


class OnnxScorer:
    """Scores with onnxruntime (CPU) on the int8 export of the configured checkpoint."""

    backend = "onnx"
    is_fallback = False
    fallback_reason: str | None = None

    def __init__(self, settings: ToxicitySettings) -> None:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        start = time.perf_counter()
        self.settings = settings
        self.variant = settings.variant
        export = cached_export(settings)
        self.source = export.source
        self.checkpoint = export.checkpoint
        self.checkpoint_sha256 = export.checkpoint_sha256
        self.export_dir = export.export_dir
        meta = json.loads((self.export_dir / META_FILE).read_text())
        self.meta = meta
        self.labels = tuple(meta["labels"])
        self.input_names = list(meta["input_names"])
        self.max_length = int(meta["max_length"])

        self._tok = Tokenizer.from_file(str(self.export_dir / TOKENIZER_FILE))
        self._tok.enable_truncation(max_length=self.max_length)
        self._tok.no_padding()  # padded per sub-batch in _run, after sorting by length
        self.pad_id, self.pad_type_id = int(meta["pad_id"]), int(meta["pad_type_id"])
        self._plain = Tokenizer.from_file(str(self.export_dir / TOKENIZER_FILE))
        self._plain.no_truncation()
        self._plain.no_padding()

        opts = ort.SessionOptions()
        if settings.threads > 0:
            opts.intra_op_num_threads = settings.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # The arena keeps every buffer it ever grew to: BERT-base's worker went from 215 MB loaded
        # to 430 MB after a few seconds of batches (more after a long comment). Without it RSS
        # stays flat, and the CPU time per comment at batch 8-32 is the same (+5% at batch 1).
        opts.enable_cpu_mem_arena = False
        self._session = ort.InferenceSession(str(self.export_dir / MODEL_FILE), sess_options=opts,
                                             providers=["CPUExecutionProvider"],
                                             disabled_optimizers=list(SLOW_FUSIONS))
        _return_freed_memory()
        self._np = np
        self.model_id = f"onnx-int8-detoxify-{self.variant}@{self.checkpoint_sha256[:12]}"
        self.versions = {"onnxruntime": ort.__version__, **meta.get("versions", {})}
        self.load_seconds = time.perf_counter() - start

    def _offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        return [list(e.offsets) for e in self._plain.encode_batch(texts, add_special_tokens=False)]

    def _forward(self, encs: list[Any]) -> Any:
        """One model call on encodings padded to the longest of them; returns probabilities."""
        np = self._np
        width = max(len(e.ids) for e in encs)
        ids = np.full((len(encs), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encs), width), dtype=np.int64)
        types = np.full((len(encs), width), self.pad_type_id, dtype=np.int64)
        for row, e in enumerate(encs):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
        arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        (logits,) = self._session.run(["logits"], {n: arrays[n] for n in self.input_names})
        # the multilingual and unbiased checkpoints have more outputs than labels (the identity
        # ones they were trained on follow): like detoxify's predict(), only the labels' count
        logits = logits[:, :len(self.labels)]
        return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))

    def _run(self, texts: list[str]) -> list[dict[str, float]]:
        """Tokenise once, sort by length and call the model on the sub-batches of similar length
        that ``plan_sub_batches`` chooses, so short comments do not pay for a long one's padding."""
        encs = self._tok.encode_batch(texts)
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
        lengths = [len(encs[i].ids) for i in order]
        spans = plan_sub_batches(lengths, self.settings.batch_size)
        out: list[dict[str, float] | None] = [None] * len(encs)
        for start, end in spans:
            chunk = order[start:end]
            probs = self._forward([encs[i] for i in chunk])
            for i, row in zip(chunk, probs, strict=True):
                out[i] = dict(zip(self.labels, map(float, row), strict=True))
        if sum((end - start) * lengths[end - 1] for start, end in spans) > TRIM_AFTER_PADDED_TOKENS:
            _return_freed_memory()
        return out  # type: ignore[return-value]

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids as the model sees them, unpadded (diagnostics and tests)."""
        return [e.ids for e in self._tok.encode_batch(texts)]

    def score_batch(self, texts: list[str]) -> list[dict[str, float]]:
        return score_in_windows(texts, self.settings.long_text, self.settings.max_chunks, self._offsets, self._run)

    def describe(self) -> dict[str, Any]:
        return describe(self, checkpoint=self.checkpoint, checkpoint_sha256=self.checkpoint_sha256,
                        export_dir=str(self.export_dir), versions=self.versions,
                        max_length=self.max_length, threads=self.settings.threads,
                        batch_size=self.settings.batch_size, long_text=self.settings.long_text,
                        optimized=self.meta.get("optimized"),
                        build_seconds=self.meta.get("build_seconds"))
