"""The one check every write a reader makes passes: bans and suspensions (a banned guest's reaching
the network they wrote from), closed articles, and the standing a site asks of voters and
reporters. The rules are domain/moderation.write_refusal and required_standing; this class looks
up what they need, inside the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..db import moderation as mod_repo
from ..db import users as user_repo
from ..db.connection import Connection, Row
from ..domain import moderation as rules
from ..domain.limits import address_group, bannable_address
from ..errors import DomainError
from .sites import SiteEntry

# ``ban`` argument meaning "not looked up yet" (None means "looked up: no active ban")
UNKNOWN: Any = object()


class WriteGuard:
    async def check(self, conn: Connection, entry: SiteEntry, action: rules.WriteAction, *,
                    user_id: int | None, kind: str, article: Row | None,
                    address: str | None, ban: Row | None = UNKNOWN) -> None:
        """Raise the DomainError that refuses this write, if any. ``user_id``: None for a reader not
        stored yet (no ban can name them); ``kind``: "sso" or "guest"; ``article``: the article's
        row (comments_open, auto_close, created_at) or None when it does not exist yet; ``address``:
        the client's; ``ban``: the active ban when the caller already read it."""
        settings = entry.site.settings
        if ban is UNKNOWN:
            ban = await mod_repo.active_ban(conn, entry.site.id, user_id) if user_id is not None else None
        if ban is None and kind == "guest" and address is not None and action != "delete" and \
                bannable_address(address) and await mod_repo.address_banned(conn, entry.site.id,
                                                                             address_group(address)):
            raise DomainError("user_banned", "Guests from your network are banned from commenting on this site "
                                             "for now. Sign in to comment.")
        article_open = None if article is None else rules.is_open(
            article["comments_open"], article["auto_close"], article["created_at"], settings,
            datetime.now(UTC))
        code = rules.write_refusal(action, banned=ban is not None, article_open=article_open,
                                   site_settings=settings)
        if code == "user_banned":
            until = ban["until"] if ban is not None else None
            raise DomainError("user_banned", "You are banned from commenting on this site" +
                              (f" until {until.isoformat(timespec='minutes')}." if until else "."))
        if code == "article_closed":
            days = rules.auto_close_days(settings)
            if article is not None and article["comments_open"] and days is not None:
                raise DomainError("article_closed", "Comments on this article closed automatically "
                                                    f"{days} days after it appeared.")
            raise DomainError("article_closed")
        if action in ("vote", "report"):
            await self._check_standing(conn, settings, action, user_id, kind)

    @staticmethod
    async def _check_standing(conn: Connection, settings: dict[str, Any], action: rules.WriteAction,
                              user_id: int | None, kind: str) -> None:
        required = rules.required_standing(settings, action)
        if required == "anyone" or kind == "sso":
            return
        if required == "established" and user_id is not None and await user_repo.has_published_since(
                conn, user_id, rules.established_after_minutes(settings)):
            return
        raise DomainError("standing_required")
