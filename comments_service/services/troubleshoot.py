"""The reader's troubleshooter: "why can't I comment?" answered as a list of plain-language checks.

What a reader may learn here is only what concerns them: their own sign-in, their own comments and
standing, the article's public settings and whether the service is degraded. Other readers'
comments are described only as far as any visitor can see them (visible or not), never their
author, status reason, scores, thresholds, word lists, moderator notes, IPs or emails.

Checks that correspond to an API error carry its catalogue ``code`` and explain it with the
catalogue's ``help``, so the widget, the API and the troubleshooter always say the same thing.

Longer than most modules on purpose: each check is a few lines of wording, and a reader's answer is
easiest to review when every check it can contain is in one place, in the order it is given.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import asyncpg
import msgspec

from .. import __version__, hs256, i18n
from ..db import articles as article_repo
from ..db import moderation as mod_repo
from ..db import observability as obs
from ..db.connection import Connection
from ..domain import moderation as rules
from ..domain.dsa_models import StatementView
from ..domain.outcomes import explain_own_comment
from ..domain.structs import Struct
from ..errors import CATALOGUE, DomainError
from ..identity import Identity, Keyring, verify_bearer_token
from ..ratelimit import RateLimiter
from .health import HealthMonitor
from .problem_reports import ProblemReports
from .readers import Readers
from .sites import SiteDirectory, SiteEntry
from .user_moderation import UserModeration
from .write_guard import WriteGuard

CheckStatus = Literal["ok", "warn", "problem", "info"]
_RANK = {"ok": 0, "info": 0, "warn": 1, "problem": 2}
CLOCK_SKEW_WARN_SECONDS = 120
CLIENT_CHECK_KEYS = {"cookies": "Cookies", "local_storage": "Local storage",
                     "third_party_cookies": "Third-party cookies"}
CLIENT_CHECK_VALUES = ("ok", "blocked", "unavailable", "unknown")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# what the one check every write passes is asked about: the reader's next comment and next vote
_PARTICIPATION_CHECKS: tuple[tuple[rules.WriteAction, str, str], ...] = (
    ("post", "network", "Your network"), ("vote", "standing", "Votes and reports"))


class Check(Struct, omit_defaults=True):
    id: str
    status: CheckStatus
    title: str
    explanation: str
    action: str | None = None
    code: str | None = None  # the error catalogue's code this check corresponds to
    data: dict[str, Any] | None = None


class TroubleshootResult(Struct):
    summary: Literal["ok", "warn", "problem"]
    version: str
    server_time: datetime
    request_id: str | None
    site: str | None
    article_id: str | None
    comment_id: int | None
    checks: list[Check]


class TroubleshootQuery(Struct):
    site: str | None
    external_id: str | None  # the article's, as the site names it
    comment_id: int | None
    origin: str | None
    token: str | None
    token_header_error: DomainError | None
    ip: str | None
    client_check: str | None
    client_time_ms: int | None
    request_id: str | None
    locale: str = i18n.DEFAULT  # the language of the answer's words (i18n.negotiate), never of its ids or codes


class OwnCommentView(Struct):
    id: int
    state: str  # published, being_checked, awaiting_moderation, not_published or deleted (domain/outcomes.py)
    category: str
    explanation: str
    created_at: datetime


def _statement_note(tr: i18n.Translate) -> str:
    """Shown only to the author of what a statement of reasons restricts (Art. 17 DSA), never to others."""
    return " " + tr("The statement of reasons below says what was decided, on which rule, and how to appeal.")


def _appeal_action(statement: StatementView, tr: i18n.Translate) -> str | None:
    if statement.appeal is not None:
        return None
    return tr("If you disagree, appeal by {date}: someone other than the person who decided reviews it.",
              date=statement.appeal_until.date().isoformat())


_OWN_COMMENT_STATUS: dict[str, CheckStatus] = {
    "published": "ok", "being_checked": "info", "awaiting_moderation": "warn", "not_published": "warn",
    "deleted": "info"}


def _catalogued(check_id: str, status: CheckStatus, title: str, code: str, tr: i18n.Translate, *,
                action: str | None = None, data: dict[str, Any] | None = None) -> Check:
    return Check(id=check_id, status=status, title=title, explanation=tr(CATALOGUE[code].help), action=action,
                 code=code, data=data)


class StatementsInForce(Protocol):
    """What the troubleshooter shows an author of a restriction in force (services/dsa.Dsa)."""

    async def in_force(self, site_id: str, user_id: int, comment_id: int | None,
                       locale: str = ...) -> StatementView | None: ...


class Troubleshooter:
    def __init__(self, pool: asyncpg.Pool, sites: SiteDirectory, keyring: Keyring, readers: Readers,
                 user_moderation: UserModeration, guard: WriteGuard, limiter: RateLimiter, monitor: HealthMonitor,
                 reports: ProblemReports, statements: StatementsInForce) -> None:
        self.pool = pool
        self.sites = sites
        self.keyring = keyring
        self.readers = readers
        self.user_moderation = user_moderation
        self.guard = guard  # the check every reader's write passes, asked what it would say
        self.limiter = limiter
        self.monitor = monitor
        self.reports = reports
        self.statements = statements

    async def answer(self, q: TroubleshootQuery) -> TroubleshootResult:
        """A reader's request for the checks, within the troubleshooter's rate limit for their address."""
        await self.limiter.check("troubleshoot", user=None, ip=q.ip)
        return await self.run(q)

    async def run(self, q: TroubleshootQuery) -> TroubleshootResult:
        now = datetime.now(UTC)
        tr = i18n.translator(q.locale)
        checks: list[Check] = [Check(
            id="api", status="ok", title=tr("Comment service"),
            explanation=tr("The comment service is reachable (version {version}).", version=__version__),
            data={"version": __version__})]
        entry = await self._site(q, checks, tr)
        if entry is not None:
            checks.append(self._origin(entry, q.origin, tr))
        checks.append(self._clock(now, q.client_time_ms, tr))
        identity = self._token(entry, q, checks, tr)
        user_id = None
        if identity is not None:
            user_id = await self.readers.user_id_of(identity)
        article = None
        if entry is not None and q.external_id:
            article = await self._article(entry, q.external_id, checks, tr)
        if entry is not None and identity is not None and user_id is not None and \
                not await self._standing(entry.site.id, user_id, checks, tr, q.locale):
            await self._participation(entry, identity, user_id, q, checks, tr)
        checks.append(await self._rate_limit(identity, q.ip, tr))
        if article is not None and user_id is not None:
            await self._recent(article["id"], user_id, checks, tr)
        if entry is not None and q.comment_id is not None:
            await self._comment(entry, q.comment_id, user_id, checks, tr, q.locale)
        checks.append(await self._service(tr))
        checks.append(self._browser(q.client_check, tr))
        summary = max((c.status for c in checks), key=_RANK.__getitem__)
        return TroubleshootResult(summary="ok" if summary == "info" else summary, version=__version__,
                                  server_time=now, request_id=q.request_id, site=q.site, article_id=q.external_id,
                                  comment_id=q.comment_id, checks=checks)

    # ---------------------------------------------------------------- checks
    async def _site(self, q: TroubleshootQuery, checks: list[Check], tr: i18n.Translate) -> SiteEntry | None:
        try:
            entry = await self.sites.get(q.site)
        except DomainError as err:
            checks.append(_catalogued("site", "problem", tr("Site set-up"), err.code, tr,
                                      action=tr("Tell the news site that its comment widget is misconfigured.")))
            return None
        checks.append(Check(id="site", status="ok", title=tr("Site set-up"),
                            explanation=tr("Comments are set up for {site}.", site=entry.site.name)))
        return entry

    def _origin(self, entry: SiteEntry, origin: str | None, tr: i18n.Translate) -> Check:
        title = tr("Page address")
        if origin is None:
            return Check(id="origin", status="info", title=title,
                         explanation=tr("Your browser did not say which page asked; that is normal when this check "
                                        "is opened directly rather than from the comment box."))
        if self.sites.origin_allowed(entry.site, origin):
            return Check(id="origin", status="ok", title=title,
                         explanation=tr("Comments are allowed on pages at {origin}.", origin=origin),
                         data={"origin": origin})
        return _catalogued("origin", "problem", title, "origin_not_allowed", tr, data={"origin": origin},
                           action=tr("Open the article on the news site's own address (not a copy, proxy or "
                                     "translation service)."))

    @staticmethod
    def _clock(now: datetime, client_time_ms: int | None, tr: i18n.Translate) -> Check:
        data: dict[str, Any] = {"server_time": now.isoformat(), "server_time_ms": int(now.timestamp() * 1000)}
        title = tr("Clock")
        if client_time_ms is None:
            return Check(id="clock", status="info", title=title, data=data,
                         explanation=tr("This is the server's time; if your device's clock is far off, sign-in "
                                        "can fail."))
        skew = (client_time_ms - data["server_time_ms"]) / 1000
        data["skew_seconds"] = round(skew, 1)
        if abs(skew) > CLOCK_SKEW_WARN_SECONDS:
            minutes = f"{abs(skew) / 60:.0f}"
            explanation = (tr("Your device's clock is about {minutes} minutes ahead of the correct time, which can "
                              "make your sign-in look expired.", minutes=minutes) if skew > 0 else
                           tr("Your device's clock is about {minutes} minutes behind the correct time, which can "
                              "make your sign-in look expired.", minutes=minutes))
            return Check(id="clock", status="warn", title=title, data=data, explanation=explanation,
                         action=tr("Turn on automatic date and time in your device's settings, then reload the "
                                   "page."))
        return Check(id="clock", status="ok", title=title, data=data,
                     explanation=tr("Your device's clock matches the server's."))

    def _token(self, entry: SiteEntry | None, q: TroubleshootQuery, checks: list[Check],
               tr: i18n.Translate) -> Identity | None:
        title = tr("Sign-in")
        if q.token_header_error is not None:
            checks.append(_catalogued("token", "problem", title, q.token_header_error.code, tr))
            return None
        if q.token is None:
            if entry is None:
                checks.append(Check(id="token", status="info", title=title,
                                    explanation=tr("You are not signed in.")))
            elif entry.site.guest_commenting:
                checks.append(Check(id="token", status="info", title=title,
                                    explanation=tr("You are not signed in. You can comment as a guest by giving a "
                                                   "name, or sign in to the news site.")))
            else:
                checks.append(_catalogued("token", "info", title, "auth_required", tr))
            return None
        if entry is None:
            checks.append(Check(id="token", status="info", title=title,
                                explanation=tr("Your sign-in cannot be checked until the site is known.")))
            return None
        try:
            identity = self._identify(entry, q.token)
        except DomainError as err:
            data = None
            if err.code == "token_expired":
                data = _expiry(q.token)
            checks.append(_catalogued("token", "problem", title, err.code, tr, data=data))
            return None
        explanation = (tr("You are signed in as {name} (a guest).", name=identity.name) if identity.kind == "guest"
                       else tr("You are signed in as {name} (a reader).", name=identity.name))
        checks.append(Check(id="token", status="ok", title=title, explanation=explanation,
                            data={"name": identity.name, "kind": identity.kind, **(_expiry(q.token) or {})}))
        return identity

    async def _article(self, entry: SiteEntry, external_id: str, checks: list[Check],
                       tr: i18n.Translate) -> asyncpg.Record | None:
        async with self.pool.acquire() as conn:
            record = await article_repo.get_by_external(conn, entry.site.id, external_id)
            closes_at = await _closes_at(conn, entry, record) if record is not None else None
        title = tr("Article")
        if record is None:
            checks.append(Check(id="article", status="info", title=title, code="article_not_found",
                                explanation=tr(CATALOGUE["article_not_found"].help) + " "
                                + tr("The first comment starts it.")))
            return None
        if not record["comments_open"] or (closes_at is not None and closes_at <= datetime.now(UTC)):
            data = {"closed_at": closes_at.isoformat()} if record["comments_open"] and closes_at else None
            checks.append(_catalogued("article", "problem", title, "article_closed", tr, data=data))
        elif closes_at is not None:
            checks.append(Check(id="article", status="ok", title=title, data={"closes_at": closes_at.isoformat()},
                                explanation=tr("Comments on this article are open until {time}.",
                                               time=closes_at.isoformat(timespec="minutes"))))
        else:
            checks.append(Check(id="article", status="ok", title=title,
                                explanation=tr("Comments on this article are open.")))
        if record["premoderation"]:
            checks.append(Check(id="article_premoderation", status="info", title=tr("Article moderation"),
                                explanation=tr("Every comment on this article is reviewed by a moderator before "
                                               "it appears, so yours will not show to others straight away.")))
        return record

    async def _standing(self, site_id: str, user_id: int, checks: list[Check], tr: i18n.Translate,
                        locale: str) -> bool:
        """Explains the reader's own ban, shadow restriction or premoderation; True when they are banned."""
        standing = await self.user_moderation.user_standing(site_id, user_id)
        title = tr("Your account")
        if standing is None or not (standing.banned or standing.premoderated or standing.shadow_restricted):
            checks.append(Check(id="account", status="ok", title=title,
                                explanation=tr("Your account has no restrictions.")))
            return False
        if standing.banned:
            until = standing.banned_until.isoformat() if standing.banned_until is not None else None
            statement = await self.statements.in_force(site_id, user_id, None, locale)
            data: dict[str, Any] = {"banned_until": until} if until else {}
            if statement is not None:
                data["statement"] = msgspec.to_builtins(statement)
            suspended = (tr("Your account is suspended from commenting on this site until {until}.", until=until)
                         if until else tr("Your account is suspended from commenting on this site."))
            checks.append(Check(id="account", status="problem", title=title,
                                explanation=suspended + (_statement_note(tr) if statement is not None else ""),
                                action=(_appeal_action(statement, tr) if statement is not None else None)
                                or tr("If you think this is a mistake, report the problem below."),
                                data=data or None))
            return True
        if standing.shadow_restricted:
            # the widget does not mark these comments as waiting; asked, the service says it plainly
            checks.append(Check(id="account", status="problem", title=title,
                                explanation=tr("A moderator restricted your account: your new comments are shown "
                                               "to you alone, and others see them only if a moderator approves "
                                               "them."),
                                action=tr("If you think this is a mistake, report the problem below.")))
            return False
        checks.append(Check(id="account", status="info", title=title,
                            explanation=tr("A moderator reviews your comments before they appear.")))
        return False

    async def _participation(self, entry: SiteEntry, identity: Identity, user_id: int, q: TroubleshootQuery,
                             checks: list[Check], tr: i18n.Translate) -> None:
        """What the one check every write passes (services/write_guard.py) would say to this reader's
        next comment and next vote, beyond their own ban: a ban on their network (guests), and the
        standing votes and reports need."""
        async with self.pool.acquire() as conn:  # the guard only reads
            for action, check_id, title in _PARTICIPATION_CHECKS:
                try:
                    await self.guard.check(conn, entry, action, user_id=user_id, kind=identity.kind,
                                           article=None, address=q.ip)
                except DomainError as err:
                    status: CheckStatus = "problem" if err.code == "user_banned" else "info"
                    explanation = i18n.problem_text(err.code, err.info.message, err.message, q.locale)[1]
                    checks.append(Check(id=check_id, status=status, title=tr(title), explanation=explanation,
                                        code=err.code))

    async def _rate_limit(self, identity: Identity | None, ip: str | None, tr: i18n.Translate) -> Check:
        retry = await self.limiter.retry_after("post", user=Readers.subject(identity), ip=ip)
        title = tr("Posting pace")
        if retry > 0:
            seconds = max(1, int(retry + 0.999))
            return _catalogued("rate_limit", "warn", title, "rate_limited", tr,
                               action=tr("You can post again in {seconds} seconds.", seconds=seconds),
                               data={"retry_after": seconds})
        return Check(id="rate_limit", status="ok", title=title, explanation=tr("You can post now."))

    async def _recent(self, article_id: int, user_id: int, checks: list[Check], tr: i18n.Translate) -> None:
        async with self.pool.acquire() as conn:
            own = await obs.reader_recent(conn, article_id, user_id)
        title = tr("Your comments here")
        if not own:
            checks.append(Check(id="recent_comments", status="info", title=title,
                                explanation=tr("You have not commented on this article yet.")))
            return
        views = [_own_view(c, tr) for c in own]
        waiting = sum(v.state in ("being_checked", "awaiting_moderation") for v in views)
        refused = sum(v.state == "not_published" for v in views)
        parts = [tr("{count} recent comment", count=len(views)) if len(views) == 1
                 else tr("{count} recent comments", count=len(views))]
        if waiting:
            parts.append(tr("{count} waiting to appear", count=waiting))
        if refused:
            parts.append(tr("{count} not published", count=refused))
        checks.append(Check(id="recent_comments", status="warn" if waiting or refused else "ok",
                            title=title, explanation=", ".join(parts) + ".",
                            data={"comments": msgspec.to_builtins(views)}))

    async def _comment(self, entry: SiteEntry, comment_id: int, user_id: int | None, checks: list[Check],
                       tr: i18n.Translate, locale: str) -> None:
        async with self.pool.acquire() as conn:
            facts = await obs.comment_facts(conn, comment_id)
        if facts is not None and facts.site_id == entry.site.id and user_id is not None and facts.author_id == user_id:
            view = _own_view(facts, tr)
            statement = await self.statements.in_force(entry.site.id, user_id, comment_id, locale)
            data: dict[str, Any] = {"comment": msgspec.to_builtins(view)}
            if statement is not None:
                data["statement"] = msgspec.to_builtins(statement)
            checks.append(Check(id="comment", status=_OWN_COMMENT_STATUS[view.state], title=tr("Your comment"),
                                explanation=view.explanation + (_statement_note(tr) if statement is not None else ""),
                                action=_appeal_action(statement, tr) if statement is not None else None,
                                data=data))
            return
        # Not the reader's own: say only what any visitor sees. Held, rejected, removed and unknown
        # comments get the same answer so the reply reveals nothing about them.
        visible = facts is not None and facts.site_id == entry.site.id and facts.status == "published"
        checks.append(Check(
            id="comment", status="info", title=tr("That comment"),
            explanation=(tr("That comment is visible to everyone.") if visible else
                         tr("That comment is not visible to you."))
            + " " + tr("Details are only shown to a comment's author when they are signed in.")))

    async def _service(self, tr: i18n.Translate) -> Check:
        ready = await self.monitor.readiness()
        status = {name: checks[0].status for name, checks in ready.checks.items()}
        problems: list[str] = []
        title = tr("Service status")
        if status.get("postgres:responseTime") == "fail":
            return _catalogued("service", "problem", title, "service_unavailable", tr)
        if status.get("redis:responseTime") == "warn":
            problems.append(tr("comments may load more slowly than usual"))
        if "warn" in (status.get("scoring:workers"), status.get("toxicity:model"), status.get("scoring:queueAge")):
            problems.append(tr("new comments may take longer to appear, and more of them are reviewed by a "
                               "moderator"))
        if problems:
            return Check(id="service", status="warn", title=title,
                         explanation=tr("The comment service is running with reduced capacity: {problems}. Nothing "
                                        "you post is lost.", problems="; ".join(problems)))
        return Check(id="service", status="ok", title=title,
                     explanation=tr("The comment service is working normally."))

    @staticmethod
    def _browser(raw: str | None, tr: i18n.Translate) -> Check:
        title = tr("Your browser")
        if not raw:
            return Check(id="browser", status="info", title=title,
                         explanation=tr("The comment box did not send its browser check."))
        found: dict[str, str] = {}
        for part in raw.split(","):
            key, _, value = part.strip().partition("=")
            if key in CLIENT_CHECK_KEYS and value in CLIENT_CHECK_VALUES:
                found[key] = value
        if not found:
            return Check(id="browser", status="info", title=title,
                         explanation=tr("The comment box's browser check could not be read."))
        blocked = [tr(CLIENT_CHECK_KEYS[k]) for k, v in found.items() if v in ("blocked", "unavailable")]
        if found.get("local_storage") in ("blocked", "unavailable"):
            return Check(id="browser", status="problem", title=title, data={"client_check": found},
                         explanation=tr("Your browser blocks local storage for this page, so the comment box "
                                        "cannot remember your guest name or show you your comments awaiting "
                                        "moderation."),
                         action=tr("Allow site data for this news site in your browser's privacy settings, or "
                                   "leave private browsing, then reload."))
        if blocked:
            listed = blocked[0] if len(blocked) == 1 else tr("{items} and {last}", items=", ".join(blocked[:-1]),
                                                             last=blocked[-1])
            return Check(id="browser", status="info", title=title, data={"client_check": found},
                         explanation=tr("{blocked} are blocked; the comment box works without them.",
                                        blocked=listed))
        return Check(id="browser", status="ok", title=title, data={"client_check": found},
                     explanation=tr("Your browser lets the comment box store what it needs."))

    # ---------------------------------------------------------------- reports
    def _identify(self, entry: SiteEntry, token: str) -> Identity:
        return verify_bearer_token(self.keyring, token, entry.site.id, entry.sso_secret, entry.sso)

    async def file_report(self, q: TroubleshootQuery, *, description: str,
                          user_agent: str | None) -> tuple[str, TroubleshootResult]:
        """A reader's problem report, filed with the checks as they stand for them: its reference
        and those checks."""
        entry = await self.sites.get(q.site)
        identity = None
        if q.token is not None and q.token_header_error is None:
            try:
                identity = self._identify(entry, q.token)
            except DomainError:
                identity = None  # an expired sign-in is likely the very problem being reported
        await self.limiter.check("troubleshoot", user=Readers.subject(identity), ip=q.ip)
        # before the checks run, so that they see the reporter's account
        user_id = await self.readers.stored_user_id(identity) if identity else None
        result = await self.run(q)
        reference = await self.reports.file(
            site_id=entry.site.id, user_id=user_id, external_id=q.external_id, comment_id=q.comment_id,
            description=description, troubleshoot=msgspec.to_builtins(result), user_agent=user_agent,
            request_id=q.request_id)
        return reference, result


def _own_view(row: obs.OwnComment | obs.CommentFacts, tr: i18n.Translate) -> OwnCommentView:
    state, category, explanation = explain_own_comment(row.status, row.status_reason)
    return OwnCommentView(id=row.id, state=state, category=category, explanation=tr(explanation),
                          created_at=row.created_at)


def _expiry(token: str) -> dict[str, Any] | None:
    """When the token expires, if its ``exp`` is a time a datetime can hold (any number verifies)."""
    try:
        exp = hs256.unverified_claims(token).get("exp")
    except hs256.TokenError:
        return None
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    try:
        expires_at = _EPOCH + timedelta(seconds=exp)
    except OverflowError:  # beyond year 9999 or before year 1
        return None
    return {"expires_at": expires_at.isoformat(), "expires_in_seconds": int(exp - time.time())}


async def _closes_at(conn: Connection, entry: SiteEntry, record: asyncpg.Record) -> datetime | None:
    """When the site's auto-close or a moderator's date shuts this article (None: neither does), per
    the moderation rules."""
    settings = entry.site.settings or {}
    if rules.auto_close_days(settings) is None:
        scheduled: datetime | None = record["close_at"]
        return scheduled
    closure = await mod_repo.article_closure(conn, record["id"])
    if closure is None:
        return None
    return rules.closes_at(closure["auto_close"], closure["created_at"], settings, closure["close_at"])
