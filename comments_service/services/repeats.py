"""Repeats and copy-paste campaigns, checked on the post path before anything is written.

* **Repeats.** The same author posting the same or nearly the same text (domain/fingerprint.py)
  within the site's ``repeats.window_minutes`` is refused (``repeat_post``, 409): a double
  submission or a flood. A guest is known by their address group (each guest post makes a new
  guest identity), a signed-in reader by their account.
* **Copy campaigns.** The same text from ``repeats.campaign_authors`` different authors within
  ``repeats.campaign_window_minutes`` is a campaign: the new comment joins (or starts) a
  ``spam_campaigns`` row, the site's recent comments of the same text join it too (those already
  published by guests and new accounts go back to the queue; an older account's goes only once as
  many other older accounts as make a campaign wrote copies of it, and never the campaign's
  original, the first text written), and the policy holds the campaign's new comments
  (``copy_campaign``). Each retro-hold is audited (``campaign_hold`` by ``system:campaign``).
  Moderators decide a campaign in one action (services/campaigns.py).

The recent texts live in Redis (lua/repeats.lua, one round trip per post): per author and per
campaign band, sorted sets trimmed to their window and a cap, expiring with the window. When Redis
is unreachable the checks are skipped and the post goes on: a repeat then gets through, as it would
without the check, and the toxicity model, the link rules and the rate limits still apply; refusing
every post while Redis is down would turn a cache outage into a comment outage.

A post that fails after the check (a closed article, a missing parent) takes its text back out of
the author's recent texts, so that sending it again is not a "repeat".
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import timedelta
from typing import Any

from ..cache import RedisGate, lua
from ..db import campaigns as campaign_repo
from ..db import comments as comment_repo
from ..db.articles import external_id_of
from ..db.connection import Connection
from ..domain import fingerprint
from ..domain.fingerprint import Signature
from ..domain.models import Site
from ..domain.policy import RepeatRules
from ..errors import DomainError
from .offload import POLICY_BUDGET_S, run_bounded
from .publishing import VisibleChange

log = logging.getLogger("comments_service.repeats")

# the most signatures kept per author and per band: a band is a 32-bit value, so only a campaign
# (or a flood of one text) fills one
CAP = 20
# a text this long is fingerprinted on the CPU-bound pool, not the event loop (about 0.3 ms here)
ON_LOOP_CHARS = 1_500
# when a campaign starts, the site's recent comments it looks through for the ones that began it
LOOK_BACK = 200
# an account this young, or a guest, is one whose published copy goes back to the queue with its
# campaign; an older account's goes only once as many other older accounts copied it as make a
# campaign, and never when it is the original (db/campaigns.HOLD_PUBLISHED)
NEW_ACCOUNT = timedelta(days=1)
_AUTHOR_TAG = 6  # bytes of an author's hash at the start of a band member


class Sighting:
    """What the check found about one post: its keys (to take it back) and whether it is part of
    a copy campaign."""

    __slots__ = ("author_key", "author_member", "band_keys", "band_member", "campaign", "rules", "signature",
                 "site_id")

    def __init__(self, site_id: str, signature: Signature, rules: RepeatRules, author_key: str | None,
                 author_member: bytes, band_keys: list[str], band_member: bytes, campaign: bool) -> None:
        self.site_id = site_id
        self.signature = signature
        self.rules = rules
        self.author_key = author_key
        self.author_member = author_member
        self.band_keys = band_keys
        self.band_member = band_member
        self.campaign = campaign


class RepeatGuard:
    def __init__(self, gate: RedisGate, prefix: str, key: bytes, *, enabled: bool) -> None:
        self.gate = gate
        self.prefix = prefix
        self.key = key  # keys the authors' tags: an address cannot be found again from its tag
        self.enabled = enabled
        self._rules: dict[str, tuple[Any, RepeatRules]] = {}
        self._script = gate.register_script(lua("repeats"))

    def rules(self, site: Site) -> RepeatRules:
        # where PolicyConfig.from_site_settings reads it: the moderation object, or the whole settings
        policy = site.settings.get("moderation")
        raw = (policy if isinstance(policy, dict) else site.settings).get("repeats")
        cached = self._rules.get(site.id)
        if cached is not None and cached[0] == raw:
            return cached[1]
        try:
            rules = RepeatRules() if raw is None else RepeatRules.from_settings(raw, "moderation.repeats")
        except ValueError:
            # refused when set (services/sites.settings_problem); an older stored row gets the defaults
            rules = RepeatRules()
        self._rules[site.id] = (raw, rules)
        return rules

    async def check(self, site: Site, author: str | None, text: str) -> Sighting | None:
        """Refuse a repeat (DomainError ``repeat_post``); otherwise what the post is, or None when
        nothing was checked (checks off, or Redis unreachable)."""
        script = self._script
        if not self.enabled or script is None or not self.gate.available:
            return None
        rules = self.rules(site)
        if not rules.window_minutes and not rules.campaign_authors:
            return None
        if len(text) <= ON_LOOP_CHARS:
            sig = fingerprint.signature(text)
        else:
            sig = await run_bounded(fingerprint.signature, text, budget_s=POLICY_BUDGET_S)
        # one hash tag per site: every key of one post is in one Redis Cluster slot
        base = f"{self.prefix}rp:{{{site.id}}}:"
        author_key = (base + "a:" + self._tag(author).hex()) if author and rules.window_minutes else None
        band_keys = ([base + "b:" + band for band in sig.bands()]
                     if rules.campaign_authors and sig.campaign_sized else [])
        if author_key is None and not band_keys:
            return None
        raw = sig.raw()
        band_member = self._tag(author or "") + raw
        now_ms = int(time.time() * 1000)
        result = await self.gate.call(lambda: script(
            keys=([author_key] if author_key else []) + band_keys,
            args=[now_ms, rules.window_minutes * 60_000, rules.campaign_window_minutes * 60_000, CAP,
                  raw, band_member, 1 if author_key else 0]))
        if result is None:
            return None  # Redis failed mid-call: the gate logged it; the post goes on unchecked
        earlier, others = list(result[0] or ()), list(result[1] or ())
        if any(sig.near_many(earlier)):
            raise DomainError("repeat_post", "You already posted this comment a moment ago.")
        campaign = False
        if band_keys:
            own = band_member[:_AUTHOR_TAG]
            strangers = [m for m in others if m[:_AUTHOR_TAG] != own]
            near = sig.near_many([m[_AUTHOR_TAG:] for m in strangers], fingerprint.CAMPAIGN_NEAR)
            authors = {m[:_AUTHOR_TAG] for m, is_near in zip(strangers, near, strict=True) if is_near}
            campaign = len(authors) + 1 >= rules.campaign_authors
        return Sighting(site.id, sig, rules, author_key, raw, band_keys, band_member, campaign)

    def _tag(self, author: str) -> bytes:
        """A short, fixed-length, keyed stand-in for an author (nothing personal stored in Redis)."""
        return hashlib.blake2b(author.encode(), digest_size=_AUTHOR_TAG, key=self.key[:64]).digest()

    async def forget(self, sighting: Sighting | None) -> None:
        """Take a post that was not stored back out of the recent texts."""
        client = self.gate.client
        if sighting is None or client is None:
            return
        pipe = client.pipeline(transaction=False)
        if sighting.author_key:
            pipe.zrem(sighting.author_key, sighting.author_member)
        for key in sighting.band_keys:
            pipe.zrem(key, sighting.band_member)
        await self.gate.call(pipe.execute)

    async def group(self, conn: Connection, sighting: Sighting, comment_id: int) -> list[VisibleChange]:
        """Inside the post's transaction, before the scoring job is queued: the comment joins the
        campaign of its text, which is made when this comment is the one that made it a campaign.
        The site's recent comments of the text join it then, and those already published go to the
        queue with it (held, ``copy_campaign``): returned, for the caller to announce after commit."""
        window = timedelta(minutes=sighting.rules.campaign_window_minutes)
        sig = sighting.signature
        for row in await campaign_repo.open_campaigns(conn, sighting.site_id, window):
            if sig.near(row["signature"], fingerprint.CAMPAIGN_NEAR):
                campaign_id = int(row["id"])
                await campaign_repo.group(conn, campaign_id, [comment_id])
                # a copy whose bands met none of the others' was published unseen (Redis finds near
                # texts by exact band matches: at 60 % alike, one copy in six shares none): the
                # campaign looks for such copies again as it grows, at its 4th, 8th, 16th...
                # comment, and only then holds what it found, so a campaign of n comments reads its
                # members and the site's recent comments log2(n) times, not n
                size = await campaign_repo.size(conn, campaign_id)
                if size < 4 or size & (size - 1):
                    return []
                await self._sweep(conn, sighting, campaign_id, comment_id, window)
                break
        else:
            campaign_id = await campaign_repo.create(conn, sighting.site_id, sig.encode())
            await self._sweep(conn, sighting, campaign_id, comment_id, window)
            await campaign_repo.group(conn, campaign_id, [comment_id])
            log.warning("copy campaign found", extra={"site": sighting.site_id, "campaign": campaign_id,
                                                      "comment_id": comment_id})
        withdrawn: list[VisibleChange] = []
        for held_id in await campaign_repo.hold_published(conn, sighting.site_id, campaign_id, NEW_ACCOUNT,
                                                          sighting.rules.campaign_authors, comment_id):
            held = await comment_repo.get(conn, held_id)
            external_id = await external_id_of(conn, held.article_id) if held is not None else None
            if held is not None and external_id is not None:
                withdrawn.append(VisibleChange(site_id=sighting.site_id, external_id=external_id,
                                               row=held, event="removed"))
        return withdrawn

    async def _sweep(self, conn: Connection, sighting: Sighting, campaign_id: int, comment_id: int,
                     window: timedelta) -> None:
        """Groups into the campaign the site's recent comments of its text not grouped yet (those it
        began with, or copies the band lookup missed)."""
        recent = await campaign_repo.recent_ungrouped(conn, sighting.site_id, window, comment_id, LOOK_BACK)
        if recent:
            bodies = [(r["id"], r["body_markdown"]) for r in recent]
            matched = await run_bounded(_near_ids, sighting.signature, bodies, budget_s=POLICY_BUDGET_S * 4)
            if matched:
                await campaign_repo.group(conn, campaign_id, matched)


def _near_ids(sig: Signature, bodies: list[tuple[int, str]]) -> list[int]:
    near = sig.near_many([fingerprint.signature(body).raw() for _, body in bodies], fingerprint.CAMPAIGN_NEAR)
    return [cid for (cid, _), is_near in zip(bodies, near, strict=True) if is_near]


