"""A cached answer's body as readers are sent it: its strong entity tag, and its gzip and brotli
encodings, each made once per cached body rather than once per request.

The tag is a digest of the body's bytes. Every process that holds the same page version holds the
same bytes (pages are cut and joined from what the cache stores, domain/page_parts.py), so two API
instances behind one load balancer give the same tag, and a browser's ``If-None-Match`` is honoured
whichever one it reaches. Each encoding is a representation of its own and gets a tag of its own
(the identity tag plus a suffix); a request naming any of them is answered 304, as they all stand
for the same bytes.

An encoding is made the first time a reader asks for it: a page refilled after every post to a
breaking story is compressed only when a browser actually reads that version. Bodies under
``MIN_SIZE`` are sent as they are (the encoding would cost more than it saves), and a body over
``ON_LOOP_MAX`` is compressed on a thread of its own, so the work done on the event loop stays under
a millisecond or so (~0.5 ms for a 30 KB page at these levels).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import brotli

MIN_SIZE = 1024
# Up to this, an encoding is made on the event loop when first asked for (~1 ms at this size); a
# larger body's on one thread of its own, while the body goes out plain until it is there, with at
# most PENDING_MAX of them waiting (then plain, and asked again later)
ON_LOOP_MAX = 64 * 1024
PENDING_MAX = 8
MAX_SIZE = 8 * 1024 * 1024  # and over this, always plain
_compressor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compress")
_pending = 0
_pending_lock = threading.Lock()
GZIP_LEVEL = 6
# quality 4: a smaller answer than gzip's at about the same cost; 5 and up cost 50% more for <1%
BROTLI_QUALITY = 4
_GZIP_SUFFIX, _BR_SUFFIX = b"-gz", b"-br"
_ACCEPTED: dict[bytes, str | None] = {}  # Accept-Encoding value -> the coding chosen (few distinct values)


class EncodedBody:
    """One body, its tag and, as they are first asked for, its encodings."""

    __slots__ = ("body", "tag", "length", "_gzip", "_br")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.tag = b'"' + base64.urlsafe_b64encode(hashlib.sha1(body).digest()[:15]) + b'"'
        self.length = str(len(body)).encode()
        self._gzip: bytes | None = None
        self._br: bytes | None = None

    def etag(self, coding: str | None) -> bytes:
        if coding is None:
            return self.tag
        return self.tag[:-1] + (_BR_SUFFIX if coding == "br" else _GZIP_SUFFIX) + b'"'

    def encoded(self, coding: str | None) -> bytes:
        """The body in ``coding`` (None, "gzip" or "br"), made at the first call."""
        if coding is None:
            return self.body
        if coding == "br":
            if self._br is None:
                self._br = brotli.compress(self.body, quality=BROTLI_QUALITY)
            return self._br
        if self._gzip is None:
            self._gzip = gzip.compress(self.body, GZIP_LEVEL, mtime=0)
        return self._gzip

    def coding_for(self, accept_encoding: bytes | None) -> str | None:
        """The coding to send this body in for a request's Accept-Encoding (None: as it is)."""
        if accept_encoding is None or not MIN_SIZE <= len(self.body) <= MAX_SIZE:
            return None
        coding = accepted_coding(accept_encoding)
        if coding is None or len(self.body) <= ON_LOOP_MAX or (self._br if coding == "br" else self._gzip):
            return coding
        self._make_elsewhere(coding)
        return None

    def _make_elsewhere(self, coding: str) -> None:
        global _pending
        with _pending_lock:
            if _pending >= PENDING_MAX:
                return
            _pending += 1

        def make() -> None:
            global _pending
            try:
                self.encoded(coding)  # asked for twice meanwhile: made twice, the same bytes
            finally:
                with _pending_lock:
                    _pending -= 1

        _compressor.submit(make)

    def held_tag(self, if_none_match: bytes, current: bytes) -> bytes | None:
        """The tag an If-None-Match names of this body, in any of its encodings (weak comparison, as
        RFC 9110 asks of If-None-Match), or None. A 304 carries that tag: the representation the
        client holds, whichever this request would be sent (``current``: its tag; for ``*``)."""
        if if_none_match.strip() == b"*":
            return current
        base = self.tag[:-1]
        for candidate in if_none_match.split(b","):
            tag = candidate.strip()
            if tag.startswith(b"W/"):
                tag = tag[2:]
            if tag == self.tag or (tag.startswith(base) and tag[len(base):] in (b'-gz"', b'-br"')):
                return tag
        return None


def accepted_coding(accept_encoding: bytes) -> str | None:
    """br where the client takes it, else gzip where it takes that, else None; ``q=0`` refuses."""
    found = _ACCEPTED.get(accept_encoding, False)
    if found is not False:
        return found  # type: ignore[return-value]
    weights: dict[str, float] = {}
    for part in accept_encoding.decode("latin-1").lower().split(","):
        name, _, params = part.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[name.strip()] = q
    star = weights.get("*", 0.0)
    chosen = next((c for c in ("br", "gzip") if weights.get(c, star) > 0), None)
    if len(accept_encoding) <= 200:  # any client may send any value: the table stays small
        if len(_ACCEPTED) >= 256:
            _ACCEPTED.clear()
        _ACCEPTED[accept_encoding] = chosen
    return chosen
