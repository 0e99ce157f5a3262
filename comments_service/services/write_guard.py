"""The one check every write a reader makes passes: bans and suspensions (a banned guest's reaching
the network they wrote from), closed articles, and the standing a site asks of voters and
reporters. The rules are domain/moderation.write_refusal and required_standing, and domain/bans for
whom a ban reaches; this class looks up what they need, inside the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..db import moderation as mod_repo
from ..db import users as user_repo
from ..db.connection import Connection, Row
from ..domain import bans
from ..domain import moderation as rules
from ..domain.limits import address_group
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
        row (comments_open, auto_close, created_at, close_at) or None when it does not exist yet; ``address``:
        the client's; ``ban``: the active ban when the caller already read it."""
        settings = entry.site.settings
        found = await self.ban(conn, entry.site.id, user_id=user_id, kind=kind, address=address, action=action,
                               personal=ban)
        article_open = None if article is None else rules.is_open(
            article["comments_open"], article["auto_close"], article["created_at"], settings,
            datetime.now(UTC), article["close_at"])
        code = rules.write_refusal(action, banned=found is not None, article_open=article_open,
                                   site_settings=settings)
        if code == "user_banned" and found is not None:
            raise DomainError("user_banned", bans.refusal_message(found))
        if code == "article_closed":
            days = rules.auto_close_days(settings)
            if article is not None and article["comments_open"] and article["close_at"] is not None \
                    and article["close_at"] <= datetime.now(UTC):
                raise DomainError("article_closed", "Comments on this article closed on "
                                                    f"{article['close_at']:%Y-%m-%d at %H:%M} UTC.")
            if article is not None and article["comments_open"] and days is not None:
                raise DomainError("article_closed", "Comments on this article closed automatically "
                                                    f"{days} days after it appeared.")
            raise DomainError("article_closed")
        if action in ("vote", "report"):
            await self._check_standing(conn, settings, action, user_id, kind)

    @staticmethod
    async def ban(conn: Connection, site_id: str, *, user_id: int | None, kind: str, address: str | None,
                  action: rules.WriteAction = "post", personal: Row | None = UNKNOWN) -> bans.Ban | None:
        """The ban that stops this reader writing, if any: their own, else (for a guest) their
        network's. The one lookup behind refusing a write and behind telling the widget beforehand.
        ``personal``: the reader's active ban when the caller already read it."""
        if personal is UNKNOWN:
            personal = await mod_repo.active_ban(conn, site_id, user_id) if user_id is not None else None
        if personal is not None:
            return bans.Ban(reach="reader", until=personal["until"])
        if address is not None and bans.network_ban_reaches(kind, address, action) and \
                await mod_repo.address_banned(conn, site_id, address_group(address)):
            return bans.Ban(reach="network")
        return None

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
