"""The model kit: one self-contained folder per model, made and checked by `comments-service model`.

``model fetch`` puts a detoxify checkpoint and the Hugging Face config and tokenizer files of its
architecture into one folder (downloaded, or copied from files the operator brings with
``--from``), ``model export`` builds the ONNX int8 export into it, and ``model verify`` scores a
few known texts with both runtimes and reports how well they agree. A worker started with
``COMMENTS_TOXICITY_MODEL_DIR`` pointing at the folder loads everything from it and needs no
network. Layout::

    MODEL_DIR/model.json                    the manifest (written last: no manifest, no model)
    MODEL_DIR/toxic_original-c1212f89.ckpt  the checkpoint (detoxify's release file name)
    MODEL_DIR/config/                       config.json (num_labels set from the checkpoint),
                                            tokenizer files (model_max_length at most 512)
    MODEL_DIR/onnx/<variant>-<key>/         the int8 export (onnx_cache's layout)

Nothing here imports torch except reading a checkpoint in ``fetch`` and the runtimes ``verify``
compares; the worker's path (``resolve_model_dir``, ``check_model_files``) reads JSON only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from .base import CLASS_RENAMES, MAX_TOKENS, ModelUnavailable
from .config import VARIANTS, ToxicitySettings

MANIFEST = "model.json"
CONFIG_SUBDIR = "config"
EXPORT_SUBDIR = "onnx"
MANIFEST_FORMAT = 1


class Release(NamedTuple):
    path: str  # under the checkpoint URL (detoxify 0.5.4's MODEL_URLS)
    approx_mib: int  # fp32 weights: 4 bytes per parameter of the architecture


RELEASES = {
    "original": Release("v0.1-alpha/toxic_original-c1212f89.ckpt", 420),  # BERT-base, 110M
    "unbiased": Release("v0.3-alpha/toxic_debiased-c7548aa0.ckpt", 480),  # RoBERTa-base, 125M
    "multilingual": Release("v0.4-alpha/multilingual_debiased-0b549669.ckpt", 1060),  # XLM-R base, 278M
    "original-small": Release("v0.1.2/original-albert-0e1d6498.ckpt", 45),  # ALBERT-base-v2, 12M
    "unbiased-small": Release("v0.1.2/unbiased-albert-c8519128.ckpt", 45),
}
# The checkpoints name their architecture by its old hub alias (``arch.args.model_type``); the
# hub serves the files under the organisation's name.
HUB_REPOS = {
    "bert-base-uncased": "google-bert/bert-base-uncased",
    "roberta-base": "FacebookAI/roberta-base",
    "xlm-roberta-base": "FacebookAI/xlm-roberta-base",
    "albert-base-v2": "albert/albert-base-v2",
}
REQUIRED_HUB_FILES = ("config.json",)
# every architecture's tokenizer is in tokenizer.json; the others are what the slow tokenizers of
# BERT (vocab.txt), RoBERTa (vocab.json, merges.txt), ALBERT (spiece.model) and XLM-R
# (sentencepiece.bpe.model) read. Each repository has some of them: a missing one is skipped.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                   "vocab.json", "merges.txt", "spiece.model", "sentencepiece.bpe.model")
DOWNLOAD_TIMEOUT_SECONDS = 60.0

# Known texts for `model verify`: civil comments about violent news (must score low) and abuse of
# the kinds a news site sees (must score high).
VERIFY_TEXTS = (
    "The minister said the ceasefire would hold until the talks resume next week.",
    "Three civilians were killed in the bombing of the market, according to local officials.",
    "Terrorists linked to ISIS claimed the attack on the border post.",
    "Great reporting, thank you for covering the flooding in the valley.",
    "You are a complete idiot and everyone here hates you.",
    "Shut up you stupid moron, nobody asked you.",
    "I know where you live and I am coming for you.",
    "this is total shit written by clowns",
)
DEFAULT_TOLERANCE = 0.05  # most |detoxify - onnx| per label accepted by `model verify`


class ModelKitError(Exception):
    """A fetch, export or verify that cannot be done; the message says why and what to do."""


Say = Callable[[str], None]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the worker's side (no torch)
def read_manifest(model_dir: str | Path) -> dict[str, Any]:
    path = Path(model_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelUnavailable(f"COMMENTS_TOXICITY_MODEL_DIR={model_dir}: no {MANIFEST} (make it with "
                               "`comments-service model fetch`)") from None
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"COMMENTS_TOXICITY_MODEL_DIR={model_dir}: cannot read {MANIFEST}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("variant") not in VARIANTS \
            or not isinstance(manifest.get("checkpoint"), str) or not isinstance(manifest.get("config_dir"), str):
        raise ModelUnavailable(f"COMMENTS_TOXICITY_MODEL_DIR={model_dir}: {MANIFEST} is not a model manifest")
    return manifest


def resolve_model_dir(settings: ToxicitySettings) -> ToxicitySettings:
    """Settings whose checkpoint, config_dir, variant and cache_dir come from ``model_dir``'s
    manifest (unchanged without a model_dir). Raises ModelUnavailable when it cannot be read."""
    if not settings.model_dir:
        return settings
    root = Path(settings.model_dir).expanduser()
    manifest = read_manifest(root)
    return msgspec.structs.replace(
        settings, model_dir=None, variant=manifest["variant"], checkpoint=str(root / manifest["checkpoint"]),
        config_dir=str(root / manifest["config_dir"]), cache_dir=str(root / EXPORT_SUBDIR))


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file, or None."""
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except FileNotFoundError:
        return "no such file"
    except IsADirectoryError:
        return "a directory, not a file"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return None


def check_model_files(settings: ToxicitySettings) -> str | None:
    """What is wrong with the model files the settings name explicitly (model_dir, checkpoint,
    config_dir), naming the variable; None when they are there and readable, or none are named
    (the variant is then downloaded where the network allows)."""
    if settings.model_dir:
        try:
            resolved = resolve_model_dir(settings)
        except ModelUnavailable as exc:
            return str(exc)
        assert resolved.checkpoint and resolved.config_dir
        if (why := _unreadable(Path(resolved.checkpoint))) is not None:
            return f"COMMENTS_TOXICITY_MODEL_DIR={settings.model_dir}: its checkpoint {resolved.checkpoint}: {why}"
        config = Path(resolved.config_dir) / "config.json"
        if (why := _unreadable(config)) is not None:
            return f"COMMENTS_TOXICITY_MODEL_DIR={settings.model_dir}: {config}: {why}"
        manifest = read_manifest(settings.model_dir)
        recorded = manifest.get("files", {}).get(manifest["checkpoint"], {}).get("bytes")
        size = Path(resolved.checkpoint).stat().st_size
        if recorded is not None and size != recorded:
            return (f"COMMENTS_TOXICITY_MODEL_DIR={settings.model_dir}: its checkpoint is {size} bytes, "
                    f"{MANIFEST} says {recorded} (copied only in part?)")
        return None
    if settings.checkpoint and (why := _unreadable(Path(settings.checkpoint))) is not None:
        return f"COMMENTS_TOXICITY_CHECKPOINT={settings.checkpoint}: {why}"
    if settings.config_dir:
        config = Path(settings.config_dir) / "config.json"
        if (why := _unreadable(config)) is not None:
            return f"COMMENTS_TOXICITY_CONFIG_DIR={settings.config_dir}: {config.name}: {why}"
    return None


# ---------------------------------------------------------------- fetch
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, target: Path, say: Say, *, optional: bool = False) -> bool:
    """Stream ``url`` into ``target``; False when optional and the server has no such file."""
    request = urllib.request.Request(url, headers={"User-Agent": "comments-service model fetch"})
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response, \
                open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done, shown = 0, 0
            while block := response.read(1 << 20):
                out.write(block)
                done += len(block)
                if total > 50 << 20 and done - shown >= total // 10:
                    shown = done
                    say(f"  {target.name}: {done >> 20} of {total >> 20} MiB")
    except urllib.error.HTTPError as exc:
        partial.unlink(missing_ok=True)
        if optional and exc.code == 404:
            return False
        raise ModelKitError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise ModelKitError(f"cannot download {url}: {reason} (no network here? bring the files with "
                            "`model fetch --from DIR`, or set COMMENTS_TOXICITY_CHECKPOINT_URL / "
                            "COMMENTS_TOXICITY_HUB_URL to a mirror)") from None
    os.replace(partial, target)
    return True


def inspect_checkpoint(path: Path) -> dict[str, Any]:
    """The facts of a detoxify checkpoint: model_type (hub alias), model and tokenizer class
    names, labels (what predict() reports) and outputs (the classifier's, labels first).
    Unpickles the file (trusted files only, as detoxify itself does)."""
    import torch

    try:
        loaded = torch.load(str(path), map_location="cpu", weights_only=False)
        args = dict(loaded["config"]["arch"]["args"])
        classes = list(loaded["config"]["dataset"]["args"]["classes"])
        loaded["state_dict"]
    except (KeyError, TypeError) as exc:
        raise ModelKitError(f"{path} is not a detoxify checkpoint (needs config.arch.args, "
                            f"config.dataset.args.classes and state_dict; missing {exc})") from None
    except Exception as exc:
        raise ModelKitError(f"cannot read the checkpoint {path}: {exc!r}") from None
    labels = [CLASS_RENAMES.get(c, c) for c in classes]
    # the multilingual and unbiased checkpoints have 16 outputs: their labels, then the identity
    # classes they were trained on (dataset.args.identity_classes), which predict() leaves out
    identities = list(loaded["config"]["dataset"]["args"].get("identity_classes") or [])
    try:
        num_classes = int(args.get("num_classes") or len(labels))
    except (TypeError, ValueError):
        num_classes = len(labels)
    outputs = (labels + identities + [f"LABEL_{i}" for i in range(len(labels) + len(identities), num_classes)])
    return {"model_type": str(args.get("model_type")), "model_name": str(args.get("model_name")),
            "tokenizer_name": str(args.get("tokenizer_name")), "labels": labels,
            "outputs": outputs[:max(num_classes, len(labels))]}


def _find_local_checkpoint(source: Path, name: str) -> Path:
    if (source / name).is_file():
        return source / name
    found = sorted(source.glob("*.ckpt"))
    if len(found) == 1:
        return found[0]
    raise ModelKitError(f"--from {source}: expected the checkpoint {name} (or exactly one *.ckpt file) there, "
                        f"found {[p.name for p in found] or 'none'}")


def _find_local_config(source: Path, model_type: str) -> Path:
    candidates = [source / CONFIG_SUBDIR, source / model_type, source / model_type.rsplit("/", 1)[-1], source]
    for folder in candidates:
        if (folder / "config.json").is_file():
            return folder
    raise ModelKitError(f"--from {source}: no config.json for {model_type} in "
                        + ", ".join(str(c) for c in dict.fromkeys(candidates)))


def _patch_config(config_dir: Path, labels: list[str]) -> None:
    """The hub's config.json describes the base model (2 labels): detoxify builds the classifier
    from it, so it must name the checkpoint's outputs (``inspect_checkpoint``'s "outputs": more
    than its labels for the multilingual and unbiased ones). A tokenizer without model_max_length
    would let a long comment crash predict() instead of being truncated."""
    path = config_dir / "config.json"
    try:
        config = json.loads(path.read_text())
    except ValueError as exc:
        raise ModelKitError(f"{path} is not JSON: {exc}") from None
    config["id2label"] = {str(i): label for i, label in enumerate(labels)}
    config["label2id"] = {label: i for i, label in enumerate(labels)}
    config["num_labels"] = len(labels)
    path.write_text(json.dumps(config, indent=2))
    tok_path = config_dir / "tokenizer_config.json"
    tok = json.loads(tok_path.read_text()) if tok_path.is_file() else {}
    limit = min(MAX_TOKENS, int(config.get("max_position_embeddings") or MAX_TOKENS))
    if not tok.get("model_max_length") or int(tok["model_max_length"]) > limit:
        tok["model_max_length"] = limit
        tok_path.write_text(json.dumps(tok, indent=2))


def _file_facts(root: Path, rel: str, origin: str) -> dict[str, Any]:
    path = root / rel
    return {"bytes": path.stat().st_size, "sha256": _sha256(path), "from": origin}


def fetch(variant: str, target: str | Path, *, source: str | Path | None = None,
          checkpoint_url: str | None = None, hub_url: str | None = None, force: bool = False,
          say: Say = _say) -> dict[str, Any]:
    """Make ``target`` a model dir for ``variant``: the checkpoint and its architecture's hub
    files, downloaded (or copied from ``source``), checked, and the manifest written last.
    Returns the manifest."""
    if variant not in RELEASES:
        raise ModelKitError(f"unknown variant {variant!r}: one of {', '.join(RELEASES)}")
    defaults = ToxicitySettings()
    checkpoint_url = (checkpoint_url or defaults.checkpoint_url).rstrip("/")
    hub_url = (hub_url or defaults.hub_url).rstrip("/")
    root = Path(target).expanduser()
    release = RELEASES[variant]
    name = release.path.rsplit("/", 1)[-1]
    if not force and _complete(root, variant):
        say(f"{root} already holds the {variant} model (model fetch --force fetches it again)")
        return read_manifest(root)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".fetch-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / CONFIG_SUBDIR).mkdir(parents=True)
    src = Path(source).expanduser() if source is not None else None
    try:
        origin: dict[str, str] = {}
        if src is not None:
            ckpt_src = _find_local_checkpoint(src, name)
            say(f"copying {ckpt_src}")
            shutil.copyfile(ckpt_src, staging / name)
            origin[name] = str(ckpt_src)
        else:
            url = f"{checkpoint_url}/{release.path}"
            say(f"downloading {url} (about {release.approx_mib} MiB)")
            _download(url, staging / name, say)
            origin[name] = url
        facts = inspect_checkpoint(staging / name)
        model_type = facts["model_type"]
        if src is not None:
            config_src = _find_local_config(src, model_type)
            for item in sorted(config_src.iterdir()):
                if item.is_file() and item.name in REQUIRED_HUB_FILES + TOKENIZER_FILES:
                    shutil.copyfile(item, staging / CONFIG_SUBDIR / item.name)
                    origin[f"{CONFIG_SUBDIR}/{item.name}"] = str(item)
        else:
            repo = HUB_REPOS.get(model_type)
            if repo is None:
                raise ModelKitError(f"the checkpoint's architecture {model_type!r} is not one detoxify "
                                    f"releases ({', '.join(HUB_REPOS)}); bring its files with --from DIR")
            for file in REQUIRED_HUB_FILES + TOKENIZER_FILES:
                url = f"{hub_url}/{repo}/resolve/main/{file}"
                if _download(url, staging / CONFIG_SUBDIR / file, say, optional=file not in REQUIRED_HUB_FILES):
                    say(f"downloaded {url}")
                    origin[f"{CONFIG_SUBDIR}/{file}"] = url
        vocabularies = [f for f in TOKENIZER_FILES if f not in ("tokenizer_config.json", "special_tokens_map.json")]
        if not any((staging / CONFIG_SUBDIR / f).is_file() for f in vocabularies):
            raise ModelKitError(f"no tokenizer files for {model_type} (one of {', '.join(vocabularies)})")
        _patch_config(staging / CONFIG_SUBDIR, facts["outputs"])
        manifest = {
            "format": MANIFEST_FORMAT, "variant": variant, "checkpoint": name, "config_dir": CONFIG_SUBDIR,
            "model_type": model_type, "model_name": facts["model_name"], "tokenizer_name": facts["tokenizer_name"],
            "labels": facts["labels"], "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": {rel: _file_facts(staging, rel, where) for rel, where in sorted(origin.items())},
        }
        if (staging / CONFIG_SUBDIR / "tokenizer_config.json").is_file():
            manifest["files"].setdefault(f"{CONFIG_SUBDIR}/tokenizer_config.json",
                                         _file_facts(staging, f"{CONFIG_SUBDIR}/tokenizer_config.json", "written"))
        # a model dir being replaced has no manifest until every file is in place
        (root / MANIFEST).unlink(missing_ok=True)
        os.replace(staging / name, root / name)
        old_config = root / f".old-config-{os.getpid()}"
        if (root / CONFIG_SUBDIR).exists():
            os.replace(root / CONFIG_SUBDIR, old_config)
        os.replace(staging / CONFIG_SUBDIR, root / CONFIG_SUBDIR)
        shutil.rmtree(old_config, ignore_errors=True)
        partial = root / (MANIFEST + ".part")
        partial.write_text(json.dumps(manifest, indent=2))
        os.replace(partial, root / MANIFEST)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    size = sum(f["bytes"] for f in manifest["files"].values())
    say(f"{root}: {variant} ({model_type}, labels {', '.join(facts['labels'])}), {size / 2**20:.1f} MiB")
    return manifest


def _complete(root: Path, variant: str) -> bool:
    """The dir already holds this variant, every file at its recorded size."""
    try:
        manifest = read_manifest(root)
    except ModelUnavailable:
        return False
    return manifest["variant"] == variant and all(
        (root / rel).is_file() and (root / rel).stat().st_size == facts["bytes"]
        for rel, facts in manifest.get("files", {}).items())


# ---------------------------------------------------------------- export and verify
def model_dir_settings(settings: ToxicitySettings, model_dir: str | Path, backend: str) -> ToxicitySettings:
    """The settings that load ``model_dir`` with ``backend``, everything else as configured."""
    base = msgspec.structs.replace(settings, model_dir=str(model_dir), checkpoint=None, config_dir=None,
                                   backend=backend)
    try:
        return resolve_model_dir(base)
    except ModelUnavailable as exc:
        raise ModelKitError(str(exc)) from None


def export(settings: ToxicitySettings, model_dir: str | Path, say: Say = _say) -> Path:
    """Build (or find) the ONNX exports of ``model_dir``'s checkpoint inside it, one per weight
    type (``int8_weights``: int8 for CPUs with VNNI, uint8 for the others), so that a worker on
    either kind of CPU finds its own without torch or a writable folder. Unless
    COMMENTS_TOXICITY_INT8_WEIGHTS names one type: then only that one. Returns the folder of the
    export this machine would load. Each export runs in a child process, exactly as a worker's
    first start would."""
    from .int8_weights import INT8, UINT8, weight_type
    from .onnx_cache import cached_export

    resolved = model_dir_settings(settings, model_dir, "onnx")
    if (problem := check_model_files(msgspec.structs.replace(settings, model_dir=str(model_dir)))) is not None:
        raise ModelKitError(problem)
    kinds = (INT8, UINT8) if settings.int8_weights == "auto" else (settings.int8_weights,)
    mine = weight_type(resolved)
    here: Path | None = None
    for kind in kinds:
        try:
            built = cached_export(msgspec.structs.replace(resolved, int8_weights=kind))
        except (ModelUnavailable, OSError) as exc:
            raise ModelKitError(f"the ONNX export ({kind} weights) failed: {exc}") from None
        size = sum(p.stat().st_size for p in built.export_dir.iterdir() if p.is_file())
        cpus = "CPUs with VNNI" if kind == INT8 else "CPUs without VNNI"
        say(f"{built.export_dir}: {kind} weights for {cpus}, "
            f"{'already built' if built.source == 'onnx-cache' else 'built'}, {size / 2**20:.1f} MiB")
        if kind == mine:
            here = built.export_dir
    return here if here is not None else built.export_dir


def verify(settings: ToxicitySettings, model_dir: str | Path, tolerance: float = DEFAULT_TOLERANCE,
           out: Say = print) -> bool:
    """Score VERIFY_TEXTS with the detoxify backend (the reference) and the ONNX export and print
    how far apart they are; True when every label agrees within ``tolerance``."""
    from .detoxify_backend import DetoxifyScorer
    from .onnx_backend import OnnxScorer
    from .onnx_cache import find_export

    reference_settings = model_dir_settings(settings, model_dir, "detoxify")
    onnx_settings = model_dir_settings(settings, model_dir, "onnx")
    if find_export(onnx_settings) is None:
        raise ModelKitError(f"{model_dir} has no ONNX export of its checkpoint (for this export recipe): "
                            "run `comments-service model export` first")
    try:
        reference = DetoxifyScorer(reference_settings)
        onnx = OnnxScorer(onnx_settings)
    except ModelUnavailable as exc:
        raise ModelKitError(f"cannot load {model_dir}: {exc}") from None
    texts = list(VERIFY_TEXTS)
    expected, got = reference.score_batch(texts), onnx.score_batch(texts)
    labels = [label for label in reference.labels if label in onnx.labels]
    first = labels[0]
    out(f"{model_dir}: {reference.model_id} (detoxify) against {onnx.model_id} (onnx int8)")
    out(f"{'text':<52} {'detoxify':>9} {'onnx':>7} {'max |d|':>8}   ({first}; max over {len(labels)} labels)")
    worst, same = 0.0, 0
    for text, a, b in zip(texts, expected, got, strict=True):
        diff = max(abs(a[label] - b[label]) for label in labels)
        worst = max(worst, diff)
        same += (a[first] >= 0.5) == (b[first] >= 0.5)
        shown = text if len(text) <= 50 else text[:47] + "..."
        out(f"{shown:<52} {a[first]:>9.3f} {b[first]:>7.3f} {diff:>8.4f}")
    ok = worst <= tolerance
    out(f"agreement: max |detoxify - onnx| {worst:.4f} (tolerance {tolerance:g}); same side of 0.5 on "
        f"{same} of {len(texts)} texts: {'OK' if ok else 'FAILED'}")
    return ok


# ---------------------------------------------------------------- the CLI's `model` commands
def add_arguments(model: argparse._SubParsersAction, default: Callable[[argparse.Namespace], int]) -> None:
    """The `model fetch|export|verify` sub-commands (``default`` runs them)."""
    dir_help = "the model dir (default: COMMENTS_TOXICITY_MODEL_DIR)"
    fetch_cmd = model.add_parser("fetch", help="download detoxify's checkpoint and its config/tokenizer files "
                                              "into one dir (or copy the files you bring with --from)")
    fetch_cmd.add_argument("--variant", choices=list(RELEASES), help="default: COMMENTS_TOXICITY_VARIANT")
    fetch_cmd.add_argument("--dir", help=dir_help)
    fetch_cmd.add_argument("--from", dest="source", metavar="DIR",
                           help="no download: take the checkpoint (*.ckpt) and config.json + tokenizer files "
                                "from DIR (or DIR/config)")
    fetch_cmd.add_argument("--checkpoint-url", help="default: COMMENTS_TOXICITY_CHECKPOINT_URL")
    fetch_cmd.add_argument("--hub-url", help="default: COMMENTS_TOXICITY_HUB_URL")
    fetch_cmd.add_argument("--force", action="store_true", help="fetch again even if the dir holds the model")
    fetch_cmd.set_defaults(func=default, model_command="fetch")
    export_cmd = model.add_parser(
        "export", help="build the ONNX int8 exports inside the model dir (for CPUs with VNNI and without)")
    export_cmd.add_argument("--dir", help=dir_help)
    export_cmd.set_defaults(func=default, model_command="export")
    verify_cmd = model.add_parser("verify", help="score known texts with detoxify and the ONNX export; "
                                                "report their agreement (exit 1 beyond the tolerance)")
    verify_cmd.add_argument("--dir", help=dir_help)
    verify_cmd.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                            help=f"most |detoxify - onnx| per label (default {DEFAULT_TOLERANCE})")
    verify_cmd.set_defaults(func=default, model_command="verify")


def _offline() -> None:
    """The Hugging Face libraries may not reach the network from here on: a model dir that is not
    self-contained fails export and verify here, not later on an air-gapped worker."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def run_command(args: argparse.Namespace, settings: ToxicitySettings) -> int:
    model_dir = args.dir or settings.model_dir
    if not model_dir:
        print("comments-service model: give --dir DIR or set COMMENTS_TOXICITY_MODEL_DIR", file=sys.stderr)
        return 2
    try:
        if args.model_command == "fetch":
            manifest = fetch(args.variant or settings.variant, model_dir, source=args.source,
                             checkpoint_url=args.checkpoint_url or settings.checkpoint_url,
                             hub_url=args.hub_url or settings.hub_url, force=args.force)
            print(f"{model_dir}: {manifest['variant']} ready; next: comments-service model export --dir {model_dir}")
            return 0
        _offline()
        if args.model_command == "export":
            export_dir = export(settings, model_dir)
            print(f"{export_dir}: ready; next: comments-service model verify --dir {model_dir}")
            return 0
        return 0 if verify(settings, model_dir, args.tolerance) else 1
    except ModelKitError as exc:
        print(f"comments-service model {args.model_command}: {exc}", file=sys.stderr)
        return 1
