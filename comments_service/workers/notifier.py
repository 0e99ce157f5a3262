"""The notifier process (`comments-service notifier`): fans out the outbox and delivers emails
(services/notifications.py) until SIGTERM or SIGINT, forgetting old events and deliveries once an
hour, and clearing personal data past its retention (services/privacy.Retention) with them; every
minute it ends surges of new accounts whose time is up (services/surge.py). Run one
or several: fan-out takes turns by an advisory lock, deliveries are leased."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

import asyncpg

from ..services.notifications import Notifier
from ..services.privacy import Retention
from ..services.surge import Surges
from ..settings import Settings
from ..wiring import build_notifier, close_notifier

log = logging.getLogger("comments_service.notifier")

SWEEP_EVERY_S = 3600.0


async def run_notifier(settings: Settings) -> None:
    services = await build_notifier(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if services.sender is None:
        log.warning("no SMTP server (COMMENTS_SMTP_URL): emails wait, and are retried, until one is configured")
    log.info("notifier started")
    try:
        sweeping = asyncio.create_task(_sweeps(services.notifier, services.retention, stop, services.surges))
        await services.notifier.run(stop)
        sweeping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeping
    finally:
        await close_notifier(services)
        log.info("notifier stopped")


async def _sweeps(notifier: Notifier, retention: Retention, stop: asyncio.Event, surges: Surges | None = None) -> None:
    last: float | None = None  # the first sweep runs at start (the monotonic clock may start near 0)
    while not stop.is_set():
        if last is None or time.monotonic() - last >= SWEEP_EVERY_S:
            last = time.monotonic()
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                events, deliveries = await notifier.sweep()
                if events or deliveries:
                    log.info("notifier forgot old events and deliveries",
                             extra={"events": events, "deliveries": deliveries})
            try:
                await retention.sweep()  # logs what it cleared
            except (OSError, asyncpg.PostgresError) as exc:
                # said, not swallowed: personal data kept past its retention is a breach; the next hour retries
                log.warning("retention sweep failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        if surges is not None:
            try:
                # every tick: a surge whose time is up should stop holding new readers' comments soon after
                await surges.end_due()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("surge sweep failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                await stop.wait()
