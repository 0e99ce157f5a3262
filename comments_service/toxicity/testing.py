"""Build Detoxify-format checkpoints fully offline: for tests, the demo and benchmarks.

Nothing here downloads anything. A checkpoint built here has exactly the layout of detoxify's
released files (``{"config": {"arch": {"args": ...}, "dataset": {"args": {"classes": ...}}},
"state_dict": ...}``) and its ``arch.args.model_type`` is a hub name (``bert-base-uncased``) just
like the real ones, so loading it exercises the real offline trap and our workaround for it.

The config directory holds ``config.json`` (num_labels 6) and the tokenizer files with
``model_max_length: 512``.

* :func:`build_tiny_checkpoint` — a tiny BERT (hidden 32, 2 layers) with a WordPiece vocabulary
  trained with the ``tokenizers`` library on generated sentences. Loads and predicts in about a
  second. With ``spread=True`` its classifier is rescaled so that scores spread across 0..1 over
  varied comments (a random model's scores all sit near 0.5, which proves nothing when comparing
  runtimes).
* :func:`build_random_checkpoint` — random weights with the real architectures' dimensions
  (``bert-base`` for *original*, ``albert-base-v2`` for *original-small*) for benchmarks.
* :func:`sample_comments` — a deterministic, varied set of comments (civil, news vocabulary,
  abusive, obfuscated, long) for agreement tests and benchmarks.

Scores of these models mean nothing; use them to test loading, plumbing and runtime agreement.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

ORIGINAL_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]

_CIVIL = [
    "The minister said the ceasefire would hold until the talks resume next week.",
    "Three civilians were killed in the bombing of the market, according to local officials.",
    "I think the council should publish the budget before the vote.",
    "Terrorists linked to ISIS claimed the attack on the border post.",
    "Great reporting, thank you for covering the flooding in the valley.",
    "The soldiers were shot at while escorting the convoy through the pass.",
    "Does anyone know when the new bridge opens to cyclists?",
    "My grandfather fought in that war and never spoke about it.",
    "The article misquotes the report; the casualty figure was revised upward.",
    "Sanctions rarely work without the support of neighbouring countries.",
    "Refugees crossing the river at night face enormous danger.",
    "I disagree with the editorial, but it makes a fair point about housing.",
    "The hostage negotiations collapsed after the second missile strike.",
    "Police arrested two suspects after the shooting downtown.",
    "Interesting analysis of the election results in the northern provinces.",
]
_ABUSE = [
    "You are a complete idiot and everyone here hates you.",
    "Shut up you stupid moron, nobody asked you.",
    "I know where you live and I am coming for you.",
    "People like you deserve to be shot.",
    "Go back to where you came from, you people ruin everything.",
    "What a pathetic loser, crawl back under your rock.",
    "f u c k you and your lying newspaper",
    "this is total sh1t written by clowns",
    "You are trash, absolute worthless garbage.",
    "Somebody should put a bullet in that journalist.",
]
_WORDS = (
    "war border attack minister council police election report budget river town city bridge "
    "soldier convoy market civilian government court judge vote policy energy price school "
    "hospital doctor nurse weather storm flood fire rescue team match goal season coach player "
    "idiot moron stupid loser trash hate kill die shoot bomb threat dumb ugly liar clown fool "
    "great thanks agree disagree interesting article writer editor news story fact truth lie "
    "the a an and or but because although when where who what why how is are was were be have"
).split()


def sample_comments(n: int = 240, seed: int = 7) -> list[str]:
    """A deterministic, varied list of ``n`` comments: civil news talk, abuse, obfuscation,
    random word salad, very short and very long ones (some far beyond 512 tokens)."""
    rng = random.Random(seed)
    out: list[str] = []
    base = _CIVIL + _ABUSE
    while len(out) < n:
        kind = len(out) % 8
        if kind < 3:
            out.append(rng.choice(base))
        elif kind == 3:
            a, b = rng.sample(base, 2)
            out.append(f"{a} {b}")
        elif kind == 4:
            out.append(" ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 40))))
        elif kind == 5:
            words = rng.choice(base).split()
            rng.shuffle(words)
            out.append(" ".join(words).upper() if rng.random() < 0.3 else " ".join(words))
        elif kind == 6:
            out.append(rng.choice(["ok", "lol", "?", "Agreed.", "no", "!!!", "thanks", "wow"]))
        else:
            reps = rng.choice([1, 5, 60, 200])
            out.append(" ".join(rng.choice(base) for _ in range(reps)))
    return out[:n]


def _corpus() -> list[str]:
    rng = random.Random(1)
    lines = list(_CIVIL + _ABUSE)
    for _ in range(400):
        lines.append(" ".join(rng.choice(_WORDS) for _ in range(rng.randint(5, 20))))
    return lines


def _write_tokenizer(config_dir: Path, vocab_size: int) -> None:
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizer

    trainer_tok = BertWordPieceTokenizer(lowercase=True)
    trainer_tok.train_from_iterator(
        _corpus(),
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        limit_alphabet=200,
    )
    config_dir.mkdir(parents=True, exist_ok=True)
    trainer_tok.save_model(str(config_dir))  # vocab.txt
    tok = BertTokenizer(vocab_file=str(config_dir / "vocab.txt"), do_lower_case=True, model_max_length=512)
    tok.save_pretrained(str(config_dir))
    _ensure_max_length(config_dir)


def _ensure_max_length(config_dir: Path, max_length: int = 512) -> None:
    path = config_dir / "tokenizer_config.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data["model_max_length"] = max_length
    path.write_text(json.dumps(data, indent=2))


def _save_checkpoint(path: Path, model_name: str, tokenizer_name: str, hub_name: str, state_dict: dict) -> None:
    import torch

    checkpoint = {
        "config": {
            "name": "offline-built",
            "arch": {
                "type": "offline",
                "args": {
                    "model_type": hub_name,
                    "model_name": model_name,
                    "tokenizer_name": tokenizer_name,
                    "num_classes": len(ORIGINAL_CLASSES),
                },
            },
            "dataset": {"args": {"classes": list(ORIGINAL_CLASSES)}},
        },
        "state_dict": state_dict,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, str(path))


def build_tiny_checkpoint(
    directory: str | Path,
    *,
    spread: bool = False,
    seed: int = 0,
    hidden_size: int = 32,
    layers: int = 2,
    heads: int = 2,
) -> tuple[Path, Path]:
    """Write ``directory/tiny.ckpt`` and ``directory/config/``; return (checkpoint, config_dir)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    directory = Path(directory)
    config_dir = directory / "config"
    _write_tokenizer(config_dir, vocab_size=1000)
    vocab_size = sum(1 for _ in (config_dir / "vocab.txt").open())
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=512,
        num_labels=len(ORIGINAL_CLASSES),
        initializer_range=0.2 if spread else 0.02,
    )
    config.save_pretrained(str(config_dir))
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config).eval()
    if spread:
        _spread_classifier(model, BertTokenizer.from_pretrained(str(config_dir)), seed)
    state_dict = {k: v.clone() for k, v in model.state_dict().items()}
    ckpt = directory / "tiny.ckpt"
    _save_checkpoint(ckpt, "BertForSequenceClassification", "BertTokenizer", "bert-base-uncased", state_dict)
    return ckpt, config_dir


def _spread_classifier(model: Any, tokenizer: Any, seed: int) -> None:
    """Rescale the classifier so each label's logits have mean ``offset`` and std ~2.2 over a
    varied set of comments: sigmoid scores then cover most of 0..1."""
    import torch

    texts = sample_comments(300, seed=seed + 100)
    with torch.no_grad():
        enc = tokenizer(texts, return_tensors="pt", truncation=True, padding=True)
        logits = model(**enc).logits
        mean, std = logits.mean(0), logits.std(0).clamp_min(1e-6)
        scale = 2.2 / std
        offsets = torch.tensor([0.0, -1.0, 0.5, -0.5, 1.0, -1.5])[: logits.shape[1]]
        model.classifier.weight.mul_(scale[:, None])
        model.classifier.bias.copy_((model.classifier.bias - mean) * scale + offsets)


ARCHITECTURES = {
    # name: (model class, config kwargs) — dimensions of the released detoxify models
    "bert-base": ("BertForSequenceClassification", dict(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        max_position_embeddings=512)),
    "albert-base-v2": ("AlbertForSequenceClassification", dict(
        embedding_size=128, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, max_position_embeddings=512, hidden_act="gelu_new")),
}


def build_random_checkpoint(directory: str | Path, arch: str = "bert-base", seed: int = 0) -> tuple[Path, Path]:
    """Random weights with the real dimensions of ``arch`` (see :data:`ARCHITECTURES`), built
    offline from a transformers config constructed in code. Both use a WordPiece tokenizer
    (ALBERT's SentencePiece model cannot be built offline at its real size); the tokenizer only
    changes how many tokens a comment becomes, not the cost per token."""
    import torch
    import transformers

    model_name, kwargs = ARCHITECTURES[arch]
    directory = Path(directory)
    config_dir = directory / "config"
    _write_tokenizer(config_dir, vocab_size=30000)
    config_cls = getattr(transformers, model_name).config_class
    config = config_cls(vocab_size=30522 if arch == "bert-base" else 30000,
                        num_labels=len(ORIGINAL_CLASSES), **kwargs)
    config.save_pretrained(str(config_dir))
    torch.manual_seed(seed)
    model = getattr(transformers, model_name)(config).eval()
    state_dict = {k: v.clone() for k, v in model.state_dict().items()}
    hub = "bert-base-uncased" if arch == "bert-base" else "albert-base-v2"
    ckpt = directory / f"{arch}.ckpt"
    _save_checkpoint(ckpt, model_name, "BertTokenizer", hub, state_dict)
    return ckpt, config_dir
