"""CPU-bound work off the event loop, within a time budget.

An API process serves every request from one event loop, so work on a reader's text that can take
more than a millisecond (the policy's word lists, markdown that is not a plain line) runs on a
small thread pool of its own, and a request whose work is not done within its budget gets an
error instead of an answer:

- ``text_too_complex`` (422) when the work started and overran: the text itself is the problem;
- ``service_unavailable`` (503) when it never left the queue: the pool is busy.

Python cannot stop a running thread, so work past its budget still runs to its end in the
background. That is why the pool is small and separate from the loop's default executor (a flood
of slow calls queues and times out here instead of starving everything else) and why the work
itself must be linear in its input; the budget is the second line of defence, not the first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ..domain.render import render_full, render_plain
from ..errors import DomainError, ServiceUnavailable

T = TypeVar("T")

# Ordinary texts need a few milliseconds at the body limit; the budgets leave room for a loaded
# host and refuse only what no reader writes by hand.
POLICY_BUDGET_S = 0.5
RENDER_BUDGET_S = 1.0

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cpu-bound")


async def run_bounded(fn: Callable[..., T], *args: object, budget_s: float) -> T:
    """``fn(*args)`` on the CPU-bound pool; raises a DomainError when it does not finish within
    ``budget_s`` seconds (queueing included)."""
    started = False

    def call() -> T:
        nonlocal started
        started = True
        return fn(*args)

    try:
        # on timeout wait_for cancels the future, which takes a call that has not started out
        # of the queue
        return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(_POOL, call), budget_s)
    except TimeoutError:
        if not started:
            raise ServiceUnavailable("The server is busy; retry in a moment.") from None
        raise DomainError("text_too_complex") from None


async def render_markdown_bounded(text: str, *, allow_images: bool = False,
                                  budget_s: float = RENDER_BUDGET_S) -> str:
    """:func:`~comments_service.domain.render.render_markdown` for request handlers: a plain line
    (microseconds) is rendered on the loop, anything else on the pool within ``budget_s``."""
    html = render_plain(text)
    if html is not None:
        return html
    return await run_bounded(render_full, text, allow_images, budget_s=budget_s)


async def step_aside() -> None:
    """Let the loop answer what is waiting before a write's next long stretch of CPU.

    The hot reads are answered as their bytes arrive (api/fast_reads.py), but only once the loop
    has run every task step queued before them, and a post's stretches between awaits (the
    request's parsing and checks, the publication, the answer: 100-300 µs each) are the longest
    work it queues. On a story's busy article a reader could find several posts' stretches queued
    ahead, which is what R4's read p99 measured (bench/reads.py); a post that steps aside at each
    lets the reads waiting meanwhile go first. It costs the post one turn of the loop each time
    (microseconds on an idle loop) and no reader anything."""
    await asyncio.sleep(0)
