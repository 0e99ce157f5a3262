"""Live updates at scale: N concurrent SSE streams on ONE API process, their memory, and the time one
new comment takes to reach all of them.

    python -m bench.sse_fanout --stages 1000,5000,10000 --posts 6 --out bench/results_sse_<tag>.json
    python -m bench.sse_fanout --heartbeat 3600 --idle-seconds 10 ...   # the fan-out without heartbeats

One ``comments-service serve`` process (uvicorn, uvloop, the service's own protocol and limits) on a
loopback port, with the stream caps raised for the bench only (``COMMENTS_LIVE_MAX_STREAMS``,
``COMMENTS_LIVE_MAX_PER_IP``, ``COMMENTS_MAX_CONNECTIONS``) and scoring off, so that a post publishes
at once. Two client processes hold the streams on raw asyncio sockets (uvloop protocols, no HTTP
library: a stream costs the client a buffer and a counter), spread over the source addresses
127.0.0.1-8 so that 10,000 connections stay far from the ephemeral port range. Stages open streams
up to each total in turn (1,000, then 4,000 more, then 5,000 more: the same process throughout); at
each, once every stream has had its ``ready`` event, the API process's RSS is read, and then
``--posts`` comments are posted one at a time to the watched article by signed-in readers. A
comment's fan-out latency is, for each stream, the time from just before its POST was sent to the
moment the client read the event; both clocks are the system's CLOCK_MONOTONIC, shared by the
processes. The server's CPU time is read around each fan-out, and around each stage's opening and
idle time; a ``gc.callbacks`` hook in the server process logs every full collection, so that a
slow fan-out can be matched with the pause inside it. The clients run on the same cores as the
server, so these are upper bounds.

Loopback only; bounded by ``--stage-timeout``; every stream is closed, the server stopped, its
database dropped and its Redis keys deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jwt
import psutil

from .common import ADMIN_URL, HOT_ARTICLE, SECRET_KEY, SITE_ID, SSO_SECRET, database_url, forget_keys

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
EVENTS_PATH = f"/api/v1/articles/{HOT_ARTICLE}/events?site={SITE_ID}"
POST_PATH = f"/api/v1/articles/{HOT_ARTICLE}/comments?site={SITE_ID}"
SOURCES = [f"127.0.0.{i}" for i in range(1, 9)]
CLIENTS = 2
OPENING = 256  # connections a client has connecting at once: below the listen backlog


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# ------------------------------------------------------------------ the client processes
class Stream(asyncio.Protocol):
    """One SSE connection: counts the events after ``ready`` and stamps when each arrived."""

    def __init__(self, request: bytes, ready: asyncio.Future) -> None:
        self.request = request
        self.ready = ready
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.started = False  # the ``ready`` event arrived
        self.arrivals: list[float] = []
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.started:
            self.head += data
            if b"event: ready" in self.head:
                self.started = True
                if not self.head.startswith(b"HTTP/1.1 200"):
                    self._fail(self.head[:200])
                elif not self.ready.done():
                    self.ready.set_result(True)
                data = self.head.split(b"event: ready", 1)[1]
                self.head = b""
            elif not self.head.startswith(b"HTTP/1.1 200") and b"\r\n\r\n" in self.head:
                self._fail(self.head[:300])
                return
            else:
                return
        # a comment event is one ``data:`` line (heartbeats are ``:`` comments); a read may carry
        # several, or the ready event's own data line, which the split above left behind
        n = data.count(b"\ndata: ") + data.startswith(b"data: ")
        if n and b'{"type":"ready"}' in data:
            n -= 1
        self.arrivals.extend([now] * n)

    def _fail(self, why: bytes) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(why.decode("latin-1")))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(f"closed before ready: {exc}"))


async def _client(index: int, port: int, conn) -> None:
    loop = asyncio.get_running_loop()
    request = (f"GET {EVENTS_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
               f"Cache-Control: no-cache\r\n\r\n").encode()
    streams: list[Stream] = []
    gate = asyncio.Semaphore(OPENING)

    async def open_one(k: int) -> str | None:
        async with gate:
            ready = loop.create_future()
            try:
                _, proto = await loop.create_connection(lambda: Stream(request, ready), "127.0.0.1", port,
                                                        local_addr=(SOURCES[k % len(SOURCES)], 0))
                await asyncio.wait_for(ready, 60)
            except Exception as exc:  # the bench reports what failed and goes on
                return f"{type(exc).__name__}: {exc}"[:200]
            streams.append(proto)
            return None

    while True:
        command = await loop.run_in_executor(None, conn.recv)
        kind = command[0]
        if kind == "open":
            t0 = time.monotonic()
            errors = await asyncio.gather(*(open_one(len(streams) + i * CLIENTS + index)
                                            for i in range(command[1])))
            failed = [e for e in errors if e]
            conn.send({"open": len(streams), "failed": len(failed), "errors": sorted(set(failed))[:5],
                       "seconds": time.monotonic() - t0})
        elif kind == "events":  # on every open stream, when the first event after ``since`` arrived
            _, since, timeout = command
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and any(
                    not (s.arrivals and s.arrivals[-1] >= since) and not s.closed for s in streams):
                await asyncio.sleep(0.01)
            got = [next(t for t in s.arrivals if t >= since) for s in streams if s.arrivals and s.arrivals[-1] >= since]
            conn.send({"arrivals": got, "missing": len(streams) - len(got),
                       "closed": sum(s.closed for s in streams)})
        elif kind == "close":
            for s in streams:
                if s.transport is not None:
                    s.transport.close()
            await asyncio.sleep(0.5)
            conn.send({"closed": len(streams)})
            return


def client_main(index: int, port: int, conn) -> None:
    import uvloop

    raise_nofile()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator ends the run
    uvloop.run(_client(index, port, conn))


# ------------------------------------------------------------------ the coordinator
# The server, started through ``comments_service.cli.main`` as ``comments-service serve`` is, with a
# garbage-collector callback that appends each full (generation 2) collection's start and length to
# a file, so that a slow fan-out can be told apart from a collection that fell inside it.
SERVE_WITH_GC_LOG = """
import gc, sys, time
log = open(sys.argv[1], "a", buffering=1)
started = {}
def watch(phase, info):
    if info["generation"] != 2:
        return
    if phase == "start":
        started[0] = time.monotonic()
    else:
        log.write(f"{started[0]:.6f} {time.monotonic() - started[0]:.6f} {info['collected']}\\n")
gc.callbacks.append(watch)
from comments_service.cli import main
raise SystemExit(main(["serve", "--workers", "1"]))
"""


def gc_pauses(path: Path, start: float, end: float) -> list[float]:
    """Seconds of each full collection that overlapped the time from ``start`` to ``end``."""
    out = []
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            at, took, _ = line.split()
            if float(at) <= end and float(at) + float(took) >= start:
                out.append(float(took))
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(db: str) -> None:
    subprocess.run([sys.executable, "-m", "bench.seed", "--comments", "600", "--database", db],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def drop(db: str, prefix: str) -> None:
    import asyncpg

    async def go() -> None:
        admin = await asyncpg.connect(ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()
        await forget_keys(REDIS_URL, prefix)

    asyncio.run(go())


def rss_mb(pid: int) -> float:
    root = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20


def post(url: str, n: int) -> tuple[float, float]:
    """One signed-in reader's new top-level comment: (monotonic time before sending, seconds to answer)."""
    token = jwt.encode({"sub": f"sse-{n}", "name": f"SSE reader {n}", "exp": int(time.time()) + 3600}, SSO_SECRET,
                       algorithm="HS256")
    body = json.dumps({"body": f"live fan-out comment number {n}, {os.urandom(6).hex()}"}).encode()
    req = urllib.request.Request(url + POST_PATH, data=body, method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()
        assert r.status in (200, 201), r.status
    return t0, time.monotonic() - t0


def reply_of(pipe, timeout: float) -> dict:
    """A client's reply, or an error rather than waiting for good on a client that died."""
    if not pipe.poll(timeout):
        raise RuntimeError(f"a client process gave no answer within {timeout:.0f} s")
    return pipe.recv()


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sse_fanout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", default="1000,5000,10000", help="total open streams at each stage")
    parser.add_argument("--posts", type=int, default=6, help="comments posted (fan-outs timed) per stage")
    parser.add_argument("--stage-timeout", type=float, default=120.0,
                        help="seconds a stage may take to open or deliver")
    parser.add_argument("--idle-seconds", type=float, default=30.0,
                        help="seconds the idle streams' CPU is read (two heartbeat periods by default)")
    parser.add_argument("--heartbeat", type=float, default=15.0,
                        help="COMMENTS_LIVE_HEARTBEAT_SECONDS (the service's default 15): streams opened in a burst "
                             "send their heartbeats in bursts too, which a fan-out may meet; a long one isolates it")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    stages = [int(s) for s in args.stages.split(",")]
    top = max(stages)
    hard = raise_nofile()
    if hard < top + 500:
        sys.exit(f"the open-file limit ({hard}) is below {top + 500}: raise `ulimit -Hn` first")

    db = f"cs_bench_sse_{os.getpid()}"
    prefix = f"cssse{os.getpid()}:"
    seed(db)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "COMMENTS_DATABASE_URL": database_url(db), "COMMENTS_REDIS_URL": REDIS_URL,
           "COMMENTS_REDIS_PREFIX": prefix, "COMMENTS_SECRET_KEY": SECRET_KEY, "COMMENTS_LOG_LEVEL": "WARNING",
           "COMMENTS_SCORING": "off", "COMMENTS_HOST": "127.0.0.1", "COMMENTS_PORT": str(port),
           "COMMENTS_LIVE_MAX_STREAMS": str(top + 100), "COMMENTS_LIVE_MAX_PER_IP": str(top + 100),
           "COMMENTS_MAX_CONNECTIONS": str(top + 500), "COMMENTS_ACCESS_LOG": "errors",
           "COMMENTS_LIVE_HEARTBEAT_SECONDS": str(args.heartbeat),
           "PYTHONPATH": str(ROOT)}
    gc_log = Path(f"/tmp/cs_bench_sse_gc_{os.getpid()}.log")
    server = subprocess.Popen([sys.executable, "-c", SERVE_WITH_GC_LOG, str(gc_log)],
                              env=env, cwd=ROOT, start_new_session=True)
    pipes, clients = [], []
    info: dict = {"heartbeat_s": args.heartbeat,
                  "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg(), "nofile_hard": hard},
                  "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "stages": []}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + f"/api/v1/articles/{HOT_ARTICLE}/comments?site={SITE_ID}",
                                            timeout=2) as r:
                    r.read()
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the API did not start") from None
                time.sleep(0.3)
        post(url, 0)  # warm the post path (and the live hub's subscription, which the first stream makes)
        info["rss_mb_idle"] = round(rss_mb(server.pid), 1)
        ctx = mp.get_context("spawn")
        for i in range(CLIENTS):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=client_main, args=(i, port, child), daemon=True)
            p.start()
            pipes.append(parent)
            clients.append(p)
        opened = 0
        posted = 0
        for total in stages:
            more = total - opened
            rss_before = rss_mb(server.pid)
            proc = psutil.Process(server.pid)
            open_cpu0 = sum(proc.cpu_times()[:2])
            t0 = time.monotonic()
            for i, pipe in enumerate(pipes):
                pipe.send(("open", more // CLIENTS + (1 if i < more % CLIENTS else 0)))
            replies = [reply_of(pipe, args.stage_timeout + 60) for pipe in pipes]
            open_s = time.monotonic() - t0
            open_cpu = sum(proc.cpu_times()[:2]) - open_cpu0
            opened = sum(r["open"] for r in replies)
            time.sleep(1.0)  # let the server's allocations settle before reading RSS
            rss = rss_mb(server.pid)
            # what holding the streams costs while nothing happens: their heartbeats
            c0, w0 = sum(proc.cpu_times()[:2]), time.monotonic()
            time.sleep(args.idle_seconds)
            idle_cpu = (sum(proc.cpu_times()[:2]) - c0) / (time.monotonic() - w0)
            stage = {"streams": opened, "failed": sum(r["failed"] for r in replies),
                     "errors": sorted({e for r in replies for e in r["errors"]})[:5],
                     "open_seconds": round(open_s, 2), "opened_per_s": round(more / open_s),
                     "server_cpu_us_per_open": round(open_cpu * 1e6 / max(more, 1)),
                     "rss_mb": round(rss, 1),
                     "rss_kb_per_stream": round((rss - info["rss_mb_idle"]) * 1024 / opened, 1),
                     "rss_kb_per_added_stream": round((rss - rss_before) * 1024 / max(more, 1), 1),
                     "idle_cpu_cores": round(idle_cpu, 3),
                     "posts": []}
            for _ in range(args.posts):
                posted += 1
                cpu0 = sum(proc.cpu_times()[:2])
                sent, answer = post(url, posted)
                for pipe in pipes:
                    pipe.send(("events", sent, args.stage_timeout))
                got = [reply_of(pipe, args.stage_timeout + 10) for pipe in pipes]
                # the server's CPU for the post and its fan-out (and the few heartbeats meanwhile)
                cpu = sum(proc.cpu_times()[:2]) - cpu0
                full_gcs = gc_pauses(gc_log, sent, time.monotonic())
                lat = [(t - sent) * 1000 for g in got for t in g["arrivals"]]
                row = {"post_ms": round(answer * 1000, 1), "server_cpu_ms": round(cpu * 1000, 1),
                       "full_gc_ms": [round(g * 1000, 1) for g in full_gcs], "delivered": len(lat),
                       "missing": sum(g["missing"] for g in got), "closed": sum(g["closed"] for g in got)}
                if lat:
                    row.update(p50_ms=round(statistics.median(lat), 1), p99_ms=round(pct(lat, 0.99), 1),
                               max_ms=round(max(lat), 1), min_ms=round(min(lat), 1))
                stage["posts"].append(row)
                print(json.dumps({"streams": opened, **row}), flush=True)
                time.sleep(0.5)
            stage["rss_mb_after_posts"] = round(rss_mb(server.pid), 1)
            # every full collection from this stage's first new stream to its last post: what a
            # process with up to this many streams pauses for, whether or not a post met one
            stage["full_gc_ms_stage"] = [round(g * 1000, 1) for g in gc_pauses(gc_log, t0, time.monotonic())]
            done = [p for p in stage["posts"] if "p50_ms" in p]
            if done:
                stage["median_of_posts"] = {k: statistics.median(p[k] for p in done)
                                            for k in ("p50_ms", "p99_ms", "max_ms", "post_ms", "server_cpu_ms")}
                # all posts together, full collections included: what a delivery costs on average
                stage["server_cpu_us_per_delivery"] = round(
                    sum(p["server_cpu_ms"] for p in done) * 1000 / sum(p["delivered"] for p in done), 1)
                quiet = [p for p in done if not p["full_gc_ms"]]
                if quiet:
                    stage["server_cpu_us_per_delivery_without_full_gc"] = round(
                        sum(p["server_cpu_ms"] for p in quiet) * 1000 / sum(p["delivered"] for p in quiet), 1)
            info["stages"].append(stage)
            print(json.dumps({k: v for k, v in stage.items() if k != "posts"}), flush=True)
        for pipe in pipes:
            pipe.send(("close",))
        for pipe in pipes:
            reply_of(pipe, 30)
        time.sleep(2.0)
        info["rss_mb_after_close"] = round(rss_mb(server.pid), 1)
    finally:
        for p in clients:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        drop(db, prefix)
        info["full_gc_ms_all"] = [round(g * 1000, 1) for g in gc_pauses(gc_log, 0, float("inf"))]
        gc_log.unlink(missing_ok=True)
    info["load_after"] = os.getloadavg()
    text = json.dumps(info, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
