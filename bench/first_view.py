"""A reader's first view on a slow network: our widget against Isso's own, on the same article with
the same 500 comments, in headless Chromium.

    apt-get install -y chromium                      # the Debian build (scripts/test installs it too)
    python3 -m venv /tmp/firstview/isso-venv && /tmp/firstview/isso-venv/bin/pip install isso gunicorn
    .venv/bin/python -m bench.first_view --rounds 5 --out bench/results_first_view.json

Both threads come from one Disqus export (bench/peer_article.py). Ours: a database of its own
(``cs_bench_firstview``), migrated and seeded with the demo site, the export imported into the
demo article, `comments-service serve` with COMMENTS_DEMO on; the page is ``/demo``. Isso: its own
SQLite file, ``isso import --empty-id`` of the same export (its thread's URI is the link's path,
``/demo``), gunicorn; the page is the very same article HTML and stylesheet, fetched from our server
at run time, with our embed snippet swapped for Isso's, served at ``/demo`` by a small static
server of this process (Isso then is another origin than the page, as where it is usually run).
A third widget, ``isso+gzip``, is Isso behind a proxy of this process that gzips what a front
server's ``gzip on`` would: Isso itself compresses nothing, and is usually run behind one.

Each load: a fresh browser context, the cache disabled, the network throttled through CDP
(``Network.emulateNetworkConditions``: 150 ms latency, 1.6 Mbit/s down, 750 kbit/s up). Measured:
milliseconds from navigation start to the first comment's text being in the page and laid out
(a MutationObserver installed before the page's own scripts reads ``performance.now()``), and the
bytes (CDP ``encodedDataLength``: headers and body as they came over the wire) and requests, both
up to that moment and once the network has been quiet for a while. Rounds rotate the order of
the widgets; medians are reported. One unmeasured load of each comes first (servers warm, the article
cached where the servers cache) and leaves a screenshot of the first comment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import html
import json
import os
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
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .peer_article import write_export

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE = "cs_bench_firstview"
PREFIX = "cs_bench_firstview:"
SECRET_KEY = "bench-secret-key-" + "f" * 32
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# a slow mobile connection ("Slow 4G"-like): CDP takes bytes per second
NETWORK = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8,
           "uploadThroughput": 750_000 / 8}
VIEWPORT = {"width": 1000, "height": 900}
# the first comment's text, in each widget's markup
# (Isso's reply form holds an empty .isso-comment of its own, for the preview)
FIRST = {"ours": ("#comments", "article.c .body"),
         "isso": (None, "#isso-root > .isso-comment > .isso-text-wrapper > .isso-text")}
ALL = {"ours": "#comments article.c", "isso": "#isso-root .isso-comment"}
TOP = {"ours": "#comments .list > article.c", "isso": "#isso-root > .isso-comment"}
EMBED_START = "<!-- comments_service embed: copy from here -->"
EMBED_END = "<!-- comments_service embed: to here -->"
QUIET_S = 2.0      # the network counts as settled after this long without a request starting or ending
SETTLE_CAP_S = 30.0

# Installed before any of the page's scripts: notes when the first comment's text is in the page
# and laid out (a box of its own, not hidden), in the page's clock (0 = navigation start). Our widget
# draws in an open shadow root of its container: shadow roots are observed as they are attached.
WATCH = """(() => {
  const [hostSel, sel] = %s;
  const seen = () => {
    const host = hostSel ? document.querySelector(hostSel) : document;
    const scope = hostSel ? host && host.shadowRoot : host;
    const el = scope && scope.querySelector(sel);
    if (!el || !el.textContent.trim()) return false;
    const r = el.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0)) return false;
    return el.checkVisibility ? el.checkVisibility({opacityProperty: true, visibilityProperty: true}) : true;
  };
  const options = {childList: true, subtree: true, characterData: true, attributes: true};
  const obs = new MutationObserver(() => {
    if (window.__firstComment === undefined && seen()) { window.__firstComment = performance.now(); obs.disconnect(); }
  });
  obs.observe(document, options);
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const root = attach.call(this, init);
    if (window.__firstComment === undefined) obs.observe(root, options);
    return root;
  };
})();"""


# ----------------------------------------------------------------- the article's export
def with_thread_id(source: Path, target: Path, article_id: str) -> None:
    """``source`` with its thread's ``<id>`` set to ``article_id``: our import names the article by
    that id (the demo article's), Isso by the link's path."""
    text = source.read_text(encoding="utf-8")
    thread = re.search(r"<thread\b[^>]*>.*?</thread>", text, re.S)
    assert thread, "the export has no <thread>"
    block = thread.group(0)
    new_id = f"<id>{html.escape(article_id)}</id>"
    changed, n = re.subn(r"<id\s*/>|<id>.*?</id>", new_id, block, count=1, flags=re.S)
    if not n:
        changed = re.sub(r"(<thread\b[^>]*>)", r"\1" + new_id, block, count=1)
    target.write_text(text[:thread.start()] + changed + text[thread.end():], encoding="utf-8")


# ----------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def stop(proc: subprocess.Popen | None) -> None:
    """SIGTERM to the process group it leads (a server and its workers), SIGKILL if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def ours_env(port: int) -> dict[str, str]:
    base, _, _ = ADMIN_URL.rpartition("/")
    return {**os.environ, "COMMENTS_DATABASE_URL": f"{base}/{DATABASE}", "COMMENTS_REDIS_URL": REDIS_URL,
            "COMMENTS_REDIS_PREFIX": PREFIX, "COMMENTS_SECRET_KEY": SECRET_KEY, "COMMENTS_LOG_LEVEL": "WARNING",
            "COMMENTS_PUBLIC_URL": f"http://127.0.0.1:{port}", "COMMENTS_DEMO": "true", "COMMENTS_SCORING": "off",
            "PYTHONPATH": str(ROOT)}


async def _fresh_database() -> None:
    from .seed import recreate

    await recreate(DATABASE)


async def _drop_database() -> None:
    import asyncpg

    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        await admin.close()


async def _clear_redis() -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        async for key in client.scan_iter(match=PREFIX + "*", count=1000):
            await client.delete(key)
    finally:
        await client.aclose()


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PY, "-m", "comments_service.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(f"comments-service {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def seed_ours(env: dict[str, str], export: Path) -> str:
    """A fresh database with the demo site and the export in its article; the import's report."""
    from comments_service.demo.seed import ARTICLE_ID, SITE_ID

    asyncio.run(_fresh_database())
    asyncio.run(_clear_redis())
    cli(env, "demo")  # migrates, then seeds the demo site and its article
    ours = export.with_name("export-ours.xml")
    with_thread_id(export, ours, ARTICLE_ID)
    return cli(env, "import", "--site", SITE_ID, "--format", "disqus", str(ours))


def start_ours(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        proc = subprocess.Popen([PY, "-m", "comments_service.cli", "serve", "--host", "127.0.0.1", "--port",
                                 str(port), "--workers", "1"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/embed.js", proc)
    except BaseException:
        stop(proc)
        raise
    return proc


def isso_config(folder: Path, page_origins: list[str]) -> Path:
    cfg = folder / "isso.cfg"
    hosts = "".join(f"\n    {origin}" for origin in page_origins)
    cfg.write_text(f"[general]\ndbpath = {folder / 'isso.db'}\nhost ={hosts}\n\n"
                   "[moderation]\nenabled = false\n\n[guard]\nenabled = false\n", encoding="utf-8")
    return cfg


def seed_isso(venv: Path, cfg: Path, export: Path) -> str:
    done = subprocess.run([str(venv / "bin" / "isso"), "-c", str(cfg), "import", "--empty-id", str(export)],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    if done.returncode:
        raise RuntimeError(f"isso import: {done.returncode}\n{done.stdout}\n{done.stderr}")
    return (done.stdout + done.stderr).strip().splitlines()[-1:][0] if (done.stdout + done.stderr).strip() else ""


def start_isso(venv: Path, cfg: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "ISSO_SETTINGS": str(cfg)}
    with log.open("ab") as out:
        proc = subprocess.Popen([str(venv / "bin" / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", "2", "--preload",
                                 "isso.run"], env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/js/embed.min.js", proc)
    except BaseException:
        stop(proc)
        raise
    return proc


def isso_page(ours_url: str, isso_url: str, folder: Path) -> None:
    """Our demo article, its stylesheet and icon as our server sends them, with Isso's embed in
    place of ours: ``folder/demo`` (HTML), ``folder/demo.css``, ``folder/favicon.svg``."""
    for name in ("demo", "demo.css", "favicon.svg"):
        with urllib.request.urlopen(f"{ours_url}/{name}", timeout=10) as response:
            (folder / name).write_bytes(response.read())
    page = (folder / "demo").read_text(encoding="utf-8")
    start, end = page.index(EMBED_START), page.index(EMBED_END) + len(EMBED_END)
    snippet = (f'<script data-isso="{isso_url}/" src="{isso_url}/js/embed.min.js"></script>'
               '<section id="isso-thread"></section>')
    (folder / "demo").write_text(page[:start] + snippet + page[end:], encoding="utf-8")


# hop-by-hop headers, and what the proxy decides itself
_NOT_RELAYED = {"connection", "keep-alive", "transfer-encoding", "host", "te", "upgrade", "proxy-connection",
                "accept-encoding", "content-length", "content-encoding"}
_COMPRESSIBLE = ("application/json", "application/javascript", "text/")


class _GzipProxy(BaseHTTPRequestHandler):
    """Relays to ``upstream`` and gzips what a front server's ``gzip on`` would (Isso itself sends
    everything uncompressed; it is usually run behind such a server)."""

    protocol_version = "HTTP/1.1"
    upstream = ""

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_RELAYED}
        request = urllib.request.Request(self.upstream + self.path, data=body, method=self.command, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError as err:
            response = err
        with response:
            data = response.read()
            status = response.status
            out = [(k, v) for k, v in response.headers.items() if k.lower() not in _NOT_RELAYED]
            kind = response.headers.get("Content-Type", "")
        if len(data) > 256 and "gzip" in self.headers.get("Accept-Encoding", "") and kind.startswith(_COMPRESSIBLE):
            data = gzip.compress(data, 6)
            out += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        # Isso's widget reads the server's clock from Date: one Date, Isso's own
        self.send_response_only(status)
        for k, v in out:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = _relay

    def log_message(self, *args) -> None:  # quiet
        pass


class _Static(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, "": "text/html; charset=utf-8",
                      ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}

    def log_message(self, *args) -> None:  # quiet
        pass


@contextlib.contextmanager
def http_server(port: int, handler) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


# ----------------------------------------------------------------- the browser
class Wire:
    """Requests and bytes of one page, from its CDP Network events (timestamps in CDP's clock)."""

    def __init__(self, cdp) -> None:
        self.started: dict[str, float] = {}
        self.urls: dict[str, str] = {}
        self.methods: dict[str, str] = {}
        self.received: dict[str, int] = {}   # bytes so far (dataReceived), for requests still open
        self.finished: dict[str, tuple[float, int]] = {}
        self.encodings: dict[str, str] = {}
        self.last_event = time.monotonic()
        self.nav_ts: float | None = None
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.dataReceived", self._data)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)
        cdp.on("Network.responseReceived", self._response)

    def _sent(self, e: dict) -> None:
        if e["requestId"] not in self.started:
            self.started[e["requestId"]] = e["timestamp"]
            self.urls[e["requestId"]] = e["request"]["url"]
            self.methods[e["requestId"]] = e["request"]["method"]
        if self.nav_ts is None and e.get("type") == "Document":
            self.nav_ts = e["timestamp"]
        self.last_event = time.monotonic()

    def _data(self, e: dict) -> None:
        self.received[e["requestId"]] = self.received.get(e["requestId"], 0) + e.get("encodedDataLength", 0)

    def _response(self, e: dict) -> None:
        headers = {k.lower(): v for k, v in e["response"].get("headers", {}).items()}
        self.encodings[e["requestId"]] = headers.get("content-encoding", "")

    def _finished(self, e: dict) -> None:
        self.finished[e["requestId"]] = (e["timestamp"], int(e["encodedDataLength"]))
        self.last_event = time.monotonic()

    def _failed(self, e: dict) -> None:
        self.finished[e["requestId"]] = (e["timestamp"], self.received.get(e["requestId"], 0))
        self.last_event = time.monotonic()

    def until(self, ms: float | None) -> tuple[int, int]:
        """(bytes, requests) of what had started and finished by ``ms`` after navigation start
        (everything so far when None); a request still open counts with the bytes it has had."""
        cut = None if ms is None or self.nav_ts is None else self.nav_ts + ms / 1000
        requests = sum(1 for t in self.started.values() if cut is None or t <= cut)
        total = 0
        for rid, t in self.started.items():
            if cut is not None and t > cut:
                continue
            done = self.finished.get(rid)
            if done and (cut is None or done[0] <= cut):
                total += done[1]
            elif cut is None:
                total += self.received.get(rid, 0)
        return total, requests

    def listing(self) -> list[dict]:
        return [{"method": self.methods[rid], "url": self.urls[rid],
                 "bytes": (self.finished.get(rid) or (0, self.received.get(rid, 0)))[1],
                 "open": rid not in self.finished, "encoding": self.encodings.get(rid, "")}
                for rid in self.started]


def load(browser, which: str, url: str, *, shot: Path | None = None, timeout_ms: float = 60_000) -> dict:
    """One first view of ``url``, throttled, in a fresh context (``which``: ours, isso or isso+gzip)."""
    kind = which.split("+")[0]
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", NETWORK)
        wire = Wire(cdp)
        page.add_init_script(WATCH % json.dumps(FIRST[kind]))
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(url, wait_until="commit", timeout=timeout_ms)
        try:
            page.wait_for_function("() => window.__firstComment !== undefined", timeout=timeout_ms, polling=50)
        except Exception as exc:
            body = page.evaluate("() => document.body ? document.body.innerText.slice(-600) : ''")
            raise RuntimeError(f"{which}: no comment at {url} in {timeout_ms} ms; errors {errors}; requests "
                               f"{json.dumps(wire.listing())}; page ends {body!r}") from exc
        first_ms = page.evaluate("() => window.__firstComment")
        at_first = {"comments": page.locator(ALL[kind]).count(), "top_level": page.locator(TOP[kind]).count()}
        if shot is not None:
            first = page.locator(" ".join(filter(None, FIRST[kind]))).first
            first.evaluate("(el) => el.scrollIntoView({block: 'center'})")
            page.screenshot(path=str(shot))
        # settled: nothing started or ended for QUIET_S (a live stream may stay open)
        deadline = time.monotonic() + SETTLE_CAP_S
        while time.monotonic() < deadline and time.monotonic() - wire.last_event < QUIET_S:
            page.wait_for_timeout(100)
        bytes_first, requests_first = wire.until(first_ms)
        bytes_all, requests_all = wire.until(None)
        return {"which": which, "ms_to_first_comment": round(first_ms, 1), "bytes_to_first": bytes_first,
                "requests_to_first": requests_first, "bytes_settled": bytes_all, "requests_settled": requests_all,
                "comments_in_page_at_first": at_first["comments"], "top_level_at_first": at_first["top_level"],
                "comments_in_page_settled": page.locator(ALL[kind]).count(),
                "top_level_settled": page.locator(TOP[kind]).count(), "page_errors": errors,
                "requests": wire.listing()}
    finally:
        context.close()


# ----------------------------------------------------------------- run
def median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def table(summary: dict) -> str:
    lines = ["| widget | median ms to first comment (min–max) | KB to first comment | requests to first | "
             "KB settled | requests settled | comments in page (top level) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, s in summary.items():
        lines.append(f"| {name} | {s['ms_median']:.0f} ({s['ms_min']:.0f}–{s['ms_max']:.0f}) | "
                     f"{s['bytes_to_first_median'] / 1024:.1f} | {s['requests_to_first_median']:.0f} | "
                     f"{s['bytes_settled_median'] / 1024:.1f} | {s['requests_settled_median']:.0f} | "
                     f"{s['comments_settled']} ({s['top_level_settled']}) |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="measured loads of each widget (alternating)")
    parser.add_argument("--comments", type=int, default=500)
    parser.add_argument("--isso-venv", default="/tmp/firstview/isso-venv", help="a venv with isso and gunicorn")
    parser.add_argument("--shots", default="/tmp/firstview", help="folder for one screenshot of each widget")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--md", help="also write the markdown table here")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    venv = Path(args.isso_venv)
    if not (venv / "bin" / "isso").exists():
        sys.exit(f"no Isso in {venv}: python3 -m venv {venv} && {venv}/bin/pip install isso gunicorn")
    if not Path(CHROMIUM).exists():
        sys.exit(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="firstview-"))
    ours_port, isso_port, gzip_port, page_port, gz_page_port = (free_port() for _ in range(5))
    ours_url, isso_url, gzip_url = (f"http://127.0.0.1:{p}" for p in (ours_port, isso_port, gzip_port))
    page_origin, gz_page_origin = (f"http://127.0.0.1:{p}" for p in (page_port, gz_page_port))
    env = ours_env(ours_port)
    procs: list[subprocess.Popen] = []
    try:
        export = tmp / "export.xml"
        write_export(export, f"{ours_url}/demo", comments=args.comments)
        ours_report = seed_ours(env, export)
        print(ours_report.strip(), file=sys.stderr)
        procs.append(start_ours(env, ours_port, tmp / "ours.log"))
        cfg = isso_config(tmp, [page_origin, gz_page_origin])
        isso_report = seed_isso(venv, cfg, export)
        print(f"isso import: {isso_report}", file=sys.stderr)
        procs.append(start_isso(venv, cfg, isso_port, tmp / "isso.log"))
        site, gz_site = tmp / "site", tmp / "site-gzip"
        site.mkdir()
        gz_site.mkdir()
        isso_page(ours_url, isso_url, site)
        isso_page(ours_url, gzip_url, gz_site)
        proxy = type("IssoGzip", (_GzipProxy,), {"upstream": isso_url})
        with contextlib.ExitStack() as stack:
            stack.enter_context(http_server(page_port, partial(_Static, directory=str(site))))
            stack.enter_context(http_server(gz_page_port, partial(_Static, directory=str(gz_site))))
            stack.enter_context(http_server(gzip_port, proxy))
            pw = stack.enter_context(sync_playwright())
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            chromium_version = browser.version
            try:
                urls = {"ours": f"{ours_url}/demo", "isso": f"{page_origin}/demo",
                        "isso+gzip": f"{gz_page_origin}/demo"}
                names = list(urls)
                warm = {w: load(browser, w, urls[w], shot=shots / f"first_view_{w.replace('+', '_')}.png")
                        for w in urls}
                for w, r in warm.items():
                    print(f"warm-up {w}: {r['ms_to_first_comment']:.0f} ms, {r['bytes_settled']} B, "
                          f"{r['requests_settled']} requests, errors {r['page_errors']}", file=sys.stderr)
                rows: list[dict] = []
                for i in range(args.rounds):
                    order = names[i % len(names):] + names[:i % len(names)]
                    for w in order:
                        r = load(browser, w, urls[w])
                        r["round"] = i + 1
                        rows.append(r)
                        print(f"round {i + 1} {w}: {r['ms_to_first_comment']:.0f} ms, to first "
                              f"{r['bytes_to_first']} B/{r['requests_to_first']} req, settled "
                              f"{r['bytes_settled']} B/{r['requests_settled']} req", file=sys.stderr)
            finally:
                browser.close()
        summary = {}
        for w in names:
            mine = [r for r in rows if r["which"] == w]
            summary[w] = {"ms_median": median(mine, "ms_to_first_comment"),
                          "ms_min": min(r["ms_to_first_comment"] for r in mine),
                          "ms_max": max(r["ms_to_first_comment"] for r in mine),
                          "bytes_to_first_median": median(mine, "bytes_to_first"),
                          "requests_to_first_median": median(mine, "requests_to_first"),
                          "bytes_settled_median": median(mine, "bytes_settled"),
                          "requests_settled_median": median(mine, "requests_settled"),
                          "comments_settled": mine[-1]["comments_in_page_settled"],
                          "top_level_settled": mine[-1]["top_level_settled"]}
        md = table(summary)
        print(md)
        if args.md:
            Path(args.md).write_text(md + "\n", encoding="utf-8")
        if args.out:
            head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                  text=True).stdout.strip()
            isso_version = subprocess.run([str(venv / "bin" / "python"), "-c",
                                           "import importlib.metadata as m; print(m.version('isso'))"],
                                          capture_output=True, text=True).stdout.strip()
            Path(args.out).write_text(json.dumps({
                "when": datetime.now(UTC).isoformat(timespec="seconds"), "commit": head,
                "uncommitted_service_changes": bool(subprocess.run(
                    ["git", "status", "--porcelain", "comments_service"], cwd=ROOT, capture_output=True,
                    text=True).stdout.strip()),
                "chromium": chromium_version, "isso": isso_version, "network": NETWORK, "viewport": VIEWPORT,
                "comments": args.comments, "rounds": args.rounds,
                "ours_import": ours_report.strip(), "isso_import": isso_report,
                "summary": summary, "warm_up": warm, "loads": rows}, indent=1) + "\n", encoding="utf-8")
    finally:
        for proc in reversed(procs):
            stop(proc)
        asyncio.run(_clear_redis())
        asyncio.run(_drop_database())
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
