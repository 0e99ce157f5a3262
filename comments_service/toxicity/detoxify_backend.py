"""The detoxify backend: detoxify's own loading code and predict(), made offline-capable.

Offline loading (checkpoint file + config dir): detoxify builds the model's config with
``<ConfigClass>.from_pretrained(config.arch.args.model_type)`` and no ``local_files_only``; the
released checkpoints name a hub model there (bert-base-uncased, albert-base-v2), so it fails
offline even with ``huggingface_config_path``. We read the checkpoint and call detoxify's own
``get_model_and_tokenizer`` with ``model_type`` pointing at the local config dir, then wrap the
result in a ``Detoxify`` object whose ``predict()`` does the scoring.

Truncation: the tokenizer's ``model_max_length`` is forced to at most 512 (a tokenizer folder
without it would let long comments crash predict()); comments beyond one window are split into
windows and each label takes the maximum (``long_text="split"``, the default) or truncated.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from .base import CLASS_RENAMES, MAX_TOKENS, ModelUnavailable, describe, file_sha256, score_in_windows
from .config import ToxicitySettings

log = logging.getLogger(__name__)


def _torch_threads(threads: int) -> None:
    import torch

    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _fix_max_length(tokenizer: Any, model: Any) -> None:
    limit = min(MAX_TOKENS, int(getattr(model.config, "max_position_embeddings", MAX_TOKENS) or MAX_TOKENS))
    if not tokenizer.model_max_length or tokenizer.model_max_length > limit:
        tokenizer.model_max_length = limit


def load_detoxify_model(settings: ToxicitySettings) -> tuple[Any, dict[str, Any]]:
    """Load a ``detoxify.Detoxify`` as configured. Returns (detoxify object, facts) where facts
    holds source, checkpoint path and sha256. Raises ModelUnavailable with the cause."""
    _torch_threads(settings.threads)
    try:
        import torch
        from detoxify import Detoxify
        from detoxify import detoxify as detox_mod
    except Exception as exc:  # pragma: no cover - depends on the install
        raise ModelUnavailable(f"detoxify is not importable: {exc!r}") from exc

    facts: dict[str, Any] = {}
    if settings.checkpoint:
        ckpt = Path(settings.checkpoint)
        if not ckpt.is_file():
            raise ModelUnavailable(f"checkpoint file not found: {ckpt}")
        if settings.config_dir and not (Path(settings.config_dir) / "config.json").is_file():
            raise ModelUnavailable(f"config dir has no config.json: {settings.config_dir}")
        try:
            loaded = torch.load(str(ckpt), map_location=settings.device, weights_only=False)
        except Exception as exc:
            raise ModelUnavailable(f"cannot read checkpoint {ckpt}: {exc!r}") from exc
        if not isinstance(loaded, dict) or "config" not in loaded or "state_dict" not in loaded:
            raise ModelUnavailable(f"{ckpt} is not a detoxify checkpoint (needs config and state_dict)")
        try:
            args = dict(loaded["config"]["arch"]["args"])
            classes = [CLASS_RENAMES.get(c, c) for c in loaded["config"]["dataset"]["args"]["classes"]]
        except (KeyError, TypeError) as exc:
            raise ModelUnavailable(f"{ckpt}: checkpoint config lacks arch.args or dataset.args.classes") from exc
        config_dir = settings.config_dir
        if config_dir:
            args["model_type"] = str(config_dir)  # the offline workaround (see module docstring)
        try:
            model, tokenizer = detox_mod.get_model_and_tokenizer(
                **args, state_dict=loaded["state_dict"], huggingface_config_path=config_dir)
        except Exception as exc:
            hint = "" if config_dir else " (offline? use COMMENTS_TOXICITY_MODEL_DIR or set _CONFIG_DIR)"
            raise ModelUnavailable(f"cannot build the model from {ckpt}: {exc!r}{hint}") from exc
        detox = Detoxify.__new__(Detoxify)
        detox.model, detox.tokenizer, detox.class_names = model, tokenizer, classes
        detox.device = settings.device
        detox.model.to(settings.device)
        facts.update(source="local", checkpoint=str(ckpt), checkpoint_sha256=file_sha256(ckpt))
    else:
        url = detox_mod.MODEL_URLS[settings.variant]
        cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
        was_cached = cached.is_file()
        try:
            detox = Detoxify(model_type=settings.variant, device=settings.device,
                             huggingface_config_path=settings.config_dir)
        except Exception as exc:
            raise ModelUnavailable(
                f"cannot download or load detoxify '{settings.variant}' ({exc!r}); without network, "
                "provide the files with `comments-service model fetch` and set "
                "COMMENTS_TOXICITY_MODEL_DIR (README: Providing the model)") from exc
        facts.update(source="cache" if was_cached else "download", checkpoint=str(cached),
                     checkpoint_sha256=file_sha256(cached) if cached.is_file() else None)
    detox.model.eval()
    _fix_max_length(detox.tokenizer, detox.model)
    return detox, facts


class DetoxifyScorer:
    """Scores with ``detoxify.Detoxify.predict`` (the reference backend)."""

    backend = "detoxify"
    is_fallback = False

    def __init__(self, settings: ToxicitySettings, *, fallback_reason: str | None = None) -> None:
        import detoxify
        import torch

        start = time.perf_counter()
        self.detox, facts = load_detoxify_model(settings)
        self.load_seconds = time.perf_counter() - start
        self.settings = settings
        self.variant = settings.variant
        self.source = facts["source"]
        self.checkpoint = facts["checkpoint"]
        self.checkpoint_sha256 = facts["checkpoint_sha256"]
        self.labels = tuple(self.detox.class_names)
        sha = (self.checkpoint_sha256 or "unknown")[:12]
        self.model_id = f"detoxify-{self.variant}@{sha}"
        self.versions = {"detoxify": getattr(detoxify, "__version__", "0.5.4"), "torch": str(torch.__version__)}
        # set when this backend stands in for another one that failed (e.g. onnx export)
        self.fallback_reason = fallback_reason
        self.max_length = int(self.detox.tokenizer.model_max_length)

    def _offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        enc = self.detox.tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True,
                                   truncation=False)
        return [list(map(tuple, o)) for o in enc["offset_mapping"]]

    def score_batch(self, texts: list[str]) -> list[dict[str, float]]:
        return score_in_windows(texts, self.settings.long_text, self.settings.max_chunks, self._offsets, self._run)

    def _run(self, pieces: list[str]) -> list[dict[str, float]]:
        # similar lengths together: predict() pads each call to its longest comment
        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]))
        scored: list[dict[str, float]] = [{} for _ in pieces]
        size = self.settings.batch_size
        for start in range(0, len(order), size):
            idx = order[start:start + size]
            result = self.detox.predict([pieces[i] for i in idx])
            for j, i in enumerate(idx):
                scored[i] = {label: float(values if isinstance(values, float) else values[j])
                             for label, values in result.items()}
        return scored

    def describe(self) -> dict[str, Any]:
        return describe(self, checkpoint=self.checkpoint, checkpoint_sha256=self.checkpoint_sha256,
                        versions=self.versions, max_length=self.max_length,
                        threads=self.settings.threads, batch_size=self.settings.batch_size,
                        long_text=self.settings.long_text)
