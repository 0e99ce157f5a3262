"""Shutdown steps that cannot hang the process: each is awaited for a bounded time, and each says
what it waits for, so that a process asked to stop (SIGTERM) exits within seconds whatever state
its connections are in, and a step that overran is named in the log.

Two hazards make plain ``await`` unsafe here:

- a task may not end when cancelled once. On Python 3.11 ``asyncio.wait_for`` (which redis-py puts
  around every socket write that has a timeout) swallows a cancellation that arrives in the same
  turn of the loop as the completion of what it waits for, so the task carries on as if never
  cancelled; a pub/sub reader that loops until cancelled then loops for good, and whoever awaits
  it waits for good. ``stop_task`` cancels again until the task has ended, within its deadline.
- closing a connection waits for the server: asyncpg sends Terminate and waits for the server to
  drop the connection, a pool's close first waits for every connection in use to come back. With
  the server unreachable but not refusing (a partition, a stalled host) nothing comes back.
  ``step`` gives up at its deadline and says so; ``close_pool`` then terminates the pool.

A step that overran is cancelled and not awaited again: what it held is released when the process
exits, which is sooner than any further waiting would bring.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any, Protocol

log = logging.getLogger("comments_service.shutdown")

# Budgets, in seconds. Each is far above what its step takes when the other side answers
# (milliseconds), and small enough that the sum of a process's steps stays within a few seconds.
CLOSE_S = 1.0  # closing one connection or client
READER_S = 1.0  # a background task (a pub/sub reader) ending once cancelled
POOL_S = 2.0  # a connection pool: connections in use come back, then each is closed
WORK_S = 2.0  # work in hand when the signal came (the worker's batch), before it is cancelled


class _Pool(Protocol):
    async def close(self) -> None: ...

    def terminate(self) -> None: ...


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _done(what: str, started: float) -> None:
    seconds = round(time.monotonic() - started, 3)
    # a step that took long is worth a line at the default level; the others only when debugging
    log.log(logging.INFO if seconds >= CLOSE_S / 2 else logging.DEBUG, "shutdown: done",
            extra={"step": what, "seconds": seconds})


async def step(what: str, awaitable: Awaitable[Any], timeout: float) -> bool:
    """Await ``awaitable`` for at most ``timeout`` seconds; True when it completed without error.

    Past the deadline it is cancelled and left behind, and a warning names ``what``; an error it
    raised is logged, not raised: one failed step must not skip the steps after it."""
    task = asyncio.ensure_future(awaitable)
    started = time.monotonic()
    log.debug("shutdown: waiting", extra={"step": what, "timeout_s": timeout})
    await asyncio.wait({task}, timeout=timeout)
    if not task.done():
        task.cancel()
        log.warning("shutdown: gave up waiting", extra={"step": what, "timeout_s": timeout})
        return False
    if task.cancelled():
        log.warning("shutdown: step cancelled", extra={"step": what})
        return False
    exc = task.exception()
    if exc is not None:
        log.warning("shutdown: step failed", extra={"step": what, "error": _error(exc)})
        return False
    _done(what, started)
    return True


async def stop_task(what: str, task: asyncio.Task[Any] | None, timeout: float = READER_S) -> bool:
    """Cancel ``task`` and wait up to ``timeout`` seconds for it to end, cancelling it again every
    tenth of a second: one cancellation can be lost (see the module's docstring). True when it
    ended (however: cancelled, returned or failed; an error is logged)."""
    if task is None:
        return True
    started = time.monotonic()
    deadline = started + timeout
    log.debug("shutdown: waiting", extra={"step": what, "timeout_s": timeout})
    while not task.done():
        left = deadline - time.monotonic()
        if left <= 0:
            log.warning("shutdown: gave up waiting", extra={"step": what, "timeout_s": timeout})
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=min(0.1, left))
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("shutdown: task had failed", extra={"step": what, "error": _error(exc)})
    _done(what, started)
    return True


async def close_pool(what: str, pool: _Pool, timeout: float = POOL_S) -> None:
    """Close an asyncpg pool within ``timeout`` seconds; past it, terminate its connections."""
    if not await step(what, pool.close(), timeout):
        pool.terminate()
