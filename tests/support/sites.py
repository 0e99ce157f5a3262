"""Test sites: a fresh site per test, acting as its readers, and what the widget posts."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import httpx

from comments_service.db.pool import connect
from tests.support.tokens import SSO_SECRET, bearer, sso_token, staff_token

if TYPE_CHECKING:
    from tests.support.servers import ServiceProcess

# The articles of every test site live here (article_body); a site's own origin is its widget's.
NEWS_ORIGIN = "https://news.example"


class SiteHandle:
    """A freshly created site and helpers to act as its readers."""

    def __init__(self, site_id: str, origin: str) -> None:
        self.id = site_id
        self.origin = origin
        self.sso_secret = SSO_SECRET

    def sso_token(self, sub: str = "reader-1", name: str = "Reader One", role: str | None = None,
                  expires_in: int = 3600, secret: str | None = None, **claims) -> str:
        """A token this site's host would sign (see tokens.sso_token)."""
        return sso_token(self.id, sub, name, role, expires_in, secret or self.sso_secret, **claims)

    def auth(self, token: str) -> dict[str, str]:
        return bearer(token)

    def q(self, **params) -> dict:
        return {"site": self.id, **params}


async def make_site(services, db, *, guests: bool = True, sso: bool = True, images: bool = False,
                    origin: str | None = None, settings: dict | None = None) -> SiteHandle:
    """A site whose SSO moderators and admins have staff rights (``sso_staff_roles``), as most
    moderation tests need; ``settings`` replaces that."""
    site_id = "s" + secrets.token_hex(5)
    origin = origin or f"https://{site_id}.example"
    await services.sites.save(db, site_id=site_id, name=f"Site {site_id}", origins=[origin, NEWS_ORIGIN],
                              sso_secret=SSO_SECRET if sso else None, guests=guests, allow_images=images,
                              settings={"sso_staff_roles": True} if settings is None else settings)
    return SiteHandle(site_id, origin)


def article_body(text: str, **extra) -> dict:
    """A comment as the widget posts it, on an article of NEWS_ORIGIN."""
    return {"body": text, "article_url": f"{NEWS_ORIGIN}/a", "article_title": "An article", **extra}


class SeededSite:
    """A site with a small thread, its readers' tokens and staff tokens, for fuzzing and access tests
    (filled by seed_world)."""

    def __init__(self, site: SiteHandle) -> None:
        self.site = site
        self.article = "fuzz-article"
        self.comment_ids: list[int] = []
        self.reader_token = site.sso_token(sub="fuzz-reader", name="Fuzz Reader")
        self.guest_token = ""
        self.admin_token = ""
        self.moderator_token = ""


async def seed_world(services, database: str, server: ServiceProcess) -> SeededSite:
    """A site on ``database`` with staff tokens, a thread of five comments (SSO and guest) posted
    through ``server``, and the tokens of their authors."""
    conn = await connect(database)
    try:
        site = await make_site(services, conn, guests=True, sso=True)
        w = SeededSite(site)
        w.admin_token = await staff_token(conn, "admin", None)
        w.moderator_token = await staff_token(conn, "moderator", site.id)
    finally:
        await conn.close()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        other = site.auth(site.sso_token(sub="fuzz-author", name="Fuzz Author"))
        parent = None
        for i in range(4):
            r = await http.post(f"/api/v1/articles/{w.article}/comments", params=site.q(),
                                json=article_body(f"seed comment {i} " + secrets.token_hex(3),
                                                  parent_id=parent), headers=other)
            assert r.status_code == 201, r.text
            w.comment_ids.append(r.json()["comment"]["id"])
            parent = w.comment_ids[-1] if i % 2 == 0 else None
        r = await http.post(f"/api/v1/articles/{w.article}/comments", params=site.q(),
                            json=article_body("a guest's comment", author_name="Guesty"))
        assert r.status_code == 201, r.text
        w.guest_token = r.json()["guest_token"]
        w.comment_ids.append(r.json()["comment"]["id"])
    return w
