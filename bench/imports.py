"""The import benchmark: a generated Disqus export (bench.disqus_export) through `comments-service import`,
then the same file again (every comment a duplicate), then through Isso's `isso import`, side by side.

    .venv/bin/python -m bench.imports --comments 100000
    .venv/bin/python -m bench.imports --comments 1000000 --isso-comments 100000

Each run gets a database of its own (bench.common.scratch_storage), migrated, with the site ``bench``;
the importer runs as the operator runs it, a `comments-service import` process, and this one reads
that process's resident memory (VmRSS, its children's included) every 0.25 s: the peak, and the
value at a quarter, half, three quarters and the end of the run, which show whether memory stays flat
however far into the file the import is. Afterwards the database must hold exactly the comments the
generator says the import keeps (every post but the deleted ones no reply hangs under).

Rates are posts in the file over the wall time of the whole command (start-up, parsing, writing and
the final report), for both importers alike. Isso is slow (its import commits each comment on a
connection of its own), so ``--isso-comments M`` gives it the first M posts of the same export, a
file generated alongside. Isso is looked for in /tmp/isso-peer/isso-venv (``--isso``; PEERS.md says
how to install it); without it that part is left out. Generated files are kept in ``--cache-dir``
and reused when their parameters match.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from .common import REDIS_URL, SECRET_KEY, SITE_ID, scratch_storage
from .disqus_export import write_export

REPO = Path(__file__).resolve().parents[1]
SAMPLE_S = 0.25
TARGET_RATE = 20_000
TARGET_RSS_MB = 300


def export_file(cache: Path, comments: int, threads: int, seed: int, limit: int | None) -> tuple[Path, dict]:
    """The export with these parameters, generated unless the cache has it already."""
    name = f"disqus-{comments}c-{threads}t-s{seed}" + (f"-first{limit}" if limit else "") + ".xml"
    path = cache / name
    meta = path.with_name(path.name + ".json")
    if path.exists() and meta.exists():
        summary = json.loads(meta.read_text())
        if summary.get("bytes") == path.stat().st_size:
            return path, summary
    cache.mkdir(parents=True, exist_ok=True)
    print(f"generating {path} ...", file=sys.stderr)
    return path, write_export(path, comments, threads, seed, limit)


def tree_rss_kb(pid: int) -> int:
    """VmRSS of a process and its descendants (an importer may hand work to helper processes)."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as children:
                    todo.extend(int(c) for c in children.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


class Timed:
    """A command run to its end with its memory sampled: wall seconds, (seconds, kB) samples, output."""

    def __init__(self, command: list[str], env: dict[str, str] | None, log: Path) -> None:
        self.command = command
        started = time.perf_counter()
        self.samples: list[tuple[float, int]] = []
        # (seconds, line) as each progress line appears, so the read and write phases can be timed
        self.lines: list[tuple[float, str]] = []
        with log.open("w") as out, log.open("r", errors="replace") as seen:
            child = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
            while child.poll() is None:
                kb = tree_rss_kb(child.pid)
                now = time.perf_counter() - started
                if kb:
                    self.samples.append((now, kb))
                self.lines.extend((now, line) for line in seen.readlines())
                time.sleep(SAMPLE_S)
            self.lines.extend((time.perf_counter() - started, line) for line in seen.readlines())
        self.seconds = time.perf_counter() - started
        self.returncode = child.returncode
        self.output = log.read_text(errors="replace")
        if self.returncode:
            raise SystemExit(f"{' '.join(command)} failed ({self.returncode}):\n{self.output[-3000:]}")

    def read_phase_s(self) -> tuple[float, float] | None:
        """When reading ended, bracketed by the last "read" line and the first "wrote" line (the importer
        prints one every 5 s at most)."""
        read = [t for t, line in self.lines if line.startswith("import: read ")]
        wrote = [t for t, line in self.lines if line.startswith("import: wrote ")]
        if not wrote:
            return None
        return (read[-1] if read else 0.0), wrote[0]

    def peak_mb(self) -> float:
        return max((kb for _, kb in self.samples), default=0) / 1024

    def rss_at_mb(self, fraction: float) -> float:
        """RSS at the last sample taken by that fraction of the run."""
        until = self.seconds * fraction
        if not self.samples:
            return 0.0
        seen = [kb for t, kb in self.samples if t <= until] or [self.samples[0][1]]
        return seen[-1] / 1024


def service_env(url: str, prefix: str) -> dict[str, str]:
    return {**os.environ, "COMMENTS_DATABASE_URL": url, "COMMENTS_REDIS_URL": REDIS_URL,
            "COMMENTS_REDIS_PREFIX": prefix, "COMMENTS_SECRET_KEY": SECRET_KEY, "COMMENTS_LOG_LEVEL": "WARNING",
            "COMMENTS_SCORING": "off"}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "comments_service.cli", *args]


async def db_counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS comments, count(*) FILTER (WHERE parent_id IS NOT NULL) AS replies, "
            "count(DISTINCT article_id) AS articles_with_comments, "
            "count(*) FILTER (WHERE status = 'published') AS published, "
            "count(*) FILTER (WHERE status = 'rejected') AS rejected, "
            "count(*) FILTER (WHERE status = 'deleted') AS tombstones "
            "FROM comments WHERE site_id = $1", SITE_ID)
        return dict(row)
    finally:
        await conn.close()


def ours(args: argparse.Namespace, path: Path, work: Path, url: str, prefix: str) -> dict:
    env = service_env(url, prefix)
    subprocess.run(cli("migrate"), cwd=REPO, env=env, check=True, capture_output=True)
    subprocess.run(cli("site", "create", "--id", SITE_ID, "--name", "Bench", "--origin", "https://bench.example",
                       "--guests"), cwd=REPO, env=env, check=True, capture_output=True)
    command = cli("import", "--site", SITE_ID, "--format", "disqus", *args.import_arg, str(path))
    first = Timed(command, env, work / "import-1.log")
    counts_first = asyncio.run(db_counts(url))
    again = Timed(command, env, work / "import-2.log")
    counts_again = asyncio.run(db_counts(url))
    return {"command": "comments-service " + " ".join(command[3:-1]), "first": first, "again": again,
            "counts": counts_first, "counts_again": counts_again}


def isso(args: argparse.Namespace, path: Path, work: Path) -> dict | None:
    if not Path(args.isso).exists():
        print(f"no Isso at {args.isso} (PEERS.md: install it there, or --isso PATH): left out", file=sys.stderr)
        return None
    db = work / "isso.db"
    config = work / "isso.cfg"
    config.write_text(f"[general]\ndbpath = {db}\nhost = http://localhost\n[moderation]\nenabled = false\n"
                      "[guard]\nenabled = false\n")
    # Isso 0.14 treats every <id> element without children as missing (ElementTree truthiness), so it
    # imports nothing without --empty-id; with it, the URI is the link's path, which is the <id> here
    command = [args.isso, "-c", str(config), "import", "--empty-id", str(path)]
    run = Timed(command, None, work / "isso.log")
    with sqlite3.connect(db) as conn:
        comments = conn.execute("SELECT count(*) FROM comments").fetchone()[0]
    return {"command": "isso -c isso.cfg import --empty-id", "run": run, "comments": comments}


def rss_row(run: Timed) -> str:
    return " / ".join(f"{run.rss_at_mb(f):.0f}" for f in (0.25, 0.5, 0.75, 1.0))


def report(args: argparse.Namespace, summary: dict, mine: dict, peer: dict | None, peer_summary: dict | None) -> str:
    posts = summary["posts"]
    first, again = mine["first"], mine["again"]
    rate = posts / first.seconds
    counts, counts_again = mine["counts"], mine["counts_again"]
    count_ok = counts["comments"] == summary["importable"] and counts_again["comments"] == counts["comments"]
    lines = [
        f"Disqus export: {posts:,} posts in {summary['threads']:,} threads ({summary['threads_with_posts']:,} "
        f"with posts), {summary['bytes'] / 1e6:.0f} MB; {summary['replies']:,} replies (deepest "
        f"{summary['max_depth']}), {summary['spam']:,} spam, {summary['deleted']:,} deleted "
        f"({summary['deleted_with_replies']:,} with replies).",
        "",
        "| run | wall s | posts/s | peak RSS MB | RSS at 25/50/75/100% MB | target |",
        "|---|---:|---:|---:|---|---|",
        f"| `comments-service import` (first) | {first.seconds:.1f} | {rate:,.0f} | {first.peak_mb():.0f} | "
        f"{rss_row(first)} | ≥ {TARGET_RATE:,}/s: {'met' if rate >= TARGET_RATE else 'MISSED'}; "
        f"< {TARGET_RSS_MB} MB: {'met' if first.peak_mb() < TARGET_RSS_MB else 'MISSED'} |",
        f"| same file again (all duplicates) | {again.seconds:.1f} | {posts / again.seconds:,.0f} | "
        f"{again.peak_mb():.0f} | {rss_row(again)} | < 1/3 of first: {again.seconds / first.seconds:.2f} "
        f"{'met' if again.seconds < first.seconds / 3 else 'MISSED'} |",
    ]
    if peer and peer_summary:
        run = peer["run"]
        peer_rate = peer_summary["posts"] / run.seconds
        lines.append(f"| Isso 0.14 `isso import` ({peer_summary['posts']:,} posts, {peer_summary['bytes'] / 1e6:.0f} "
                     f"MB) | {run.seconds:.1f} | {peer_rate:,.0f} | {run.peak_mb():.0f} | {rss_row(run)} | "
                     f"ours {rate / peer_rate:.0f}× its rate |")
    lines += [
        "",
        f"In the database after the first run: {counts['comments']:,} comments (expected {summary['importable']:,}: "
        f"every post but the {summary['deleted_without_replies']:,} deleted ones without replies) — "
        f"{'match' if count_ok else 'MISMATCH'}; {counts['replies']:,} replies, {counts['published']:,} published, "
        f"{counts['rejected']:,} rejected, {counts['tombstones']:,} tombstones, {counts['articles_with_comments']:,} "
        f"articles with comments; after the second run: {counts_again['comments']:,}.",
    ]
    if peer and peer_summary:
        lines.append(f"Isso kept {peer['comments']:,} of {peer_summary['posts']:,} posts (it flattens replies to "
                     "one level, then drops deleted comments left without replies).")
    lines += ["", f"Commands: `{mine['command']} FILE` twice" +
              (f"; `{peer['command']}`" if peer else "") + f". Machine: {os.cpu_count()} cores, PostgreSQL on the "
              "same machine."]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> str:
    threads = args.threads or max(1, math.ceil(args.comments / 50))
    path, summary = export_file(args.cache_dir, args.comments, threads, args.seed, None)
    peer_path, peer_summary = path, summary
    if args.isso_comments and args.isso_comments < summary["posts"]:
        peer_path, peer_summary = export_file(args.cache_dir, args.comments, threads, args.seed, args.isso_comments)
    work = Path(tempfile.mkdtemp(prefix="imports-bench-"))
    try:
        async with scratch_storage("imports", keep=args.keep) as (url, prefix):
            mine = await asyncio.to_thread(ours, args, path, work, url, prefix)
        peer = None if args.no_isso else await asyncio.to_thread(isso, args, peer_path, work)
        text = report(args, summary, mine, peer, peer_summary)
        if args.json:
            args.json.write_text(json.dumps({
                "export": summary, "isso_export": peer_summary if peer else None,
                "ours": {k: {"seconds": mine[k].seconds, "peak_mb": mine[k].peak_mb(),
                             "rss_mb": [mine[k].rss_at_mb(f) for f in (0.25, 0.5, 0.75, 1.0)],
                             "read_phase_s": mine[k].read_phase_s(), "lines": mine[k].lines,
                             "samples": mine[k].samples} for k in ("first", "again")},
                "counts": mine["counts"], "counts_again": mine["counts_again"],
                "isso": {"seconds": peer["run"].seconds, "peak_mb": peer["run"].peak_mb(),
                         "comments": peer["comments"]} if peer else None,
                "import_output": mine["first"].output[-4000:]}, indent=1, default=str) + "\n")
        return text
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=None, help="default: one per 50 comments")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--isso-comments", type=int, default=None,
                        help="give Isso the first M posts of the export (default: the whole file)")
    parser.add_argument("--isso", default="/tmp/isso-peer/isso-venv/bin/isso")
    parser.add_argument("--no-isso", action="store_true")
    parser.add_argument("--import-arg", action="append", default=[],
                        help="an extra argument for `comments-service import` (repeatable)")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "comments-bench-imports")
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    print(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
