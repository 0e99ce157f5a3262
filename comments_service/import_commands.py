"""`comments-service import` and `export`: a newsroom's history in from another comment system, and
out again (README: Moving comments in and out).

    comments-service import --site SITE [--format F] [--dry-run] [--report FILE] FILE
    comments-service import --in FILE                 (restore our own full export into an empty database)
    comments-service export --site SITE [--format native|wxr] [--article ID] --out FILE
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

import msgspec

from .formats.registry import FORMATS

# a CLI command's runner: does the work with the CLI's services, over migrated storage
Runner = Callable[[Callable[[Any], Awaitable[Any]]], Any]


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="the export to import (gzip is read as is)")
    parser.add_argument("--site", help="the site to import into (it must exist)")
    parser.add_argument("--format", choices=sorted(FORMATS), help="the file's format (sniffed when left out)")
    parser.add_argument("--dry-run", action="store_true", help="read and check everything, write nothing, report")
    parser.add_argument("--report", metavar="FILE", help="also write the report as JSON to FILE")
    parser.add_argument("--article-id-from", choices=["identifier", "url"], default="identifier",
                        help="what names a thread's article: the source's own identifier (default; threads "
                             "without one use their URL's path) or the URL")
    parser.add_argument("--url-pattern", metavar="REGEX",
                        help="with --article-id-from url: an RE2 expression whose first group, searched in the URL, "
                             "is the article id, e.g. '/(\\d{4}/\\d\\d/[^/]+)'")
    parser.add_argument("--match-users", choices=["none", "email", "subject"], default="none",
                        help="give a source author's comments to the site's SSO user with the same email, or "
                             "(subject) to the SSO user our own export names")
    parser.add_argument("--user-map", metavar="CSV",
                        help="a CSV of source email or user name, SSO subject: those authors' comments become the "
                             "SSO users'")
    parser.add_argument("--keep-personal-data", action="store_true",
                        help="keep authors' emails and IP addresses (dropped by default)")
    parser.add_argument("--pending", choices=["held", "rejected"], default="held",
                        help="what a comment awaiting moderation at the source becomes (default held)")
    parser.add_argument("--spam", choices=["rejected", "held"], default="rejected",
                        help="what a comment marked spam at the source becomes (default rejected)")
    parser.add_argument("--include-pings", action="store_true", help="WordPress: import pingbacks and trackbacks")
    parser.add_argument("--score", action="store_true",
                        help="score the comments the source approved (at low priority: new comments go first); they "
                             "are shown once scored")
    parser.add_argument("--in", dest="infile", help="restore our own full export (export --format native of a "
                                                    "whole site) into an empty database, ids and all")


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", required=True)
    parser.add_argument("--format", choices=["native", "wxr"], default="native",
                        help="native (ours, default) or wxr (WordPress's, which most comment systems import)")
    parser.add_argument("--article", help="native only: just this article (its external id)")
    parser.add_argument("--out", required=True, help="the file to write")


def read_user_map(path: str) -> dict[str, str]:
    """``source email or user name, SSO subject`` per line; emails compared in lower case."""
    mapping: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle), 1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                raise ValueError(f"{path} line {number}: expected two columns, source email or user name, subject")
            key = row[0].strip()
            mapping[key.lower() if "@" in key else key] = row[1].strip()
    return mapping


def run_import(args: argparse.Namespace, with_services: Runner) -> int:
    from .services.importer import ImportFailed, ImportOptions

    if not args.site or not args.file:
        print("comments-service import: give --site SITE and the FILE to import (or --in FILE to restore our own "
              "export)", file=sys.stderr)
        return 2
    if args.url_pattern and args.article_id_from != "url":
        print("comments-service import: --url-pattern needs --article-id-from url", file=sys.stderr)
        return 2
    try:
        user_map = read_user_map(args.user_map) if args.user_map else {}
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        print(f"comments-service import: --user-map: {exc}", file=sys.stderr)
        return 2
    options = ImportOptions(
        site_id=args.site, path=args.file, format=args.format, dry_run=args.dry_run,
        article_source=args.article_id_from, url_pattern=args.url_pattern, match_users=args.match_users,
        user_map=user_map, keep_personal_data=args.keep_personal_data, pending=args.pending, spam=args.spam,
        include_pings=args.include_pings, score=args.score)
    progress = Progress(sys.stderr)

    async def work(services: Any) -> Any:
        return await services.importer.run(options, progress)

    from .domain.import_articles import ArticleRuleError
    from .formats.records import SourceFileError

    try:
        report = with_services(work)
    except (ImportFailed, ArticleRuleError, SourceFileError) as exc:
        progress.close()
        print(f"comments-service import: {exc}", file=sys.stderr)
        return 1
    progress.close()
    for line in report.lines():
        print(line)
    if args.report:
        Path(args.report).write_bytes(msgspec.json.format(msgspec.json.encode(report)))
    return 1 if report.error else 0


def run_wxr_export(args: argparse.Namespace, with_services: Runner) -> int:
    from .services.wxr_export import WxrExportError

    if args.article:
        print("comments-service export: --article is for the native format", file=sys.stderr)
        return 2
    out = Path(args.out)
    partial = out.with_name(out.name + ".partial")
    progress = Progress(sys.stderr)

    async def work(services: Any) -> Any:
        with partial.open("wb") as handle:
            return await services.wxr_exporter.write(args.site, handle, lambda n: progress.exporting(n))

    try:
        counts = with_services(work)
    except WxrExportError as exc:
        partial.unlink(missing_ok=True)
        print(f"comments-service: {exc}", file=sys.stderr)
        return 1
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)  # a reader of FILE never sees half an export
    progress.close()
    print(f"exported {counts} to {args.out}")
    return 0


class Progress:
    """On a terminal, one line redrawn in place (phase, bar, bytes or articles, comments/s, time left);
    otherwise plain lines every few seconds (logs)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last_line = 0.0
        self.last_draw = 0.0
        self.drawn = False

    def reading(self, bytes_read: int, total_bytes: int, comments: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = comments / elapsed
        share = min(bytes_read / total_bytes, 1.0) if total_bytes else 1.0
        left = elapsed * (1 - share) / share if share else 0.0
        if self.tty:
            self._draw(f"reading {_bar(share)} {share:4.0%} {_size(bytes_read)}/{_size(total_bytes)}, "
                       f"{comments:,} comments, {rate:,.0f}/s, {left:,.0f} s left", share >= 1.0)
        elif self._due():
            self._line(f"import: read {bytes_read:,} of {total_bytes:,} bytes ({share:.0%}), {comments:,} comments, "
                       f"{rate:,.0f} comments/s, about {left:,.0f} s of reading left")

    def writing(self, articles_done: int, articles_total: int, comments: int) -> None:
        share = articles_done / articles_total if articles_total else 1.0
        if self.tty:
            self._draw(f"writing {_bar(share)} {share:4.0%} {articles_done:,}/{articles_total:,} articles, "
                       f"{comments:,} comments", share >= 1.0)
        elif self._due() or articles_done == articles_total:
            self._line(f"import: wrote {articles_done:,} of {articles_total:,} articles, {comments:,} comments")

    def exporting(self, comments: int) -> None:
        if self.tty:
            self._draw(f"exporting {comments:,} comments", False)
        elif self._due():
            self._line(f"export: {comments:,} comments written")

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False

    def _draw(self, text: str, final: bool) -> None:
        now = time.monotonic()
        if not final and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        width = self._columns() - 1
        self.stream.write("\r" + text[:width].ljust(width))
        self.stream.flush()
        self.drawn = True

    def _columns(self) -> int:
        # a terminal that reports no width (a pty nobody sized) still gets a whole line
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 100
        except (OSError, ValueError):
            return 100

    def _due(self) -> bool:
        now = time.monotonic()
        if now - self.last_line < 5:
            return False
        self.last_line = now
        return True

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


def _bar(share: float, width: int = 20) -> str:
    done = int(share * width)
    return "[" + "#" * done + "." * (width - done) + "]"


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"
