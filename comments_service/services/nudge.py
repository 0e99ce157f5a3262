"""The nudge before posting: would this text be rejected, or likely held? Cheap, and never loads torch.

API processes must not load the toxicity model, so the nudge judges the text with the offline
fallback scorer (alt-profanity-check, ~2 ms, loaded once in a thread) plus the site's word lists and
the same policy the worker applies, with the fallback thresholds. That is a good screen for what a
reader can fix by editing; the worker's decision remains the one that counts. Scores, labels and
thresholds never leave this module.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from ..domain.policy import PolicyConfig, PolicyContext, decide, nudge, nudge_message
from ..domain.structs import Struct
from ..ratelimit import RateLimiter
from ..settings import CommentSettings
from .comments import Actor, validate_body
from .offload import POLICY_BUDGET_S, run_bounded
from .readers import Readers
from .sites import SiteEntry

log = logging.getLogger("comments_service.nudge")


# the fallback takes ~2 ms a text; past this the nudge answers without it
SCORE_BUDGET_S = 0.5


# The nudge's answer, as POST /api/v1/toxicity/check returns it (a docstring here would become the
# API schema's description of it).
class ToxicityCheckResult(Struct, frozen=True):
    likely_held: Annotated[bool, Meta(description="The text would likely be held for a moderator's review.")]
    message: Annotated[str | None, Meta(
        description="What the widget shows when likely_held or likely_rejected.")] = None
    likely_rejected: Annotated[bool, Meta(
        description="The text would be rejected: it will not be published as written.")] = False


class NudgeService:
    def __init__(self, limiter: RateLimiter, settings: CommentSettings) -> None:
        self.limiter = limiter
        self.settings = settings
        # one thread: the scorer is not safe for concurrent calls, and its calls take ~2 ms
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nudge")
        self._scorer: Any = None
        self._unavailable: str | None = None
        self._lock = asyncio.Lock()

    async def _scorer_or_none(self) -> Any:
        if self._scorer is None and self._unavailable is None:
            await self._load_once()
        return self._scorer

    async def _load_once(self) -> None:
        async with self._lock:
            if self._scorer is not None or self._unavailable is not None:
                return  # loaded (or found missing) while this caller waited for the lock
            try:
                self._scorer = await asyncio.get_running_loop().run_in_executor(self._executor, _load)
            except Exception as exc:  # alt-profanity-check missing or broken: word lists still work
                self._unavailable = f"{type(exc).__name__}: {exc}"
                log.warning("nudge scorer unavailable; word lists only", extra={"error": self._unavailable})

    async def check(self, entry: SiteEntry, actor: Actor, body: str) -> ToxicityCheckResult:
        text = self._validate(body)
        await self.limiter.check("check", user=Readers.subject(actor.identity), ip=actor.ip)
        scores = await self.offline_scores(text)
        try:
            cfg = PolicyConfig.from_site_settings(entry.site.settings, fail_closed=False)
        except ValueError:
            cfg = PolicyConfig(fail_closed=False)
        # fail_closed off: the fallback's scores are judged with the fallback thresholds instead of
        # holding everything, which is the point of a nudge
        cfg = msgspec.structs.replace(cfg, fail_closed=False)
        decision = await run_bounded(decide, scores, text, PolicyContext(model_fallback=True), cfg,
                                     budget_s=POLICY_BUDGET_S)
        warned = nudge(decision)
        return ToxicityCheckResult(likely_held=warned and decision.outcome == "held",
                                   likely_rejected=warned and decision.outcome == "rejected",
                                   message=nudge_message(decision))

    async def offline_scores(self, text: str) -> dict[str, float] | None:
        """The offline fallback's scores of ``text``, or None when it is missing or over its budget
        (also the admins' "try a text" when no scoring worker answers)."""
        scorer = await self._scorer_or_none()
        if scorer is None:
            return None
        try:
            scores: dict[str, float] = (await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(
                self._executor, scorer.score_batch, [text]), SCORE_BUDGET_S))[0]
            return scores
        except TimeoutError:
            # the screen's queue is long (a flood of checks): judge by the word lists alone
            # rather than keep the reader waiting; cancelling drops the call if it has not started
            log.warning("nudge scorer over its budget; word lists only", extra={"budget_s": SCORE_BUDGET_S})
            return None

    @property
    def offline_model_id(self) -> str | None:
        """The offline scorer's model id once loaded."""
        return getattr(self._scorer, "model_id", None)

    def _validate(self, body: str) -> str:
        return validate_body(body, self.settings.max_body_chars)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _load() -> Any:
    from ..toxicity.fallback import FallbackScorer

    return FallbackScorer("the API's nudge uses the offline screen; the worker scores with the model")
