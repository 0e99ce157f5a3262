"""Readers as the database knows them: the user row behind a verified identity, and the key their
rate limits count under. Every reader write (post, edit, vote, report) finds its author here."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ..db import articles as article_repo
from ..db import comments as comment_repo
from ..db import users as user_repo
from ..db.connection import Connection
from ..domain.models import CommentRow
from ..domain.structs import Struct
from ..errors import DomainError
from ..identity import Identity
from .write_guard import WriteGuard


class ReaderStanding(Struct, frozen=True):
    """What the widget needs to know of a signed-in reader before they write."""

    user_id: int | None  # None: an SSO reader who has not written yet (nothing is stored for them)
    banned: bool = False
    banned_until: datetime | None = None  # None while banned: until a moderator lifts it


class Readers:
    def __init__(self, pool: asyncpg.Pool, guard: WriteGuard) -> None:
        self.pool = pool
        self.guard = guard

    @staticmethod
    def subject(identity: Identity | None) -> str | None:
        """The key a signed-in reader's rate limits count under (None for a guest without a token)."""
        if identity is None:
            return None
        return f"{identity.site_id}:{identity.kind}:{identity.user_id or identity.external_id}"

    @staticmethod
    async def user_id(conn: Connection, identity: Identity) -> int:
        """The user row of a reader about to write: an SSO reader's is created or refreshed."""
        if identity.kind == "guest":
            if identity.user_id is None or not await user_repo.guest_exists(conn, identity.user_id, identity.site_id):
                raise DomainError("token_invalid", "The guest token refers to no guest of this site.")
            return identity.user_id
        return await user_repo.ensure_sso_user(conn, identity.site_id, identity.external_id, identity.name,
                                               identity.email, identity.role)

    @staticmethod
    async def new_guest(conn: Connection, site_id: str, name: str) -> int:
        """A guest's user row: every guest post makes a new one (its token names it)."""
        return await user_repo.create_guest(conn, site_id, name)

    @staticmethod
    async def known_user_id(conn: Connection, identity: Identity) -> int | None:
        """The user row of a reader, if one was ever stored (nothing is written)."""
        if identity.kind == "guest":
            return identity.user_id
        return await user_repo.sso_user_id(conn, identity.site_id, identity.external_id)

    async def stored_user_id(self, identity: Identity) -> int | None:
        """The user row of a reader who is not writing a comment (a problem report): an SSO reader
        who never commented gets theirs now, so moderators see who wrote; a guest's is their token's."""
        if identity.kind == "guest":
            return identity.user_id
        async with self.pool.acquire() as conn:
            return await self.user_id(conn, identity)

    async def user_id_of(self, identity: Identity) -> int | None:
        async with self.pool.acquire() as conn:
            return await self.known_user_id(conn, identity)

    async def standing(self, identity: Identity, address: str | None) -> ReaderStanding:
        """The reader's row and the ban a post of theirs would meet, read without writing anything
        (WriteGuard's own lookup), so the widget can say so before the reader writes rather than after."""
        async with self.pool.acquire() as conn:
            user_id = await self.known_user_id(conn, identity)
            ban = await self.guard.ban(conn, identity.site_id, user_id=user_id, kind=identity.kind, address=address)
        if ban is None:
            return ReaderStanding(user_id=user_id)
        return ReaderStanding(user_id=user_id, banned=True, banned_until=ban.until)

    @staticmethod
    async def comment_of_site(conn: Connection, comment_id: int, site_id: str, *,
                              for_update: bool = False) -> tuple[CommentRow, asyncpg.Record]:
        """A comment of the site and its article's row; comment_not_found for any other site's."""
        row = await comment_repo.get(conn, comment_id, for_update=for_update)
        article = await article_repo.by_id(conn, row.article_id) if row is not None else None
        if row is None or article is None or article["site_id"] != site_id:
            raise DomainError("comment_not_found")
        return row, article

    async def authored_comment(self, conn: Connection, identity: Identity, comment_id: int, site_id: str, *,
                               for_update: bool = False) -> tuple[CommentRow, asyncpg.Record, int]:
        """A comment of the site written by this reader, its article's row and the reader's user id;
        not_author for anyone else's."""
        row, article = await self.comment_of_site(conn, comment_id, site_id, for_update=for_update)
        user_id = await self.known_user_id(conn, identity)
        if user_id is None or row.author_id != user_id:
            # someone else's hidden comment answers as a missing one does: no probing for what is hidden
            if row.status not in ("published", "deleted"):
                raise DomainError("comment_not_found")
            raise DomainError("not_author")
        return row, article, user_id
