"""The ONNX export child: ``python -m comments_service.toxicity.onnx_export SETTINGS_JSON TARGET``
builds the int8 ONNX export of the configured detoxify checkpoint into TARGET.

Started by the worker (``onnx_cache.export_in_child``) on the first start for a checkpoint, so
that torch, detoxify's model and the export's peak memory (a few GB for BERT-base) never stay in
the worker, and an out-of-memory kill takes down only this child (and a worker killed mid-export
takes its child with it). The checkpoint is loaded by detoxify's own loading code
(``detoxify_backend.load_detoxify_model``), downloading it first when the variant is not cached
yet, exported with torch's TorchScript ONNX exporter (opset 17, dynamic batch and sequence axes;
eager attention, which the optimizer can fuse), passed through onnxruntime's transformer optimizer
(fuses attention; without it ALBERT's shared layers quantise to almost nothing; two slow fusions
left out, see SLOW_FUSIONS) and dynamically quantised per channel, with int8 or uint8 weights as
the CPU needs (``int8_weights``; ``DefaultTensorType=FLOAT`` so shape-less optimizer outputs
quantise). The tokenizer is saved as ``tokenizer.json`` beside it. Progress goes to stderr; exit
status 0 when TARGET is complete. The worker loads the result (``onnx_backend``) without importing torch.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from ..procmem import rss_bytes
from . import int8_weights
from .base import MAX_TOKENS, ModelUnavailable
from .config import ToxicitySettings

# Named, not __name__: in the child this module runs as __main__, and its progress lines must
# still pass the level that ``main`` sets for comments_service's loggers.
log = logging.getLogger("comments_service.toxicity.onnx_export")

EXPORT_RECIPE = ("torchscript-opset17-eager-attention+ort-optimizer-no-skipln-no-biasgelu"
                 "+dynamic-int8-per-channel/v4")
MODEL_FILE = "model.int8.onnx"
META_FILE = "meta.json"
TOKENIZER_FILE = "tokenizer.json"
# onnxruntime's SkipLayerNormalization and BiasGelu CPU kernels are several times slower than the
# plain Add + LayerNormalization and Add + Gelu they fuse (1.32: 2.5 ms against 0.4 ms for a 512 x
# 768 SkipLayerNormalization, ~15% of BERT-base's time): neither our optimizer pass nor the
# session may fuse them. The arithmetic is the same, so the scores are too.
SLOW_FUSIONS = ("SkipLayerNormFusion", "BiasGeluFusion")
PARENT_ENV = "COMMENTS_TOXICITY_EXPORT_PARENT"  # the worker's pid: the child dies with it


def _use_eager_attention(model: Any) -> None:
    """Trace the explicit attention arithmetic, not transformers' SDPA path: the optimizer
    recognises only the former and fuses it into Attention (then QAttention, EmbedLayerNormalization
    for BERT). Traced through SDPA, BERT-base kept ~800 small nodes and no Attention."""
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("eager")
    else:
        model.config._attn_implementation = "eager"


def _return_freed_memory() -> None:
    """Give the heap's free pages back to the OS (glibc keeps them otherwise)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _fusion_options() -> Any:
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False  # see SLOW_FUSIONS
    options.enable_bias_gelu = False
    return options


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
    labels = list(detox.class_names)
    _use_eager_attention(model)
    input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids")
                   if n in tokenizer.model_input_names]

    class Logits(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any) -> Any:
            return self.inner(**dict(zip(input_names, args, strict=True))).logits

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
        # the optimizer and the quantiser hold several copies of the ONNX model at once; the torch
        # model (1.1 GB for XLM-R) is not needed any more: without it the peak is that much lower
        del model, args, sample
        detox = None
        gc.collect()
        _return_freed_memory()
        log.info("torch.onnx.export done at %.1fs, RSS %.0f MB", t_export, (rss_bytes() or 0) / 2**20)
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
            del opt  # the quantiser reads the file: a copy less in memory at its peak
        except Exception as exc:  # the plain export still quantises (less well for ALBERT)
            log.warning("onnxruntime transformer optimizer failed, quantising the plain export: %r", exc)
        gc.collect()
        _return_freed_memory()
        log.info("optimised (%s) at %.1fs, RSS %.0f MB", fused or "no fusions", time.perf_counter() - t0,
                 (rss_bytes() or 0) / 2**20)
        target.mkdir(parents=True)
        weights = int8_weights.weight_type(settings)  # int8 or uint8: see int8_weights
        quantize_dynamic(str(to_quantise), str(target / MODEL_FILE),
                         weight_type=QuantType.QInt8 if weights == int8_weights.INT8 else QuantType.QUInt8,
                         # one scale per output column: on 4 x 240 comments of the tiny spread
                         # checkpoint, 1-2 decisions differed from detoxify's instead of 6-7
                         # (same worst score difference, ~2% more CPU time)
                         per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tokenizer.backend_tokenizer.save(str(target / TOKENIZER_FILE))
    meta = {
        "recipe": EXPORT_RECIPE,
        "labels": labels,
        "input_names": input_names,
        "max_length": int(min(MAX_TOKENS, tokenizer.model_max_length)),
        "pad_id": int(tokenizer.pad_token_id or 0),
        "pad_token": str(tokenizer.pad_token),
        "pad_type_id": int(getattr(tokenizer, "pad_token_type_id", 0) or 0),
        "optimized": optimized,
        "weights": weights,
        "fused": fused,
        "export_seconds": round(t_export, 2),
        "build_seconds": round(time.perf_counter() - t0, 2),
        "versions": {"torch": str(torch.__version__), "onnx": onnx.__version__},
    }
    (target / META_FILE).write_text(json.dumps(meta, indent=2))
    log.info("quantised to int8 at %.1fs", meta["build_seconds"])
    return meta


def _die_with_parent() -> None:
    """A worker killed mid-export takes this child with it (Linux PR_SET_PDEATHSIG): set here, not
    in a preexec_fn, which is unsafe in the worker's threaded process."""
    parent = os.environ.get(PARENT_ENV)
    if not parent:
        return
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # the worker died before the line above
        sys.exit("the worker that started this export is gone")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    _die_with_parent()
    # our progress lines; the libraries' INFO chatter (the quantiser logs every tensor) stays out
    # of the worker's log
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    logging.getLogger("comments_service").setLevel(logging.INFO)
    import msgspec

    from ..procmem import peak_rss_bytes

    settings = msgspec.json.decode(argv[0], type=ToxicitySettings)
    start = time.perf_counter()
    try:
        meta = build_onnx_int8(settings, Path(argv[1]))
    except ModelUnavailable as exc:  # an expected failure (no checkpoint, no network): one line, no traceback
        print(f"ModelUnavailable: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"built in {time.perf_counter() - start:.1f}s (export {meta['export_seconds']}s, "
          f"optimised: {meta['optimized']}), peak RSS {peak_rss_bytes() / 2**20:.0f} MB", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
