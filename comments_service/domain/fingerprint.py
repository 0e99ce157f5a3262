"""Near-duplicate signatures of comment texts: MinHash over word pairs. Pure.

A text is normalised (Unicode NFKC, case folded, look-alike letters folded to their Latin skeleton,
everything but letters and digits dropped) and cut into overlapping word pairs. Its signature is,
for each of :data:`HASHES` hash functions, the smallest hash of any pair; the share of positions at
which two signatures agree estimates the Jaccard similarity of the two texts' pairs. "The same or
nearly the same text" is an estimate of at least :data:`NEAR` on texts of :data:`MIN_WORDS` words or
more, and the same words exactly below that (an estimate over a few pairs says little). Strangers'
texts are a copy campaign only from :data:`CAMPAIGN_MIN_WORDS` words and :data:`CAMPAIGN_NEAR`
alike: short stock phrases ("Thank you for the report, very informative") are alike by nature.

MinHash rather than SimHash: on comments of twenty to forty words, SimHash moved by a dozen bits for
two changed words while unrelated texts were 20 bits apart, so no threshold separated them; MinHash
keeps them apart (bench/spam_eval.py; BENCHMARKS.md, "Spam"). A near match is found by exact
lookups: :func:`bands` cuts the signature into :data:`BANDS` bands of :data:`ROWS` values; texts
with a Jaccard similarity of 0.8 share a band with a probability of 0.98 (0.7: 0.93), unrelated
ones (0.1) with 0.04, and a shared band is only a candidate that the whole signature then
confirms. Four bands, not more: each is a Redis key every post of the site writes, and a
campaign is found when any two of its copies meet, not each pair.

Cost is bounded: only the first :data:`MAX_CHARS` characters are read, and the hashing is a numpy
product over at most that many pairs (about 60 µs for a 100-word comment).
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
import zlib

import numpy as np

from .links import skeleton

MAX_CHARS = 4_000
HASHES = 32
BANDS = 4
ROWS = 2
NEAR = 0.4
MIN_WORDS = 6
# a copy campaign is judged on longer texts and closer copies: strangers' stock phrases ("Thank you
# for the report, very informative and balanced") are alike by nature, and holding them would hold
# readers; pitches and talking points are longer
CAMPAIGN_MIN_WORDS = 12
CAMPAIGN_NEAR = 0.5
RAW_BYTES = HASHES * 2

# letters and digits of any script (\w without the underscore); linear, no backtracking
_WORD = re.compile(r"[^\W_]+")
# fixed: signatures stored in Redis by one process are compared by another
_RNG = np.random.default_rng(20261206)
_MUL = _RNG.integers(1, 2**62, size=HASHES, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_ADD = _RNG.integers(0, 2**62, size=HASHES, dtype=np.uint64)
_SHIFT = np.uint64(48)


class Signature:
    """A text's MinHash (16-bit values) and how many words it has."""

    __slots__ = ("values", "words")

    def __init__(self, values: np.ndarray, words: int) -> None:
        self.values = values
        self.words = words

    @property
    def short(self) -> bool:
        return self.words < MIN_WORDS

    @property
    def campaign_sized(self) -> bool:
        return self.words >= CAMPAIGN_MIN_WORDS

    def raw(self) -> bytes:
        """The values as bytes (what services/repeats.py keeps in Redis): :data:`RAW_BYTES` long."""
        return self.values.astype("<u2").tobytes()

    def encode(self) -> str:
        """The values as text (base64), for a database column."""
        return base64.b64encode(self.raw()).decode()

    def similarity(self, other: np.ndarray) -> float:
        return float((self.values == other).mean())

    def near(self, encoded: str, threshold: float = NEAR) -> bool:
        """Whether the text behind ``encoded`` (:meth:`encode`) is the same or nearly the same as
        this one (``threshold``: as for :meth:`near_many`)."""
        other = decode(encoded)
        if other is None:
            return False
        if self.short:
            return bool((self.values == other).all())
        return self.similarity(other) >= threshold

    def near_many(self, raws: list[bytes], threshold: float = NEAR) -> list[bool]:
        """:meth:`near` for many signatures given as :meth:`raw` bytes, compared at once (one
        array operation, however many); bytes of another length are never near. ``threshold``:
        the share of values alike that makes two long texts the same (:data:`CAMPAIGN_NEAR` for
        strangers' texts)."""
        good = [r for r in raws if len(r) == RAW_BYTES]
        if not good:
            return [False] * len(raws)
        others = np.frombuffer(b"".join(good), dtype="<u2").reshape(len(good), HASHES)
        same = others == self.values
        # the share alike as mean() gives it (an exact float), without mean()'s Python wrapper
        verdicts = iter((same.all(axis=1) if self.short else same.sum(axis=1) / HASHES >= threshold).tolist())
        return [next(verdicts) if len(r) == RAW_BYTES else False for r in raws]

    def bands(self) -> list[str]:
        raw = self.values.astype("<u2").tobytes()
        step = ROWS * 2
        return [f"{i}:{raw[i * step:(i + 1) * step].hex()}" for i in range(BANDS)]


def decode(encoded: str) -> np.ndarray | None:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        return None
    if len(raw) != HASHES * 2:
        return None
    return np.frombuffer(raw, dtype="<u2")


def words_of(text: str) -> list[str]:
    # cut again after folding: NFKC turns some single characters into eighteen
    folded = unicodedata.normalize("NFKC", text[:MAX_CHARS]).casefold()[:MAX_CHARS]
    return [skeleton(w) for w in _WORD.findall(folded)]


def signature(text: str) -> Signature:
    words = words_of(text)
    if len(words) < MIN_WORDS:
        # the exact words: a 512-bit digest of them, so that only the same words match
        digest = hashlib.blake2b(" ".join(words).encode(), digest_size=HASHES * 2).digest()
        return Signature(np.frombuffer(digest, dtype="<u2").copy(), len(words))
    pairs = {words[i] + " " + words[i + 1] for i in range(len(words) - 1)}
    # CRC-32 of each pair: the universal hashes below spread it; a fifth of blake2b's cost per pair
    hashes = np.fromiter((zlib.crc32(p.encode()) for p in pairs), dtype=np.uint64, count=len(pairs))
    # a universal hash per position (multiply-add mod 2**64, top 16 bits); the minimum over pairs
    values = ((hashes[:, None] * _MUL + _ADD) >> _SHIFT).min(axis=0)
    return Signature(values.astype(np.uint16), len(words))
