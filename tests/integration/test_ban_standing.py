"""`GET /api/v1/me` and a write answer from one ban rule: whoever /me calls banned is refused a post,
and whoever it does not is not, for a reader's own ban and for a guest on a banned guest's network."""

from __future__ import annotations

import httpx

from comments_service.domain import bans
from tests.support.sites import article_body, make_site
from tests.support.tokens import staff_token

API = "/api/v1"
# a public address: a guest ban reaches it (an IPv4 address is a network of its own: limits.address_group)
NETWORK = {"X-Forwarded-For": "81.2.69.170"}
NEIGHBOUR = NETWORK  # another reader behind the same address


async def test_me_and_a_post_agree_on_a_banned_guests_network(serve, services, db):
    site = await make_site(services, db)
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    async with serve(COMMENTS_TRUSTED_PROXIES="127.0.0.1/32") as live, live.http() as http:
        async def post(headers: dict, text: str, **extra):
            return await http.post(f"{API}/articles/art-standing/comments", params=site.q(), headers=headers,
                                   json=article_body(text, **extra))

        async def me(headers: dict) -> dict:
            r = await http.get(f"{API}/me", params=site.q(), headers=headers)
            assert r.status_code == 200, r.text
            return r.json()

        troll = await post(NETWORK, "Troll", author_name="Troll")
        neighbour = await post(NEIGHBOUR, "Neighbour", author_name="Neighbour")
        await http.post(f"{API}/moderation/users/{troll.json()['user']['id']}/ban", params=site.q(),
                        json={"reason": "abuse"}, headers=mod)

        # the neighbour: not banned themself, but their network is
        guest = {**NEIGHBOUR, **site.auth(neighbour.json()["guest_token"])}
        standing = await me(guest)
        refused = await post(guest, "Again")
        assert standing["banned"] is True and standing["banned_until"] is None
        assert refused.status_code == 403 and refused.json()["code"] == "user_banned", refused.text
        assert refused.json()["detail"] == bans.refusal_message(bans.Ban(reach="network"))
        # deleting one's own comment is never what a network's ban stops
        mine = neighbour.json()["comment"]["id"]
        deleted = await http.delete(f"{API}/comments/{mine}", params=site.q(), headers=guest)
        assert deleted.status_code in (200, 204), deleted.text

        # a signed-in reader on that network answers for themself: not banned, and may post
        signed_in = {**NEIGHBOUR, **site.auth(site.sso_token(sub="on-the-network", name="Signed In"))}
        assert (await me(signed_in))["banned"] is False
        assert (await post(signed_in, "Signed in")).status_code == 201

        # the banned guest themself: /me names their own ban, and the post is refused in its words
        own = {**NETWORK, **site.auth(troll.json()["guest_token"])}
        standing = await me(own)
        refused = await post(own, "Me again")
        assert standing["banned"] is True
        assert refused.status_code == 403 and refused.json()["code"] == "user_banned", refused.text
        assert refused.json()["detail"] == bans.refusal_message(bans.Ban(reach="reader"))


async def test_a_guest_on_a_link_local_address_with_its_interface_posts_and_is_known_by_the_address(serve, services,
                                                                                                   db):
    """uvicorn names a link-local IPv6 peer with its interface ("fe80::1%eth0"): the address is the
    client, the interface is the listener's, and PostgreSQL's inet refuses one."""
    site = await make_site(services, db)
    async with serve() as live:
        transport = httpx.ASGITransport(app=live.app, client=("fe80::1%eth0", 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as http:
            r = await http.post(f"{API}/articles/art-zone/comments", params=site.q(),
                                json=article_body("From the next desk", author_name="Desk"))
    assert r.status_code == 201, r.text
    stored = await db.fetchval("SELECT host(author_ip) FROM comments WHERE id = $1", r.json()["comment"]["id"])
    assert stored == "fe80::1"
