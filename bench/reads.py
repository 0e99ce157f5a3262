"""Read-path benchmark: R1 hot page, R2 cold page, R3 counts, R4 mixed, B0 the limit, side by side.

    apt-get install -y wrk                      # the load generator (C, cheap on 2 cores)
    python -m bench.seed --comments 1000000     # cs_bench_1m
    python -m bench.seed --comments 10000       # cs_bench_10k
    python -m bench.reads --compare-servers --duration 8     # pick the ASGI server and worker count
    python -m bench.reads --server uvicorn --workers 1 --duration 15 --repeat 2 --out bench/results_reads.json

HTTP scenarios run with wrk against the API and against B0 (bench/b0.py: a bare Litestar app on the
same server and settings returning the API's own bytes from memory), alternating so that both see
the same background load. R2 (cold page) is timed in-process: the article's cache version is bumped
before each call, as a write would, and ``CommentService.thread`` is timed from the Redis miss
through the SQL, the encoding and the store. RSS of every server process is sampled throughout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import jwt
import psutil

from .common import BIG_ARTICLE, HOT_ARTICLE, SECRET_KEY, SITE_ID, SSO_SECRET, database_url, forget_keys

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = "csbench:"
NO_LIMITS = ",".join(f"{a}.{s}=0:1" for a, s in (
    ("post", "user"), ("post", "ip"), ("edit", "user"), ("edit", "ip"), ("vote", "user"), ("vote", "ip"),
    ("report", "user"), ("report", "ip"), ("check", "user"), ("check", "ip"), ("guest", "ip"),
    ("troubleshoot", "ip"), ("counts", "ip")))
FRONT_PAGE = [f"a{i:06d}" for i in range(0, 100, 2)]  # 50 articles
API_TARGET = "comments_service.app:create_app"
PAGE_PATH = f"/api/v1/articles/{HOT_ARTICLE}/comments?site={SITE_ID}"
COUNTS_PATH = f"/api/v1/counts?site={SITE_ID}"
# R3: what count.js asks a front page's counts with (a GET, so that a CDN may keep it)
COUNTS_GET_PATH = f"{COUNTS_PATH}&article_ids=" + "%0A".join(FRONT_PAGE)


def api_env(db: str) -> dict[str, str]:
    return {**os.environ, "COMMENTS_DATABASE_URL": database_url(db), "COMMENTS_REDIS_URL": REDIS_URL,
            "COMMENTS_REDIS_PREFIX": PREFIX, "COMMENTS_SECRET_KEY": SECRET_KEY, "COMMENTS_LOG_LEVEL": "WARNING",
            "COMMENTS_RATE_LIMITS": NO_LIMITS, "PYTHONPATH": str(ROOT),
            # posts publish at once (no scoring worker in this bench): every R4 post invalidates the
            # hot page, the hardest case for the read cache
            "COMMENTS_SCORING": "off"}


async def migrate_all(*dbs: str) -> None:
    """Migrate, and vacuum the articles table: every R4 run updates the hot article's row thousands
    of times, and the development machines' PostgreSQL runs without autovacuum."""
    from comments_service.db.migrations import migrate
    from comments_service.db.pool import connect
    from comments_service.settings import Settings

    for db in dbs:
        conn = await connect(database_url(db))
        try:
            await migrate(conn, Settings().database.migrations_dir)
            await conn.execute("VACUUM (ANALYZE) articles")
        finally:
            await conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answered(url: str, process: subprocess.Popen, failure: str, seconds: float = 60) -> None:
    """Until ``url`` answers 200; RuntimeError(``failure``) if ``process`` ends or time runs out first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError as err:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(failure) from err
            time.sleep(0.2)


class Server:
    """One ASGI server process (uvicorn or granian) for ``target``, with its workers' RSS sampled."""

    def __init__(self, kind: str, target: str, workers: int, env: dict[str, str], factory: bool) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.kind, self.workers_count = kind, workers
        if kind == "uvicorn" and target == API_TARGET:
            # the service as it is deployed: `comments-service serve` (its own HTTP protocol, server.py)
            cmd = [PY, "-m", "comments_service.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--workers", str(workers)]
        elif kind in ("uvicorn", "uvicorn-asgi"):  # uvicorn-asgi: the API under plain uvicorn (ASGI only)
            cmd = [PY, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(self.port), "--workers",
                   str(workers), "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level",
                   "warning", *(["--factory"] if factory else [])]
        else:
            cmd = [PY, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(self.port),
                   "--workers", str(workers), "--loop", "uvloop", "--runtime-mode", "st", "--no-access-log",
                   "--log-level", "warning", *(["--factory"] if factory else []), target]
        self.cmd = cmd
        self.process = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()

    def wait_ready(self, path: str) -> None:
        wait_until_answered(self.url + path, self.process, f"server did not start: {' '.join(self.cmd)}")
        threading.Thread(target=self._sample, daemon=True).start()

    def workers(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss(self) -> dict[int, float]:
        out = {}
        for p in self.workers():
            with contextlib.suppress(psutil.NoSuchProcess):
                out[p.pid] = p.memory_info().rss / 2**20
        return out

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for pid, mb in self.rss().items():
                self.peak[pid] = max(self.peak.get(pid, 0.0), mb)

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# ------------------------------------------------------------------ wrk
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m[1]) * _UNITS[m[2]]


def wrk(url: str, duration: float, connections: int, script: str | None = None, threads: int = 2,
        headers: tuple[str, ...] = ()) -> dict:
    cmd = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{int(duration)}s", "--latency",
           "--timeout", "5s"]
    for header in headers:
        cmd += ["-H", header]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])}
    for pct in ("50", "90", "99"):
        result[f"p{pct}_ms"] = _ms(re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M)[1])
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = (errors[1] if errors else "") + (f" non2xx={non2xx[1]}" if non2xx else "")
    result["requests"] = int(re.search(r"(\d+) requests in", out)[1])
    return result


def lua_post_json(path: Path, body: bytes) -> str:
    path.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body.decode())}\n'
                    'wrk.headers["Content-Type"] = "application/json"\n')
    return str(path)


_POST_WORDS = ["".join(random.Random(i).choices("abcdefghijklmnopqrstuvwxyz", k=3 + i % 7)) for i in range(301)]


def lua_posts(path: Path, rate: float, threads: int, articles: list[str], users: int = 2000) -> str:
    """Posts to ``articles`` in turn from rotating SSO users at ``rate`` posts/s in all (open loop).

    Each wrk thread keeps its own schedule of ``rate / threads`` posts/s: a connection that is free
    waits for the next free slot (wrk's ``delay()``, clocked with clock_gettime through LuaJIT's
    FFI). A thread that falls more than two slots behind (posts slower than the schedule) drops the
    missed slots instead of bursting to catch up, so the rate is a ceiling: the bench reports the
    share of posts actually reached.
    """
    now = int(time.time())
    tokens = [jwt.encode({"sub": f"bench-{i}", "name": f"Bench {i}", "exp": now + 7200}, SSO_SECRET,
                         algorithm="HS256") for i in range(users)]
    paths = [f"/api/v1/articles/{a}/comments?site={SITE_ID}" for a in articles]
    interval_ms = 1000.0 * threads / max(rate, 0.1)
    lines = ['local ffi = require("ffi")',
             "pcall(ffi.cdef, [[typedef struct { long tv_sec; long tv_nsec; } cs_timespec;",
             "int clock_gettime(int clk_id, cs_timespec *tp);]])",
             'local ts = ffi.new("cs_timespec")',
             "local function now_ms() ffi.C.clock_gettime(1, ts) "
             "return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6 end",
             f"local interval = {interval_ms:.4f}",
             "local next_due = nil",
             "local tokens = {" + ",".join(json.dumps(t) for t in tokens) + "}", "local n = 0",
             "local paths = {" + ",".join(json.dumps(p) for p in paths) + "}",
             'wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"',
             "function delay()",
             "  local now = now_ms()",
             "  if next_due == nil or next_due < now - 2 * interval then next_due = now end",
             "  local wait = next_due - now",
             "  next_due = next_due + interval",
             "  if wait < 0 then wait = 0 end",
             "  return wait",
             "end",
             # each thread its own numbers, and each post its own words: a reader who posts the same
             # or nearly the same text again within minutes is refused as a repeat (services/repeats.py)
             "local threads = 0",
             "function setup(thread) threads = threads + 1; thread:set('tid', threads) end",
             "local words = {" + ",".join(json.dumps(w) for w in _POST_WORDS) + "}",
             # (random words, seeded anew for each run and thread: a run's posts are not the last run's)
             f"function init(args) math.randomseed({random.randrange(2**30)} + (tid or 0)) end",
             "function request()", "  n = n + 1",
             "  local m = (tid or 0) * 1000 + n",
             "  local picked = {}",
             "  for i = 1, 14 do picked[i] = words[math.random(#words)] end",
             '  local body = \'{"body":"\' .. table.concat(picked, " ") .. \'"}\'',
             '  return wrk.format(nil, paths[(m % #paths) + 1], '
             '{["Authorization"] = "Bearer " .. tokens[(m % #tokens) + 1], '
             '["Content-Type"] = "application/json"}, body)', "end"]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


# ------------------------------------------------------------------ R2, in process
async def cold_page(db: str, duration: float) -> dict:
    from comments_service.settings import Settings
    from comments_service.wiring import build_api, close_api

    env = {k: v for k, v in api_env(db).items() if k.startswith("COMMENTS_")}
    services = await build_api(Settings.from_env(env))
    try:
        entry = await services.sites.get(SITE_ID)
        times: list[float] = []
        size = 0
        end = time.monotonic() + duration
        while time.monotonic() < end:
            await services.cache.bump(SITE_ID, BIG_ARTICLE)  # retire the cached page, as a write does
            t0 = time.perf_counter()
            body = await services.comments.thread(entry, BIG_ARTICLE, sort="oldest", cursor=None, limit=20,
                                                  replies=5, viewer=None)
            times.append((time.perf_counter() - t0) * 1000)
            size = len(body)
            assert services.cache.stats.hits == 0
    finally:
        await close_api(services)
    times.sort()
    return {"db": db, "calls": len(times), "p50_ms": statistics.median(times),
            "p99_ms": times[int(len(times) * 0.99)], "bytes": size}


# ------------------------------------------------------------------ HTTP scenarios
def fetch(url: str, body: bytes | None = None) -> bytes:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


def fetch_headers(url: str) -> dict[str, str]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return {k.lower(): v for k, v in r.headers.items()}


SCENARIOS = ("B0", "B1", "R1", "R1c", "R1e", "R1s", "R2", "R3", "R4", "R4b")
BROWSER_ENCODINGS = "gzip, deflate, br, zstd"  # Chromium's Accept-Encoding


def http_pass(api: Server, b0: Server, duration: float, tmp: Path,
              only: frozenset[str] = frozenset(SCENARIOS)) -> dict:
    res: dict = {}
    if "B0" in only:
        res["B0_page"] = wrk(b0.url + PAGE_PATH, duration, 32)
    if "B1" in only:  # the raw-ASGI limit: the same bytes from an ASGI callable with no framework
        raw = Server(api.kind, "bench.raw_asgi:app", api.workers_count, {**os.environ, "BENCH_RAW_BODY": str(
            tmp / "page.json"), "PYTHONPATH": str(ROOT)}, factory=False)
        try:
            raw.wait_ready(PAGE_PATH)
            res["B1_page"] = wrk(raw.url + PAGE_PATH, duration, 32)
        finally:
            raw.stop()
    before = cpu_ticks()
    res["R1"] = wrk(api.url + PAGE_PATH, duration, 32)  # always: R4's post rate is derived from it
    res["R1_cpu_cores"] = cpu_cores(before, cpu_ticks(), {p.pid for p in api.workers()})
    if "R1c" in only:  # as a browser asks: the page compressed (brotli)
        res["R1c"] = wrk(api.url + PAGE_PATH, duration, 32, headers=(f"Accept-Encoding: {BROWSER_ENCODINGS}",))
    if "R1e" in only:  # a browser revalidating the copy it holds: 304s
        etag = fetch_headers(api.url + PAGE_PATH)["etag"]
        res["R1e"] = wrk(api.url + PAGE_PATH, duration, 32, headers=(f"If-None-Match: {etag}",))
    if "R1s" in only:  # a signed-in reader's first page: their own view, never a shared cache's
        # copy; a reader the seed stored (bench.seed's ``uN``, who has commented) with nothing
        # awaiting review, which the handler finds in PostgreSQL once, the fast path remembering it
        # (services/own_pending.py)
        token = jwt.encode({"sub": "u7", "name": "Reader 7", "exp": int(time.time()) + 7200}, SSO_SECRET,
                           algorithm="HS256")
        res["R1s"] = wrk(api.url + PAGE_PATH, duration, 32, headers=(f"Authorization: Bearer {token}",))
    if "B0" in only:
        res["B0_counts"] = wrk(b0.url + COUNTS_GET_PATH, duration, 32)
    if "R3" in only:
        res["R3"] = wrk(api.url + COUNTS_GET_PATH, duration, 32)
    # R4: 32 connections read the hot page while posts run at 5/95 of the read rate, so that posts
    # are 5% of all requests. Posts slow the reads, so the rate is found by measuring, in four
    # short (3 s) warm-ups of the mixed load (see post_rate_for). The poster is open loop (a schedule of slots,
    # see lua_posts), so slow posts cannot push the share up; the share reached is reported. R4
    # posts to the hot article itself, so every post retires the page being read (a story
    # breaking); R4b spreads the same posts over 200 other articles (the site's write load, the hot
    # page intact).
    others = [f"a{i:06d}" for i in range(1, 400, 2)]
    for name, targets in (("R4", [HOT_ARTICLE]), ("R4b", others)):
        if name not in only:
            continue
        warmups: list[dict] = []
        rate = post_rate_for(api, res["R1"]["rps"], min(3.0, duration), targets, tmp / f"posts_{name}_w.lua",
                             warmups)
        # the 3 s warm-ups place the rate within about ±1 point of share; a run that lands outside
        # 5 ± 0.3% is repeated at a corrected rate (half the proportional step in log terms: the
        # share moves more than in proportion near saturation), at most SHARE_TRIES runs, each
        # recorded in *_tries. The result is the first run within the band, else the run closest
        # to 5% (chosen by the share it reached, never by its latencies)
        tries: list[dict] = []
        runs: list[tuple[float, dict]] = []
        for _ in range(SHARE_TRIES):
            mixed = mixed_run(api, duration, rate, targets, tmp / f"posts_{name}.lua")
            tries.append({"post_rate": round(rate, 1), "share": mixed["share"],
                          "reads_p99_ms": mixed["reads"]["p99_ms"]})
            runs.append((rate, mixed))
            if abs(mixed["share"] - POST_SHARE) <= SHARE_TOLERANCE or name == "R4b" or not mixed["share"]:
                break
            rate *= (POST_SHARE / mixed["share"]) ** 0.5
        rate, mixed = min(runs, key=lambda run: abs(run[1]["share"] - POST_SHARE))
        res[f"{name}_reads"] = mixed["reads"]
        res[f"{name}_posts"] = mixed["posts"]
        res[f"{name}_post_rate"] = round(rate, 1)
        res[f"{name}_post_share"] = mixed["share"]
        res[f"{name}_cpu_cores"] = mixed["cpu_cores"]
        res[f"{name}_cpu_us_per_post"] = post_cost(res["R1"], res["R1_cpu_cores"], mixed)
        res[f"{name}_warmups"] = warmups
        res[f"{name}_tries"] = tries
    return res


def post_cost(r1: dict, r1_cpu: dict[str, float], mixed: dict) -> dict[str, int]:
    """What one post cost each part of the machine during a mixed run, in CPU µs: each part's cores
    (the API's, PostgreSQL's, Redis's, the kernel's) less what the run's reads cost it at R1's price
    (its R1 cores over R1's reads/s: nothing but the API and the kernel's networking, for a page
    read from the API's own memory), over the posts made. Empty where /proc could not be read."""
    posts = mixed["posts"].get("rps") or 0.0
    if not posts or not r1.get("rps") or not r1_cpu["api"]:
        return {}
    cpu, reads = mixed["cpu_cores"], mixed["reads"]["rps"]
    return {k: round((cpu[k] - reads * r1_cpu[k] / r1["rps"]) / posts * 1e6)
            for k in ("api", "postgres", "redis", "kernel")}


POST_SHARE = 0.05
SHARE_TOLERANCE = 0.003
SHARE_TRIES = 3
# Poster connections: a post waits its turn behind the 32 readers at each of its awaits (two
# statements, the Redis bump, the response), so at 5% it takes ~70-120 ms and 16 connections
# capped R4's share near 3% (2026-12-02); 32 carry the rate. R4b's rate is capped by the server,
# not by them (runs of 2026-11-27 12:30 and 12:38).
POSTERS = 32


def mixed_run(api: Server, duration: float, rate: float, targets: list[str], script: Path) -> dict:
    """32 connections read the hot page while posts run at ``rate`` posts/s (open loop), and where
    the machine's CPU went meanwhile (see cpu_cores)."""
    posts_lua = lua_posts(script, rate, 2, targets)
    box: dict = {}
    poster = threading.Thread(target=lambda: box.update(wrk(api.url + PAGE_PATH, duration, POSTERS, posts_lua)))
    before = cpu_ticks()
    poster.start()
    reads = wrk(api.url + PAGE_PATH, duration, 32)
    poster.join()
    cpu = cpu_cores(before, cpu_ticks(), {p.pid for p in api.workers()})
    return {"reads": reads, "posts": box, "share": round(box["requests"] / (box["requests"] + reads["requests"]), 4),
            "cpu_cores": cpu}


# ------------------------------------------------------------------ where the CPU went
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


Ticks = tuple[float, float, dict[int, tuple[str, int]]]


def cpu_ticks() -> Ticks:
    """(now, the CPU seconds of this process's finished children (wrk), each running process's name
    and CPU ticks so far), from /proc (empty where there is none)."""
    found: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        found[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))  # utime + stime
    times = os.times()
    return time.monotonic(), times.children_user + times.children_system, found


def cpu_cores(before: Ticks, after: Ticks, api_pids: set[int]) -> dict[str, float]:
    """Cores each part of the machine used between two cpu_ticks(): the API's processes, PostgreSQL,
    Redis, wrk (the load itself), the kernel's threads and the rest. R4 shares one machine among all
    of them: what a post costs is in all of these, not only in the API (BENCHMARKS.md, R4)."""
    (t0, waited0, first), (t1, waited1, last) = before, after
    seconds = max(t1 - t0, 1e-9)
    # wrk has ended by now: its CPU is in this process's children's times (the running server's is not)
    used: dict[str, float] = {"api": 0.0, "postgres": 0.0, "redis": 0.0, "wrk": (waited1 - waited0) / seconds,
                              "kernel": 0.0, "other": 0.0}
    for pid, (name, ticks) in last.items():
        was = first.get(pid)
        spent = ticks - (was[1] if was is not None and was[0] == name else 0)
        group = ("api" if pid in api_pids else "postgres" if name == "postgres" else
                 "redis" if name.startswith("redis-server") else
                 "kernel" if name.startswith(("kworker", "ksoftirqd", "kswapd", "rcu_")) else "other")
        used[group] += spent / _TICK / seconds
    return {k: round(v, 3) for k, v in used.items()}


def post_rate_for(api: Server, r1_rps: float, seconds: float, targets: list[str], script: Path,
                  log: list[dict], steps: int = 3) -> float:
    """The post rate that makes posts 5% of requests: the root of 5/95 x reads/s(r) - r.

    Reads/s falls as the post rate rises, so the first guess (5/95 of R1, the read rate with no
    posts) is too high and 5/95 of the reads measured under it too low: the two bracket the root.
    Each further short run of the mixed load (``steps - 1`` of them) narrows the bracket by regula
    falsi; the rate recorded is the interpolation within the last bracket.
    """
    def excess(rate: float) -> float:
        mixed = mixed_run(api, seconds, rate, targets, script)
        log.append({"post_rate": round(rate, 1), "reads_rps": mixed["reads"]["rps"], "share": mixed["share"]})
        return mixed["reads"]["rps"] * POST_SHARE / (1 - POST_SHARE) - rate

    hi = r1_rps * POST_SHARE / (1 - POST_SHARE)
    g_hi = excess(hi)
    if g_hi >= 0:
        return hi
    lo = max(hi + g_hi, 1.0)
    g_lo = excess(lo)
    for _ in range(steps - 1):
        if g_lo <= 0:  # reads were slower still at the lower rate (noise): nothing to interpolate
            return lo
        mid = lo + g_lo * (hi - lo) / (g_lo - g_hi)
        g_mid = excess(mid)
        if g_mid >= 0:
            lo, g_lo = mid, g_mid
        else:
            hi, g_hi = mid, g_mid
    return lo + g_lo * (hi - lo) / (g_lo - g_hi) if g_lo > 0 else lo


def start_pair(kind: str, workers: int, db: str, tmp: Path) -> tuple[Server, Server]:
    api = Server(kind, API_TARGET, workers, api_env(db), factory=True)
    api.wait_ready(PAGE_PATH)
    page = fetch(api.url + PAGE_PATH)
    counts = fetch(api.url + COUNTS_PATH, json.dumps({"article_ids": FRONT_PAGE}).encode())
    (tmp / "page.json").write_bytes(page)
    (tmp / "counts.json").write_bytes(counts)
    env = {**os.environ, "BENCH_B0_PAGE": str(tmp / "page.json"), "BENCH_B0_COUNTS": str(tmp / "counts.json"),
           "PYTHONPATH": str(ROOT)}
    b0 = Server(kind, "bench.b0:app", workers, env, factory=False)
    b0.wait_ready(PAGE_PATH)
    assert fetch(b0.url + PAGE_PATH) == fetch(api.url + PAGE_PATH), "B0 must send the API's bytes"
    return api, b0


def summary(res: dict) -> dict:
    ratios = {"R1/B0": ("R1", "rps", "B0_page", "rps"), "R3/B0": ("R3", "rps", "B0_counts", "rps"),
              "R4p99/R1p99": ("R4_reads", "p99_ms", "R1", "p99_ms"),
              "R4b_p99/R1p99": ("R4b_reads", "p99_ms", "R1", "p99_ms")}
    return {name: round(res[a][x] / res[b][y], 3) for name, (a, x, b, y) in ratios.items() if a in res and b in res}


def compare_servers(db: str, duration: float) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for kind, workers in (("uvicorn", 1), ("granian", 1), ("uvicorn", 2), ("granian", 2)):
            api, b0 = start_pair(kind, workers, db, tmp)
            try:
                r = {"server": kind, "workers": workers, "B0": wrk(b0.url + PAGE_PATH, duration, 32),
                     "R1": wrk(api.url + PAGE_PATH, duration, 32)}
            finally:
                api.stop(), b0.stop()
            print(json.dumps(r), flush=True)
            rows.append(r)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reads", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="cs_bench_1m")
    parser.add_argument("--small-db", default="cs_bench_10k")
    parser.add_argument("--server", choices=("uvicorn", "uvicorn-asgi", "granian"), default="uvicorn",
                        help="uvicorn: `comments-service serve` (its own HTTP protocol); uvicorn-asgi: the app "
                             "under plain uvicorn; granian: under granian (B0 and B1 under the same server)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per scenario (>= 15 for records)")
    parser.add_argument("--repeat", type=int, default=2, help="HTTP passes on the same servers (RSS growth)")
    parser.add_argument("--compare-servers", action="store_true")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--only", default=",".join(SCENARIOS),
                        help="comma-separated subset of the scenarios, for quick iterations (records run all)")
    args = parser.parse_args()
    only = frozenset(args.only.split(","))
    if only - set(SCENARIOS):
        sys.exit(f"unknown scenarios: {sorted(only - set(SCENARIOS))}; known: {', '.join(SCENARIOS)}")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    asyncio.run(migrate_all(args.db, args.small_db))
    info = {"machine": {"cpus": os.cpu_count(), "model": _cpu_model(), "load_before": os.getloadavg()},
            "duration_s": args.duration, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if args.compare_servers:
        if importlib.util.find_spec("granian") is None:
            sys.exit("the comparison needs granian: .venv/bin/pip install granian 'torch==2.13.0'")
        info["compare"] = compare_servers(args.db, args.duration)
    else:
        info["server"] = {"kind": args.server, "workers": args.workers}
        if "R2" in only:
            info["R2"] = [asyncio.run(cold_page(db, args.duration)) for db in (args.db, args.small_db)]
            info["R2"].append({"ratio_1m_over_10k": round(info["R2"][0]["p50_ms"] / info["R2"][1]["p50_ms"], 3)})
            print(json.dumps(info["R2"]), flush=True)
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            api, b0 = start_pair(args.server, args.workers, args.db, tmp)
            try:
                info["rss_mb_idle"] = api.rss()
                info["passes"] = []
                for _ in range(args.repeat):
                    res = http_pass(api, b0, args.duration, tmp, only)
                    res["summary"] = summary(res)
                    res["rss_mb_after"] = api.rss()
                    info["passes"].append(res)
                    print(json.dumps(res), flush=True)
                info["rss_mb_peak"] = api.peak
            finally:
                api.stop(), b0.stop()
                asyncio.run(forget_keys(REDIS_URL, PREFIX))  # R4's posts leave ~5 keys each
    info["load_after"] = os.getloadavg()
    text = json.dumps(info, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
