"""The source formats by name, and which one a file is, told from its first bytes.

Sniffing looks only at the start of the (decompressed) file: the SQLite header, the XML root
element and the namespaces it declares, or the shape of the JSON that opens the file. A file none of
these fits is refused, so that an operator never imports a file by a wrong guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from types import ModuleType

from . import commento, disqus, isso, native, remark42, wxr
from .records import KnownIds, Record, SourceFileError
from .source_file import SourceFile

Reader = Callable[[SourceFile], Iterator[Record]]

FORMATS: dict[str, ModuleType] = {"disqus": disqus, "wxr": wxr, "isso": isso, "remark42": remark42,
                                  "commento": commento, "native": native}



def records(module: ModuleType, source: SourceFile, *, include_pings: bool = False,
            known: KnownIds | None = None) -> Iterator[Record]:
    """The file's records through its format's reader, with the options that reader takes: WXR's
    pingbacks and trackbacks, and the ids a reader that can tell them early passes over (Disqus)."""
    if module is wxr:
        return wxr.read(source, include_pings=include_pings)
    if module is disqus:
        return disqus.read(source, known=known)
    reader: Reader = module.read
    return reader(source)


_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEAD = 16384
# XML before the root element: the declaration, processing instructions, comments, a doctype
_XML_PROLOG = re.compile(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[[^\]]*\])?\s*>|\s+", re.S)
_XML_ROOT = re.compile(rb"<([A-Za-z_][\w.:\-]*)([^>]*)")
# the first two keys of the object that opens a JSON file
_JSON_KEYS = re.compile(rb'\{\s*"([^"\\]{0,40})"\s*:\s*("[^"\\]{0,80}"|-?\d{1,20})\s*,\s*"([^"\\]{0,40})"')
_NATIVE = re.compile(rb'"format"\s*:\s*"comments_service\.export"')


def sniff(source: SourceFile) -> str:
    head = source.head(_HEAD)
    name = _sniff(head)
    if name is None:
        raise SourceFileError(f"cannot tell which format {source.path.name} is in (known: {', '.join(FORMATS)}); "
                              "pass --format")
    return name


def _sniff(head: bytes) -> str | None:
    if head.startswith(_SQLITE_MAGIC):
        return "isso"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return _sniff_xml(text)
    if text.startswith(b"{"):
        return _sniff_json(text)
    return None


def _sniff_xml(text: bytes) -> str | None:
    position = 0
    while match := _XML_PROLOG.match(text, position):
        position = match.end()
    root = _XML_ROOT.match(text, position)
    if root is None:
        return None
    name, attributes = root.group(1).rpartition(b":")[2], root.group(2)
    if name == b"disqus" or b"http://disqus.com" in attributes:
        return "disqus"
    if name == b"rss" and b"wordpress.org/export/" in attributes:
        return "wxr"
    return None


def _sniff_json(text: bytes) -> str | None:
    if _NATIVE.search(text, 0, 512):
        return "native"
    keys = _JSON_KEYS.match(text)
    if keys is not None and keys.group(1) == b"version":
        second = keys.group(3)
        if second in (b"users", b"posts"):
            return "remark42"
        if second in (b"comments", b"commenters", b"pages"):
            return "commento"
    # a file that opens otherwise: tell by the fields only one of the formats has
    if b'"locator"' in text and b'"pid"' in text:
        return "remark42"
    if b'"commentHex"' in text or b'"commenterHex"' in text:
        return "commento"
    return None
