"""End-to-end scoring benchmark: POST -> decision at 1 comment/s and under a burst of 500, and what
the burst does to readers (read p99 during the burst vs idle; target at most 1.5x).

    python -m bench.e2e_scoring --model tiny --steady 30 --burst 500 --out bench/results_e2e_tiny.json
    python -m bench.e2e_scoring --model original --workers 1 --steady 30 --burst 500
    python -m bench.e2e_scoring --model original-small --backend detoxify   # the reference backend

Phases, with readers throughout: idle; 1 comment/s; a burst of 500 POSTs (50 concurrent clients)
decided as they arrive; then the backlog phase, which separates the write path from the model:
the workers are paused (SIGSTOP), 500 more comments are POSTed and queued ("backlog_post": the
readers see only the API's write path), a few quiet seconds ("queued": nothing runs but readers),
then the workers resume and drain the queue ("drain": the readers see only the model and the
decision writes). The worker logs every batch (size, ms); the benchmark buckets the batch sizes by
phase to show the batch adapting to the backlog.

Everything is real and separate processes: a fresh database, `comments-service serve` (uvicorn, one
process) and N `comments-service worker` processes loading a Detoxify-format checkpoint built
offline (tiny test model, or random weights with the real architecture: ``original`` = BERT-base,
``original-small`` = ALBERT-base-v2). The load generator (httpx, in this process) posts comments as
SSO readers and, throughout, R readers fetch the hot article's first page. Decision latency is
measured by the database (scoring_jobs.scored_at - comments.created_at) and, as the reader sees it,
by whether the POST itself answered with the final decision (default 300 ms wait).

The site's toxicity thresholds are disabled: random weights score everything near 0.5 and the
benchmark is about time, not verdicts; every comment still goes through the model and the policy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import jwt

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SSO_SECRET = "bench-sso-secret-0123456789abcdef0123"
SECRET_KEY = "bench-secret-key-" + "e" * 32
SITE = "e2e"
HOT = "hot"
NO_THRESHOLDS = {"moderation": {"thresholds": dict.fromkeys(
    ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack", "sexual_explicit"))}}
TEXTS = [
    "Three civilians were killed in the bombing of the market, according to local officials.",
    "I think the council should publish the budget before the vote.",
    "Great reporting, thank you for covering the flooding in the valley.",
    "The article misquotes the report; the casualty figure was revised upward.",
    "Refugees crossing the river at night face enormous danger.",
]


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": pct(values, 0.5), "p95": pct(values, 0.95), "p99": pct(values, 0.99),
            "max": round(max(values), 2) if values else None,
            "mean": round(statistics.fmean(values), 2) if values else None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ARCH = {"original": "bert-base", "original-small": "albert-base-v2"}
SCORING_BENCH = Path.home() / ".cache" / "comments_service" / "bench"  # bench.scoring's checkpoints


def checkpoint(model: str, cache: Path) -> tuple[str, str]:
    """Build (once, cached) the checkpoint in a subprocess: this process never imports torch. The
    random BERT-base / ALBERT-base-v2 checkpoints of ``bench.scoring`` are reused when present."""
    if model in ARCH and (SCORING_BENCH / ARCH[model] / f"{ARCH[model]}.ckpt").is_file():
        return str(SCORING_BENCH / ARCH[model] / f"{ARCH[model]}.ckpt"), str(SCORING_BENCH / ARCH[model] / "config")
    directory = cache / model
    ckpt = directory / ("tiny.ckpt" if model == "tiny" else "model.ckpt")
    if not ckpt.exists() or not (directory / "config").exists():
        arch = {"original": "bert-base", "original-small": "albert-base-v2"}.get(model)
        code = ("import sys; from comments_service.toxicity.testing import build_tiny_checkpoint as b; "
                "print(b(sys.argv[1])[0])") if model == "tiny" else (
                "import sys; from comments_service.toxicity.testing import build_random_checkpoint as b; "
                f"print(b(sys.argv[1], arch={arch!r})[0])")
        out = subprocess.run([sys.executable, "-c", code, str(directory)], check=True, capture_output=True, text=True,
                             env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
        ckpt = Path(out.stdout.strip().splitlines()[-1])
    return str(ckpt), str(directory / "config")


def prepare_onnx(ckpt: str, config_dir: str, model: str, cache_dir: str) -> dict:
    """Export + quantise once (cached by the checkpoint's hash) in a separate process, as a first
    deploy does: the measured workers then start from the cache, like every later start."""
    variant = "original-small" if model == "original-small" else "original"
    code = ("import json, sys, time; from comments_service.toxicity import ToxicitySettings; "
            "from comments_service.toxicity.onnx_backend import OnnxScorer; t = time.perf_counter(); "
            "s = OnnxScorer(ToxicitySettings(backend='onnx', variant=sys.argv[4], checkpoint=sys.argv[1], "
            "config_dir=sys.argv[2], cache_dir=sys.argv[3])); "
            "print(json.dumps({'source': s.source, 'seconds': round(time.perf_counter() - t, 1), "
            "'export_dir': str(s.export_dir)}))")
    out = subprocess.run([sys.executable, "-c", code, ckpt, config_dir, cache_dir, variant], check=True,
                         capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


OTHERS = "bench.reads|wrk |bench.soak|bench.scoring|pytest"


async def watch_others(readers: Readers, seen: dict[str, list[str]]) -> None:
    """Other engineers' benchmarks and test runs seen during each phase (the machine is shared)."""
    while True:
        proc = await asyncio.create_subprocess_exec("pgrep", "-af", OTHERS, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        for line in out.decode().splitlines():
            name = line.split(None, 1)[-1][:60]
            if "bench.e2e" not in line and name not in seen.setdefault(readers.phase, []):
                seen[readers.phase].append(name)
        try:
            load = float(Path("/proc/loadavg").read_text().split()[0])
            seen.setdefault("_loadavg", []).append(f"{readers.phase}:{load}")
        except OSError:
            pass
        await asyncio.sleep(2)


def proc_memory(pid: int) -> dict:
    """VmRSS and VmHWM (peak) of a process, MiB."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return {"rss_mib": out.get("VmRSS"), "peak_mib": out.get("VmHWM")}


def batch_sizes(log_files: list[Path], marks: dict[str, tuple[float, float]]) -> dict:
    """The workers' 'batch decided' log lines bucketed by benchmark phase (wall clock)."""
    batches: list[tuple[float, int, float, float | None]] = []
    for path in log_files:
        for line in path.read_text(errors="replace").splitlines():
            if '"batch decided"' not in line:
                continue
            try:
                entry = json.loads(line)
                done = datetime.strptime(entry["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
                # a batch counts in the phase where it was claimed (the line is written when it ends)
                batches.append((done - float(entry["ms"]) / 1000, int(entry["size"]), float(entry["ms"]),
                                float(entry["score_ms"]) if "score_ms" in entry else None))
            except (ValueError, KeyError):
                continue
    out: dict = {}
    for phase, (start, end) in marks.items():
        rows = [(size, ms, score) for ts, size, ms, score in batches if start <= ts < end]
        if not rows:
            continue
        sizes = [size for size, _, _ in rows]
        hist: dict[str, int] = {}
        for lo, hi in ((1, 1), (2, 4), (5, 8), (9, 16), (17, 31), (32, 10**6)):
            n = sum(1 for x in sizes if lo <= x <= hi)
            if n:
                hist[f"{lo}" if lo == hi else (f"{lo}+" if hi > 10**5 else f"{lo}-{hi}")] = n
        out[phase] = {"batches": len(sizes), "comments": sum(sizes), "size_p50": pct(sizes, 0.5),
                      "size_mean": round(statistics.fmean(sizes), 1), "size_max": max(sizes), "histogram": hist,
                      "batch_ms_p50": pct([ms for _, ms, _ in rows], 0.5),
                      "score_ms_p50": pct([sc for _, _, sc in rows if sc is not None], 0.5),
                      "score_ms_per_comment": round(sum(sc or 0 for _, _, sc in rows) / sum(sizes), 2)}
    return out


async def prepare_database(name: str) -> str:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = ADMIN_URL.rpartition("/")
    url = f"{base}/{name}"
    from comments_service.db.migrations import migrate
    from comments_service.db.pool import connect
    from comments_service.identity import Keyring
    from comments_service.services.sites import SiteDirectory

    conn = await connect(url)
    try:
        await migrate(conn, str(ROOT / "migrations"))
        await SiteDirectory(None, Keyring(SECRET_KEY)).save(  # type: ignore[arg-type]
            conn, site_id=SITE, name="E2E bench", origins=["https://e2e.example"], sso_secret=SSO_SECRET,
            guests=False, settings=NO_THRESHOLDS)
    finally:
        await conn.close()
    return url


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def token(sub: str) -> str:
    return jwt.encode({"sub": sub, "name": sub, "exp": int(time.time()) + 7200}, SSO_SECRET, algorithm="HS256")


class Readers:
    """R concurrent readers of the hot article's first page; latencies tagged with a phase."""

    def __init__(self, http: httpx.AsyncClient, count: int) -> None:
        self.http, self.count = http, count
        self.phase = "warmup"
        self.samples: dict[str, list[float]] = {}
        self.errors = 0
        self._stop = asyncio.Event()

    async def _one(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            response = await self.http.get(f"/api/v1/articles/{HOT}/comments", params={"site": SITE})
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                self.errors += 1
            self.samples.setdefault(self.phase, []).append(elapsed)

    async def __aenter__(self) -> Readers:
        self._tasks = [asyncio.create_task(self._one()) for _ in range(self.count)]
        return self

    async def __aexit__(self, *exc) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)


async def post(http: httpx.AsyncClient, n: int, article: str) -> tuple[int, str, float]:
    started = time.perf_counter()
    response = await http.post(f"/api/v1/articles/{article}/comments", params={"site": SITE},
                               json={"body": f"{TEXTS[n % len(TEXTS)]} ({n})", "article_url": "https://e2e.example/a",
                                     "article_title": "Bench article"},
                               headers={"Authorization": f"Bearer {token(f'reader-{n % 200}')}"})
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    body = response.json()
    return body["comment"]["id"], body["status"], elapsed


async def decision_ms(db: asyncpg.Connection, ids: list[int], timeout: float = 600) -> list[float]:
    deadline = time.monotonic() + timeout
    while True:
        pending = await db.fetchval("SELECT count(*) FROM comments WHERE id = ANY($1::bigint[]) "
                                    "AND status = 'pending_scoring'", ids)
        if not pending:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{pending} comments still pending after {timeout}s")
        await asyncio.sleep(0.2)
    rows = await db.fetch("SELECT extract(epoch FROM j.scored_at - c.created_at) * 1000 AS ms FROM scoring_jobs j "
                          "JOIN comments c ON c.id = j.comment_id WHERE j.comment_id = ANY($1::bigint[])", ids)
    return [float(r["ms"]) for r in rows]


async def post_many(http: httpx.AsyncClient, first: int, count: int, article: str, concurrency: int,
                    failed: list[str]) -> list[tuple[int, str, float]]:
    sem = asyncio.Semaphore(concurrency)

    async def limited(n: int):
        async with sem:
            try:
                return await post(http, first + n, article)
            except httpx.TransportError as exc:  # counted, not retried: a POST is not idempotent
                failed.append(type(exc).__name__)
                return None

    return [b for b in await asyncio.gather(*(limited(n) for n in range(count))) if b]


async def run(args: argparse.Namespace) -> dict:
    from comments_service.toxicity import ToxicitySettings

    defaults = ToxicitySettings()
    backend = args.backend or defaults.backend
    ckpt, config_dir = checkpoint(args.model, Path(args.cache))
    result: dict = {"scoring": args.scoring, "nice": args.nice, "model": args.model, "backend": backend,
                    "workers": args.workers, "batch": args.batch or defaults.batch_size,
                    "threads": args.threads if args.threads is not None else defaults.threads,
                    "wait_ms": args.wait_ms, "readers": args.readers, "burst_concurrency": args.burst_concurrency}
    args.onnx_cache = args.onnx_cache or str(SCORING_BENCH / "onnx-cache" / ARCH.get(args.model, args.model))
    result["checkpoint"] = ckpt
    if backend == "onnx" and args.scoring == "on":
        result["onnx_prepare"] = prepare_onnx(ckpt, config_dir, args.model, args.onnx_cache)
    db_name = f"cs_bench_e2e_{os.getpid()}"
    url = await prepare_database(db_name)
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "COMMENTS_DATABASE_URL": url, "COMMENTS_REDIS_URL": REDIS_URL,
           "COMMENTS_REDIS_PREFIX": f"e2e{secrets.token_hex(3)}:", "COMMENTS_SECRET_KEY": SECRET_KEY,
           "COMMENTS_LOG_LEVEL": "WARNING", "COMMENTS_SCORING": args.scoring,
           "COMMENTS_SCORING_WORKER_NICE": str(args.nice),
           "COMMENTS_DECISION_WAIT_MS": str(args.wait_ms),
           "COMMENTS_RATE_LIMITS": ",".join(f"{a}.{s}=0:1" for a, s in (
               ("post", "user"), ("post", "ip"), ("check", "user"), ("check", "ip"))),
           "COMMENTS_TOXICITY_BACKEND": backend, "COMMENTS_TOXICITY_VARIANT": "original-small"
           if args.model == "original-small" else "original", "COMMENTS_TOXICITY_CACHE_DIR": args.onnx_cache,
           "COMMENTS_TOXICITY_CHECKPOINT": ckpt, "COMMENTS_TOXICITY_CONFIG_DIR": config_dir}
    if args.threads is not None:
        env["COMMENTS_TOXICITY_THREADS"] = str(args.threads)
    if args.batch:
        env["COMMENTS_TOXICITY_BATCH_SIZE"] = str(args.batch)
    # the workers log every batch (INFO) to a file: a pipe nobody reads would fill and stall them
    log_dir = Path(args.log_dir or f"/tmp/cs_bench_e2e_{os.getpid()}")
    log_dir.mkdir(parents=True, exist_ok=True)
    log_files = [log_dir / f"worker-{i}.log" for i in range(args.workers)]
    exe = [sys.executable, "-m", "comments_service.cli"]
    procs = [subprocess.Popen([*exe, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)]

    def start_worker(log_path: Path) -> subprocess.Popen:
        # the child gets its own copy of the descriptor, so ours can be closed once it is started
        with log_path.open("w") as log:
            return subprocess.Popen([*exe, "worker"], env={**env, "COMMENTS_LOG_LEVEL": "INFO"}, stderr=log)

    worker_procs = [start_worker(path) for path in log_files]
    procs += worker_procs
    marks: dict[str, tuple[float, float]] = {}
    db = await asyncpg.connect(url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                     limits=httpx.Limits(max_connections=200)) as http:
            for _ in range(600):
                try:
                    if (await http.get("/health/live")).status_code < 500:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            while await db.fetchval("SELECT count(*) FROM worker_status") < args.workers:
                await asyncio.sleep(0.2)
            workers = [dict(r) for r in await db.fetch("SELECT worker_id, model, is_fallback FROM worker_status")]
            result["worker_models"] = [{"model_id": w["model"].get("model_id") if isinstance(w["model"], dict)
                                        else json.loads(w["model"]).get("model_id"),
                                        "is_fallback": w["is_fallback"]} for w in workers]
            result["worker_memory_loaded"] = [proc_memory(w.pid) for w in worker_procs]
            # the hot article has a page of published comments to read
            seed = [await post(http, n, HOT) for n in range(20)]
            await decision_ms(db, [i for i, _, _ in seed])

            others_seen: dict[str, list[str]] = {}
            async with Readers(http, args.readers) as readers:
                watcher = asyncio.create_task(watch_others(readers, others_seen))

                def phase(name: str) -> None:
                    now = time.time()
                    if readers.phase in marks:
                        marks[readers.phase] = (marks[readers.phase][0], now)
                    readers.phase = name
                    marks[name] = (now, float("inf"))

                phase("idle")
                await asyncio.sleep(args.idle)

                phase("steady")
                steady: list[tuple[int, str, float]] = []
                start = time.monotonic()
                for n in range(args.steady):
                    await asyncio.sleep(max(0.0, start + n - time.monotonic()))
                    steady.append(await post(http, 1000 + n, "steady"))
                steady_ms = await decision_ms(db, [i for i, _, _ in steady])

                phase("burst")
                burst_started = time.monotonic()
                failed: list[str] = []
                burst = await post_many(http, 10_000, args.burst, "burst", args.burst_concurrency, failed)
                posted_s = time.monotonic() - burst_started
                burst_ms = await decision_ms(db, [i for i, _, _ in burst])
                drained_s = time.monotonic() - burst_started
                phase("after")
                await asyncio.sleep(2)

                backlog_res: dict | None = None
                if args.backlog:
                    # (b) the model's own effect: queue a backlog with the workers paused, then let
                    # them drain it while only readers run
                    if args.scoring == "on":
                        for w in worker_procs:
                            w.send_signal(signal.SIGSTOP)
                    phase("backlog_post")
                    t0 = time.monotonic()
                    failed_b: list[str] = []
                    backlog = await post_many(http, 20_000, args.backlog, "backlog", args.burst_concurrency,
                                              failed_b)
                    backlog_posted_s = time.monotonic() - t0
                    phase("queued")
                    await asyncio.sleep(args.queued_idle)
                    phase("drain")
                    t0 = time.monotonic()
                    if args.scoring == "on":
                        for w in worker_procs:
                            w.send_signal(signal.SIGCONT)
                    backlog_ms = await decision_ms(db, [i for i, _, _ in backlog])
                    backlog_drain_s = time.monotonic() - t0
                    phase("after_drain")
                    await asyncio.sleep(1)
                    backlog_res = {"n": len(backlog), "transport_errors": failed_b,
                                   "posted_seconds": round(backlog_posted_s, 2),
                                   "post_ms": summary([e for _, _, e in backlog]),
                                   "drain_seconds": round(backlog_drain_s, 2),
                                   "drain_comments_per_second": round(len(backlog) / backlog_drain_s, 1)
                                   if args.scoring == "on" else None,
                                   "decision_ms": summary(backlog_ms)}
                phase("end")
                watcher.cancel()
            result["others_seen"] = {k: v for k, v in others_seen.items() if v and k != "_loadavg"}
            result["loadavg_1min_samples"] = others_seen.get("_loadavg", [])

            result["worker_memory_end"] = [proc_memory(w.pid) for w in worker_procs]
            rss = [dict(r) for r in await db.fetch("SELECT worker_id, model, latency_ms, jobs_scored, batches "
                                                   "FROM worker_status")]
        result["steady"] = {"decision_ms": summary(steady_ms), "post_ms": summary([e for _, _, e in steady]),
                            "answered_in_post": sum(1 for _, s, _ in steady if s != "pending_scoring"),
                            "n": len(steady)}
        result["burst"] = {"decision_ms": summary(burst_ms), "post_ms": summary([e for _, _, e in burst]),
                           "answered_in_post": sum(1 for _, s, _ in burst if s != "pending_scoring"),
                           "n": len(burst), "transport_errors": failed, "posted_seconds": round(posted_s, 2),
                           "drained_seconds": round(drained_s, 2),
                           "comments_per_second": round(len(burst) / drained_s, 1)}
        if backlog_res:
            result["backlog"] = backlog_res
        result["reads_ms"] = {ph: summary(values) for ph, values in readers.samples.items()}
        result["read_errors"] = readers.errors
        idle_p99 = result["reads_ms"]["idle"]["p99"]
        result["read_p99_over_idle"] = {ph: round(v["p99"] / idle_p99, 2) for ph, v in result["reads_ms"].items()
                                        if ph not in ("warmup", "idle", "end") and v["p99"] and idle_p99}
        result["read_p99_burst_over_idle"] = result["read_p99_over_idle"].get("burst")
        result["worker_reports"] = [{"worker_id": r["worker_id"], "rss_mib": round(
            (r["model"] if isinstance(r["model"], dict) else json.loads(r["model"])).get("rss_bytes", 0) / 2**20),
            "latency_ms": r["latency_ms"], "jobs_scored": r["jobs_scored"], "batches": r["batches"]} for r in rss]
    finally:
        await db.close()
        for proc in procs:
            if proc in worker_procs:
                proc.send_signal(signal.SIGCONT)  # a paused worker cannot act on SIGTERM
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for path in log_files:
            lines = [line for line in path.read_text(errors="replace").splitlines()
                     if line.startswith("comments-service worker:")]
            result.setdefault("worker_banners", []).extend(lines)
        await drop_database(db_name)
    result["phases_seconds"] = {ph: round(end - start, 2) for ph, (start, end) in marks.items() if end != float("inf")}
    result["batch_sizes"] = batch_sizes(log_files, marks)
    result["worker_logs"] = [str(p) for p in log_files]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["tiny", "original", "original-small"], default="tiny")
    parser.add_argument("--backend", choices=["detoxify", "onnx"],
                        help="COMMENTS_TOXICITY_BACKEND (default: the service's default)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, help="model threads per worker (default: the service's default)")
    parser.add_argument("--batch", type=int, help="most comments per model call (default: the service's default)")
    parser.add_argument("--wait-ms", type=int, default=300)
    parser.add_argument("--scoring", choices=["on", "off"], default="on",
                        help="off: the same load with comments published unscored (the control run)")
    parser.add_argument("--nice", type=int, default=10, help="COMMENTS_SCORING_WORKER_NICE")
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--idle", type=float, default=15, help="seconds of reads with nothing posted")
    parser.add_argument("--steady", type=int, default=30, help="comments at 1/s")
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--burst-concurrency", type=int, default=50)
    parser.add_argument("--backlog", type=int, default=500,
                        help="comments queued with the workers paused, then drained (0: skip)")
    parser.add_argument("--queued-idle", type=float, default=5,
                        help="seconds of reads with the backlog queued and the workers still paused")
    parser.add_argument("--onnx-cache", help="COMMENTS_TOXICITY_CACHE_DIR (default: bench.scoring's cache "
                                             "for the architecture, ~/.cache/comments_service/bench/onnx-cache/)")
    parser.add_argument("--log-dir", help="where the workers' logs go (default /tmp/cs_bench_e2e_<pid>)")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "comments_service" / "bench-checkpoints"))
    parser.add_argument("--out")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
