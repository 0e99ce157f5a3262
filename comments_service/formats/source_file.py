"""An import's input file: opened for streaming, gzip or not, counting the bytes read for progress."""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from .records import SourceFileError

GZIP_MAGIC = b"\x1f\x8b"
# A format read whole (one JSON document) is refused over this size, uncompressed: a small gzip file
# can expand to gigabytes.
MAX_WHOLE_BYTES = 1 << 30


class _Counting(io.RawIOBase):
    """Reports every read's size (bytes of the file itself, before decompression)."""

    def __init__(self, raw: BinaryIO, advance: Callable[[int], None]) -> None:
        self.raw = raw
        self.advance = advance

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self.advance(n)
        return n or 0

    def close(self) -> None:
        self.raw.close()
        super().close()


class SourceFile:
    """``advance(n)``: told of every n bytes of the file consumed (the progress display's input).
    Readers that cannot stream a file object (a SQLite database) read ``path`` and call ``advance``
    themselves as they go."""

    def __init__(self, path: str | os.PathLike[str], advance: Callable[[int], None] = lambda n: None) -> None:
        self.path = Path(path)
        self.advance = advance
        try:
            self.size = self.path.stat().st_size
        except OSError as exc:
            raise SourceFileError(f"cannot read {self.path}: {exc.strerror or exc}") from None

    def head(self, n: int = 4096) -> bytes:
        """The first ``n`` bytes, decompressed when the file is gzip (for sniffing the format)."""
        with self.path.open("rb") as raw:
            start = raw.read(n)
            if not start.startswith(GZIP_MAGIC):
                return start
            raw.seek(0)
            try:
                return gzip.GzipFile(fileobj=raw).read(n)
            except (OSError, EOFError) as exc:
                raise SourceFileError(f"{self.path} is not a readable gzip file ({exc})") from None

    def open(self) -> BinaryIO:
        """The file's content, decompressed when it is gzip, read in buffered chunks."""
        try:
            raw = self.path.open("rb")
        except OSError as exc:
            raise SourceFileError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        counted = io.BufferedReader(_Counting(raw, self.advance), buffer_size=1 << 20)
        if counted.peek(2)[:2] == GZIP_MAGIC:
            return gzip.GzipFile(fileobj=counted)  # type: ignore[return-value]
        return counted

    def read_whole(self) -> bytes:
        """The whole content, for the formats that are one document (at most MAX_WHOLE_BYTES)."""
        with self.open() as stream:
            try:
                data = stream.read(MAX_WHOLE_BYTES + 1)
            except (OSError, EOFError) as exc:  # a damaged gzip stream
                raise SourceFileError(f"the file cannot be read: {exc}") from None
        if len(data) > MAX_WHOLE_BYTES:
            raise SourceFileError(f"the export is over {MAX_WHOLE_BYTES >> 20} MiB (uncompressed); refused")
        return data
