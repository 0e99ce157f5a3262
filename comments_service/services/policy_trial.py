"""An admin's "try a text": what the site's policy (or a draft of it, unsaved) would do with a text,
and why. A dry run: nothing is stored, no comment, job or audit entry is made.

The text is scored by the scoring worker's model, as a real comment would be: the API process never
loads the model, so it asks the workers over Redis (``TrialChannel``: a request on one channel, the
answer on a channel of the request's own) and waits at most ``ASK_TIMEOUT_S``. When no worker
listens or none answers in time, the offline fallback the nudge uses scores it instead, and the
answer says so (``scored_by: "fallback"``). The decision is ``domain/policy.decide`` itself, with
the draft merged over the stored settings by the rule a save uses (``sites.merged_settings``) and
checked by the rule a save uses (``sites.check_settings``): what the admin sees is what saving does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import msgspec
import redis.asyncio as aioredis
from msgspec import Meta
from redis.exceptions import RedisError

from .. import i18n
from ..domain import policy
from ..domain.judged_by import judged_by
from ..domain.policy import (
    DEFAULT_BANNED_WORDS,
    DEFAULT_FALLBACK_THRESHOLDS,
    DEFAULT_SUSPECT_WORDS,
    DEFAULT_THRESHOLDS,
    LABELS,
    LabelThresholds,
    PolicyConfig,
    PolicyContext,
)
from ..domain.structs import Struct
from ..domain.wordlists import WordListTooCostly, find_term
from ..errors import DomainError
from ..ratelimit import RateLimiter
from .comments import validate_body
from .nudge import NudgeService
from .offload import POLICY_BUDGET_S, run_bounded
from .scoring import ScoringService
from .sites import SiteDirectory, check_settings, merged_settings
from .staff_scope import StaffLike, require_site

log = logging.getLogger("comments_service.policy_trial")

# how long the API waits for a worker's scores before the offline fallback scores the text
ASK_TIMEOUT_S = 3.0
# a worker answers this many trials at once; more are left to the API's fallback
MAX_PENDING_TRIALS = 8
# the comment-sized text a trial may hold is bounded by COMMENTS_MAX_BODY_CHARS (validate_body)
REQUEST_CHANNEL = "policy-trials"


# ------------------------------------------------------------------ the worker's side and the wire
class TrialRequest(Struct, frozen=True):
    id: str
    text: str
    reply: str  # the channel the answer goes to
    # the site's (or the draft's) language rule: the worker routes the text as it would a comment
    languages: policy.LanguageRules = msgspec.field(default_factory=policy.LanguageRules)


class TrialScores(Struct, frozen=True):
    """A worker's scores of a trial's text: ``scores`` None when nothing could score it."""

    id: str
    scores: dict[str, float] | None
    model_id: str
    is_fallback: bool
    error: str | None = None
    # the text's language as the worker detected it, and whether no model it holds reads it
    # (its scores then may hold the text, never reject it: domain/policy.decide)
    language: str | None = None
    language_confidence: float = 0.0
    language_unscored: bool = False


class TrialChannel:
    """Request and reply over Redis pub/sub. ``ask`` is the API's side, ``serve`` a worker's. Every
    worker hears a request; the first to claim it (SET NX) answers, the others drop it."""

    def __init__(self, client: aioredis.Redis | None, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.requests = f"{prefix}{REQUEST_CHANNEL}"
        self._pending: set[asyncio.Task[None]] = set()

    async def ask(self, text: str, languages: policy.LanguageRules | None = None,
                  timeout: float = ASK_TIMEOUT_S) -> TrialScores | None:
        """A worker's scores of ``text`` routed by ``languages`` as a comment would be, or None when
        no worker listens or answers within ``timeout``."""
        client = self.client
        if client is None:
            return None
        request = TrialRequest(id=secrets.token_hex(12), text=text, reply="",
                               languages=languages or policy.LanguageRules())
        request = msgspec.structs.replace(request, reply=f"{self.prefix}policy-trial:{request.id}")
        pubsub = client.pubsub()
        deadline = time.monotonic() + timeout
        try:
            async with asyncio.timeout(timeout):
                await pubsub.subscribe(request.reply)
                # the subscription is confirmed before the request goes out: the answer cannot come first
                while True:
                    message = await pubsub.get_message(timeout=max(0.01, deadline - time.monotonic()))
                    if message is not None and message.get("type") == "subscribe":
                        break
                if not await client.publish(self.requests, msgspec.json.encode(request)):
                    return None  # no worker listens
                while True:
                    message = await pubsub.get_message(timeout=max(0.01, deadline - time.monotonic()))
                    if message is not None and message.get("type") == "message":
                        answer = msgspec.json.decode(message["data"], type=TrialScores)
                        if answer.id == request.id:
                            return answer
        except (TimeoutError, RedisError, OSError, msgspec.DecodeError) as exc:
            log.info("no scoring worker answered a policy trial", extra={"error": f"{type(exc).__name__}: {exc}"})
            return None
        finally:
            with contextlib.suppress(TimeoutError, RedisError, OSError):
                await asyncio.wait_for(pubsub.aclose(), 1.0)

    async def serve(self, answer: Callable[[TrialRequest], Awaitable[TrialScores]], stopping: asyncio.Event) -> None:
        """A worker's side, until ``stopping``: each request claimed is answered by ``answer(request)``
        (which scores off the event loop) in a task of its own, so a slow score never stops the
        subscription. Redis errors are retried with a short backoff."""
        client = self.client
        if client is None:
            return
        backoff = 0.5
        while not stopping.is_set():
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.requests)
                while not stopping.is_set():
                    message = await pubsub.get_message(timeout=1.0)
                    backoff = 0.5
                    if message is None or message.get("type") != "message":
                        continue
                    await self._take(client, message["data"], answer)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("policy trial channel: Redis error; retrying",
                            extra={"error": f"{type(exc).__name__}: {exc}"})
            finally:
                with contextlib.suppress(TimeoutError, RedisError, OSError):
                    await asyncio.wait_for(pubsub.aclose(), 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), backoff)
            backoff = min(backoff * 2, 5.0)
        for task in list(self._pending):
            task.cancel()

    async def _take(self, client: aioredis.Redis, data: bytes,
                    answer: Callable[[TrialRequest], Awaitable[TrialScores]]) -> None:
        try:
            request = msgspec.json.decode(data, type=TrialRequest)
        except msgspec.DecodeError:
            return
        if len(self._pending) >= MAX_PENDING_TRIALS or not request.reply.startswith(self.prefix):
            return  # busy: the API scores it with the fallback after its wait
        if not await client.set(f"{self.prefix}policy-trial-claim:{request.id}", b"1", nx=True, ex=30):
            return  # another worker answers it
        task = asyncio.get_running_loop().create_task(self._answer(client, request, answer))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @staticmethod
    async def _answer(client: aioredis.Redis, request: TrialRequest,
                      answer: Callable[[TrialRequest], Awaitable[TrialScores]]) -> None:
        try:
            scores = await answer(request)
            await client.publish(request.reply, msgspec.json.encode(msgspec.structs.replace(scores, id=request.id)))
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("policy trial: answer not sent", extra={"error": f"{type(exc).__name__}: {exc}"})


# ------------------------------------------------------------------ the API's side
TrialAuthor = Literal["established", "new", "guest"]


class LabelOver(Struct, frozen=True):
    label: str
    score: float
    hold: float | None
    reject: float | None
    over: Literal["hold", "reject"]


class MatchedWord(Struct, frozen=True):
    list: Literal["banned", "suspect"]
    term: str


class TrialResult(Struct, frozen=True):
    outcome: policy.Outcome
    reason: Annotated[str, Meta(description="The policy's reason code (as stored with a comment).")]
    explanation: Annotated[str, Meta(description="What decided it and why, in words.")]
    scores: dict[str, float] | None
    labels_over: list[LabelOver]
    matched_words: list[MatchedWord]
    scored_by: Annotated[str, Meta(description=(
        "The model's id when a scoring worker's model scored the text; \"fallback\" when the offline "
        "fallback did (no worker answered, or the worker itself runs on it); \"none\" when nothing could."))]
    model_id: str | None = None
    note: str | None = None
    language: Annotated[str | None, Meta(description=(
        "The text's language as the scoring worker detected it (ISO 639-1); None when undetected or no "
        "worker answered."))] = None
    language_unscored: Annotated[bool, Meta(description=(
        "No model the worker holds reads that language: the site's languages.other rule applies, and "
        "the scores may hold the text but never reject it."))] = False


class ThresholdView(Struct, frozen=True):
    hold: float | None
    reject: float | None


class PolicyDefaults(Struct, frozen=True):
    thresholds: dict[str, ThresholdView]
    fallback_thresholds: dict[str, ThresholdView]
    banned_words: list[str]
    suspect_words: list[str]
    fail_closed: bool
    hold_after_recent_rejections: int
    new_account_hold_first: int
    edit_window_seconds: int


class PolicyView(Struct, frozen=True):
    """What the settings form needs besides the site's stored settings: the labels a threshold may
    name, what each setting is when the site does not set it, and the model the workers use."""

    site_id: str
    labels: list[str]
    defaults: PolicyDefaults
    model_id: str | None
    model_is_fallback: bool | None
    max_text_chars: int


def _view(thresholds: dict[str, LabelThresholds]) -> dict[str, ThresholdView]:
    return {label: ThresholdView(hold=t.hold, reject=t.reject) for label, t in sorted(thresholds.items())}


def _labels_over(scores: dict[str, float] | None, thresholds: dict[str, LabelThresholds]) -> list[LabelOver]:
    out = []
    for label, limits in sorted(thresholds.items()):
        score = (scores or {}).get(label)
        if score is None:
            continue
        if limits.reject is not None and score >= limits.reject:
            out.append(LabelOver(label=label, score=score, hold=limits.hold, reject=limits.reject, over="reject"))
        elif limits.hold is not None and score >= limits.hold:
            out.append(LabelOver(label=label, score=score, hold=limits.hold, reject=limits.reject, over="hold"))
    return out


def _matches(text: str, cfg: PolicyConfig) -> list[MatchedWord]:
    found = []
    for name, words in (("banned", cfg.banned_words), ("suspect", cfg.suspect_words)):
        try:
            term = find_term(text, words)
        except WordListTooCostly:
            continue
        if term is not None:
            found.append(MatchedWord(list=name, term=term))  # type: ignore[arg-type]
    return found


class PolicyTrial:
    def __init__(self, sites: SiteDirectory, channel: TrialChannel, nudge: NudgeService, limiter: RateLimiter,
                 scoring: ScoringService, *, max_body_chars: int, fail_closed: bool,
                 edit_window_seconds: int) -> None:
        self.sites = sites
        self.channel = channel
        self.nudge = nudge
        self.limiter = limiter
        self.scoring = scoring
        self.max_body_chars = max_body_chars
        self.fail_closed = fail_closed
        self.edit_window_seconds = edit_window_seconds

    async def view(self, staff: StaffLike, site_id: str) -> PolicyView:
        require_site(staff, site_id)
        await self.sites.get(site_id)  # unknown_site
        model = await self.scoring.model_state()
        defaults = PolicyDefaults(
            thresholds=_view(DEFAULT_THRESHOLDS), fallback_thresholds=_view(DEFAULT_FALLBACK_THRESHOLDS),
            banned_words=list(DEFAULT_BANNED_WORDS), suspect_words=list(DEFAULT_SUSPECT_WORDS),
            fail_closed=self.fail_closed, hold_after_recent_rejections=PolicyConfig().hold_after_recent_rejections,
            new_account_hold_first=PolicyConfig().new_account_hold_first,
            edit_window_seconds=self.edit_window_seconds)
        return PolicyView(site_id=site_id, labels=sorted(LABELS), defaults=defaults,
                          model_id=model.model_id if model.known else None,
                          model_is_fallback=model.is_fallback if model.known else None,
                          max_text_chars=self.max_body_chars)

    async def try_text(self, staff: StaffLike, site_id: str, text: str, draft: dict[str, Any] | None,
                       author: TrialAuthor = "established", locale: str = i18n.DEFAULT) -> TrialResult:
        """``locale``: the language of the explanation (the console's); the note stays English, as
        the words only staff read do."""
        require_site(staff, site_id)
        text = validate_body(text, self.max_body_chars)
        await self.limiter.check("policy_trial", user=staff.id, ip=None)
        entry = await self.sites.get(site_id)
        settings = entry.site.settings
        if draft is not None:
            settings = merged_settings(settings, {"moderation": draft})
        check_settings(settings)  # the draft is refused as a save of it would be (422 invalid_site_settings)
        cfg = PolicyConfig.from_site_settings(settings, fail_closed=self.fail_closed)

        asked = await self.channel.ask(text, cfg.languages)
        note = None
        unscored = False
        if asked is not None:
            scores, model_id, fallback = asked.scores, asked.model_id, asked.is_fallback
            unscored = asked.language_unscored
            if asked.error:
                note = f"The worker's model failed on this text ({asked.error[:200]}); a comment would be judged " \
                       "without scores."
            elif fallback:
                note = "The scoring worker runs on the offline fallback: no toxicity model could be loaded."
        else:
            scores = await self.nudge.offline_scores(text)
            model_id = self.nudge.offline_model_id or "profanity-check (fallback)"
            fallback = True
            note = ("No scoring worker answered, so the offline fallback scored the text here; a running "
                    "worker's model decides real comments, routed by their language, which was not detected here.")
        if scores is None:
            model_id, fallback = "none", False
        ctx = PolicyContext(is_guest=author == "guest",
                            user_published_count=0 if author in ("new", "guest") else None,
                            model_fallback=fallback, site_hosts=policy.site_hosts(entry.site.allowed_origins),
                            language_unscored=unscored)
        try:
            decision = await run_bounded(policy.decide, scores, text, ctx, cfg, budget_s=POLICY_BUDGET_S)
            matched = await run_bounded(_matches, text, cfg, budget_s=POLICY_BUDGET_S)
        except DomainError:
            raise DomainError("text_too_complex") from None
        detail: dict[str, Any] = {"label": decision.label, "term": decision.term, "model_fallback": fallback}
        if unscored:
            detail["language_unscored"] = True
        return TrialResult(
            outcome=decision.outcome, reason=decision.reason,
            explanation=judged_by(decision.outcome, decision.reason, model_id, detail, i18n.translator(locale)),
            scores=scores, labels_over=_labels_over(scores, cfg.fallback_thresholds if fallback else cfg.thresholds),
            matched_words=matched,
            scored_by="none" if scores is None else ("fallback" if fallback else model_id),
            model_id=model_id, note=note, language=asked.language if asked is not None else None,
            language_unscored=unscored)
