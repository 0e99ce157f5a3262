"""The ONNX Runtime int8 backend on detoxify's multilingual model (XLM-RoBERTa): a tiny offline
checkpoint in the released file's layout (16 outputs, 7 labels, SentencePiece tokenizer, no
token_type_ids, RoBERTa's position ids) goes through export, optimisation, int8 quantisation and
the cache, and scores English and Russian, French, Spanish, Turkish, Arabic and Persian comments
within 0.02 of detoxify's own predict(); the worker routes the languages it reads to it."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import msgspec
import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("sentencepiece")

from comments_service.domain import language
from comments_service.domain.policy import (
    CONFIGURED_SCORER,
    MULTILINGUAL_LANGUAGES,
    LanguageRules,
    PolicyConfig,
    PolicyContext,
    decide,
)
from comments_service.settings import Settings
from comments_service.toxicity import ToxicitySettings, load_scorer
from comments_service.toxicity.base import file_sha256
from comments_service.toxicity.testing import (
    MULTILINGUAL_CLASSES,
    MULTILINGUAL_SENTENCES,
    sample_comments,
    sample_multilingual_comments,
)
from comments_service.workers.scoring import ScoringWorker
from tests.support.model_process import load_in_subprocess


@pytest.fixture(scope="module")
def tiny_xlmr(tmp_path_factory):
    """(checkpoint, config_dir) of a tiny XLM-R whose scores spread across 0..1; its
    ``arch.args.model_type`` is the hub name xlm-roberta-base, like detoxify's real file."""
    import torch

    from comments_service.toxicity.testing import build_tiny_multilingual_checkpoint

    torch.set_num_threads(1)
    return build_tiny_multilingual_checkpoint(tmp_path_factory.mktemp("tiny-xlmr"), spread=True)


@pytest.fixture(scope="module")
def reference_settings(tiny_xlmr, tmp_path_factory):
    ckpt, config_dir = tiny_xlmr
    return ToxicitySettings(backend="detoxify", variant="multilingual", checkpoint=str(ckpt),
                            config_dir=str(config_dir), threads=1, batch_size=16,
                            cache_dir=str(tmp_path_factory.mktemp("xlmr-onnx-cache")))


@pytest.fixture(scope="module")
def reference(reference_settings):
    scorer = load_scorer(reference_settings)
    assert scorer.backend == "detoxify" and not scorer.is_fallback, scorer.fallback_reason
    return scorer


@pytest.fixture(scope="module")
def onnx_settings(reference_settings):
    return msgspec.structs.replace(reference_settings, backend="onnx")


@pytest.fixture(scope="module")
def first_start(onnx_settings):
    assert not any(Path(onnx_settings.cache_dir).iterdir())
    return load_in_subprocess(onnx_settings, "Ты полный идиот")


@pytest.fixture(scope="module")
def onnx_scorer(onnx_settings, first_start):
    scorer = load_scorer(onnx_settings)
    assert scorer.backend == "onnx", scorer.fallback_reason
    return scorer


@pytest.fixture(scope="module")
def comments():
    texts = sample_comments(120, seed=11) + sample_multilingual_comments(240, seed=11)
    for sentences in MULTILINGUAL_SENTENCES.values():  # every language, at least once
        assert any(s in text for s in sentences for text in texts)
    return texts


def test_first_start_exports_the_multilingual_model_in_a_child(first_start, onnx_settings, tiny_xlmr):
    info = first_start["describe"]
    assert info["backend"] == "onnx" and info["source"] == "onnx-export", info
    assert not info["is_fallback"] and info["fallback_reason"] is None
    assert info["model_id"] == f"onnx-int8-detoxify-multilingual@{file_sha256(tiny_xlmr[0])[:12]}"
    assert info["labels"] == MULTILINGUAL_CLASSES
    assert first_start["scored"] == 2 and first_start["heavy"] == [], first_start["heavy"]
    assert "onnx export: quantised to int8" in first_start["log"], first_start["log"][-3000:]
    export_dir = Path(info["export_dir"])
    assert export_dir.parent == Path(onnx_settings.cache_dir) and export_dir.name.startswith("multilingual-")
    # the tokenizer travels with the export: the worker never reads the config dir's files
    assert {"model.int8.onnx", "meta.json", "tokenizer.json"} <= {p.name for p in export_dir.iterdir()}


def test_the_cached_export_is_reused(onnx_scorer, onnx_settings, first_start):
    assert onnx_scorer.source == "onnx-cache"
    assert str(onnx_scorer.export_dir) == first_start["describe"]["export_dir"]
    again = load_in_subprocess(onnx_settings, "Ты полный идиот")
    assert again["describe"]["source"] == "onnx-cache" and again["heavy"] == []
    assert "child process" not in again["log"]
    assert sorted(p.name for p in Path(onnx_settings.cache_dir).iterdir()) == sorted(
        ["checkpoint-hashes.json", onnx_scorer.export_dir.name])


def test_xlmr_export_has_no_token_types_and_fuses_attention(onnx_scorer):
    """XLM-R's tokenizer gives no token_type_ids, pads with id 1 and has 16 outputs for 7 labels;
    the optimizer fuses each layer's attention, which int8 quantises."""
    import onnx

    meta = onnx_scorer.meta
    assert meta["input_names"] == ["input_ids", "attention_mask"] and meta["pad_id"] == 1
    assert meta["labels"] == MULTILINGUAL_CLASSES and meta["max_length"] == 512
    assert meta["fused"].get("Attention") == 2, meta["fused"]
    graph = onnx.load(str(onnx_scorer.export_dir / "model.int8.onnx"))
    ops = Counter(node.op_type for node in graph.graph.node)
    assert ops["QAttention"] == 2 and ops["MatMulInteger"] >= 4, ops
    assert graph.graph.output[0].type.tensor_type.shape.dim[1].dim_value == 16


def test_same_tokenisation_as_detoxify(onnx_scorer, reference, comments):
    texts = comments[120:200] + ["слово " * 1000, "كلمة " * 1000]
    ref = reference.detox.tokenizer(texts, truncation=True)["input_ids"]
    assert onnx_scorer.encode(texts) == ref
    assert max(len(ids) for ids in ref) == 512
    assert all(ids[0] == 0 and ids[-1] == 2 for ids in ref)  # <s> ... </s>
    unk = reference.detox.tokenizer.unk_token_id
    # Cyrillic, Arabic script and accents are in the vocabulary, not <unk>
    for sentences in MULTILINGUAL_SENTENCES.values():
        assert unk not in onnx_scorer.encode(sentences[:1])[0], sentences[0]


def test_int8_agrees_with_detoxify_in_every_language(onnx_scorer, reference, comments):
    ref = reference.score_batch(comments)
    got = onnx_scorer.score_batch(comments)
    labels = reference.labels
    assert labels == onnx_scorer.labels == tuple(MULTILINGUAL_CLASSES)
    a = np.array([[s[label] for label in labels] for s in ref])
    b = np.array([[s[label] for label in labels] for s in got])
    # the checkpoint's scores really spread: a random model's would all sit near 0.5
    assert a.min() < 0.1 and a.max() > 0.9
    assert (a.std(axis=0) > 0.1).sum() >= 3, a.std(axis=0)
    worst = np.abs(a - b).max(axis=0)
    assert (worst <= 0.02).all(), dict(zip(labels, worst.round(4), strict=True))
    for lang, sentences in MULTILINGUAL_SENTENCES.items():
        idx = [i for i, text in enumerate(comments) if any(s in text for s in sentences)]
        assert idx and np.abs(a[idx] - b[idx]).max() <= 0.02, lang
    cfg = PolicyConfig(banned_words=(), suspect_words=())
    ctx = PolicyContext()
    ref_out = [decide(s, "", ctx, cfg).outcome for s in ref]
    got_out = [decide(s, "", ctx, cfg).outcome for s in got]
    mix = Counter(ref_out)
    assert all(mix[o] >= len(comments) * 0.05 for o in ("published", "held", "rejected")), mix
    agree = sum(x == y for x, y in zip(ref_out, got_out, strict=True)) / len(comments)
    assert agree >= 0.98, agree


def test_long_and_empty_comments(onnx_scorer):
    out = onnx_scorer.score_batch(["ж" * 20000, "", "مرحبا " * 3000, "ok"])
    assert len(out) == 4 and all(set(s) == set(MULTILINGUAL_CLASSES) for s in out)
    assert onnx_scorer.score_batch(["ok"])[0] == pytest.approx(out[3], abs=0.02)


def _worker(toxicity: ToxicitySettings) -> ScoringWorker:
    worker = ScoringWorker(None, Settings(toxicity=toxicity))  # type: ignore[arg-type]
    worker.scorer = worker._load()
    return worker


def test_worker_on_the_multilingual_model_reads_its_languages(onnx_settings, onnx_scorer, tmp_path):
    """A worker configured with the multilingual ONNX model routes Russian, French, Spanish and
    Turkish comments to it for every site; Arabic and Persian, which it was not trained for, follow
    the site's ``languages.other`` rule; a worker whose model is missing reads only English."""
    worker = _worker(onnx_settings)
    assert worker.scorer.backend == "onnx" and worker.scorer.source == "onnx-cache"
    reads = worker.configured_reads()
    assert reads == MULTILINGUAL_LANGUAGES
    rules = LanguageRules()  # the default: a site that did not enable a multilingual model
    held = worker.scorers()
    if not language.warm():
        pytest.skip("the language detector (py3langid) is not installed")
    for lang in ("ru", "fr", "es", "tr"):
        detected = language.detect(MULTILINGUAL_SENTENCES[lang][0])
        assert detected.language == lang, (lang, detected)
        assert rules.route(detected.language, detected.confidence, held, configured_reads=reads) == CONFIGURED_SCORER
    for lang in ("ar", "fa"):
        detected = language.detect(MULTILINGUAL_SENTENCES[lang][0])
        assert detected.language == lang, (lang, detected)
        assert rules.route(detected.language, detected.confidence, held, configured_reads=reads) is None
    scores = worker.scorer.score_batch([MULTILINGUAL_SENTENCES["ru"][4]])
    assert set(scores[0]) == set(MULTILINGUAL_CLASSES)

    missing = msgspec.structs.replace(onnx_settings, checkpoint=str(tmp_path / "gone.ckpt"))
    fallback = _worker(missing)
    assert fallback.scorer.is_fallback and fallback.configured_reads() == ("en",)


def test_model_kit_fetches_exports_and_verifies_the_multilingual_model(tiny_xlmr, tmp_path):
    """`model fetch --from` with the hub's files for xlm-roberta-base (a config.json that describes
    the base model: no labels) and detoxify's multilingual checkpoint (16 outputs, 7 labels): the
    model dir's config gets all 16 outputs, and export and verify work on it."""
    from comments_service.toxicity.model_kit import export, fetch, verify

    ckpt, config_dir = tiny_xlmr
    upstream = tmp_path / "upstream"
    shutil.copytree(config_dir, upstream / "config")
    shutil.copyfile(ckpt, upstream / "multilingual_debiased-0b549669.ckpt")
    hub_config = json.loads((upstream / "config" / "config.json").read_text())
    for key in ("id2label", "label2id", "num_labels"):
        hub_config.pop(key, None)
    (upstream / "config" / "config.json").write_text(json.dumps(hub_config))

    model_dir = tmp_path / "model"
    manifest = fetch("multilingual", model_dir, source=upstream, say=lambda line: None)
    assert manifest["model_type"] == "xlm-roberta-base" and manifest["labels"] == MULTILINGUAL_CLASSES
    patched = json.loads((model_dir / "config" / "config.json").read_text())
    assert patched["num_labels"] == 16 and patched["id2label"]["6"] == "sexual_explicit"
    assert patched["id2label"]["7"] == "male"
    assert (model_dir / "config" / "sentencepiece.bpe.model").is_file()

    # the weight type this CPU runs without saturating (int8 needs VNNI; toxicity/int8_weights.py)
    settings = ToxicitySettings(threads=1, int8_weights="auto")
    built = export(settings, model_dir, say=lambda line: None)
    assert built.name.startswith("multilingual-")
    lines: list[str] = []
    assert verify(settings, model_dir, out=lines.append), "\n".join(lines)
    assert "OK" in lines[-1]
