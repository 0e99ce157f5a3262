"""The ONNX Runtime int8 backend: the detoxify checkpoint, exported once, quantised, cached.

Build (first start for a checkpoint, needs torch): in a child process
(``python -m comments_service.toxicity.onnx_export``), so that torch, detoxify's model and the
export's peak memory (a few GB for BERT-base) never stay in the worker, and an out-of-memory kill
takes down only the child (and a worker killed mid-export takes its child with it). The
checkpoint is loaded by detoxify's own loading code (``detoxify_backend.load_detoxify_model``),
exported with torch's TorchScript ONNX exporter (opset 17, dynamic batch and sequence axes;
eager attention, which the optimizer can fuse), passed through onnxruntime's transformer optimizer
(fuses attention; without it ALBERT's shared layers quantise to almost nothing; two slow fusions
left out, see SLOW_FUSIONS) and dynamically quantised to int8 per channel
(``DefaultTensorType=FLOAT`` so shape-less optimizer outputs quantise). The tokenizer is saved as
``tokenizer.json`` beside it. Everything lands in
``<cache_dir>/<variant>-<key>/`` where key hashes the checkpoint file, the config dir and the
export recipe; the child writes it to a temporary folder that the worker renames into place, so
concurrent workers never see half an export. A child that fails, is killed or runs past
EXPORT_TIMEOUT_SECONDS raises ModelUnavailable with the end of its output.

Serving (every later start): only numpy, tokenizers and onnxruntime are imported (no torch): the
same tokenizer, truncation to 512 tokens, sigmoid per label, the same labels as detoxify. A
batch is sorted by token length and cut into sub-batches, each padded to its own longest
(``plan_sub_batches``): the model's work grows with comments x padded length, and one long
comment would otherwise make 31 short ones pay for its length. Long comments are split into
windows like the detoxify backend does.

Failure anywhere raises; ``load_scorer`` then uses the detoxify backend and says why.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import deque
from pathlib import Path
from typing import Any

from .base import (MAX_TOKENS, ModelUnavailable, describe, dir_sha256, file_sha256,
                   score_in_windows)
from .config import ToxicitySettings

log = logging.getLogger(__name__)

EXPORT_RECIPE = ("torchscript-opset17-eager-attention+ort-optimizer-no-skipln-no-biasgelu"
                 "+dynamic-int8-per-channel/v3")
MODEL_FILE = "model.int8.onnx"
META_FILE = "meta.json"
PADDED_TOKEN_BUDGET = 4096  # most (comments x padded length) per model call
# What one extra model call costs, in padded tokens: measured with onnxruntime 1.32 on BERT-base,
# a call costs about (12 + comments x padded length) x 0.55 ms on one core. Used to choose where
# to cut a length-sorted batch into sub-batches.
CALL_COST_TOKENS = 16
# onnxruntime's SkipLayerNormalization and BiasGelu CPU kernels are several times slower than the
# plain Add + LayerNormalization and Add + Gelu they fuse (1.32: 2.5 ms against 0.4 ms for a 512 x
# 768 SkipLayerNormalization, ~15% of BERT-base's time): neither our optimizer pass nor the
# session may fuse them. The arithmetic is the same, so the scores are too.
SLOW_FUSIONS = ("SkipLayerNormFusion", "BiasGeluFusion")
# After a call this large (long comments: typical batches of 32 pad to ~800 tokens), freed
# activation buffers are returned to the OS (~1 ms, against ~150 ms for such a call).
TRIM_AFTER_PADDED_TOKENS = 1024
# The export child: BERT-base takes ~25 s on two idle cores; generous for a busy, slow machine.
EXPORT_TIMEOUT_SECONDS = 1800.0
EXPORT_MODULE = "comments_service.toxicity.onnx_export"
PARENT_ENV = "COMMENTS_TOXICITY_EXPORT_PARENT"  # the worker's pid: the child dies with it
# detoxify 0.5.4's MODEL_URLS, file names only (torch.hub keeps downloads under these names):
# copied so that a worker serving a cached export never imports detoxify (which imports torch).
# tests/toxicity checks them against detoxify's.
DETOXIFY_CHECKPOINT_FILES = {
    "original": "toxic_original-c1212f89.ckpt",
    "unbiased": "toxic_debiased-c7548aa0.ckpt",
    "multilingual": "multilingual_debiased-0b549669.ckpt",
    "original-small": "original-albert-0e1d6498.ckpt",
    "unbiased-small": "unbiased-albert-c8519128.ckpt",
}


def _cached_sha256(path: Path, cache_dir: Path) -> str:
    """sha256 of a (large) checkpoint, remembered by path, size and mtime in the cache dir."""
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    index = cache_dir / "checkpoint-hashes.json"
    try:
        known = json.loads(index.read_text())
    except (OSError, ValueError):
        known = {}
    if key in known:
        return known[key]
    digest = file_sha256(path)
    known[key] = digest
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = index.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known))
        os.replace(tmp, index)
    except OSError:
        pass
    return digest


def torch_hub_dir() -> Path:
    """``torch.hub.get_dir()`` without importing torch (same environment variables)."""
    if "torch" in sys.modules:  # honours torch.hub.set_dir()
        return Path(sys.modules["torch"].hub.get_dir())
    cache = os.getenv("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    return Path(os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(cache, "torch")))) / "hub"


def _checkpoint_path(settings: ToxicitySettings) -> Path | None:
    if settings.checkpoint:
        return Path(settings.checkpoint)
    cached = torch_hub_dir() / "checkpoints" / DETOXIFY_CHECKPOINT_FILES[settings.variant]
    return cached if cached.is_file() else None


def export_command(settings: ToxicitySettings, target: Path) -> list[str]:
    """The export child's command line (tests replace it with one that fails)."""
    import msgspec

    return [sys.executable, "-m", EXPORT_MODULE, msgspec.json.encode(settings).decode(), str(target)]


def export_in_child(settings: ToxicitySettings, target: Path,
                    timeout: float | None = None) -> None:
    """Build the export into ``target`` in a child process and wait for it; its output is logged
    line by line. Raises ModelUnavailable (with the end of its output) when it fails, is killed
    (an out-of-memory kill: SIGKILL) or runs past the timeout."""
    timeout = EXPORT_TIMEOUT_SECONDS if timeout is None else timeout
    checkpoint = settings.checkpoint or f"detoxify '{settings.variant}'"
    log.info("exporting %s to ONNX int8 in a child process (once per checkpoint; BERT-base: ~25 s, "
             "a few GB of memory)", checkpoint)
    start = time.perf_counter()
    tail: deque[str] = deque(maxlen=40)
    try:
        # no progress bars in the worker's log
        env = {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "TQDM_DISABLE": "1", "TOKENIZERS_PARALLELISM": "false",
               **os.environ, PARENT_ENV: str(os.getpid())}
        proc = subprocess.Popen(export_command(settings, target), env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace")
    except OSError as exc:
        raise ModelUnavailable(f"cannot start the ONNX export child: {exc!r}") from exc

    def relay() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            if line:
                tail.append(line)
                log.info("onnx export: %s", line)

    reader = threading.Thread(target=relay, name="onnx-export-log", daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = None
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    reader.join(timeout=5)
    seconds = time.perf_counter() - start
    if code == 0:
        log.info("ONNX export of %s done in %.1fs", checkpoint, seconds)
        return
    if code is None:
        what = f"timed out after {timeout:g}s"
    elif code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        what = f"killed by {name}" + (" (out of memory?)" if -code == signal.SIGKILL else "")
    else:
        what = f"exited with {code}"
    # the child's last line says why (an exception's own line); the whole tail goes to the log
    last = tail[-1][-600:] if tail else ""
    log.warning("ONNX export of %s failed after %.1fs: the child %s; its last output:\n%s",
                checkpoint, seconds, what, "\n".join(tail) or "(none)")
    raise ModelUnavailable(f"ONNX export child {what}" + (f": {last}" if last else ""))


def export_key(checkpoint_sha: str, config_dir: str | None) -> str:
    digest = hashlib.sha256()
    digest.update(checkpoint_sha.encode())
    digest.update((dir_sha256(config_dir) if config_dir else "hub").encode())
    digest.update(EXPORT_RECIPE.encode())
    return digest.hexdigest()


def _return_freed_memory() -> None:
    """Give the heap's free pages back to the OS. glibc keeps what onnxruntime freed while
    loading (the weights as read from the file, replaced by their prepacked copies): BERT-base's
    worker measured 263 MB loaded without this, 189 MB with it), and the activations of a large
    batch (310 MB after 8 comments of 512 tokens, 193 MB with it)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _use_eager_attention(model: Any) -> None:
    """Trace the explicit attention arithmetic, not transformers' SDPA path: the optimizer
    recognises only the former and fuses it into Attention (then QAttention, EmbedLayerNormalization
    for BERT). Traced through SDPA, BERT-base kept ~800 small nodes and no Attention."""
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("eager")
    else:
        model.config._attn_implementation = "eager"


def _fusion_options() -> Any:
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False  # see SLOW_FUSIONS
    options.enable_bias_gelu = False
    return options


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


def build_onnx_int8(settings: ToxicitySettings, target: Path, detox: Any | None = None) -> dict[str, Any]:
    """Export, optimise, quantise the configured checkpoint into ``target`` (created here).
    Returns the meta dict. Needs torch, detoxify, onnx and onnxruntime."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from .detoxify_backend import load_detoxify_model

    t0 = time.perf_counter()
    if detox is None:
        detox, _facts = load_detoxify_model(settings)
        log.info("checkpoint loaded in %.1fs", time.perf_counter() - t0)
    model, tokenizer = detox.model.eval(), detox.tokenizer
    config = model.config
    _use_eager_attention(model)
    input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids")
                   if n in tokenizer.model_input_names]

    class Logits(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any) -> Any:
            return self.inner(**dict(zip(input_names, args))).logits

    sample = tokenizer(["a sample comment to trace", "short"], return_tensors="pt", padding=True)
    args = tuple(sample[n] for n in input_names)
    axes = {n: {0: "batch", 1: "sequence"} for n in input_names}
    axes["logits"] = {0: "batch"}
    work = Path(tempfile.mkdtemp(prefix="export-", dir=target.parent))
    try:
        fp32 = work / "model.fp32.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about constant-folded shapes
            torch.onnx.export(Logits(model), args, str(fp32), input_names=input_names,
                              output_names=["logits"], dynamic_axes=axes, opset_version=17,
                              do_constant_folding=True, dynamo=False)
        t_export = time.perf_counter() - t0
        log.info("torch.onnx.export done at %.1fs", t_export)
        to_quantise = fp32
        optimized, fused = False, {}
        try:
            from onnxruntime.transformers.optimizer import optimize_model

            opt = optimize_model(str(fp32), model_type="bert",
                                 num_heads=int(config.num_attention_heads),
                                 hidden_size=int(config.hidden_size),
                                 optimization_options=_fusion_options())
            opt_path = work / "model.opt.onnx"
            opt.save_model_to_file(str(opt_path))
            to_quantise, optimized = opt_path, True
            fused = {op: n for op, n in opt.get_fused_operator_statistics().items() if n}
        except Exception as exc:  # the plain export still quantises (less well for ALBERT)
            log.warning("onnxruntime transformer optimizer failed, quantising the plain export: %r", exc)
        log.info("optimised (%s) at %.1fs", fused or "no fusions", time.perf_counter() - t0)
        target.mkdir(parents=True)
        quantize_dynamic(str(to_quantise), str(target / MODEL_FILE), weight_type=QuantType.QInt8,
                         # one scale per output column: on 4 x 240 comments of the tiny spread
                         # checkpoint, 1-2 decisions differed from detoxify's instead of 6-7
                         # (same worst score difference, ~2% more CPU time)
                         per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tokenizer.backend_tokenizer.save(str(target / "tokenizer.json"))
    meta = {
        "recipe": EXPORT_RECIPE,
        "labels": list(detox.class_names),
        "input_names": input_names,
        "max_length": int(min(MAX_TOKENS, tokenizer.model_max_length)),
        "pad_id": int(tokenizer.pad_token_id or 0),
        "pad_token": str(tokenizer.pad_token),
        "pad_type_id": int(getattr(tokenizer, "pad_token_type_id", 0) or 0),
        "optimized": optimized,
        "fused": fused,
        "export_seconds": round(t_export, 2),
        "build_seconds": round(time.perf_counter() - t0, 2),
        "versions": {"torch": str(torch.__version__), "onnx": onnx.__version__},
    }
    (target / META_FILE).write_text(json.dumps(meta, indent=2))
    log.info("quantised to int8 at %.1fs", meta["build_seconds"])
    return meta


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
        cache_dir = Path(settings.cache_dir).expanduser()
        ckpt = _checkpoint_path(settings)  # None: not downloaded yet, the export child fetches it
        if ckpt is not None and not ckpt.is_file():
            raise ModelUnavailable(f"checkpoint file not found: {ckpt}")
        if settings.config_dir and not (Path(settings.config_dir) / "config.json").is_file():
            raise ModelUnavailable(f"config dir has no config.json: {settings.config_dir}")
        cache_dir.mkdir(parents=True, exist_ok=True)
        export_dir = self._export_dir(cache_dir, ckpt) if ckpt is not None else None
        if export_dir is not None and (export_dir / META_FILE).is_file():
            self.source = "onnx-cache"
        else:
            self.source = "onnx-export"
            # torch, detoxify and the export's peak memory stay in the child
            # (its work files go inside ``staging`` too, so that a killed child leaves nothing behind)
            staging = cache_dir / f".build-{os.getpid()}-{threading.get_ident()}"
            shutil.rmtree(staging, ignore_errors=True)
            built = staging / "export"
            try:
                staging.mkdir()
                export_in_child(settings, built)
                if not (built / META_FILE).is_file():
                    raise ModelUnavailable("the ONNX export child exited without writing the export")
                if export_dir is None:
                    ckpt = _checkpoint_path(settings)
                    if ckpt is None:
                        raise ModelUnavailable("detoxify loaded but its checkpoint file was not found to hash")
                    export_dir = self._export_dir(cache_dir, ckpt)
                try:
                    os.replace(built, export_dir)
                except OSError:  # another worker finished first: use its export
                    if not (export_dir / META_FILE).is_file():
                        raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            log.info("exported %s to %s", ckpt, export_dir)
        assert ckpt is not None
        self.checkpoint = str(ckpt)
        self.export_dir = export_dir
        meta = json.loads((self.export_dir / META_FILE).read_text())
        self.meta = meta
        self.labels = tuple(meta["labels"])
        self.input_names = list(meta["input_names"])
        self.max_length = int(meta["max_length"])

        self._tok = Tokenizer.from_file(str(self.export_dir / "tokenizer.json"))
        self._tok.enable_truncation(max_length=self.max_length)
        self._tok.no_padding()  # padded per sub-batch in _run, after sorting by length
        self.pad_id, self.pad_type_id = int(meta["pad_id"]), int(meta["pad_type_id"])
        self._plain = Tokenizer.from_file(str(self.export_dir / "tokenizer.json"))
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

    def _export_dir(self, cache_dir: Path, ckpt: Path) -> Path:
        self.checkpoint_sha256 = _cached_sha256(ckpt, cache_dir)
        key = export_key(self.checkpoint_sha256, self.settings.config_dir)
        return cache_dir / f"{self.settings.variant}-{key[:16]}"

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
            for i, row in zip(chunk, probs):
                out[i] = dict(zip(self.labels, map(float, row)))
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
