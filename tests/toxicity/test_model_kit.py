"""The model kit: `comments-service model fetch|export|verify`, a worker that needs no network with
COMMENTS_TOXICITY_MODEL_DIR, and a worker that stops on a model file that is not there.

The real files cannot be downloaded here: a local HTTP server stands in for detoxify's GitHub
releases and the Hugging Face hub, serving the tiny test checkpoint the way they serve the real
ones (tests/support/model_files.py)."""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from comments_service.toxicity import ToxicitySettings, load_scorer, onnx_cache
from comments_service.toxicity.model_kit import (
    HUB_REPOS,
    MANIFEST,
    RELEASES,
    ModelKitError,
    check_model_files,
    fetch,
    resolve_model_dir,
)
from tests.support.model_files import HUB_PREFIX, RELEASES_PREFIX, FileServer, network_guard, publish_like_upstream
from tests.support.scoring import wait_worker_ready, worker_env
from tests.support.seeding import clear_worker_status
from tests.support.servers import ServiceProcess

CLI = [sys.executable, "-m", "comments_service.cli"]
CKPT_NAME = RELEASES["original"].path.rsplit("/", 1)[-1]
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers there


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else dict(os.environ))


@pytest.fixture(scope="module")
def upstream(tiny_model, tmp_path_factory):
    """A local server laid out like detoxify's releases and the hub, serving the tiny model."""
    root = tmp_path_factory.mktemp("upstream")
    publish_like_upstream(root, tiny_model[0], tiny_model[1], RELEASES["original"].path,
                          HUB_REPOS["bert-base-uncased"])
    with FileServer(root) as server:
        yield server


@pytest.fixture(scope="module")
def fetched(tiny_model, tmp_path_factory) -> Path:
    """A model dir made from the files an operator brings (copy it before changing it)."""
    target = tmp_path_factory.mktemp("fetched") / "model"
    fetch("original", target, source=tiny_model[1].parent, checkpoint_url=UNREACHABLE, hub_url=UNREACHABLE,
          say=lambda line: None)
    return target


def copy_of(fetched: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(fetched, tmp_path / "model"))


def test_fetch_downloads_the_checkpoint_and_the_hub_files_into_one_dir(upstream, tmp_path):
    target = tmp_path / "model"
    res = run_cli("model", "fetch", "--variant", "original", "--dir", str(target),
                  "--checkpoint-url", f"{upstream.url}/{RELEASES_PREFIX}", "--hub-url", f"{upstream.url}/{HUB_PREFIX}")
    assert res.returncode == 0, res.stderr
    assert f"/{RELEASES_PREFIX}/{RELEASES['original'].path}" in upstream.requested
    hub = f"/{HUB_PREFIX}/{HUB_REPOS['bert-base-uncased']}/resolve/main/"
    assert {hub + f for f in ("config.json", "tokenizer.json", "vocab.txt")} <= set(upstream.requested)
    manifest = json.loads((target / MANIFEST).read_text())
    assert manifest["variant"] == "original" and manifest["checkpoint"] == CKPT_NAME
    assert manifest["model_type"] == "bert-base-uncased" and len(manifest["labels"]) == 6
    assert manifest["files"][CKPT_NAME]["from"].startswith(upstream.url)
    for rel, facts in manifest["files"].items():
        assert (target / rel).stat().st_size == facts["bytes"], rel
    # the hub's config describes the base model: the dir's names the checkpoint's six labels
    config = json.loads((target / "config" / "config.json").read_text())
    assert config["num_labels"] == 6 and config["id2label"]["0"] == "toxicity"
    assert json.loads((target / "config" / "tokenizer_config.json").read_text())["model_max_length"] == 512
    assert sorted(p.name for p in target.iterdir()) == sorted([MANIFEST, CKPT_NAME, "config"])  # no leftovers

    # the dir loads as a model, and a second fetch finds it complete
    scorer = load_scorer(ToxicitySettings(backend="detoxify", model_dir=str(target)))
    assert not scorer.is_fallback, scorer.fallback_reason
    asked = len(upstream.requested)
    assert run_cli("model", "fetch", "--dir", str(target), "--checkpoint-url", UNREACHABLE).returncode == 0
    assert len(upstream.requested) == asked


def test_fetch_unreachable_says_how_to_bring_the_files(tmp_path):
    res = run_cli("model", "fetch", "--dir", str(tmp_path / "model"), "--checkpoint-url", UNREACHABLE)
    assert res.returncode == 1
    assert "cannot download" in res.stderr and "--from DIR" in res.stderr, res.stderr
    assert not (tmp_path / "model" / MANIFEST).exists()
    assert [p.name for p in (tmp_path / "model").iterdir()] == []  # nothing half-written


def test_fetch_takes_the_files_the_operator_brings(fetched, tiny_model):
    manifest = json.loads((fetched / MANIFEST).read_text())
    assert manifest["files"][CKPT_NAME]["from"] == str(tiny_model[0])  # found as the only *.ckpt
    assert (fetched / CKPT_NAME).read_bytes() == tiny_model[0].read_bytes()
    assert {"config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json"} <= {
        p.name for p in (fetched / "config").iterdir()}


def test_fetch_from_a_dir_without_the_files_says_what_is_missing(tmp_path):
    (tmp_path / "bring").mkdir()
    with pytest.raises(ModelKitError, match=r"expected the checkpoint .*\.ckpt"):
        fetch("original", tmp_path / "model", source=tmp_path / "bring", say=lambda line: None)


def test_model_dir_sets_checkpoint_config_and_export_place(fetched):
    resolved = resolve_model_dir(ToxicitySettings(model_dir=str(fetched), variant="multilingual"))
    assert resolved.checkpoint == str(fetched / CKPT_NAME) and resolved.config_dir == str(fetched / "config")
    assert resolved.variant == "original" and resolved.cache_dir == str(fetched / "onnx")
    assert ToxicitySettings.from_env({"COMMENTS_TOXICITY_MODEL_DIR": str(fetched)}).model_dir == str(fetched)
    with pytest.raises(ValueError, match="COMMENTS_TOXICITY_MODEL_DIR"):
        ToxicitySettings.from_env({"COMMENTS_TOXICITY_MODEL_DIR": str(fetched),
                                   "COMMENTS_TOXICITY_CHECKPOINT": str(fetched / CKPT_NAME)})


def test_export_and_verify_report_agreement(fetched, tmp_path):
    model = copy_of(fetched, tmp_path)
    env = {**os.environ, "COMMENTS_TOXICITY_MODEL_DIR": str(model)}
    early = run_cli("model", "verify", env=env)
    assert early.returncode == 1 and "model export" in early.stderr, early.stderr
    built = run_cli("model", "export", env=env)
    assert built.returncode == 0, built.stderr[-3000:]
    exports = [p for p in (model / "onnx").iterdir() if p.name.startswith("original-")]
    # one export per kind of CPU (int8 weights saturate without VNNI): a worker on either finds its own
    assert sorted(json.loads((p / "meta.json").read_text())["weights"] for p in exports) == ["int8", "uint8"]
    assert all((p / "model.int8.onnx").is_file() for p in exports)
    qemu = shutil.which("qemu-x86_64")
    if qemu is not None and platform.machine() == "x86_64":
        code = ("from comments_service.toxicity import ToxicitySettings, load_scorer\n"
                "sc = load_scorer(ToxicitySettings.from_env())\n"
                "print(sc.source, sc.meta['weights'])\n")
        emulated = subprocess.run([qemu, "-cpu", "EPYC-Rome", sys.executable, "-c", code], env=env,
                                  capture_output=True, text=True, timeout=300)
        assert emulated.stdout.split() == ["onnx-cache", "uint8"], emulated.stderr[-3000:]
    checked = run_cli("model", "verify", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr[-3000:]
    assert "agreement: max |detoxify - onnx|" in checked.stdout and "OK" in checked.stdout
    assert "You are a complete idiot" in checked.stdout
    strict = run_cli("model", "verify", "--tolerance", "0", env=env)
    assert strict.returncode == 1 and "FAILED" in strict.stdout


@pytest.mark.parametrize("backend", ["onnx", "detoxify"])
def test_worker_with_a_model_dir_needs_no_network(fetched, tmp_path, backend):
    """Loading from a model dir (and, for onnx, the first start's export child) with the Hugging
    Face libraries free to go online: a guard in every process refuses and records any attempt."""
    model = copy_of(fetched, tmp_path)
    env, attempts = network_guard(tmp_path / "guard", {**os.environ, "COMMENTS_TOXICITY_MODEL_DIR": str(model),
                                                       "COMMENTS_TOXICITY_BACKEND": backend})
    code = ("import socket, sys\n"
            "from comments_service.toxicity import ToxicitySettings, load_scorer\n"
            "scorer = load_scorer(ToxicitySettings.from_env())\n"
            "assert not scorer.is_fallback, scorer.fallback_reason\n"
            "print(scorer.backend, scorer.source, scorer.score_batch(['hello there'])[0]['toxicity'])\n"
            "try:\n"  # the guard works: this attempt must be refused and recorded
            "    socket.getaddrinfo('huggingface.co', 443)\n"
            "except OSError:\n"
            "    pass\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split()[:2] == [backend, "onnx-export" if backend == "onnx" else "local"], res.stdout
    lines = attempts.read_text().splitlines()
    assert len(lines) == 1 and "huggingface.co" in lines[0], lines


async def test_worker_process_scores_from_a_model_dir_without_network(fetched, tmp_path, storage, db):
    """`comments-service worker` with only COMMENTS_TOXICITY_MODEL_DIR (no export yet: its first
    start builds it) loads the real model; nothing but PostgreSQL and Redis on 127.0.0.1 is reached."""
    model = copy_of(fetched, tmp_path)
    settings = worker_env(storage, "", "", COMMENTS_TOXICITY_MODEL_DIR=str(model), COMMENTS_TOXICITY_BACKEND="onnx")
    env, attempts = network_guard(tmp_path / "guard", settings)
    await clear_worker_status(db)
    worker = ServiceProcess(env, "worker", ready=None, log_path=tmp_path / "worker.log").start()
    try:
        status = await wait_worker_ready(db, worker, timeout=240)
        model_info = json.loads(status["model"]) if isinstance(status["model"], str) else status["model"]
        assert status["is_fallback"] is False, worker.logs()[-3000:]
        assert model_info["model_id"].startswith("onnx-int8-detoxify-original@"), model_info
        assert model_info["export_dir"].startswith(str(model / "onnx")), model_info
    finally:
        assert worker.stop() == 0, worker.logs()[-3000:]
    assert attempts.read_text() == "", attempts.read_text()


def test_missing_checkpoint_stops_the_worker_with_the_variable_named(tmp_path):
    env = {**os.environ, "COMMENTS_TOXICITY_CHECKPOINT": str(tmp_path / "typo.ckpt")}
    res = run_cli("worker", env=env, timeout=120)
    assert res.returncode == 2
    assert f"COMMENTS_TOXICITY_CHECKPOINT={tmp_path / 'typo.ckpt'}: no such file" in res.stderr, res.stderr
    assert "COMMENTS_TOXICITY_MISSING_MODEL=fallback" in res.stderr


@pytest.mark.parametrize("make", ["missing_dir", "unreadable_checkpoint", "truncated_checkpoint",
                                  "directory_checkpoint", "no_config"])
def test_unusable_model_files_are_named(fetched, tmp_path, make):
    model = copy_of(fetched, tmp_path)
    settings = ToxicitySettings(model_dir=str(model))
    if make == "missing_dir":
        settings = ToxicitySettings(model_dir=str(tmp_path / "nowhere"))
        expected = "no model.json"
    elif make == "unreadable_checkpoint":
        (model / CKPT_NAME).unlink()
        # a symlink to itself cannot be opened, even by root (who reads a file whatever its mode)
        (model / CKPT_NAME).symlink_to(model / CKPT_NAME)
        expected = "cannot be read"
    elif make == "truncated_checkpoint":
        with open(model / CKPT_NAME, "r+b") as fh:
            fh.truncate(1000)
        expected = "copied only in part?"
    elif make == "directory_checkpoint":
        settings = ToxicitySettings(checkpoint=str(tmp_path))
        expected = "a directory, not a file"
    else:
        (model / "config" / "config.json").unlink()
        expected = "config.json: no such file"
    problem = check_model_files(settings)
    assert problem is not None and expected in problem and "COMMENTS_TOXICITY_" in problem, problem


def test_missing_model_fallback_is_explicit_and_loud(tmp_path):
    """With COMMENTS_TOXICITY_MISSING_MODEL=fallback the same typo starts the worker on the
    fallback scorer, and its log says why."""
    from comments_service.settings import Settings
    from comments_service.workers.scoring import check_model_files_or_exit

    missing = str(tmp_path / "typo.ckpt")
    settings = Settings.from_env({"COMMENTS_TOXICITY_CHECKPOINT": missing,
                                  "COMMENTS_TOXICITY_MISSING_MODEL": "fallback"})
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("comments_service.worker").addHandler(handler)
    try:
        check_model_files_or_exit(settings)  # returns instead of exiting
    finally:
        logging.getLogger("comments_service.worker").removeHandler(handler)
    assert any(missing in getattr(r, "reason", "") for r in records if r.levelno >= logging.WARNING)
    scorer = load_scorer(settings.toxicity)
    assert scorer.is_fallback and missing in (scorer.fallback_reason or "")
    with pytest.raises(SystemExit) as stopped:
        check_model_files_or_exit(Settings.from_env({"COMMENTS_TOXICITY_CHECKPOINT": missing}))
    assert stopped.value.code == 2


def test_retries_do_not_start_a_new_export_child_for_unchanged_files(tiny_settings, tmp_path, monkeypatch, caplog):
    """An export child that could not load the model is not started again on the worker's next
    retry while the files are unchanged; once they change, it is. Each log line says the reason once."""
    started = tmp_path / "children"
    child = ("import sys; open(sys.argv[1], 'a').write('x'); "
             "print('ModelUnavailable: cannot download or load detoxify (no network)', file=sys.stderr); sys.exit(1)")
    monkeypatch.setattr(onnx_cache, "export_command",
                        lambda settings, target: [sys.executable, "-c", child, str(started)])
    ckpt = tmp_path / "model.ckpt"
    shutil.copyfile(tiny_settings.checkpoint, ckpt)
    settings = msgspec.structs.replace(tiny_settings, backend="onnx", checkpoint=str(ckpt),
                                       cache_dir=str(tmp_path / "cache"))
    with caplog.at_level(logging.INFO, logger="comments_service.toxicity"):
        first = load_scorer(settings)
        second = load_scorer(settings)
    assert first.is_fallback and second.is_fallback
    assert started.read_text() == "x"  # one child for both loads
    assert "the detoxify backend needs the same files" in first.fallback_reason
    for message in [first.fallback_reason, second.fallback_reason] + [r.getMessage() for r in caplog.records]:
        assert message.count("cannot download or load detoxify") <= 1, message
    ckpt.touch()  # the operator replaced the file
    os.utime(ckpt, ns=(1, 1))
    load_scorer(settings)
    assert started.read_text() == "xx"


def test_unavailable_default_model_retries_without_torch_or_a_new_child(tmp_path):
    """The default settings on a machine without network (the variant would be downloaded): the
    first load's export child fails to download, the worker does not import torch to fail the
    same way again, a retry starts no second child, and every log line says the reason once."""
    env, attempts = network_guard(tmp_path / "guard", {
        **os.environ, "TORCH_HOME": str(tmp_path / "torch"), "COMMENTS_TOXICITY_CACHE_DIR": str(tmp_path / "cache")})
    code = ("import io, json, logging, sys\n"
            "from comments_service.toxicity import ToxicitySettings, load_scorer\n"
            "out = io.StringIO()\n"
            "handler = logging.StreamHandler(out)\n"
            "logging.getLogger('comments_service').addHandler(handler)\n"
            "logging.getLogger('comments_service').setLevel(logging.INFO)\n"
            "first = load_scorer(ToxicitySettings.from_env())\n"
            "second = load_scorer(ToxicitySettings.from_env())\n"
            "print(json.dumps({'fallback': [first.is_fallback, second.is_fallback],\n"
            "                  'reasons': [first.fallback_reason, second.fallback_reason],\n"
            "                  'torch': 'torch' in sys.modules, 'log': out.getvalue()}))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["fallback"] == [True, True] and got["torch"] is False, got
    assert got["log"].count("in a child process") == 1, got["log"]
    assert len({line.split()[0] for line in attempts.read_text().splitlines()}) == 1  # one child went online
    reason = "cannot download or load detoxify 'original'"
    assert all(reason in r for r in got["reasons"]), got["reasons"]
    for line in got["reasons"] + got["log"].splitlines():
        assert line.count(reason) <= 1, line
