"""The Dockerfile's worker-with-model target and its build context, without a Docker engine: the
stages it declares, the model kit check its build runs (run here on kits made in a temp dir) and
what .dockerignore lets into the context."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import msgspec

from comments_service.toxicity.config import ToxicitySettings
from comments_service.toxicity.model_kit import resolve_model_dir
from comments_service.toxicity.onnx_cache import _export_dir
from comments_service.toxicity.onnx_export import META_FILE
from tests.deploy.manifests import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
CHECK = ROOT / "deploy" / "docker" / "check_model_kit.py"


def stages() -> dict[str, str]:
    """Stage name -> its text."""
    parts = re.split(r"^FROM ", DOCKERFILE, flags=re.M)[1:]
    return {re.match(r"\S+ AS (\S+)", part).group(1): part for part in parts}


def test_the_default_target_is_the_api_and_a_worker_target_carries_the_model_kit():
    found = stages()
    assert list(found)[-1] == "api" and found["api"].startswith("runtime AS api")
    assert 'CMD ["comments-service", "serve"]' in found["runtime"]
    assert found["model-kit"].startswith("scratch AS model-kit")  # replaced by --build-context
    worker = found["worker-with-model"]
    assert worker.startswith("runtime AS worker-with-model")
    destination = re.search(r"^COPY --from=model-kit / (\S+)$", worker, re.M).group(1)
    model_dir = re.search(r"COMMENTS_TOXICITY_MODEL_DIR=(\S+)", worker).group(1)
    assert destination.rstrip("/") == model_dir
    # outside /app/data, where a volume may be mounted over what the image holds
    assert not model_dir.startswith("/app/data")
    assert re.search(r"HF_HUB_OFFLINE=1", worker) and 'CMD ["comments-service", "worker"]' in worker
    assert f"check_model_kit.py {model_dir}" in worker and "deploy/docker/check_model_kit.py" in worker
    # the check runs as root (it writes the checkpoint's digest into the kit); the worker does not
    assert re.findall(r"^USER (\S+)$", worker, re.M)[-1] == "10001:10001"


def make_kit(root: Path, kinds=("int8", "uint8")) -> Path:
    """A model kit's files as `model fetch` and `model export` lay them out (a stand-in checkpoint:
    the build's check reads files, it never loads a model)."""
    kit = root / "kit"
    (kit / "config").mkdir(parents=True)
    checkpoint = kit / "toxic_original-c1212f89.ckpt"
    checkpoint.write_bytes(os.urandom(4096))
    (kit / "config" / "config.json").write_text(json.dumps({"model_type": "bert", "num_labels": 6}))
    (kit / "config" / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    (kit / "model.json").write_text(json.dumps({
        "format": 1, "variant": "original", "checkpoint": checkpoint.name, "config_dir": "config",
        "files": {checkpoint.name: {"bytes": 4096}}}))
    resolved = resolve_model_dir(ToxicitySettings(model_dir=str(kit)))
    for kind in kinds:
        settings = msgspec.structs.replace(resolved, int8_weights=kind)
        _, export_dir = _export_dir(settings, Path(settings.cache_dir), Path(settings.checkpoint))
        export_dir.mkdir(parents=True)
        (export_dir / META_FILE).write_text("{}")
    for path in [kit, *kit.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return kit


def check(kit: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK), str(kit), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_a_complete_kit_passes_the_build_check(tmp_path):
    result = check(make_kit(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "is complete" in result.stdout


def test_a_build_without_a_kit_fails_saying_how_to_give_one(tmp_path):
    result = check(tmp_path)  # the empty model-kit stage: nothing was copied
    assert result.returncode == 1
    assert "--build-context model-kit=DIR" in result.stderr and "model fetch" in result.stderr


def test_a_kit_without_the_export_for_either_kind_of_cpu_fails(tmp_path):
    kit = make_kit(tmp_path, kinds=("int8",))
    result = check(kit)
    assert result.returncode == 1 and "no ONNX export for uint8 weights" in result.stderr
    assert "model export" in result.stderr
    # a cluster whose CPUs are all of one kind may bake that one alone
    assert check(kit, "int8").returncode == 0


def test_a_kit_with_a_truncated_checkpoint_fails_naming_it(tmp_path):
    kit = make_kit(tmp_path)
    (kit / "toxic_original-c1212f89.ckpt").write_bytes(b"x" * 10)
    result = check(kit)
    assert result.returncode == 1 and "copied only in part" in result.stderr


def test_a_kit_the_images_user_cannot_read_fails(tmp_path):
    kit = make_kit(tmp_path)
    (kit / "config" / "vocab.txt").chmod(0o600)
    result = check(kit)
    assert result.returncode == 1 and "vocab.txt" in result.stderr and "chmod -R a+rX" in result.stderr


def dockerignore_allows(path: str) -> bool:
    """Docker's rule: the last pattern that matches the path (or a folder above it) decides."""
    allowed = True
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(fnmatch.fnmatchcase(p, pattern) or (pattern.startswith("**/")
               and fnmatch.fnmatchcase(p.rsplit("/", 1)[-1], pattern[3:])) for p in prefixes):
            allowed = negate
    return allowed


def test_the_build_context_holds_what_the_dockerfile_uses_and_nothing_local():
    used = []
    for line in DOCKERFILE.splitlines():
        if match := re.match(r"^COPY\s+(?!--from)(.+)\s+\S+$", line.strip()):
            used += match.group(1).split()
        used += re.findall(r"type=bind,source=([^,\s]+)", line)
    assert "deploy/docker/check_model_kit.py" in used
    for path in used:
        assert (ROOT / path).exists(), path
        probe = path if (ROOT / path).is_file() else f"{path.rstrip('/')}/__init__.py"
        assert dockerignore_allows(probe), f"{path} is used by the Dockerfile but .dockerignore leaves it out"
    for path in (".venv/bin/python", ".data/secret_key", ".git/config", "test-artifacts/x.png", "tests/conftest.py",
                 "comments_service/__pycache__/app.cpython-311.pyc", "deploy/compose.yaml"):
        assert not dockerignore_allows(path), path
