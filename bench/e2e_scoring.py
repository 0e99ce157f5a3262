"""End-to-end scoring benchmark: POST -> decision at 1 comment/s and under a burst of 500, and what
the burst does to readers (read p99 during the burst vs idle; target at most 1.5x).

    python -m bench.e2e_scoring --model tiny --steady 30 --burst 500 --out bench/results_e2e_tiny.json
    python -m bench.e2e_scoring --model original --workers 1 --steady 30 --burst 500

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
NO_THRESHOLDS = {"moderation": {"thresholds": {label: None for label in (
    "toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack", "sexual_explicit")}}}
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


def checkpoint(model: str, cache: Path) -> tuple[str, str]:
    """Build (once, cached) the checkpoint in a subprocess: this process never imports torch."""
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

    async def __aenter__(self) -> "Readers":
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


async def run(args: argparse.Namespace) -> dict:
    ckpt, config_dir = checkpoint(args.model, Path(args.cache))
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
           "COMMENTS_TOXICITY_CHECKPOINT": ckpt, "COMMENTS_TOXICITY_CONFIG_DIR": config_dir,
           "COMMENTS_TOXICITY_THREADS": str(args.threads), "COMMENTS_TOXICITY_BATCH_SIZE": str(args.batch)}
    exe = [sys.executable, "-m", "comments_service.cli"]
    procs = [subprocess.Popen([*exe, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)]
    procs += [subprocess.Popen([*exe, "worker"], env=env, stderr=subprocess.PIPE, text=True)
              for _ in range(args.workers)]
    result: dict = {"scoring": args.scoring, "nice": args.nice, "model": args.model, "workers": args.workers, "batch": args.batch, "threads": args.threads,
                    "wait_ms": args.wait_ms, "readers": args.readers}
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
            # the hot article has a page of published comments to read
            seed = [await post(http, n, HOT) for n in range(20)]
            await decision_ms(db, [i for i, _, _ in seed])

            async with Readers(http, args.readers) as readers:
                readers.phase = "idle"
                await asyncio.sleep(args.idle)

                readers.phase = "steady"
                steady: list[tuple[int, str, float]] = []
                start = time.monotonic()
                for n in range(args.steady):
                    await asyncio.sleep(max(0.0, start + n - time.monotonic()))
                    steady.append(await post(http, 1000 + n, "steady"))
                steady_ms = await decision_ms(db, [i for i, _, _ in steady])

                readers.phase = "burst"
                burst_started = time.monotonic()
                sem = asyncio.Semaphore(args.burst_concurrency)

                failed: list[str] = []

                async def limited(n: int):
                    async with sem:
                        try:
                            return await post(http, 10_000 + n, "burst")
                        except httpx.TransportError as exc:  # counted, not retried: a POST is not idempotent
                            failed.append(type(exc).__name__)
                            return None

                burst = [b for b in await asyncio.gather(*(limited(n) for n in range(args.burst))) if b]
                posted_s = time.monotonic() - burst_started
                burst_ms = await decision_ms(db, [i for i, _, _ in burst])
                drained_s = time.monotonic() - burst_started
                readers.phase = "after"
                await asyncio.sleep(1)

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
        result["reads_ms"] = {phase: summary(values) for phase, values in readers.samples.items()}
        result["read_errors"] = readers.errors
        idle_p99 = result["reads_ms"]["idle"]["p99"]
        burst_p99 = result["reads_ms"]["burst"]["p99"]
        result["read_p99_burst_over_idle"] = round(burst_p99 / idle_p99, 2) if idle_p99 else None
        result["worker_reports"] = [{"worker_id": r["worker_id"], "rss_mib": round(
            (r["model"] if isinstance(r["model"], dict) else json.loads(r["model"])).get("rss_bytes", 0) / 2**20),
            "latency_ms": r["latency_ms"], "jobs_scored": r["jobs_scored"], "batches": r["batches"]} for r in rss]
    finally:
        await db.close()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for proc in procs[1:]:
            lines = [line for line in (proc.stderr.read() if proc.stderr else "").splitlines()
                     if line.startswith("comments-service worker:")]
            result.setdefault("worker_banners", []).extend(lines)
        await drop_database(db_name)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["tiny", "original", "original-small"], default="tiny")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--wait-ms", type=int, default=300)
    parser.add_argument("--scoring", choices=["on", "off"], default="on",
                        help="off: the same load with comments published unscored (the control run)")
    parser.add_argument("--nice", type=int, default=10, help="COMMENTS_SCORING_WORKER_NICE")
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--idle", type=float, default=15, help="seconds of reads with nothing posted")
    parser.add_argument("--steady", type=int, default=30, help="comments at 1/s")
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--burst-concurrency", type=int, default=50)
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
