"""Moderator and admin API tokens: created and revoked by the CLI, looked up by the API's staff guard.
Only a token's hash is stored (identity.hash_api_token)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ..db import tokens as token_repo
from ..domain.structs import Struct
from ..identity import hash_api_token, new_api_token


class ApiToken(Struct, frozen=True):
    id: int
    name: str
    role: str
    site_id: str | None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiTokens:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, name: str, role: str, site_id: str | None) -> tuple[int, str]:
        """The new token's id and its secret, which is shown once and never stored."""
        token, digest = new_api_token()
        async with self.pool.acquire() as conn:
            token_id = await token_repo.create(conn, name, role, site_id, digest)
        return token_id, token

    async def lookup(self, token: str) -> ApiToken | None:
        """The active token with this secret, or None."""
        async with self.pool.acquire() as conn:
            row = await token_repo.lookup(conn, hash_api_token(token))
        if row is None:
            return None
        return ApiToken(id=row["id"], name=row["name"], role=row["role"], site_id=row["site_id"],
                        last_used_at=row["last_used_at"])

    async def revoke(self, token_id: int) -> bool:
        async with self.pool.acquire() as conn:
            return await token_repo.revoke(conn, token_id)

    async def all(self) -> list[ApiToken]:
        async with self.pool.acquire() as conn:
            rows = await token_repo.list_all(conn)
        return [ApiToken(**dict(row)) for row in rows]
