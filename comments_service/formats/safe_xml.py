"""A hardened, streaming XML parser for the import readers, on the standard library's expat.

An export is data, never a document that needs a DTD: any DOCTYPE, entity or notation declaration
and any external entity reference is refused before it can be expanded or fetched, so the entity
tricks (billion laughs, quadratic blowup, external entities reading local files or URLs, parameter
entities) never get a chance to run. The predefined entities, character references and CDATA are
plain XML and read as usual.

A reader installs its own ``start``/``end`` handlers on an ``XmlStream``'s parser (names arrive as
"uri local"); character data collects in ``text`` (a reader clears it at a start tag, so that at an
end tag it holds a leaf element's text); records go to ``out``, handed on after every chunk. No
tree is kept: memory is one chunk, one record and the longest text field, which is capped
(``MAX_TEXT_CHARS``) so that one monstrous field cannot grow the process either.

Callbacks from expat rather than ElementTree's iterparse: measured on a Disqus export, expat with
closures as handlers is the fastest way CPython has (iterparse is slower and knows no line numbers).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NoReturn
from xml.parsers import expat

from .records import Record, SourceFileError
from .source_file import SourceFile

CHUNK_BYTES = 256 * 1024
# A text field longer than this is not kept: the record is skipped as "oversized". Far above any
# comment a site accepts, far below what would strain memory.
MAX_TEXT_CHARS = 1_000_000
# Expat holds a tag (with its attributes), a comment or a processing instruction whole until its end
# arrives, and expat before 2.6 scans such a token again with every chunk: one unterminated
# 100 MB attribute (a few hundred kB gzipped) would cost minutes of CPU and its size in memory.
# No export has a token anywhere near this.
MAX_TOKEN_BYTES = 4 * MAX_TEXT_CHARS
# Each open element costs expat memory; an export is a handful of levels deep.
MAX_DEPTH = 256
REFUSED = "the file declares a DTD/entities, which an export never needs; refused"


class XmlStream:
    """One pass over one file. A reader installs its handlers on ``parser`` (``StartElementHandler``,
    ``EndElementHandler``; closures are the fastest callbacks CPython has), appends its records to
    ``out`` and takes element text from ``text``, then iterates ``records(source)``."""

    def __init__(self, *, namespaces: bool = True) -> None:
        self.text: list[str] = []
        self.out: list[Record] = []
        # set when a text field passed MAX_TEXT_CHARS; a reader clears it when a record starts
        self.oversized = False
        # names arrive as "uri local" (a space never occurs in a URI) when namespaces are on
        parser = expat.ParserCreate(namespace_separator=" ") if namespaces else expat.ParserCreate()
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._refuse
        parser.EntityDeclHandler = self._refuse
        parser.UnparsedEntityDeclHandler = self._refuse
        parser.NotationDeclHandler = self._refuse
        parser.ExternalEntityRefHandler = self._refuse
        parser.buffer_text = True
        parser.buffer_size = 64 * 1024
        # a list's own append: expat calls it without a Python frame, and it is called most often
        parser.CharacterDataHandler = self.text.append
        self.parser = parser

    def position(self) -> str:
        return f"line {self.parser.CurrentLineNumber}"

    def too_deep(self) -> NoReturn:
        raise SourceFileError(f"elements nested more than {MAX_DEPTH} levels deep; refused", self.position())

    def _refuse(self, *args: Any) -> NoReturn:
        raise SourceFileError(REFUSED, self.position())

    def records(self, source: SourceFile) -> Iterator[Record]:
        """The records, in file order. A file that cannot be read on raises SourceFileError after the
        records found before the fault (never any after it)."""
        parse = self.parser.Parse
        out = self.out
        text = self.text
        fed = 0
        with source.open() as stream:
            while True:
                try:
                    chunk = stream.read(CHUNK_BYTES)
                except (OSError, EOFError) as exc:  # a truncated or corrupt gzip stream
                    yield from out
                    raise SourceFileError(f"cannot read the file on: {exc}", self.position()) from None
                final = not chunk
                try:
                    parse(chunk, final)
                except expat.ExpatError as exc:
                    yield from out
                    raise _malformed(exc, final) from None
                except SourceFileError:
                    yield from out
                    raise
                if out:
                    yield from out
                    out.clear()
                if final:
                    return
                fed += len(chunk)
                if fed - self.parser.CurrentByteIndex > MAX_TOKEN_BYTES:
                    raise SourceFileError(f"a tag, comment or processing instruction longer than {MAX_TOKEN_BYTES:,} "
                                          "bytes; refused", self.position())
                if len(text) > 1 and sum(map(len, text)) > MAX_TEXT_CHARS:
                    self.oversized = True
                    text.clear()


def _malformed(exc: expat.ExpatError, final: bool) -> SourceFileError:
    reason = expat.ErrorString(exc.code)
    if final and exc.code in (expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS],
                              expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_TOKEN],
                              expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION]):
        if exc.lineno == 1 and exc.offset == 0:
            return SourceFileError("the file is empty", "line 1")
        return SourceFileError(f"the file ends in the middle of the XML ({reason}); truncated?", f"line {exc.lineno}")
    return SourceFileError(f"malformed XML: {reason} (column {exc.offset + 1})", f"line {exc.lineno}")
