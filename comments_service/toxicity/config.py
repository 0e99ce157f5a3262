"""Toxicity settings (``COMMENTS_TOXICITY_*``), a msgspec Struct the main Settings embeds."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

from ..domain.structs import Struct

VARIANTS = ("original", "unbiased", "multilingual", "original-small", "unbiased-small")
BACKENDS = ("detoxify", "onnx")
LONG_TEXT_MODES = ("split", "truncate")
MISSING_MODEL_MODES = ("stop", "fallback")
# Where `comments-service model fetch` downloads from: detoxify's GitHub releases (the checkpoints)
# and the Hugging Face hub (each architecture's config and tokenizer files). An air-gapped site
# points these at a mirror, or brings the files itself (`model fetch --from DIR`).
DEFAULT_CHECKPOINT_URL = "https://github.com/unitaryai/detoxify/releases/download"
DEFAULT_HUB_URL = "https://huggingface.co"

ENV_PREFIX = "COMMENTS_TOXICITY_"
INT8_WEIGHT_CHOICES = ("auto", "int8", "uint8")
# The backend when COMMENTS_TOXICITY_BACKEND is not set: "onnx" (several times detoxify's sustained
# comments/s in a fraction of its memory, bench/RESULTS_scoring.md) or "detoxify" (the reference).
DEFAULT_BACKEND: Literal["detoxify", "onnx"] = "onnx"
# model_id prefix per backend (tests and tools telling them apart)
MODEL_ID_PREFIXES = {"detoxify": "detoxify-", "onnx": "onnx-int8-detoxify-"}


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "comments_service" / "toxicity")


class ToxicitySettings(Struct, frozen=True):
    """How the scoring worker loads its model.

    backend     "onnx" (DEFAULT_BACKEND: the same checkpoint exported to ONNX and quantised to
                int8 once, in a child process, cached in ``cache_dir``; serves without torch;
                falls back to detoxify when the export fails) or "detoxify" (PyTorch, the
                reference).
    variant     which detoxify model: original, unbiased, multilingual, original-small,
                unbiased-small. Without ``checkpoint`` it is downloaded on first use where the
                network allows; with ``checkpoint`` it only names the model.
    model_dir   a folder made by ``comments-service model fetch`` (model.json, the checkpoint,
                config/ and onnx/): sets checkpoint, config_dir, variant and cache_dir from its
                manifest, and loading it needs no network. Not combinable with checkpoint or
                config_dir.
    checkpoint  a local detoxify checkpoint file (trusted: it is a full pickle).
    config_dir  local folder with the architecture's config.json and tokenizer files (offline).
    cache_dir   where ONNX exports are kept, keyed by the checkpoint's hash.
    missing_model  what the worker does when model_dir or checkpoint names files that are missing
                or unreadable: "stop" (exit with an error naming the variable) or "fallback"
                (start on the fallback scorer, say so, and retry the model with backoff).
    checkpoint_url, hub_url  where ``model fetch`` downloads from (mirrors for closed networks).
    threads     intra-op threads of the model (torch / onnxruntime); 0 = library default (all
                cores). Default 1: on 2 shared cores two 1-thread workers scored 12-36% more than
                one 2-thread worker with either backend, and one 1-thread worker leaves a core
                to the API (bench/RESULTS_scoring.md); run one worker process per core.
    batch_size  most comments per model call.
    fail_closed hold comments for a moderator when no real model is available.
    long_text   "split": comments over 512 tokens are scored in windows and each label takes
                its maximum; "truncate": only the first 512 tokens are scored.
    max_chunks  most windows per comment in split mode (the rest is not scored).
    int8_weights  the ONNX export's weight type: "auto" (int8 on a CPU with VNNI, uint8 on
                others, where int8 saturates: see ``int8_weights``), or "int8"/"uint8" to
                build an export for the other kind of CPU than the one exporting.
    multilingual_model_dir, multilingual_checkpoint, multilingual_config_dir
                a second model the worker holds beside the configured one: detoxify's
                ``multilingual`` (XLM-RoBERTa), as a model kit or as checkpoint + config. Sites
                that enable it (``moderation.languages.multilingual``) have comments in its
                languages scored by it, English still by the configured model. Loaded with the
                same backend, threads and cache; when it cannot load, those comments follow the
                site's ``languages.other`` rule and the worker says so.
    """

    backend: Literal["detoxify", "onnx"] = DEFAULT_BACKEND
    variant: str = "original"
    model_dir: str | None = None
    checkpoint: str | None = None
    config_dir: str | None = None
    missing_model: Literal["stop", "fallback"] = "stop"
    checkpoint_url: str = DEFAULT_CHECKPOINT_URL
    hub_url: str = DEFAULT_HUB_URL
    device: str = "cpu"
    cache_dir: str = msgspec.field(default_factory=default_cache_dir)
    threads: int = 1
    batch_size: int = 32
    fail_closed: bool = True
    long_text: Literal["split", "truncate"] = "split"
    max_chunks: int = 8
    int8_weights: Literal["auto", "int8", "uint8"] = "auto"
    multilingual_model_dir: str | None = None
    multilingual_checkpoint: str | None = None
    multilingual_config_dir: str | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"toxicity backend must be one of {BACKENDS}, not {self.backend!r}")
        if self.variant not in VARIANTS:
            raise ValueError(f"toxicity variant must be one of {VARIANTS}, not {self.variant!r}")
        if self.long_text not in LONG_TEXT_MODES:
            raise ValueError(f"toxicity long_text must be one of {LONG_TEXT_MODES}")
        if self.threads < 0 or self.batch_size < 1 or self.max_chunks < 1:
            raise ValueError("toxicity threads must be >= 0, batch_size and max_chunks >= 1")
        if self.int8_weights not in INT8_WEIGHT_CHOICES:
            raise ValueError(f"toxicity int8_weights must be one of {INT8_WEIGHT_CHOICES}")
        if self.missing_model not in MISSING_MODEL_MODES:
            raise ValueError(f"toxicity missing_model must be one of {MISSING_MODEL_MODES}")
        if self.multilingual_model_dir and (self.multilingual_checkpoint or self.multilingual_config_dir):
            raise ValueError("toxicity multilingual_model_dir is not combinable with multilingual_checkpoint "
                             "or multilingual_config_dir")

    def multilingual_settings(self) -> ToxicitySettings | None:
        """How to load the second, multilingual model; None without one, or when the configured
        model is the multilingual one already."""
        if self.variant == "multilingual" or not (self.multilingual_model_dir or self.multilingual_checkpoint):
            return None
        return msgspec.structs.replace(
            self, variant="multilingual", model_dir=self.multilingual_model_dir,
            checkpoint=self.multilingual_checkpoint, config_dir=self.multilingual_config_dir,
            multilingual_model_dir=None, multilingual_checkpoint=None, multilingual_config_dir=None)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ToxicitySettings:
        """Read ``COMMENTS_TOXICITY_*``; a bad value raises ValueError naming the variable.

        Paths are not checked here: the worker checks them when it starts
        (``model_kit.check_model_files``) and stops, or with ``missing_model="fallback"`` starts
        on the fallback scorer; a model that goes missing later is survived the same way."""
        env = os.environ if env is None else env
        kwargs: dict[str, object] = {}

        def get(name: str) -> str | None:
            raw = env.get(ENV_PREFIX + name)
            if raw is None or raw.strip() == "":
                return None
            return raw.strip()

        def bad(name: str, raw: str, expected: str) -> ValueError:
            return ValueError(f"{ENV_PREFIX}{name}={raw!r}: expected {expected}")

        if (raw := get("BACKEND")) is not None:
            if raw.lower() not in BACKENDS:
                raise bad("BACKEND", raw, " or ".join(BACKENDS))
            kwargs["backend"] = raw.lower()
        if (raw := get("VARIANT")) is not None:
            if raw.lower() not in VARIANTS:
                raise bad("VARIANT", raw, "one of " + ", ".join(VARIANTS))
            kwargs["variant"] = raw.lower()
        if (raw := get("CHECKPOINT")) is not None:
            kwargs["checkpoint"] = raw
        if (raw := get("CONFIG_DIR")) is not None:
            kwargs["config_dir"] = raw
        if (raw := get("MODEL_DIR")) is not None:
            if "checkpoint" in kwargs or "config_dir" in kwargs:
                # two sources for the same files: refuse rather than guess which one wins
                raise bad("MODEL_DIR", raw, "no COMMENTS_TOXICITY_CHECKPOINT or _CONFIG_DIR beside it "
                          "(the model dir's model.json names its checkpoint and config)")
            kwargs["model_dir"] = raw
        for name, field in (("MULTILINGUAL_MODEL_DIR", "multilingual_model_dir"),
                            ("MULTILINGUAL_CHECKPOINT", "multilingual_checkpoint"),
                            ("MULTILINGUAL_CONFIG_DIR", "multilingual_config_dir")):
            if (raw := get(name)) is not None:
                kwargs[field] = raw
        if "multilingual_model_dir" in kwargs and ("multilingual_checkpoint" in kwargs
                                                   or "multilingual_config_dir" in kwargs):
            raise bad("MULTILINGUAL_MODEL_DIR", str(kwargs["multilingual_model_dir"]),
                      "no COMMENTS_TOXICITY_MULTILINGUAL_CHECKPOINT or _CONFIG_DIR beside it")
        if (raw := get("INT8_WEIGHTS")) is not None:
            if raw.lower() not in INT8_WEIGHT_CHOICES:
                raise bad("INT8_WEIGHTS", raw, " or ".join(INT8_WEIGHT_CHOICES))
            kwargs["int8_weights"] = raw.lower()
        if (raw := get("MISSING_MODEL")) is not None:
            if raw.lower() not in MISSING_MODEL_MODES:
                raise bad("MISSING_MODEL", raw, " or ".join(MISSING_MODEL_MODES))
            kwargs["missing_model"] = raw.lower()
        for name, field in (("CHECKPOINT_URL", "checkpoint_url"), ("HUB_URL", "hub_url")):
            if (raw := get(name)) is not None:
                if not raw.startswith(("http://", "https://")):
                    raise bad(name, raw, "an http:// or https:// URL")
                kwargs[field] = raw.rstrip("/")
        if (raw := get("DEVICE")) is not None:
            kwargs["device"] = raw
        if (raw := get("CACHE_DIR")) is not None:
            kwargs["cache_dir"] = raw
        for name, field, minimum in (("THREADS", "threads", 0), ("BATCH_SIZE", "batch_size", 1),
                                     ("MAX_CHUNKS", "max_chunks", 1)):
            if (raw := get(name)) is not None:
                try:
                    value = int(raw)
                except ValueError:
                    raise bad(name, raw, f"an integer >= {minimum}") from None
                if value < minimum:
                    raise bad(name, raw, f"an integer >= {minimum}")
                kwargs[field] = value
        if (raw := get("FAIL_CLOSED")) is not None:
            kwargs["fail_closed"] = _parse_bool(raw, ENV_PREFIX + "FAIL_CLOSED")
        if (raw := get("LONG_TEXT")) is not None:
            if raw.lower() not in LONG_TEXT_MODES:
                raise bad("LONG_TEXT", raw, " or ".join(LONG_TEXT_MODES))
            kwargs["long_text"] = raw.lower()
        return cls(**kwargs)  # type: ignore[arg-type]


def _parse_bool(raw: str, name: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={raw!r}: expected true or false")
