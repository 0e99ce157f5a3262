"""ONNX Runtime int8 backend: export (in a child process) + quantise + cache, agreement with
detoxify, fallback to detoxify when the export fails."""

from __future__ import annotations

import json
import logging
import platform
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import msgspec
import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from comments_service.domain.policy import PolicyConfig, PolicyContext, decide
from comments_service.toxicity import ToxicitySettings, load_scorer, onnx_cache
from comments_service.toxicity.base import file_sha256
from comments_service.toxicity.onnx_backend import plan_sub_batches
from comments_service.toxicity.testing import sample_comments
from tests.support.model_process import load_in_subprocess


@pytest.fixture(scope="module")
def onnx_settings(tiny_settings, tmp_path_factory):
    return msgspec.structs.replace(tiny_settings, backend="onnx",
                                   cache_dir=str(tmp_path_factory.mktemp("onnx-export-cache")))


@pytest.fixture(scope="module")
def first_start(onnx_settings):
    """The first start for the checkpoint (empty cache), in a process of its own."""
    assert not any(Path(onnx_settings.cache_dir).iterdir())
    return load_in_subprocess(onnx_settings)


@pytest.fixture(scope="module")
def onnx_scorer(onnx_settings, first_start):
    scorer = load_scorer(onnx_settings)
    assert scorer.backend == "onnx", scorer.fallback_reason
    return scorer


def test_first_start_exports_in_a_child_and_never_imports_torch(first_start, onnx_settings):
    info = first_start["describe"]
    assert info["backend"] == "onnx" and info["source"] == "onnx-export", info
    assert not info["is_fallback"] and info["fallback_reason"] is None
    assert first_start["scored"] == 2
    assert first_start["heavy"] == [], f"the worker process imported {first_start['heavy']}"
    # progress in the worker's log: start, the child's own lines, done with seconds
    log = first_start["log"]
    assert "in a child process" in log and "onnx export: quantised to int8" in log, log[-3000:]
    assert "ONNX export of" in log and "done in" in log
    # the export is in place, nothing half-built is left behind
    cache = Path(onnx_settings.cache_dir)
    assert (Path(info["export_dir"]) / "model.int8.onnx").is_file()
    assert not [p.name for p in cache.iterdir() if p.name.startswith(".build-")]


@pytest.fixture(scope="module")
def comments():
    texts = sample_comments(240, seed=11)
    assert len(set(texts)) >= 200
    return texts


def test_identity_and_cache(onnx_scorer, onnx_settings, tiny_model):
    sha = file_sha256(tiny_model[0])
    assert onnx_scorer.model_id == f"onnx-int8-detoxify-original@{sha[:12]}"
    assert onnx_scorer.labels == ("toxicity", "severe_toxicity", "obscene", "threat", "insult",
                                  "identity_attack")
    assert onnx_scorer.source in ("onnx-export", "onnx-cache") and not onnx_scorer.is_fallback
    info = onnx_scorer.describe()
    assert info["checkpoint_sha256"] == sha and info["export_dir"].startswith(onnx_settings.cache_dir)
    assert info["versions"]["onnxruntime"]
    msgspec.json.encode(info)
    again = load_scorer(onnx_settings)
    assert again.source == "onnx-cache" and again.model_id == onnx_scorer.model_id
    assert again.describe()["export_dir"] == info["export_dir"]


def test_export_fuses_attention_and_quantises_it(onnx_scorer):
    """Eager-attention export: the optimizer fuses every layer's attention (quantised to
    QAttention); the slow SkipLayerNormalization/BiasGelu fusions stay out of the file."""
    import onnx

    fused = onnx_scorer.meta["fused"]
    assert fused.get("Attention") == 2 and fused.get("EmbedLayerNormalization") == 1, fused
    graph = onnx.load(str(onnx_scorer.export_dir / "model.int8.onnx"))
    ops = Counter(node.op_type for node in graph.graph.node)
    assert ops["QAttention"] == 2 and ops["MatMulInteger"] >= 4, ops
    assert not ops["SkipLayerNormalization"] and not ops["BiasGelu"], ops


def test_sub_batches_cut_where_padding_costs_more_than_a_call():
    lengths = [10] * 31 + [60]
    spans = plan_sub_batches(lengths, max_batch=32)
    assert spans == [(0, 31), (31, 32)]  # the long comment alone: 31 x 50 padding saved
    assert plan_sub_batches([12, 12, 13, 13], max_batch=32) == [(0, 4)]  # one call beats four
    assert plan_sub_batches([], max_batch=32) == []
    # every comment exactly once, in order, within max_batch and the padded-token budget
    lengths = sorted([5, 7, 9, 200, 11, 30, 512, 512, 18, 18, 19, 40] * 5)
    spans = plan_sub_batches(lengths, max_batch=8, budget=1024)
    assert [i for a, b in spans for i in range(a, b)] == list(range(len(lengths)))
    assert all(b - a <= 8 and ((b - a) * lengths[b - 1] <= 1024 or b - a == 1) for a, b in spans)


def test_same_tokenisation_as_detoxify(onnx_scorer, detoxify_scorer, comments):
    texts = comments[:60] + ["word " * 1000]
    ref = detoxify_scorer.detox.tokenizer(texts, truncation=True)["input_ids"]
    assert onnx_scorer.encode(texts) == ref
    assert max(len(ids) for ids in ref) == 512


def test_int8_agrees_with_detoxify(onnx_scorer, detoxify_scorer, comments):
    ref = detoxify_scorer.score_batch(comments)
    got = onnx_scorer.score_batch(comments)
    labels = detoxify_scorer.labels
    a = np.array([[s[label] for label in labels] for s in ref])
    b = np.array([[s[label] for label in labels] for s in got])
    # the checkpoint's scores really spread: a random model's would all sit near 0.5
    assert a.min() < 0.1 and a.max() > 0.9
    assert (a.std(axis=0) > 0.1).sum() >= 3, a.std(axis=0)
    worst = np.abs(a - b).max(axis=0)
    assert (worst <= 0.02).all(), dict(zip(labels, worst.round(4), strict=True))
    # decisions at the default thresholds (word lists off, so the scores decide)
    cfg = PolicyConfig(banned_words=(), suspect_words=())
    ctx = PolicyContext()
    ref_out = [decide(s, "", ctx, cfg).outcome for s in ref]
    got_out = [decide(s, "", ctx, cfg).outcome for s in got]
    mix = Counter(ref_out)
    assert all(mix[o] >= len(comments) * 0.05 for o in ("published", "held", "rejected")), mix
    agree = sum(x == y for x, y in zip(ref_out, got_out, strict=True)) / len(comments)
    assert agree >= 0.99, agree


def test_long_comments_and_edge_cases(onnx_scorer):
    out = onnx_scorer.score_batch(["x" * 20000, "", "word " * 3000, "ok"])
    assert len(out) == 4 and all(len(s) == 6 for s in out)
    assert onnx_scorer.score_batch([]) == []
    # dynamic int8 scales activations per batch: a comment's score moves slightly with its
    # batch mates, well within the agreement bound
    assert onnx_scorer.score_batch(["ok"])[0] == pytest.approx(out[3], abs=0.02)


# QEMU's model of AMD EPYC Rome: AVX2 without AVX-512 or VNNI, like many cloud machines.
# onnxruntime multiplies int8 weights differently there (VPMADDUBSW, whose int16 sums saturate:
# scores drifted up to 0.096), so such a CPU gets an export with uint8 weights.
CPU_WITHOUT_VNNI = "EPYC-Rome"


def test_a_cpu_without_vnni_gets_an_export_that_agrees_with_detoxify(onnx_settings, detoxify_scorer,
                                                                     comments, tmp_path):
    qemu = shutil.which("qemu-x86_64")
    if platform.machine() != "x86_64" or qemu is None:
        pytest.skip("needs an x86-64 host and qemu-user's qemu-x86_64 (scripts/test installs it)")
    # built here, natively (torch under the emulator would take minutes), into the shared cache
    # where the emulated CPU's "auto" must find it
    assert load_scorer(msgspec.structs.replace(onnx_settings, int8_weights="uint8")).backend == "onnx"
    texts = tmp_path / "comments.json"
    texts.write_text(json.dumps(comments))
    code = (
        "import json, sys, msgspec\n"
        "from comments_service.toxicity import ToxicitySettings, load_scorer\n"
        "s = msgspec.json.decode(sys.argv[1], type=ToxicitySettings)\n"
        "sc = load_scorer(s)\n"
        "assert sc.source == 'onnx-cache' and sc.meta['weights'] == 'uint8', sc.describe()\n"
        "print('RESULT ' + json.dumps(sc.score_batch(json.loads(open(sys.argv[2]).read()))))\n"
    )
    assert onnx_settings.int8_weights == "auto"
    res = subprocess.run([qemu, "-cpu", CPU_WITHOUT_VNNI, sys.executable, "-c", code,
                          msgspec.json.encode(onnx_settings).decode(), str(texts)],
                         capture_output=True, text=True, timeout=600)
    lines = [line for line in res.stdout.splitlines() if line.startswith("RESULT ")]
    assert res.returncode == 0 and lines, res.stderr[-3000:]
    got = json.loads(lines[-1][7:])
    labels = detoxify_scorer.labels
    ref = detoxify_scorer.score_batch(comments)
    a = np.array([[s[label] for label in labels] for s in ref])
    b = np.array([[s[label] for label in labels] for s in got])
    worst = np.abs(a - b).max(axis=0)
    assert (worst <= 0.02).all(), dict(zip(labels, worst.round(4), strict=True))
    cfg = PolicyConfig(banned_words=(), suspect_words=())
    ctx = PolicyContext()
    agree = sum(decide(x, "", ctx, cfg).outcome == decide(y, "", ctx, cfg).outcome
                for x, y in zip(ref, got, strict=True)) / len(comments)
    assert agree >= 0.99, agree


def test_cached_model_serves_without_torch(onnx_scorer, onnx_settings):
    again = load_in_subprocess(onnx_settings)
    assert again["describe"]["source"] == "onnx-cache", again["describe"]
    assert again["heavy"] == [] and again["scored"] == 2
    assert "child process" not in again["log"]


def test_hub_dir_and_checkpoint_names_match_torch_and_detoxify(tmp_path):
    """The worker finds a downloaded variant without importing torch or detoxify."""
    from detoxify.detoxify import MODEL_URLS

    assert {v: u.rsplit("/", 1)[-1] for v, u in MODEL_URLS.items()} == onnx_cache.DETOXIFY_CHECKPOINT_FILES
    envs = [{}, {"TORCH_HOME": str(tmp_path / "th")}, {"XDG_CACHE_HOME": str(tmp_path / "xdg")}]
    code = ("import json, os, sys\n"
            "from comments_service.toxicity.onnx_cache import torch_hub_dir\n"
            "envs = json.loads(sys.argv[1])\n"
            "def under(env, fn):\n"
            "    for k in ('TORCH_HOME', 'XDG_CACHE_HOME'):\n"
            "        os.environ.pop(k, None)\n"
            "    os.environ.update(env)\n"
            "    return str(fn())\n"
            "mine = [under(env, torch_hub_dir) for env in envs]\n"
            "assert 'torch' not in sys.modules\n"
            "import torch\n"
            "theirs = [under(env, torch.hub.get_dir) for env in envs]\n"
            "assert mine == theirs, (mine, theirs)\n")
    res = subprocess.run([sys.executable, "-c", code, json.dumps(envs)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]


def test_export_failure_falls_back_to_detoxify(onnx_settings, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache dir should be")
    scorer = load_scorer(msgspec.structs.replace(onnx_settings, cache_dir=str(blocker / "cache")))
    assert scorer.backend == "detoxify" and not scorer.is_fallback
    assert scorer.fallback_reason and "onnx backend failed" in scorer.fallback_reason
    assert scorer.describe()["fallback_reason"] == scorer.fallback_reason
    assert len(scorer.score_batch(["still scoring"])) == 1


@pytest.mark.parametrize("child,expected", [
    # an out-of-memory kill
    ("import os, signal; print('loading the checkpoint', flush=True); os.kill(os.getpid(), signal.SIGKILL)",
     "killed by SIGKILL"),
    ("import sys; print('loading the checkpoint'); sys.stderr.write('MemoryError: cannot allocate\\n'); sys.exit(3)",
     "exited with 3: MemoryError: cannot allocate"),
    ("import time; time.sleep(60)", "timed out after 1s"),
    ("pass", "exited without writing the export"),
])
def test_export_child_that_dies_falls_back_to_detoxify(onnx_settings, tmp_path, monkeypatch, caplog, child, expected):
    """The export child fails, is killed or hangs; the worker keeps scoring
    with detoxify and says why in its log and in describe() (diagnostics)."""
    monkeypatch.setattr(onnx_cache, "export_command", lambda settings, target: [sys.executable, "-c", child])
    monkeypatch.setattr(onnx_cache, "EXPORT_TIMEOUT_SECONDS", 1.0)
    cache = tmp_path / "cache"
    with caplog.at_level(logging.INFO, logger="comments_service.toxicity"):
        scorer = load_scorer(msgspec.structs.replace(onnx_settings, cache_dir=str(cache)))
    assert scorer.backend == "detoxify" and not scorer.is_fallback
    reason = scorer.describe()["fallback_reason"]
    assert reason.startswith("onnx backend failed (") and expected in reason, reason
    assert "in a child process" in caplog.text, caplog.text
    assert "onnx toxicity backend failed, using the detoxify backend" in caplog.text and expected in caplog.text
    assert len(scorer.score_batch(["still scoring"])) == 1
    assert not [p.name for p in cache.iterdir() if p.name != "checkpoint-hashes.json"]  # nothing left behind


def test_concurrent_first_starts_share_one_export(onnx_scorer, onnx_settings, tmp_path, monkeypatch):
    """Two workers starting on an empty cache both export (each in its own child and staging
    folder); the first rename wins, the other uses its export; nothing half-built is left."""
    from concurrent.futures import ThreadPoolExecutor

    from comments_service.toxicity.onnx_backend import OnnxScorer

    built = str(onnx_scorer.export_dir)  # a fake child copies the real export, slowly
    child = "import shutil, sys, time; time.sleep(0.5); shutil.copytree(sys.argv[1], sys.argv[2])"
    monkeypatch.setattr(onnx_cache, "export_command",
                        lambda settings, target: [sys.executable, "-c", child, built, str(target)])
    settings = msgspec.structs.replace(onnx_settings, cache_dir=str(tmp_path / "cache"))
    with ThreadPoolExecutor(2) as pool:
        scorers = list(pool.map(lambda _: OnnxScorer(settings), range(2)))
    assert [s.source for s in scorers] == ["onnx-export", "onnx-export"]
    assert scorers[0].export_dir == scorers[1].export_dir
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(
        ["checkpoint-hashes.json", scorers[0].export_dir.name])
    assert scorers[0].score_batch(["ok"])[0] == pytest.approx(scorers[1].score_batch(["ok"])[0])


def test_missing_checkpoint_gives_fallback_with_both_reasons(tmp_path):
    scorer = load_scorer(ToxicitySettings(backend="onnx", checkpoint=str(tmp_path / "nope.ckpt"),
                                          config_dir=str(tmp_path), cache_dir=str(tmp_path / "cache")))
    assert scorer.is_fallback and "onnx backend failed" in scorer.fallback_reason
    assert "nope.ckpt" in scorer.fallback_reason
