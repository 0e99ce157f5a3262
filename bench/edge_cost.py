"""What the edge of the app costs on the hottest request: a cached thread page (R1's), called
straight through the ASGI app in this process: no network, no HTTP parser, no load generator
sharing the two cores. It isolates what the app itself does per request (middleware, site and
reader resolution, cache lookup, response), which wrk's figures on this machine cannot show to
within a few per cent.

    .venv/bin/python -m bench.seed --comments 1000000      # once: cs_bench_1m
    .venv/bin/python -m bench.edge_cost                    # µs per request, median of 7 rounds
    .venv/bin/python -m bench.edge_cost --compare-di       # the same page with its services injected
    .venv/bin/python -m bench.edge_cost --log-level INFO 2>/dev/null  # with the access log on

Run it from two checkouts in turn (``cd OTHER && python -m bench.edge_cost`` imports that tree's
code) to compare commits on the same machine in one sitting.

``--compare-di`` times, in the same process and in alternating rounds, the thread page as the app
serves it (service and site taken by hand, api/deps.services_of), the same handler with its
service, site and reader all injected by Litestar, and with only its service injected and the
site and reader taken from the request (api/deps.reader_of), as the app's other routes are
written: the measurement behind both choices.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time
from typing import Any, Literal

from litestar import Controller, Litestar, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery

from comments_service.api.comments import JSONBytes
from comments_service.api.deps import actor_of, provide_site_entry, reader_of
from comments_service.api.params import ArticlePath, Cursor, Limit, Replies, SiteParam, checked_article_id
from comments_service.app import create_app
from comments_service.domain.models import ThreadPage
from comments_service.services.comments import Actor, CommentService
from comments_service.services.sites import SiteEntry
from comments_service.settings import Settings

from .common import HOT_ARTICLE, SECRET_KEY, SITE_ID, database_url


async def provide_actor(request: Request, site_entry: NamedDependency[SiteEntry]) -> Actor:
    """The reader as an injected value: how the app's handlers would get it without reader_of."""
    return actor_of(request, site_entry)


class InjectedThread(Controller):
    """The thread page's handler as every other route is written: its service, site and reader
    injected by Litestar (the app-level ``comments`` provider, the controller's ``site_entry`` and
    ``actor``). Mounted beside the app's own route for --compare-di only."""

    path = "/api/v1/injected"
    dependencies = {"site_entry": Provide(provide_site_entry), "actor": Provide(provide_actor)}

    @get("/articles/{article_id:str}/comments")
    async def thread(self, comments: NamedDependency[CommentService], site_entry: NamedDependency[SiteEntry],
                     actor: NamedDependency[Actor], article_id: ArticlePath,
                     sort: FromQuery[Literal["oldest", "newest", "top"]] = "oldest", limit: Limit = None,
                     cursor: Cursor = None, replies: Replies = None, site: SiteParam = None) -> Response[ThreadPage]:
        cfg = comments.settings
        body = await comments.thread(
            site_entry, checked_article_id(article_id), sort=sort, cursor=cursor, limit=limit or cfg.page_size,
            replies=cfg.replies_per_comment if replies is None else replies, viewer=actor.identity)
        return JSONBytes(body, "private, max-age=0" if actor.identity else "public, max-age=2")


class ServiceInjectedThread(Controller):
    """The thread page's handler as the app's other reader routes are written: its one service
    injected, the site and the reader taken from the request (api/deps.reader_of)."""

    path = "/api/v1/service-injected"

    @get("/articles/{article_id:str}/comments")
    async def thread(self, comments: NamedDependency[CommentService], request: Request, article_id: ArticlePath,
                     sort: FromQuery[Literal["oldest", "newest", "top"]] = "oldest", limit: Limit = None,
                     cursor: Cursor = None, replies: Replies = None, site: SiteParam = None) -> Response[ThreadPage]:
        site_entry, actor = await reader_of(request)
        cfg = comments.settings
        body = await comments.thread(
            site_entry, checked_article_id(article_id), sort=sort, cursor=cursor, limit=limit or cfg.page_size,
            replies=cfg.replies_per_comment if replies is None else replies, viewer=actor.identity)
        return JSONBytes(body, "private, max-age=0" if actor.identity else "public, max-age=2")


def _page_scope(path: str) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": f"site={SITE_ID}".encode(), "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8000"), (b"accept", b"*/*")], "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000)}


async def measure(db: str, rounds: int, per_round: int, compare_di: bool = False,
                  log_level: str = "ERROR") -> dict[str, Any]:
    app = create_app(Settings.from_env({
        "COMMENTS_DATABASE_URL": database_url(db), "COMMENTS_REDIS_URL": "redis://127.0.0.1:6379/0",
        "COMMENTS_REDIS_PREFIX": f"edge{secrets.token_hex(3)}:", "COMMENTS_SECRET_KEY": SECRET_KEY,
        "COMMENTS_LOG_LEVEL": log_level, "COMMENTS_SCORING": "off"}))
    scopes = {"by_hand": _page_scope(f"/api/v1/articles/{HOT_ARTICLE}/comments")}
    if compare_di:
        app.register(InjectedThread)
        app.register(ServiceInjectedThread)
        scopes["injected"] = _page_scope(f"/api/v1/injected/articles/{HOT_ARTICLE}/comments")
        scopes["service_injected"] = _page_scope(f"/api/v1/service-injected/articles/{HOT_ARTICLE}/comments")
    bodies: dict[str, bytes] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async with _lifespan(app):
        for name, scope in scopes.items():
            statuses: set[int] = set()
            await _check(app, scope, receive, statuses, bodies, name)
        if compare_di and not bodies["by_hand"] == bodies["injected"] == bodies["service_injected"]:
            raise SystemExit("the injected handler answered other bytes than the app's")
        times: dict[str, list[float]] = {name: [] for name in scopes}
        for _ in range(rounds):  # the ways in turn, round by round: drift on the machine hits both
            for name, scope in scopes.items():
                times[name].append(await _round(app, scope, receive, per_round))
    result = {name: {"median_us": round(statistics.median(t), 1), "min_us": round(min(t), 1),
                     "rounds_us": [round(x, 1) for x in t]} for name, t in times.items()}
    if not compare_di:
        return result["by_hand"]
    for name in ("injected", "service_injected"):
        result[f"{name}_minus_by_hand_median_us"] = round(
            result[name]["median_us"] - result["by_hand"]["median_us"], 1)
    return result


async def _check(app: Litestar, scope: dict[str, Any], receive: Any, statuses: set[int], bodies: dict[str, bytes],
                 name: str) -> None:
    body = bytearray()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    for _ in range(2000):  # warm: the page in Redis and in the process's local cache
        body.clear()
        await app(dict(scope, state={}), receive, send)
    if statuses != {200}:
        raise SystemExit(f"the page answered {sorted(statuses)}; seed cs_bench_1m first")
    bodies[name] = bytes(body)


async def _round(app: Litestar, scope: dict[str, Any], receive: Any, per_round: int) -> float:
    async def send(message: dict[str, Any]) -> None:
        pass

    start = time.perf_counter()
    for _ in range(per_round):
        await app(dict(scope, state={}), receive, send)
    return (time.perf_counter() - start) / per_round * 1e6


class _lifespan:
    """The app's startup and shutdown, driven as an ASGI server would."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.outbox: asyncio.Queue = asyncio.Queue()

    async def __aenter__(self) -> None:
        self.task = asyncio.create_task(self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                                 self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        if (await self.outbox.get())["type"] != "lifespan.startup.complete":
            raise SystemExit("the app did not start")

    async def __aexit__(self, *exc: object) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="cs_bench_1m")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--per-round", type=int, default=5000)
    parser.add_argument("--compare-di", action="store_true",
                        help="also time the page's handler with its service, site and reader injected")
    parser.add_argument("--log-level", default="ERROR",
                        help="COMMENTS_LOG_LEVEL: INFO writes an access line per request (send stderr away)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.db, args.rounds, args.per_round, args.compare_di, args.log_level))))


if __name__ == "__main__":
    main()
