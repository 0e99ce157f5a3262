"""Credentials as the service's callers hold them: a host site's SSO token for a reader (or staff
member), a staff API token as `comments-service token create` makes one, and the header to send."""

from __future__ import annotations

import secrets
import time

import asyncpg
import jwt

from comments_service.db import tokens as token_repo
from comments_service.identity import new_api_token

# the SSO secret of every test site (sites.make_site)
SSO_SECRET = "sso-secret-for-tests-0123456789abcdef"


def sso_token(site_id: str, sub: str = "reader-1", name: str = "Reader One", role: str | None = None,
              expires_in: int = 3600, secret: str = SSO_SECRET, **claims) -> str:
    """A host-site token; a staff role comes with ``aud`` = the site, as staff rights need."""
    payload = {"sub": sub, "name": name, "exp": int(time.time()) + expires_in, **claims}
    if role:
        payload["role"] = role
        if role != "reader":
            payload.setdefault("aud", site_id)
    return jwt.encode(payload, secret, algorithm="HS256")


async def staff_token(db: asyncpg.Connection, role: str, site_id: str | None = None, name: str | None = None) -> str:
    """A moderator's or admin's API token (``site_id``: limited to that site), stored as the CLI does."""
    token, digest = new_api_token()
    await token_repo.create(db, name or f"{role}-{secrets.token_hex(3)}", role, site_id, digest)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
