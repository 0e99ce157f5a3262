"""Cold reads with and without a read replica, side by side in one run.

    python -m bench.replica_reads --comments 20000 --duration 5 --rounds 3 --out bench/results_replica_reads.json

Starts a private PostgreSQL primary and a streaming replica on free loopback ports (the machinery of
tests/support/pg_replica.py; as root every server command runs as the ``postgres`` user), seeds the
primary with ``bench.seed`` and waits until the replica has replayed all of it. Then, in process as
R2 in bench/reads.py does, two sets of the API's services run against the same primary: (a) with no
replica configured, (b) with the replica in COMMENTS_DATABASE_REPLICA_URLS. They take turns, round
after round (the order flips each round), so that both see the same background load:

- page: the first page of ``big-10k`` (10,000 comments), its cache version bumped before each call as
  a write would, timed from the Redis miss through the SQL, the encoding and the store;
- counts: the counts of 50 articles, all 50 bumped before each call, so each is a miss.

Calls are sequential (one at a time), as in R2: this is the latency of one miss, not a throughput.
Where the reads went comes from the app's own counters (``ReadPools.views()`` and
``primary_reads``) and from each server's committed transactions (pg_stat_database) in each window.

The busy phase repeats the rounds while pgbench (TPC-B-like, in a database of its own on the same
primary) writes without pause: the primary is busy, the WAL moves all the time, and each replica
read must wait for the replica to replay past the read's fence (comments_service/db/replicas.py).
Everything runs on one machine: the replica shares its CPUs with the primary and the bench.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

from tests.support.pg_replica import PgReplica, _bindir, _wait_for

from .common import BIG_ARTICLE, SECRET_KEY, SITE_ID

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE = "cs_bench_replica"
PGBENCH_DB = "pgbench_load"
COUNTS_ARTICLES = [f"a{i:06d}" for i in range(0, 100, 2)]  # 50 articles, as R3's front page


class BenchReplica(PgReplica):
    """The tests' primary and replica, without the replica's statement log (every statement
    written to a file would slow the side being measured), and with pg_stat_statements on both:
    its counts are exact at once, where pg_stat_database's are flushed by each backend up to
    seconds later."""

    def start_replica(self) -> None:
        self._pg_ctl_start("replica", self.replica_port)

    def _options(self, port: int) -> str:
        return super()._options(port) + " -c shared_preload_libraries=pg_stat_statements"


def _env(primary_url: str, replica_url: str | None, prefix: str) -> dict[str, str]:
    env = {"COMMENTS_DATABASE_URL": primary_url, "COMMENTS_REDIS_URL": REDIS_URL, "COMMENTS_REDIS_PREFIX": prefix,
           "COMMENTS_SECRET_KEY": SECRET_KEY, "COMMENTS_LOG_LEVEL": "WARNING", "COMMENTS_SCORING": "off",
           # on a small shared machine the default 50 ms would now and then skip Redis for a
           # second (the gate's backoff), and such calls, cheaper, would mix into the misses
           "COMMENTS_REDIS_TIMEOUT": "1.0"}
    if replica_url:
        env["COMMENTS_DATABASE_REPLICA_URLS"] = replica_url
    return env


def _pct(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _summary(times: list[float]) -> dict:
    return {"calls": len(times), "p50_ms": round(statistics.median(times), 3), "p99_ms": round(_pct(times, 0.99), 3),
            "mean_ms": round(statistics.fmean(times), 3)}


def _kind(query: str) -> str:
    """What one of the app's statements is for (the queries of comments_service/db/replicas.py
    by their functions; everything else is a read the page or counts needed)."""
    if "pg_current_wal_insert_lsn" in query:
        return "fence"
    if "pg_is_in_recovery" in query or "pg_current_wal_flush_lsn" in query:
        return "probe"
    if "pg_last_wal_replay_lsn" in query:
        return "replay_check"
    return "reads"


async def _statements(url: str) -> dict[tuple[str, str], int]:
    """Calls so far of each statement run in the bench database (pg_stat_statements)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT s.query, sum(s.calls)::bigint AS calls FROM pg_stat_statements s "
                                "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 GROUP BY s.query",
                                DATABASE)
    finally:
        await conn.close()
    return {(_kind(r["query"]), r["query"]): r["calls"] for r in rows}


def _statement_delta(before: dict[tuple[str, str], int], after: dict[tuple[str, str], int]) -> dict:
    out: dict = {"reads": 0, "fence": 0, "replay_check": 0, "probe": 0}
    top: list[tuple[int, str]] = []
    for key, calls in after.items():
        n = calls - before.get(key, 0)
        out[key[0]] += n
        if key[0] == "reads" and n:
            top.append((n, " ".join(key[1].split())[:100]))
    out["top_reads"] = [f"{n} x {q}" for n, q in sorted(top, reverse=True)[:3]]
    return out


async def _replay_lag_bytes(pg: PgReplica) -> int:
    """How far (bytes of WAL) the replica's replay trailed the primary's position of a moment
    before; 0: it had replayed at least that far."""
    primary = await asyncpg.connect(pg._url(pg.primary_port, "postgres"))
    replica = await asyncpg.connect(pg._url(pg.replica_port, "postgres"))
    try:
        target = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
        return max(0, int(await replica.fetchval(
            "SELECT pg_wal_lsn_diff($1::text::pg_lsn, pg_last_wal_replay_lsn())::bigint", target)))
    finally:
        await primary.close()
        await replica.close()


async def _lsn_caught_up(pg: PgReplica) -> bool:
    return await _replay_lag_bytes(pg) <= 0


class _RedisFailures(logging.Filter):
    """Counts the cache's "redis unavailable" warnings (and keeps them off the console): a window
    in which Redis failed is reported with its count."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() == "redis unavailable":
            self.count += 1
            return False
        return True


REDIS_FAILURES = _RedisFailures()


class Side:
    """One set of the API's services: with no replica, or with the replica."""

    def __init__(self, name: str, services) -> None:
        self.name = name
        self.services = services
        self.entry = None

    async def start(self) -> None:
        self.entry = await self.services.sites.get(SITE_ID)

    def reads(self) -> dict:
        r = self.services.reads
        return {"primary_reads": r.primary_reads,
                "replicas": [{"number": v.number, "state": v.state, "reads": v.reads, "fallbacks": v.fallbacks}
                             for v in r.views()]}

    async def page(self, duration: float) -> list[float]:
        s = self.services
        times: list[float] = []
        hits = s.cache.stats.hits
        end = time.monotonic() + duration
        while time.monotonic() < end:
            await s.cache.bump(SITE_ID, BIG_ARTICLE)  # retire the cached page, as a write does
            t0 = time.perf_counter()
            await s.comments.thread(self.entry, BIG_ARTICLE, sort="oldest", cursor=None, limit=20, replies=5,
                                    viewer=None)
            times.append((time.perf_counter() - t0) * 1000)
        assert s.cache.stats.hits == hits, "a page call hit the cache"
        return times

    async def counts(self, duration: float) -> list[float]:
        s = self.services
        times: list[float] = []
        hits = s.cache.stats.hits
        end = time.monotonic() + duration
        while time.monotonic() < end:
            await asyncio.gather(*(s.cache.bump(SITE_ID, a) for a in COUNTS_ARTICLES))
            t0 = time.perf_counter()
            await s.comments.counts(self.entry, COUNTS_ARTICLES)
            times.append((time.perf_counter() - t0) * 1000)
        assert s.cache.stats.hits == hits, "a counts call hit the cache"
        return times


def _delta(before: dict, after: dict) -> dict:
    out = {"primary_reads": after["primary_reads"] - before["primary_reads"], "replicas": []}
    for b, a in zip(before["replicas"], after["replicas"], strict=True):
        out["replicas"].append({"number": a["number"], "state": a["state"], "reads": a["reads"] - b["reads"],
                                "fallbacks": a["fallbacks"] - b["fallbacks"]})
    return out


async def _phase(pg: PgReplica, sides: dict[str, Side], rounds: int, duration: float, label: str,
                 pgbench_url: str | None) -> dict:
    primary_admin = pg._url(pg.primary_port, "postgres")
    replica_admin = pg._url(pg.replica_port, "postgres")
    times = {(side, kind): [] for side in sides for kind in ("page", "counts")}
    windows: list[dict] = []
    for n in range(rounds):
        order = list(sides) if n % 2 == 0 else list(reversed(sides))
        for name in order:
            side = sides[name]
            for kind in ("page", "counts"):
                before = side.reads()
                sp, sr = await _statements(primary_admin), await _statements(replica_admin)
                wb = await _pgbench_xacts(pgbench_url) if pgbench_url else None
                failures = REDIS_FAILURES.count
                t0 = time.monotonic()
                got = await (side.page(duration) if kind == "page" else side.counts(duration))
                seconds = time.monotonic() - t0
                window = {"round": n + 1, "side": name, "kind": kind, **_summary(got),
                          "reads": _delta(before, side.reads()),
                          "primary_statements": _statement_delta(sp, await _statements(primary_admin)),
                          "replica_statements": _statement_delta(sr, await _statements(replica_admin)),
                          "replay_lag_bytes_after": await _replay_lag_bytes(pg),
                          "redis_failures": REDIS_FAILURES.count - failures}
                if pgbench_url:
                    # pgbench's write rate while this side read (its statements per transaction: 7)
                    window["pgbench_tps"] = round((await _pgbench_xacts(pgbench_url) - wb) / seconds, 1)
                times[(name, kind)].extend(got)
                windows.append(window)
                print(f"{label} r{n + 1} {name:>10} {kind:>6}: {window['calls']:5d} calls  p50 "
                      f"{window['p50_ms']:7.2f} ms  p99 {window['p99_ms']:7.2f} ms  reads {window['reads']}",
                      flush=True)
    summary = {}
    for (name, kind), got in times.items():
        ws = [w for w in windows if w["side"] == name and w["kind"] == kind]
        reads = {"primary_reads": sum(w["reads"]["primary_reads"] for w in ws),
                 "replica_reads": sum(r["reads"] for w in ws for r in w["reads"]["replicas"]),
                 "replica_fallbacks": sum(r["fallbacks"] for w in ws for r in w["reads"]["replicas"])}
        summary[f"{name}/{kind}"] = {**_summary(got), **reads,
                                     "redis_failures": sum(w["redis_failures"] for w in ws),
                                     "primary_statements": _sum_kinds(w["primary_statements"] for w in ws),
                                     "replica_statements": _sum_kinds(w["replica_statements"] for w in ws),
                                     **({"pgbench_tps": round(statistics.fmean(w["pgbench_tps"] for w in ws), 1)}
                                        if pgbench_url else {})}
    return {"summary": summary, "windows": windows}


def _sum_kinds(rows) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        for k, v in row.items():
            if k != "top_reads":
                out[k] = out.get(k, 0) + v
    return out


async def _pgbench_xacts(url: str) -> int:
    """pgbench's transactions so far: its one UPDATE of pgbench_accounts per transaction."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements s "
                                   "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 "
                                   "AND s.query LIKE 'UPDATE pgbench_accounts%'", PGBENCH_DB)
    finally:
        await conn.close()


def _pgbench(pg: PgReplica, *args: str) -> list[str]:
    return [str(pg.bindir / "pgbench"), "-h", "127.0.0.1", "-p", str(pg.primary_port), "-U", "postgres", *args]


async def run(args: argparse.Namespace) -> dict:
    from comments_service.settings import Settings
    from comments_service.wiring import build_api, close_api

    bindir = _bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) on this machine")
    as_root = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="cs-bench-replica-", dir="/tmp" if as_root else None))
    if as_root:
        shutil.chown(root, "postgres", "postgres")
    pg = BenchReplica(bindir, root)
    prefix = f"csbench-replica-{os.getpid()}:"
    load: subprocess.Popen | None = None
    started = datetime.now(UTC)
    services = []
    try:
        t0 = time.monotonic()
        await asyncio.to_thread(pg.start)
        print(f"primary :{pg.primary_port}, replica :{pg.replica_port} in {time.monotonic() - t0:.1f} s", flush=True)
        admin = pg._url(pg.primary_port, "postgres")
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute("CREATE EXTENSION pg_stat_statements")
        finally:
            await conn.close()
        t0 = time.monotonic()
        subprocess.run([PY, "-m", "bench.seed", "--comments", str(args.comments), "--database", DATABASE],
                       env={**os.environ, "BENCH_ADMIN_URL": admin, "PYTHONPATH": str(ROOT)}, cwd=ROOT, check=True)
        seeded = time.monotonic() - t0
        t0 = time.monotonic()
        await _wait_for("the replica to replay the seed", lambda: _lsn_caught_up(pg), timeout=120)
        caught_up = time.monotonic() - t0
        print(f"seeded in {seeded:.1f} s; replica caught up {caught_up:.2f} s later", flush=True)
        primary_url, replica_url = pg._url(pg.primary_port, DATABASE), pg._url(pg.replica_port, DATABASE)

        sides: dict[str, Side] = {}
        for name, replica in (("no_replica", None), ("replica", replica_url)):
            s = await build_api(Settings.from_env(_env(primary_url, replica, prefix)))
            services.append(s)
            sides[name] = Side(name, s)
            await sides[name].start()
        logging.getLogger("comments_service.cache").addFilter(REDIS_FAILURES)  # after the app's logging setup
        await _wait_for("the replica probe to see the replica well",
                        lambda: _ok(sides["replica"].services), timeout=30)
        # warm both: connections opened, plans and the server's buffers in place
        for side in sides.values():
            await side.page(1.0)
            await side.counts(1.0)

        result: dict = {"started": started.isoformat(timespec="seconds"), "host": platform.node(),
                        "cpus": os.cpu_count(), "load_before": os.getloadavg(), "comments": args.comments,
                        "duration_s": args.duration, "rounds": args.rounds, "seeded_s": round(seeded, 1),
                        "replica_caught_up_s": round(caught_up, 2),
                        "servers": "PostgreSQL primary + streaming replica on loopback, fsync=off, "
                                   "wal_writer_delay=20ms (tests/support/pg_replica.py)"}
        result["idle"] = await _phase(pg, sides, args.rounds, args.duration, "idle", None)

        if args.busy:
            subprocess.run([str(pg.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(pg.primary_port), "-U",
                            "postgres", PGBENCH_DB], check=True)
            subprocess.run(_pgbench(pg, "-i", "-q", "-s", "5", PGBENCH_DB), check=True, capture_output=True)
            await _wait_for("the replica to replay pgbench's tables", lambda: _lsn_caught_up(pg), timeout=120)
            seconds = int(args.rounds * 2 * 2 * (args.duration + 1.5) + 60)
            load = subprocess.Popen(_pgbench(pg, "-n", "-c", str(args.writers), "-j", str(min(args.writers, 2)),
                                             "-T", str(seconds), PGBENCH_DB),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            await asyncio.sleep(2.0)  # the writers connected and running
            result["busy"] = await _phase(pg, sides, args.rounds, args.duration, "busy", admin)
            result["busy"]["writers"] = f"pgbench -n -c {args.writers} (TPC-B-like, scale 5) on the primary"
        result["load_after"] = os.getloadavg()
        return result
    finally:
        if load is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(load.pid, signal.SIGTERM)
            load.wait()
        for s in services:
            await close_api(s)
        client = aioredis.Redis.from_url(REDIS_URL)
        async for key in client.scan_iter(match=prefix + "*", count=1000):
            await client.delete(key)
        await client.aclose()
        await asyncio.to_thread(pg.stop)
        shutil.rmtree(root, ignore_errors=True)


async def _ok(services) -> bool:
    return all(v.state == "ok" for v in services.reads.views())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.replica_reads", description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=20_000, help="comments seeded into the primary")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per side, scenario and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per phase")
    parser.add_argument("--writers", type=int, default=4, help="pgbench clients in the busy phase")
    parser.add_argument("--no-busy", dest="busy", action="store_false", help="skip the busy-primary phase")
    parser.add_argument("--out", type=Path, default=None, help="write the results here as JSON")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    for phase in ("idle", "busy"):
        if phase in result:
            print(f"\n{phase}:")
            for key, row in result[phase]["summary"].items():
                print(f"  {key:>18}: {row}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
