"""The links of a comment, and what their hosts are. Pure.

A comment's links are the URLs in its text (the markdown the author wrote, which is what the policy
reads: ``[label](https://host/...)``, ``<https://host>`` and bare ``https://host/...`` all leave the
URL in it) and, when a caller has it, the ``href`` of every ``<a>`` in its rendered HTML. Besides
URLs with a scheme (``http://``, ``https://``, ``//``) and ``www.`` hosts, a bare host counts when a
path follows it (``bit.ly/x``) or its top-level domain is one of a few common ones (``casino.com``):
spam names its site whether or not the renderer makes it clickable.

Each link's host is normalised (lower case, no trailing dot, no user info or port, ``xn--`` labels
decoded to Unicode) and given a look-alike *skeleton*: NFKC, then the common Cyrillic and Greek
letters that look like Latin ones folded to them (``gооgle.com`` with Cyrillic o's has the skeleton
``google.com``). The table is small on purpose (the letters spam uses), not Unicode's full
confusables data. Raw IP hosts (``1.2.3.4``, ``[::1]``, ``3232235777``, ``0x7f.1``) and a built-in list
of URL shorteners are flagged.

Work is bounded: the scan is one linear-time RE2 pass that stops after :data:`MAX_LINKS` links, and
each host is cut to :data:`MAX_HOST_CHARS` before it is looked at.
"""

from __future__ import annotations

import contextlib
import ipaddress
import unicodedata
from collections.abc import Iterable

import re2

from .structs import Struct

# links examined per comment; a comment with more is judged on its first MAX_LINKS
MAX_LINKS = 50
# URLs read per comment, repeats included (bounds the work on a text of one link repeated)
MAX_SCANNED = 4 * MAX_LINKS
# a DNS name is at most 253 characters; anything longer is cut (and is no real host)
MAX_HOST_CHARS = 255

SHORTENERS: frozenset[str] = frozenset({
    "bit.ly", "bitly.com", "t.co", "tinyurl.com", "goo.gl", "ow.ly", "is.gd", "buff.ly", "cutt.ly",
    "rebrand.ly", "shorturl.at", "tiny.cc", "rb.gy", "s.id", "t.ly", "v.gd", "bl.ink", "short.io",
    "shorte.st", "adf.ly", "lnkd.in", "tiny.one", "qr.ae", "soo.gd", "clck.ru", "u.to", "x.co",
    "t.me", "linktr.ee", "shorturl.com", "rebrandly.com", "trib.al", "dlvr.it", "ift.tt",
})

# the top-level domains a bare host (no scheme, no path) is recognised by; others need a scheme, a
# "www." or a path, so that "e.g." or "Node.js" in prose is no link
_BARE_TLDS = ("com|net|org|info|biz|io|co|ru|xyz|top|club|online|site|shop|store|win|bet|casino|"
              "vip|live|click|link|me|cc|tk|ml|ga|cf|gq|pw|su|cn|uk|de|fr|eu|us|ly|gl|gd|gy|at|id")

# scheme URLs, protocol-relative and www. hosts; a bare host with a path; a bare host on a common TLD.
# RE2 runs in time linear in the text whatever it holds.
_LINK = re2.compile(
    r"(?i)(?:"
    r"(?:https?:)?//(?:\[[0-9A-Fa-f:.%]{2,64}\][^\s<>\"'()\[\]{}|\\^`]*|[^\s<>\"'()\[\]{}|\\^`]+)"
    r"|www\.[^\s<>\"'()\[\]{}|\\^`]+"
    r"|[\pL\pN][\pL\pN-]*(?:\.[\pL\pN-]+)+/[^\s<>\"'()\[\]{}|\\^`]*"
    r"|[\pL\pN][\pL\pN-]*(?:\.[\pL\pN-]+)*\.(?:" + _BARE_TLDS + r")\b"
    r")")
_HREF = re2.compile(r"(?i)<a\s[^>]*?href=\"([^\"]*)\"")

# Cyrillic and Greek letters that look like Latin ones (lower case: hosts are lower-cased first)
_CONFUSABLES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j",
    "ѕ": "s", "к": "k", "м": "m", "т": "t", "в": "b", "н": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "ɡ": "g", "ο": "o", "α": "a", "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ε": "e", "β": "b", "η": "n", "μ": "u",
})
_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff")
_TRAILING = ".,;:!?'\")]}>*_~"


class Link(Struct, frozen=True):
    url: str
    host: str  # normalised: lower case, IDNA decoded, no trailing dot ("" when it has none)
    skeleton: str  # the host with look-alike letters folded to ASCII
    ip: bool = False  # the host is a raw IP address
    shortener: bool = False  # the host is a known URL shortener

    @property
    def lookalike(self) -> bool:
        """The host uses letters that only look like the ASCII ones of its skeleton."""
        return self.host != self.skeleton


def skeleton(host: str) -> str:
    """``host`` with compatibility forms (NFKC) and look-alike letters folded to ASCII."""
    if host.isascii():
        return host
    folded = unicodedata.normalize("NFKC", host).lower().translate(_CONFUSABLES)
    return "".join(ch for ch in folded if ch not in _INVISIBLE)


def normalise_host(raw: str) -> str:
    """Lower case, no trailing dot, ``xn--`` labels decoded (a label that does not decode stays)."""
    host = raw[:MAX_HOST_CHARS].lower().rstrip(".")
    if "xn--" not in host:
        return host
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            # a label that does not decode is kept as written: it is still compared, never an error
            with contextlib.suppress(UnicodeError, ValueError):
                label = label.encode("ascii").decode("idna")
        labels.append(label)
    return ".".join(labels)


def is_ip_host(host: str) -> bool:
    """A raw IP address: dotted IPv4, IPv6 (bracketed in a URL), or the forms browsers accept for
    IPv4 (one decimal or hex number, dotted parts in hex or octal): no registered name ends in a
    number."""
    if host.startswith("[") or ":" in host:
        try:
            ipaddress.IPv6Address(host.strip("[]").split("%")[0])
            return True
        except ValueError:
            return host.startswith("[")
    last = host.rsplit(".", 1)[-1]
    if not last:
        return False
    if last.isdigit() and last.isascii():
        return True
    return last.startswith("0x") and all(ch in "0123456789abcdef" for ch in last[2:])


def host_of(url: str) -> str:
    """The raw host of a URL or bare host ("" for none), user info and port removed."""
    rest = url
    if "//" in rest[:10]:
        rest = rest.split("//", 1)[1]
    for stop in "/?#\\":
        rest = rest.split(stop, 1)[0]
    rest = rest.rsplit("@", 1)[-1]
    if rest.startswith("["):
        return rest.split("]", 1)[0] + "]"
    if rest.count(":") == 1:
        rest = rest.split(":", 1)[0]
    return rest


def make_link(url: str) -> Link:
    host = normalise_host("".join(ch for ch in host_of(url) if ch not in _INVISIBLE))
    skel = skeleton(host)
    return Link(url=url, host=host, skeleton=skel, ip=bool(host) and is_ip_host(skel),
                shortener=in_domains(skel, SHORTENERS))


def extract_links(text: str, html: str | None = None, limit: int = MAX_LINKS) -> list[Link]:
    """The distinct links of a comment, at most ``limit``, in order of appearance: URLs in
    ``text`` and, when given, the hrefs of ``<a>`` in ``html`` (mailto: links are not links)."""
    found: dict[str, Link] = {}

    seen = 0

    def add(urls: Iterable[str]) -> bool:
        nonlocal seen
        for url in urls:
            # repeats count too: a text of one link a million times is read no further than many links
            seen += 1
            if seen > MAX_SCANNED:
                return False
            url = url.rstrip(_TRAILING)
            if not url or url.lower().startswith("mailto:") or url in found:
                continue
            link = make_link(url)
            if link.host:
                found[url] = link
                if len(found) >= limit:
                    return False
        return True

    if add(m.group(0) for m in _LINK.finditer(text)) and html:
        add(m.group(1).replace("&amp;", "&") for m in _HREF.finditer(html))
    return list(found.values())


def in_domains(host: str, domains: Iterable[str]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one."""
    return any(host == d or host.endswith("." + d) for d in domains)


def domain_problem(entry: str) -> str | None:
    """Why ``entry`` is not a host name a list may hold (letters, digits and hyphens in dot-separated
    labels of at most 63, two labels at least, at most 253 characters; Unicode allowed), or None."""
    host = entry.strip().lower().rstrip(".")
    if not host or len(host) > 253:
        return "is not a host name"
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except (UnicodeError, ValueError):
        return "is not a host name"
    labels = ascii_host.split(".")
    if len(labels) < 2:
        return "is not a host name (a domain such as example.com)"
    for label in labels:
        if not 1 <= len(label) <= 63 or label[0] == "-" or label[-1] == "-" \
                or not all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in label):
            return "is not a host name"
    if is_ip_host(ascii_host):
        return "is an IP address, not a host name"
    return None


def normalise_domain(entry: str) -> str:
    """A valid list entry (see :func:`domain_problem`) as hosts are compared with it: its skeleton."""
    return skeleton(normalise_host(entry.strip()))
