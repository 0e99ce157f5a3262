"""Where ONNX exports live and how the worker gets one: found in the cache, or built by the export
child (``onnx_export``) and renamed into place.

Everything lands in ``<cache_dir>/<variant>-<key>/`` where key hashes the checkpoint file, the
config dir and the export recipe; the child writes it to a temporary folder that the worker
renames into place, so concurrent workers never see half an export. A child that fails, is killed
or runs past EXPORT_TIMEOUT_SECONDS raises ModelUnavailable with the end of its output, which the
worker's log also gets line by line. Nothing here imports torch or detoxify: a worker serving a
cached export never does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

import msgspec

from ..domain.structs import Struct
from . import int8_weights
from .base import ModelUnavailable, dir_sha256, file_sha256
from .config import ToxicitySettings
from .onnx_export import EXPORT_RECIPE, META_FILE, PARENT_ENV

log = logging.getLogger(__name__)

# The export child: BERT-base takes ~25 s on two idle cores; generous for a busy, slow machine.
EXPORT_TIMEOUT_SECONDS = 1800.0
# A child that failed is not started again for the same files (checkpoint, config dir, torch hub
# download) for this long: the worker retries an unavailable model with backoff, and each child
# imports torch and detoxify (seconds of CPU, hundreds of MB) only to fail the same way. Changed
# files (the operator copied the checkpoint in) start a new child at the next retry.
FAILED_EXPORT_MEMO_SECONDS = 3600.0
EXPORT_MODULE = "comments_service.toxicity.onnx_export"
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


class ModelFilesUnavailable(ModelUnavailable):
    """The checkpoint or its config could not be found, downloaded or read: the detoxify backend
    needs the same files, so standing in for the onnx backend with it cannot work."""


class _Failure(Struct, frozen=True):
    inputs: str
    at: float
    error: str
    files: bool  # a ModelFilesUnavailable


# the last failed export child per settings, in this process (the worker's retries)
_failures: dict[bytes, _Failure] = {}
_failures_lock = threading.Lock()


def _stat(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return f"{path}:absent"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def _inputs_fingerprint(settings: ToxicitySettings) -> str:
    """What a new export child would read: the checkpoint (or the variant's torch hub download)
    and the config dir's files, by size and mtime (no hashing on every retry)."""
    ckpt = Path(settings.checkpoint) if settings.checkpoint else (
        torch_hub_dir() / "checkpoints" / DETOXIFY_CHECKPOINT_FILES[settings.variant])
    parts = [_stat(ckpt)]
    if settings.config_dir:
        config = Path(settings.config_dir)
        try:
            parts += [_stat(item) for item in sorted(config.iterdir())]
        except OSError:
            parts.append(f"{config}:absent")
    return "|".join(parts)


def _earlier_failure(settings: ToxicitySettings) -> ModelUnavailable | None:
    key = msgspec.json.encode(settings)
    with _failures_lock:
        failure = _failures.get(key)
    if failure is None or time.monotonic() - failure.at > FAILED_EXPORT_MEMO_SECONDS:
        return None
    if failure.inputs != _inputs_fingerprint(settings):
        return None
    ago = time.monotonic() - failure.at
    cls = ModelFilesUnavailable if failure.files else ModelUnavailable
    return cls(f"{failure.error} (the export child failed {ago:.0f}s ago and its files have not changed "
               "since; not retried before they do or an hour has passed)")


def _remember_failure(settings: ToxicitySettings, inputs: str, exc: ModelUnavailable) -> None:
    failure = _Failure(inputs=inputs, at=time.monotonic(), error=str(exc),
                       files=isinstance(exc, ModelFilesUnavailable))
    with _failures_lock:
        _failures[msgspec.json.encode(settings)] = failure


def forget_failures() -> None:
    """Start the next export child regardless of earlier failures (tests, `model export`)."""
    with _failures_lock:
        _failures.clear()


class CachedExport(Struct, frozen=True):
    """An export in the cache, ready to load."""

    checkpoint: str
    checkpoint_sha256: str
    export_dir: Path
    source: str  # "onnx-cache" (found) or "onnx-export" (built by this call)


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


def export_key(checkpoint_sha: str, config_dir: str | None, weights: str) -> str:
    """The export's identity: its inputs, the recipe and the weight type (an export made for the
    other kind of CPU is never taken from a shared cache)."""
    digest = hashlib.sha256()
    digest.update(checkpoint_sha.encode())
    digest.update((dir_sha256(config_dir) if config_dir else "hub").encode())
    digest.update(EXPORT_RECIPE.encode())
    digest.update(weights.encode())
    return digest.hexdigest()


def _export_dir(settings: ToxicitySettings, cache_dir: Path, ckpt: Path) -> tuple[str, Path]:
    """The checkpoint's sha256 and the folder its export has in the cache."""
    sha = _cached_sha256(ckpt, cache_dir)
    key = export_key(sha, settings.config_dir, int8_weights.weight_type(settings))
    return sha, cache_dir / f"{settings.variant}-{key[:16]}"


def cached_export(settings: ToxicitySettings) -> CachedExport:
    """The configured checkpoint's export: found in the cache, or built now by a child process and
    renamed into place. Raises ModelUnavailable when neither works."""
    cache_dir = Path(settings.cache_dir).expanduser()
    ckpt = _checkpoint_path(settings)  # None: not downloaded yet, the export child fetches it
    if ckpt is not None and not ckpt.is_file():
        raise ModelFilesUnavailable(f"checkpoint file not found: {ckpt}")
    if settings.config_dir and not (Path(settings.config_dir) / "config.json").is_file():
        raise ModelFilesUnavailable(f"config dir has no config.json: {settings.config_dir}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    sha, export_dir = _export_dir(settings, cache_dir, ckpt) if ckpt is not None else ("", None)
    if export_dir is not None and (export_dir / META_FILE).is_file():
        assert ckpt is not None
        return CachedExport(checkpoint=str(ckpt), checkpoint_sha256=sha, export_dir=export_dir, source="onnx-cache")
    if (earlier := _earlier_failure(settings)) is not None:
        raise earlier
    inputs = _inputs_fingerprint(settings)
    try:
        return _build(settings, cache_dir, ckpt, sha, export_dir)
    except ModelUnavailable as exc:
        _remember_failure(settings, inputs, exc)
        raise


def find_export(settings: ToxicitySettings) -> CachedExport | None:
    """The configured checkpoint's export if it is in the cache; never builds one."""
    ckpt = _checkpoint_path(settings)
    if ckpt is None or not ckpt.is_file():
        return None
    cache_dir = Path(settings.cache_dir).expanduser()
    sha, export_dir = _export_dir(settings, cache_dir, ckpt)
    if not (export_dir / META_FILE).is_file():
        return None
    return CachedExport(checkpoint=str(ckpt), checkpoint_sha256=sha, export_dir=export_dir, source="onnx-cache")


def _build(settings: ToxicitySettings, cache_dir: Path, ckpt: Path | None, sha: str,
           export_dir: Path | None) -> CachedExport:
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
            sha, export_dir = _export_dir(settings, cache_dir, ckpt)
        try:
            os.replace(built, export_dir)
        except OSError:  # another worker finished first: use its export
            if not (export_dir / META_FILE).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    assert ckpt is not None and export_dir is not None
    log.info("exported %s to %s", ckpt, export_dir)
    return CachedExport(checkpoint=str(ckpt), checkpoint_sha256=sha, export_dir=export_dir, source="onnx-export")


def export_command(settings: ToxicitySettings, target: Path) -> list[str]:
    """The export child's command line (tests replace it with one that fails)."""
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
    if last.startswith(_CHILD_FILES_ERROR):
        # the child could not load the checkpoint (missing, undownloadable, unreadable)
        raise ModelFilesUnavailable(last[len(_CHILD_FILES_ERROR):])
    raise ModelUnavailable(f"ONNX export child {what}" + (f": {last}" if last else ""))


# how onnx_export's main() reports an expected failure to load the model: one line, no traceback
_CHILD_FILES_ERROR = "ModelUnavailable: "
