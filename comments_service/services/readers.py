"""Readers as the database knows them: the user row behind a verified identity, and the key their
rate limits count under. Every reader write (post, edit, vote, report) finds its author here."""

from __future__ import annotations

import asyncpg

from ..db import articles as article_repo
from ..db import comments as comment_repo
from ..db import users as user_repo
from ..db.connection import Connection
from ..domain.models import CommentRow
from ..errors import DomainError
from ..identity import Identity


class Readers:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

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

    @staticmethod
    async def comment_of_site(conn: Connection, comment_id: int, site_id: str, *,
                              for_update: bool = False) -> tuple[CommentRow, asyncpg.Record]:
        """A comment of the site and its article's row; comment_not_found for any other site's."""
        row = await comment_repo.get(conn, comment_id, for_update=for_update)
        article = await article_repo.by_id(conn, row.article_id) if row is not None else None
        if row is None or article is None or article["site_id"] != site_id:
            raise DomainError("comment_not_found")
        return row, article
