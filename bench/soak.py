"""Bounded mixed-load soak: a steady request rate for a fixed time against a fresh service, with the
checks issue 8 asks of the 30-minute soak.

    python -m bench.soak --duration 1800 --rate 50            # the recorded soak (30 min)
    python -m bench.soak --duration 20 --rate 20              # a smoke run
    python -m bench.soak --duration 1800 --rate 50 --scoring  # with scoring workers (needs the model)
    python -m bench.soak --duration 1800 --rate 50 --scoring --checkpoint CKPT --config-dir DIR --out soak.json

It creates its own database (dropped at the end unless --keep), migrates it, creates the bench site,
starts one `comments-service serve` (and, with --scoring, `--workers` scoring workers) and drives an
open-loop mix at --rate requests/s: 75% thread reads (three sorts, the first pages), 10% posts (a
quarter of them replies), 8% votes, 5% counts, 2% reply pages. Every --window seconds it records
p50/p99 latency (all requests, and reads alone: with scoring on a POST waits up to
COMMENTS_DECISION_WAIT_MS for its decision), errors and the RSS of every service process.

Pass/fail (exit 1 on failure): no error (5xx, transport error, unexpected 4xx); p99 stable (the last
window's p99 at most 2x the median window p99, with a 50 ms floor); RSS of every process flat
(growth from the end of the warm-up to the end under 10%); the scoring queue drained at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import jwt

from comments_service.db.migrations import migrate
from comments_service.db.pool import connect
from comments_service.identity import Keyring
from comments_service.services.sites import SiteDirectory
from comments_service.settings import Settings

from .common import ADMIN_URL, ORIGIN, SECRET_KEY, SSO_SECRET, database_url, forget_keys

REPO = Path(__file__).resolve().parent.parent
SITE = "soak"
ARTICLES = [f"soak-{i}" for i in range(20)]


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def token(sub: str) -> str:
    return jwt.encode({"sub": sub, "name": sub.title(), "exp": int(time.time()) + 86_400}, SSO_SECRET,
                      algorithm="HS256")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def prepare(db_name: str) -> str:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{db_name}"')
    finally:
        await admin.close()
    url = database_url(db_name)
    conn = await connect(url)
    try:
        await migrate(conn, Settings().database.migrations_dir)
        await SiteDirectory(None, Keyring(SECRET_KEY)).save(  # type: ignore[arg-type]
            conn, site_id=SITE, name="Soak", origins=[ORIGIN], sso_secret=SSO_SECRET, guests=True)
    finally:
        await conn.close()
    return url


async def drop(db_name: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    finally:
        await admin.close()


class Load:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.comments: dict[str, list[int]] = {a: [] for a in ARTICLES}
        self.window: list[float] = []
        self.read_window: list[float] = []
        self.errors: list[str] = []
        self.requests = 0

    async def one(self, rng: random.Random) -> None:
        article = rng.choice(ARTICLES)
        reader = f"reader{rng.randrange(500)}"
        q = {"site": SITE}
        roll = rng.random()
        started = time.perf_counter()
        try:
            if roll < 0.75:
                resp = await self.http.get(f"/api/v1/articles/{article}/comments",
                                           params={**q, "sort": rng.choice(["oldest", "newest", "top"])})
                ok = resp.status_code == 200
            elif roll < 0.85:
                ids = self.comments[article]
                parent = rng.choice(ids) if ids and rng.random() < 0.25 else None
                resp = await self.http.post(
                    f"/api/v1/articles/{article}/comments", params=q,
                    headers={"Authorization": f"Bearer {token(reader)}"},
                    json={"body": f"soak comment {secrets.token_hex(6)} about *{article}*", "parent_id": parent,
                          "article_url": f"https://bench.example/{article}", "article_title": article})
                ok = resp.status_code == 201 or (resp.status_code == 400 and resp.json().get("code") in (
                    "thread_too_deep", "parent_not_found"))
                if resp.status_code == 201:
                    ids.append(resp.json()["comment"]["id"])
            elif roll < 0.93:
                ids = self.comments[article]
                if not ids:
                    return
                resp = await self.http.post(f"/api/v1/comments/{rng.choice(ids)}/votes", params=q,
                                            headers={"Authorization": f"Bearer {token(reader)}"},
                                            json={"value": rng.choice([1, -1])})
                ok = resp.status_code == 200 or (resp.status_code == 400 and
                                                 resp.json().get("code") == "vote_own_comment") or (
                    resp.status_code == 404)  # a comment held by scoring
            elif roll < 0.98:
                resp = await self.http.post("/api/v1/counts", params=q,
                                            json={"article_ids": rng.sample(ARTICLES, 5)})
                ok = resp.status_code == 200
            else:
                ids = self.comments[article]
                if not ids:
                    return
                resp = await self.http.get(f"/api/v1/comments/{rng.choice(ids)}/replies", params=q)
                ok = resp.status_code in (200, 404)
            if not ok:
                self.errors.append(f"{resp.request.method} {resp.request.url.path}: {resp.status_code} "
                                   f"{resp.text[:200]}")
        except httpx.HTTPError as exc:
            self.errors.append(f"transport: {type(exc).__name__}: {exc}")
        self.requests += 1
        self.window.append(time.perf_counter() - started)
        if roll < 0.75:
            self.read_window.append(self.window[-1])


async def soak(args) -> int:
    db_name = f"cs_soak_{secrets.token_hex(3)}"
    url = await prepare(db_name)
    port = args.port
    env = {**os.environ, "COMMENTS_DATABASE_URL": url, "COMMENTS_REDIS_URL": args.redis,
           "COMMENTS_REDIS_PREFIX": f"soak{secrets.token_hex(3)}:", "COMMENTS_SECRET_KEY": SECRET_KEY,
           "COMMENTS_LOG_LEVEL": "WARNING", "COMMENTS_SCORING": "on" if args.scoring else "off",
           "COMMENTS_RATE_LIMITS": ",".join(f"{a}.{s}=0:1" for a in ("post", "edit", "vote", "report", "check")
                                            for s in ("user", "ip"))}
    if args.checkpoint:  # a local detoxify checkpoint and its config folder, loaded offline
        env.update({"COMMENTS_TOXICITY_CHECKPOINT": args.checkpoint, "COMMENTS_TOXICITY_CONFIG_DIR": args.config_dir,
                    "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    if args.threads:
        env["COMMENTS_TOXICITY_THREADS"] = str(args.threads)
    exe = [sys.executable, "-m", "comments_service.cli"]
    procs = {"api": subprocess.Popen([*exe, "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=REPO,
                                     env=env)}
    if args.scoring:
        for i in range(args.workers):
            procs[f"worker{i}"] = subprocess.Popen([*exe, "worker"], cwd=REPO, env=env)
    windows: list[dict] = []
    result: dict = {}
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/schema/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            await asyncio.sleep(0.2)
        if args.scoring:  # the model loads before the load starts, so the warm-up window measures a loaded worker
            conn = await connect(url)
            try:
                while await conn.fetchval("SELECT count(*) FROM worker_status") < args.workers:
                    if time.monotonic() > deadline + 180:
                        raise RuntimeError("the scoring workers did not report in")
                    await asyncio.sleep(0.5)
            finally:
                await conn.close()
        rng = random.Random(args.seed)
        async with httpx.AsyncClient(base_url=base, timeout=10,
                                     limits=httpx.Limits(max_connections=64)) as http:
            load = Load(http)
            started = time.monotonic()
            next_window = started + args.window
            interval = 1.0 / args.rate
            tick = started
            pending: set[asyncio.Task] = set()
            while time.monotonic() < started + args.duration:
                tick += interval
                await asyncio.sleep(max(0.0, tick - time.monotonic()))
                task = asyncio.create_task(load.one(rng))
                pending.add(task)
                task.add_done_callback(pending.discard)
                if time.monotonic() >= next_window:
                    w = {"t": round(time.monotonic() - started), "requests": len(load.window),
                         "p50_ms": round(percentile(load.window, 0.5) * 1000, 1),
                         "p99_ms": round(percentile(load.window, 0.99) * 1000, 1),
                         "read_p50_ms": round(percentile(load.read_window, 0.5) * 1000, 1),
                         "read_p99_ms": round(percentile(load.read_window, 0.99) * 1000, 1),
                         "errors": len(load.errors), "rss_kb": {n: rss_kb(p.pid) for n, p in procs.items()}}
                    if args.scoring:
                        w["queue"] = await queue_depth(url)
                    windows.append(w)
                    print(json.dumps(w), flush=True)
                    load.window = []
                    load.read_window = []
                    next_window += args.window
            await asyncio.gather(*pending)
        drained = True
        queue: dict = {}
        if args.scoring:
            for _ in range(120):
                queue = await queue_depth(url)
                if queue["jobs_not_done"] == 0 and queue["pending_scoring"] == 0:
                    break
                await asyncio.sleep(1)
            drained = queue["jobs_not_done"] == 0 and queue["pending_scoring"] == 0
        measured = windows[args.warmup_windows:] or windows
        p99s = [w["p99_ms"] for w in measured]
        p99_ok = bool(p99s) and p99s[-1] <= max(50.0, 2 * statistics.median(p99s))
        rss_growth = {}
        for name in procs:
            first, last = measured[0]["rss_kb"][name], measured[-1]["rss_kb"][name]
            rss_growth[name] = round((last - first) / first * 100, 1) if first else None
        rss_ok = all(g is not None and g < 10 for g in rss_growth.values())
        result = {"duration_s": args.duration, "rate": args.rate, "requests": load.requests,
                  "posted": sum(len(ids) for ids in load.comments.values()),
                  "errors": len(load.errors), "first_errors": load.errors[:5],
                  "p50_ms_windows": [w["p50_ms"] for w in measured], "p99_ms_windows": p99s,
                  "read_p99_ms_windows": [w["read_p99_ms"] for w in measured],
                  "p99_stable": p99_ok, "rss_kb_start": measured[0]["rss_kb"], "rss_kb_end": measured[-1]["rss_kb"],
                  "rss_growth_pct": rss_growth, "rss_flat": rss_ok, "queue_end": queue, "queue_drained": drained}
        print(json.dumps(result, indent=1))
        if args.out:
            Path(args.out).write_text(json.dumps({"args": vars(args), "windows": windows, "result": result},
                                                 indent=1))
        return 0 if (not load.errors and p99_ok and rss_ok and drained) else 1
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        if not args.keep:
            await drop(db_name)
            await forget_keys(args.redis, env["COMMENTS_REDIS_PREFIX"])


async def queue_depth(url: str) -> dict:
    conn = await connect(url)
    try:
        row = await conn.fetchrow("""SELECT (SELECT count(*) FROM scoring_jobs WHERE state <> 'done') AS jobs_not_done,
            (SELECT count(*) FROM comments WHERE status = 'pending_scoring') AS pending_scoring""")
        return dict(row)
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=1800, help="seconds of load (default 1800)")
    parser.add_argument("--rate", type=float, default=50, help="requests per second (default 50)")
    parser.add_argument("--window", type=float, default=30, help="seconds per measurement window")
    parser.add_argument("--warmup-windows", type=int, default=1, help="windows left out of the checks")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--scoring", action="store_true", help="scoring on, with scoring workers")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--checkpoint", help="COMMENTS_TOXICITY_CHECKPOINT for the workers (offline)")
    parser.add_argument("--config-dir", help="COMMENTS_TOXICITY_CONFIG_DIR (with --checkpoint)")
    parser.add_argument("--threads", type=int, default=0, help="COMMENTS_TOXICITY_THREADS (0: library default)")
    parser.add_argument("--out", help="write the windows and the result to this JSON file")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the soak database")
    return asyncio.run(soak(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
