"""The scoring worker: claims batches of queued comments, scores each batch in one model call
off the event loop, applies the moderation policy and writes the decisions.

One process = one event loop (asyncpg, Redis) + one scoring thread (the model is CPU-bound and not
safe for concurrent calls) + one loading thread (retrying a model that failed to load, while the
fallback keeps scoring). Run as many processes as throughput needs: claims use FOR UPDATE SKIP
LOCKED, so two workers never take the same job, and a claim is a lease, so a killed worker's jobs
are taken over once it expires. The batch is whatever is queued, up to the batch size: one comment
when idle (lowest latency), full batches under a backlog (highest throughput).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NamedTuple

import asyncpg

from .. import metrics
from ..domain import language
from ..domain.policy import (
    CONFIGURED_SCORER,
    MULTILINGUAL_LANGUAGES,
    MULTILINGUAL_SCORER,
    WORD_LISTS_UNCHECKED,
    Decision,
    PolicyConfig,
    PolicyContext,
    decide,
    site_hosts,
)
from ..domain.scoring_models import Job, ScoringContext, WorkerStatus
from ..errors import DomainError, ServiceUnavailable
from ..identity import SsoRules
from ..procmem import rss_bytes
from ..services.offload import run_bounded
from ..services.policy_trial import TrialChannel, TrialRequest, TrialScores
from ..services.scoring import SCORING_FAILED, JobSignal, ScoringService, Verdict
from ..settings import Settings
from ..shutdown import CLOSE_S, WORK_S, step
from .probe_server import ProbeServer

log = logging.getLogger("comments_service.worker")

HEARTBEAT_SECONDS = 5.0
MAX_MODEL_RETRY_SECONDS = 600.0
FAILURES_BEFORE_FALLBACK = 3
# a comment's policy decision, queueing included: the word-list matcher's own work budget ends a
# scan well within it, so only a host too loaded to decide at all reaches it
WORKER_POLICY_BUDGET_S = 5.0


def _percentiles(values: deque) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99)}


class _Routed(NamedTuple):
    """A comment of a batch with what its language routing gave it: its scores, whether they are
    the offline fallback's, and whether no scorer reads its language (``language_unscored``)."""

    context: ScoringContext
    scores: dict[str, float] | None
    fallback: bool
    unscored: bool


def _fallback_scorer(reason: str) -> Any:
    try:
        from ..toxicity.fallback import FallbackScorer

        return FallbackScorer(reason)
    except Exception as exc:  # alt-profanity-check missing: hold everything
        from ..toxicity import NullScorer

        return NullScorer(f"{reason}; fallback scorer unavailable: {exc!r}")


class ScoringWorker:
    def __init__(self, scoring: ScoringService, settings: Settings, trials: TrialChannel | None = None) -> None:
        self.scoring = scoring
        # admins' dry runs ("try a text"): answered with this worker's model, never stored
        self.trials = trials
        self.settings = settings
        self.config = settings.scoring
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"
        self.started_at = datetime.now(UTC)
        self.scorer: Any = None
        # the second model (toxicity multilingual_*): comments in its languages, where a site enables it
        self.multilingual: Any = None
        self.batch_size = settings.toxicity.batch_size
        self._score_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="score")
        self._load_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-load")
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._signal = JobSignal(settings.database.url or "", self._wake.set)
        self._policies: dict[str, tuple[dict, PolicyConfig]] = {}
        self._failures = 0
        self.scored = 0
        self.batches = 0
        self._batch_ms: deque = deque(maxlen=500)
        self._decision_ms: deque = deque(maxlen=2000)
        self._decided_at: deque = deque(maxlen=10_000)

    # ------------------------------------------------------------ lifecycle
    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.scorer = await loop.run_in_executor(self._load_thread, self._load)
        self.multilingual = await loop.run_in_executor(self._load_thread, self._load_multilingual)
        self._announce()
        retry = asyncio.create_task(self._retry_model()) if self.scorer.is_fallback else None
        beat = asyncio.create_task(self._heartbeats())
        trials = (asyncio.create_task(self.trials.serve(self._trial_scores, self._stop))
                  if self.trials is not None else None)
        try:
            await self._signal.start()
            await self._report_once()  # the database may have gone while the model loaded
            await self._loop()
        finally:
            for task in (retry, beat, trials):
                if task is not None:
                    task.cancel()
            await self._shutdown()

    def _load(self) -> Any:
        from ..toxicity import load_scorer

        # the language detector too, so that the first comment does not wait for it; without it
        # every comment is "not detected" and goes to the configured model
        if not language.warm():
            log.warning("language detector unavailable: every comment goes to the configured model",
                        extra={"worker": self.id})
        return load_scorer(self.settings.toxicity)

    def _load_multilingual(self) -> Any:
        """The second, multilingual model, or None (none configured, or it could not load: the
        comments it would read follow their sites' ``languages.other`` rule)."""
        from ..toxicity import load_scorer

        second = self.settings.toxicity.multilingual_settings()
        if second is None:
            return None
        scorer = load_scorer(second)
        if scorer.is_fallback or not scorer.labels:
            log.error("the multilingual model could not be loaded: comments in its languages follow each site's "
                      "languages.other rule", extra={"worker": self.id, "reason": scorer.fallback_reason})
            return None
        log.info("multilingual model loaded", extra={"worker": self.id, "model_id": scorer.model_id})
        return scorer

    def scorers(self) -> dict[str, Any]:
        """The scorers comments are routed to by language (domain/policy LanguageRules.route): the
        configured model, and the multilingual one where the worker holds a second model."""
        held = {CONFIGURED_SCORER: self.scorer}
        if self.multilingual is not None:
            held[MULTILINGUAL_SCORER] = self.multilingual
        return held

    def configured_reads(self) -> Collection[str]:
        """The languages the configured model reads: the multilingual model's when it is detoxify's
        multilingual variant and loaded (the offline fallback reads English only), else English."""
        s = self.scorer
        if self.settings.toxicity.variant == "multilingual" and not s.is_fallback and s.labels:
            return MULTILINGUAL_LANGUAGES
        return ("en",)

    def _announce(self) -> None:
        s = self.scorer
        if s.is_fallback:
            line = (f"comments-service worker: toxicity model UNAVAILABLE ({s.fallback_reason}); scoring with the "
                    f"offline fallback {s.model_id}; "
                    + ("comments are held for a moderator (fail closed)" if self.settings.toxicity.fail_closed
                       else "comments are judged with the fallback thresholds (fail open)")
                    + f"; retrying the model every {self.config.model_retry_seconds:g}s and more")
            log.warning("scoring with the fallback scorer", extra={"worker": self.id, "model_id": s.model_id,
                                                                   "reason": s.fallback_reason})
        else:
            line = (f"comments-service worker: scoring with the model {s.model_id} ({s.backend}, {s.source}, "
                    f"loaded in {s.load_seconds:.1f}s, RSS {(rss_bytes() or 0) / 2**20:.0f} MiB)")
            log.info("scoring with the model", extra={"worker": self.id, "model_id": s.model_id,
                                                     "backend": s.backend, "source": s.source})
            if s.fallback_reason:  # e.g. detoxify standing in for an onnx backend whose export failed
                line += f"; instead of the {self.settings.toxicity.backend} backend: {s.fallback_reason}"
                log.warning("scoring with a stand-in backend", extra={"worker": self.id, "model_id": s.model_id,
                                                                      "reason": s.fallback_reason})
        print(line, file=sys.stderr, flush=True)

    async def _shutdown(self) -> None:
        # bounded: with PostgreSQL unreachable a close or a query would wait for good (shutdown.py)
        await asyncio.gather(step("worker: its LISTEN connection", self._signal.close(), CLOSE_S),
                             step("worker: removing its status row", self.scoring.forget_worker(self.id), CLOSE_S))
        self._score_thread.shutdown(wait=False, cancel_futures=True)
        self._load_thread.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------ the loop
    async def _loop(self) -> None:
        next_sweep = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_sweep:
                    await self._sweep()
                    if not self._signal.listening:
                        # a restarted PostgreSQL dropped the LISTEN session: without it new jobs
                        # wait for the next poll instead of waking the worker at once
                        await self._signal.start()
                    next_sweep = time.monotonic() + self.config.poll_seconds
                self._wake.clear()
                jobs = await self.scoring.claim(self.id, self.batch_size, self.config.lease_seconds)
                if jobs:
                    await self._process(jobs)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.config.poll_seconds)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # the database went away: claimed jobs come back when their leases expire
                log.warning("scoring loop: database error; retrying", extra={"error": f"{type(exc).__name__}: {exc}"})
                with contextlib.suppress(TimeoutError):  # a stop ends the pause
                    await asyncio.wait_for(self._stop.wait(), min(5.0, self.config.poll_seconds * 2))
            except Exception as exc:
                # a bug or a comment that breaks something: its claim expires, it is retried, and
                # after max_attempts it is held for a moderator instead of stopping the worker
                log.exception("scoring batch failed", exc_info=exc, extra={"worker": self.id})
                await asyncio.sleep(self.config.poll_seconds)

    async def _sweep(self) -> None:
        released = await self.scoring.release_expired()
        if released:
            log.warning("expired scoring claims released", extra={
                "count": len(released), "workers": sorted({w for _, w in released if w})})
            self._wake.set()

    async def _process(self, jobs: list[Job]) -> None:
        started = time.perf_counter()
        ids = [j.comment_id for j in jobs]
        attempts = {j.comment_id: j.attempts for j in jobs}
        contexts = await self.scoring.contexts(ids, self.config.recent_rejection_days)
        # a comment decided by a moderator or deleted meanwhile only closes its job
        finished = [i for i in ids if i not in contexts or contexts[i].status != "pending_scoring"]
        todo = [contexts[i] for i in ids if i not in finished]
        exhausted = [c for c in todo if attempts[c.comment_id] > self.config.max_attempts]
        to_score = [c for c in todo if attempts[c.comment_id] <= self.config.max_attempts]
        scorer = self.scorer
        score_started = time.perf_counter()
        scores, routes, detected, error = await self._score_by_language(to_score)
        score_ms = (time.perf_counter() - score_started) * 1000
        fallback = bool(scorer.is_fallback)
        batch = [_Routed(c, s, fallback and r in (CONFIGURED_SCORER, None), r is None)
                 for c, s, r in zip(to_score, scores, routes, strict=True)]
        decisions = await self._decide_bounded(batch)
        held = self.scorers()
        verdicts = [Verdict(context=b.context, decision=d, model_fallback=b.fallback, language=lang.language,
                            language_confidence=lang.confidence, language_unscored=b.unscored,
                            model_id=held[route].model_id if route == MULTILINGUAL_SCORER else None)
                    for b, d, lang, route in zip(batch, decisions, detected, routes, strict=True)]
        verdicts += [Verdict(context=c, decision=Decision(outcome="held", reason=SCORING_FAILED))
                     for c in exhausted]
        applied = await self.scoring.apply(self.id, scorer.model_id, verdicts, finished=finished,
                                                    error=error)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.batches += 1
        self.scored += len(applied.decided)
        self._batch_ms.append(elapsed_ms)
        now = time.monotonic()
        for c in to_score + exhausted:
            self._decision_ms.append(c.age_seconds * 1000 + elapsed_ms)
        self._decided_at.extend([now] * len(applied.decided))
        if to_score:
            metrics.observe_scoring_batch(size=len(to_score), seconds=score_ms / 1000)
        why = {v.context.comment_id: (v.decision.reason, v.context.age_seconds) for v in verdicts}
        for comment_id, outcome in applied.decided:
            reason, age = why.get(comment_id, ("", 0.0))
            metrics.observe_decision(outcome, reason, waited_seconds=age + elapsed_ms / 1000)
        # size: the batch is whatever was queued, up to batch_size (1 when idle, full under a backlog);
        # ms: claim to decisions written; score_ms: the model call alone
        log.info("batch decided", extra={"worker": self.id, "size": len(jobs), "ms": round(elapsed_ms, 1),
                                         "score_ms": round(score_ms, 1), "decided": applied.decided,
                                         "model_id": scorer.model_id})

    async def _score_by_language(self, contexts: list[ScoringContext]) -> tuple[
            list[dict[str, float] | None], list[str | None], list[language.Detected], str | None]:
        """Each comment's language (on the scoring thread), its scorer by the site's language rule,
        and its scores from that scorer: (scores, scorer names, languages, error). A comment no
        scorer reads (route None) gets the configured model's scores, which policy.decide uses
        only to hold it, under the site's ``languages.other`` rule."""
        if not contexts:
            return [], [], [], None
        texts = [c.text for c in contexts]
        detected: list[language.Detected] = await asyncio.get_running_loop().run_in_executor(
            self._score_thread, lambda: [language.detect(t) for t in texts])
        held = self.scorers()
        reads = self.configured_reads()
        routes = [self._policy(c.site_id, c.site_settings).languages.route(
                      d.language, d.confidence, held, english_passage=d.english_passage, configured_reads=reads)
                  for c, d in zip(contexts, detected, strict=True)]
        scores: list[dict[str, float] | None] = [None] * len(contexts)
        errors = []
        for name, scorer in held.items():
            # a comment no scorer reads is scored by the configured model all the same: its scores
            # may hold it (an English passage the detector missed), never reject it (policy.decide)
            picked = [i for i, route in enumerate(routes) if (route or CONFIGURED_SCORER) == name]
            if not picked:
                continue
            got, error = await self._score(scorer, [texts[i] for i in picked])
            for i, s in zip(picked, got, strict=True):
                scores[i] = s
            if error:
                errors.append(error)
        return scores, routes, detected, "; ".join(errors) or None

    async def _score(self, scorer: Any, texts: list[str]) -> tuple[list[dict[str, float] | None], str | None]:
        if not texts:
            return [], None
        if not scorer.labels:  # NullScorer: nothing can judge the text
            return [None] * len(texts), None
        try:
            scores = await asyncio.get_running_loop().run_in_executor(self._score_thread, scorer.score_batch, texts)
            self._failures = 0
            return list(scores), None
        except Exception as exc:
            self._failures += 1
            error = f"{type(exc).__name__}: {exc}"
            log.error("scoring failed; the batch is decided without scores", exc_info=exc,
                      extra={"worker": self.id, "model_id": scorer.model_id, "failures": self._failures})
            if self._failures >= FAILURES_BEFORE_FALLBACK and not scorer.is_fallback and scorer is self.scorer:
                self.scorer = _fallback_scorer(f"model failed {self._failures} times in a row: {error}")
                self._announce()
                asyncio.get_running_loop().create_task(self._retry_model())
            return [None] * len(texts), error

    async def _trial_scores(self, request: TrialRequest) -> TrialScores:
        """An admin's dry run: the text's language detected and routed by the site's (or the draft's)
        language rule as a comment's would be, then scored on the scoring thread (after the batch in
        hand) by the model that rule picks. A failure is reported, and counts for nothing."""
        text = request.text
        detected = await asyncio.get_running_loop().run_in_executor(self._score_thread, language.detect, text)
        held = self.scorers()
        route = request.languages.route(detected.language, detected.confidence, held,
                                        english_passage=detected.english_passage,
                                        configured_reads=self.configured_reads())
        scorer = held[route or CONFIGURED_SCORER]
        found = {"model_id": scorer.model_id, "is_fallback": bool(scorer.is_fallback),
                 "language": detected.language, "language_confidence": detected.confidence,
                 "language_unscored": route is None}
        if not scorer.labels:
            return TrialScores(id="", scores=None, **found)
        try:
            scores = await asyncio.get_running_loop().run_in_executor(self._score_thread, scorer.score_batch, [text])
            return TrialScores(id="", scores=dict(scores[0]), **found)
        except Exception as exc:
            return TrialScores(id="", scores=None, error=f"{type(exc).__name__}: {exc}", **found)

    async def _decide_bounded(self, batch: list[_Routed]) -> list[Decision]:
        """The policy's decisions for a batch, off the event loop in one hop and within
        WORKER_POLICY_BUDGET_S: a site's word lists must not stall the probes, the heartbeat or other
        sites' comments. A comment not decided in time is held for a moderator."""
        deadline = time.monotonic() + WORKER_POLICY_BUDGET_S

        def decide_all() -> list[Decision | None]:
            # each word-list scan has its own work budget (domain/wordlists), so checking the
            # deadline between comments bounds the batch
            return [self._decide(b.context, b.scores, b.fallback, b.unscored) if time.monotonic() < deadline else None
                    for b in batch]

        try:
            # a second past the deadline: a comment begun just before it ends after it, its scan
            # bounded; past that only a host too loaded to decide at all, and the batch is held
            decided = await run_bounded(decide_all, budget_s=WORKER_POLICY_BUDGET_S + 1.0)
        except (DomainError, ServiceUnavailable):
            decided = [None] * len(batch)
        out = []
        for b, decision in zip(batch, decided, strict=True):
            if decision is None:
                log.warning("policy decision over its time budget; holding the comment", extra={
                    "worker": self.id, "site": b.context.site_id, "comment": b.context.comment_id,
                    "budget_s": WORKER_POLICY_BUDGET_S})
                decision = Decision(outcome="held", reason=WORD_LISTS_UNCHECKED, scores=b.scores)
            out.append(decision)
        return out

    def _decide(self, c: ScoringContext, scores: dict[str, float] | None, fallback: bool,
                unscored: bool = False) -> Decision:
        cfg = self._policy(c.site_id, c.site_settings)
        guest = c.user_kind == "guest"
        ctx = PolicyContext(
            article_premoderation=c.article_premoderation, user_banned=c.author_banned,
            # a stored role counts only where sign-in would grant it: an SSO user on a site that allows staff roles
            user_is_moderator=(c.user_kind == "sso" and c.user_role in ("moderator", "admin")
                               and SsoRules.from_site_settings(c.site_settings).staff_roles),
            user_trusted=c.user_trusted, user_premoderated=c.user_premoderated,
            user_recent_rejections=c.recent_rejections, user_published_count=c.published,
            is_guest=c.user_kind == "guest", model_fallback=fallback, site_hosts=site_hosts(c.site_origins),
            copy_campaign=c.in_campaign, user_shadow_restricted=c.author_shadow_restricted,
            language_unscored=unscored,
            # who counts as new is the site's surge rule, as services/surge.py counts them
            surge_new_author=(c.article_surge and cfg.surge.enabled
                              and cfg.surge.new_author(guest=guest, account_age_seconds=c.author_age_seconds)))
        return decide(scores, c.text, ctx, cfg)

    def _policy(self, site_id: str, site_settings: dict) -> PolicyConfig:
        cached = self._policies.get(site_id)
        if cached is not None and cached[0] == site_settings:
            return cached[1]
        try:
            cfg = PolicyConfig.from_site_settings(site_settings, fail_closed=self.settings.toxicity.fail_closed)
        except ValueError as exc:
            # refused when set (services/sites.check_settings); a row stored before that is listed in diagnostics
            log.error("invalid moderation settings; using the defaults", extra={"site": site_id, "error": str(exc)})
            cfg = PolicyConfig(fail_closed=self.settings.toxicity.fail_closed)
        self._policies[site_id] = (site_settings, cfg)
        return cfg

    # ------------------------------------------------------------ model retries and reports
    async def _retry_model(self) -> None:
        delay = self.config.model_retry_seconds
        loop = asyncio.get_running_loop()
        while self.scorer.is_fallback and not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
                return
            except TimeoutError:
                pass
            candidate = await loop.run_in_executor(self._load_thread, self._load)
            if not candidate.is_fallback:
                self.scorer = candidate
                self._failures = 0
                log.warning("toxicity model loaded after retry", extra={"worker": self.id,
                                                                          "model_id": candidate.model_id})
                self._announce()
                await self._report()
                return
            self.scorer = candidate  # same fallback, fresh reason
            delay = min(delay * 2, MAX_MODEL_RETRY_SECONDS)
            log.warning("toxicity model still unavailable", extra={
                "worker": self.id, "reason": candidate.fallback_reason, "next_retry_seconds": delay})

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self._report_once()

    async def _report_once(self) -> None:
        """A report that a database outage does not turn into a crash: the next heartbeat reports
        again, and the loop waits for the database in the meantime."""
        try:
            await self._report()
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("worker heartbeat failed", extra={"error": f"{type(exc).__name__}: {exc}"})

    def report(self) -> WorkerStatus:
        cutoff = time.monotonic() - 60
        per_min = sum(1 for t in self._decided_at if t >= cutoff)
        model = dict(self.scorer.describe())
        model.update(rss_bytes=rss_bytes(), batch_size=self.batch_size,
                     fail_closed=self.settings.toxicity.fail_closed)
        latency = {f"batch_{k}": v for k, v in _percentiles(self._batch_ms).items()}
        latency.update({f"decision_{k}": v for k, v in _percentiles(self._decision_ms).items()})
        return WorkerStatus(
            worker_id=self.id, hostname=socket.gethostname(), pid=os.getpid(), started_at=self.started_at,
            model=model, is_fallback=bool(self.scorer.is_fallback), jobs_scored=self.scored, batches=self.batches,
            latency_ms=latency, throughput_per_min=float(per_min))

    async def _report(self) -> None:
        await self.scoring.report_worker(self.report())


def check_model_files_or_exit(settings: Settings) -> None:
    """A model variable naming a missing or unreadable file stops the worker (exit status 2) with
    the variable in the message, before anything starts: a typo must not quietly leave every
    comment held. With COMMENTS_TOXICITY_MISSING_MODEL=fallback the worker starts on the fallback
    scorer instead, says so, and retries the model until the file appears."""
    from ..toxicity.model_kit import check_model_files

    problem = check_model_files(settings.toxicity)
    if problem is None:
        return
    if settings.toxicity.missing_model == "fallback":
        log.warning("toxicity model files missing; starting on the fallback scorer "
                    "(COMMENTS_TOXICITY_MISSING_MODEL=fallback)", extra={"reason": problem})
        return
    log.error("toxicity model files missing; stopping", extra={"reason": problem})
    print(f"comments-service worker: {problem}. Fix the path (README: Providing the model), or set "
          "COMMENTS_TOXICITY_MISSING_MODEL=fallback to start on the offline fallback scorer "
          "(comments held while fail closed) and retry the model until it is there.",
          file=sys.stderr, flush=True)
    raise SystemExit(2)


async def _run_until_stopped(worker: ScoringWorker, stopped: asyncio.Event) -> None:
    """``worker.run()``; after a signal, the work in hand (a batch, a query, the model's first load)
    has WORK_S to end before it is cancelled: a query to an unreachable database would otherwise
    hold the exit for its whole timeout, a model load for minutes."""
    run = asyncio.ensure_future(worker.run())
    signalled = asyncio.ensure_future(stopped.wait())
    try:
        await asyncio.wait({run, signalled}, return_when=asyncio.FIRST_COMPLETED)
        if not run.done():
            await asyncio.wait({run}, timeout=WORK_S)
        if not run.done():
            log.warning("shutdown: work in hand did not end in time; cancelling it", extra={
                "step": "worker: its loop", "timeout_s": WORK_S})
            run.cancel()
            # its own shutdown steps are bounded; but a query cancelled on a database that does not
            # answer holds its pooled connection until the pool is closed, which comes next
            await asyncio.wait({run}, timeout=CLOSE_S)
    finally:
        signalled.cancel()
    if run.done() and not run.cancelled():
        run.result()  # a crash of the loop is the command's error


def exit_without_lingering_threads() -> None:
    """After run_worker: a model load or a scoring call still running on its thread cannot be
    stopped, and the interpreter would wait for it before exiting (minutes, for a first ONNX
    export). The process leaves without it once the logs are flushed."""
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    deadline = time.monotonic() + CLOSE_S / 2
    for thread in others:  # idle pool threads end at once: only busy ones are left behind
        thread.join(max(0.0, deadline - time.monotonic()))
    lingering = [t.name for t in others if t.is_alive()]
    if not lingering:
        return
    log.warning("shutdown: not waiting for threads still at work", extra={"threads": lingering})
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


async def run_worker(settings: Settings) -> None:
    """`comments-service worker`: until SIGTERM/SIGINT, then finish the batch in hand and exit."""
    import signal

    from ..wiring import build_worker, close_worker

    if settings.scoring.worker_nice:
        try:
            os.nice(settings.scoring.worker_nice)
        except OSError as exc:
            log.warning("could not lower the worker's CPU priority", extra={"error": str(exc)})
    services = await build_worker(settings)
    worker = ScoringWorker(services.scoring, settings, services.trials)
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()

    def stop() -> None:
        worker.stop()
        stopped.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    probes = ProbeServer(settings, services.health, worker) if settings.server.worker_port is not None else None
    try:
        if probes is not None:  # before the model loads: liveness answers during a long first load
            await probes.start()
        await _run_until_stopped(worker, stopped)
    finally:
        if probes is not None:
            await probes.close()
        await close_worker(services)
