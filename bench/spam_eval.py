"""The spam rules on a small hand-written set of spam and legitimate comments.

    .venv/bin/python -m bench.spam_eval [--data bench/spam_eval.jsonl] [--redis redis://127.0.0.1:6379/0]

Each line of the data is {"text", "label": "spam" | "ham", "kind"} and, for a comment that is part
of a stream, "author" (who posts it) and "campaign": casino and crypto pitches, SEO comments and
shortener or look-alike spam, copy-paste campaigns (one text, reworded a little, from five
accounts), one account flooding its pitch, against comments citing news sources, government pages
and the site's own articles (the site is https://news.example), comments with no link, stock
phrases several readers write on their own ("Thank you for this report") and readers quoting the
same official statement. No model scores the texts (scores None, fail_closed off), so what keeps a
comment out is the rules alone.

Two tables. "Links" sends each comment alone through domain/policy.decide (the link rules and the
word lists). "Whole pipeline" replays the file in order as one stream through the post path's
repeat and campaign checks (services/repeats.RepeatGuard on a real Redis, the default
``repeats`` rules) and then decide with what they found: a repeat is refused, a campaign's comment
held. For each author (a new account with no published comment, an established one) and each
config (the default, and the default with a site allow-list of common news and government
domains) it prints how much spam is kept out (held, rejected or refused: recall, and precision of
what is kept out), how many legitimate comments with links are held, and how many legitimate
comments of any kind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
from collections.abc import Callable
from pathlib import Path

import msgspec
import redis.asyncio as aioredis

from comments_service.cache import RedisGate
from comments_service.domain import fingerprint
from comments_service.domain.models import Site
from comments_service.domain.policy import PolicyConfig, PolicyContext, decide, site_hosts
from comments_service.errors import DomainError
from comments_service.services.repeats import RepeatGuard

DATA = Path(__file__).with_name("spam_eval.jsonl")
# the legitimate comments that link somewhere (news sources, government pages, the site's own)
LINK_KINDS = frozenset({"news", "gov", "own"})
SITE_ORIGINS = ["https://news.example"]
ALLOW = ["bbc.co.uk", "bbc.com", "reuters.com", "theguardian.com", "apnews.com", "ft.com", "nytimes.com",
         "lemonde.fr", "gov.uk", "parliament.uk", "europa.eu", "cdc.gov", "wikipedia.org", "nature.com",
         "youtube.com"]
NEW = PolicyContext(user_published_count=0, site_hosts=site_hosts(SITE_ORIGINS))
ESTABLISHED = PolicyContext(user_published_count=25, site_hosts=site_hosts(SITE_ORIGINS))
# who writes each row: everyone a new account, everyone an established one, or as on a real site,
# spam from new accounts and legitimate comments from established readers
AUTHORS: dict[str, Callable[[dict], PolicyContext]] = {
    "new account": lambda row: NEW,
    "established": lambda row: ESTABLISHED,
    "spam new, readers established": lambda row: NEW if row["label"] == "spam" else ESTABLISHED,
}
CONFIGS = {
    "default": PolicyConfig(fail_closed=False),
    "default + allow list": PolicyConfig.from_site_settings(
        {"moderation": {"links": {"allow_domains": ALLOW}}}, fail_closed=False),
    # a site that knows its sources: any other link from an author it has not trusted waits
    "allow list, max_links 0": PolicyConfig.from_site_settings(
        {"moderation": {"links": {"allow_domains": ALLOW, "max_links": 0}}}, fail_closed=False),
}


def evaluate(rows: list[dict], ctx_of: Callable[[dict], PolicyContext], cfg: PolicyConfig) -> dict[str, float | int]:
    kept_out = spam_out = spam = ham_links = ham_links_held = 0
    for row in rows:
        out = decide(None, row["text"], ctx_of(row), cfg).outcome != "published"
        is_spam = row["label"] == "spam"
        spam += is_spam
        kept_out += out
        spam_out += out and is_spam
        if not is_spam and row["kind"] in LINK_KINDS:
            ham_links += 1
            ham_links_held += out
    return {"spam": spam, "spam_kept_out": spam_out, "recall": spam_out / spam if spam else 0.0,
            "precision": spam_out / kept_out if kept_out else 1.0,
            "ham_with_links": ham_links, "ham_links_held": ham_links_held,
            "ham_links_held_share": ham_links_held / ham_links if ham_links else 0.0}


def similarity(rows: list[dict], seed: int = 1) -> dict[str, float | int]:
    """domain/fingerprint's "nearly the same": each text of six words or more against itself with
    two small edits (a word dropped, replaced, added, shouted or given "!!"), and every pair of
    distinct texts of the set (the copies of one campaign excepted)."""
    rng = random.Random(seed)
    fillers = ["really", "very", "truly", "folks", "now"]

    def edited(text: str) -> str:
        words = text.split()
        for _ in range(2):
            i = rng.randrange(len(words))
            kind = rng.choice(["drop", "swap", "add", "shout", "bang"])
            if kind == "drop" and len(words) > 1:
                words.pop(i)
            elif kind == "swap":
                words[i] = rng.choice(fillers)
            elif kind == "add":
                words.insert(i, rng.choice(fillers))
            elif kind == "shout":
                words[i] = words[i].upper()
            else:
                words[i] += "!!"
        return " ".join(words)

    long_rows = [r for r in rows if not fingerprint.signature(r["text"]).short]
    sigs = [fingerprint.signature(r["text"]) for r in long_rows]
    found = sum(s.near(fingerprint.signature(edited(r["text"])).encode()) for s, r in zip(sigs, long_rows, strict=True))
    pairs = same = same_campaign = campaign_pairs = 0
    for i, a in enumerate(sigs):
        for j in range(i + 1, len(sigs)):
            x, y = long_rows[i], long_rows[j]
            if (x.get("campaign") and x.get("campaign") == y.get("campaign")) or (
                    x.get("author") and x.get("author") == y.get("author")):
                continue  # copies of one text
            pairs += 1
            same += a.near(sigs[j].encode())
            if a.campaign_sized and sigs[j].campaign_sized:
                campaign_pairs += 1
                same_campaign += a.near(sigs[j].encode(), fingerprint.CAMPAIGN_NEAR)
    campaign_rows = [(s, r) for s, r in zip(sigs, long_rows, strict=True) if r.get("campaign")]
    copies = sum(s.near(fingerprint.signature(r2["text"]).encode(), fingerprint.CAMPAIGN_NEAR)
                 for i, (s, r) in enumerate(campaign_rows) for r2 in [c for _, c in campaign_rows[i + 1:]]
                 if r2["campaign"] == r["campaign"])
    copy_pairs = sum(1 for i, (_, r) in enumerate(campaign_rows) for _, r2 in campaign_rows[i + 1:]
                     if r2["campaign"] == r["campaign"])
    return {"texts": len(long_rows), "edited_found": found, "pairs": pairs, "pairs_taken_as_same": same,
            "campaign_pairs": campaign_pairs, "campaign_pairs_taken_as_same": same_campaign,
            "copy_pairs": copy_pairs, "copies_found": copies}


async def pipeline(rows: list[dict], ctx_of: Callable[[dict], PolicyContext], cfg: PolicyConfig,
                   redis_url: str) -> dict[str, float | int]:
    """The stream through the repeat and campaign checks, then the policy. Every author is of the
    kind ``ctx_of`` says for its row (new: no published comment yet)."""
    new_authors = [ctx_of(row).user_published_count == 0 for row in rows]
    client = aioredis.Redis.from_url(redis_url)
    prefix = f"spam-eval-{secrets.token_hex(4)}:"
    guard = RepeatGuard(RedisGate(client), prefix, secrets.token_bytes(32), enabled=True)
    site = Site(id="eval", name="Eval", allowed_origins=SITE_ORIGINS, guest_commenting=True, allow_images=False,
                has_sso=True)
    outs: list[bool] = []
    authors = [row.get("author") or f"solo-{index}" for index, row in enumerate(rows)]
    campaigns: list[tuple[fingerprint.Signature, list[int]]] = []  # (the text that made it, its members)
    try:
        for index, row in enumerate(rows):
            try:
                sighting = await guard.check(site, authors[index], row["text"])
                campaign = sighting is not None and sighting.campaign
                out = decide(None, row["text"], msgspec.structs.replace(ctx_of(row), copy_campaign=campaign),
                             cfg).outcome != "published"
                if campaign:
                    _group(campaigns, rows, authors, outs, index, new_authors)
            except DomainError:  # repeat_post: refused
                out = True
            outs.append(out)
    finally:
        async for key in client.scan_iter(match=prefix + "*", count=1000):
            await client.delete(key)
        await client.aclose()
    kept_out = spam_out = spam = ham = ham_out = ham_links = ham_links_held = 0
    for row, out in zip(rows, outs, strict=True):
        is_spam = row["label"] == "spam"
        spam += is_spam
        kept_out += out
        spam_out += out and is_spam
        if not is_spam:
            ham += 1
            ham_out += out
            if row["kind"] in LINK_KINDS:
                ham_links += 1
                ham_links_held += out
    return {"spam": spam, "spam_kept_out": spam_out, "recall": spam_out / spam if spam else 0.0,
            "precision": spam_out / kept_out if kept_out else 1.0, "ham_with_links": ham_links,
            "ham_links_held": ham_links_held, "ham_links_held_share": ham_links_held / ham_links if ham_links else 0.0,
            "ham": ham, "ham_held": ham_out}


def _group(campaigns: list[tuple[fingerprint.Signature, list[int]]], rows: list[dict], authors: list[str],
           outs: list[bool], index: int, new_authors: list[bool]) -> None:
    """As RepeatGuard.group and db/campaigns.HOLD_PUBLISHED do: the comment joins the open campaign
    of its text, or makes one of itself and the earlier comments of the text. When it makes one,
    and at the campaign's 4th, 8th, 16th... comment, the campaign looks again for copies it missed
    and sends its published members to the queue: new accounts' at once; an older account's once
    at least three other authors (``repeats.campaign_authors``), all older accounts here, are in
    it, but never the original (the campaign's first comment)."""
    sig = fingerprint.signature(rows[index]["text"])
    grouped = {m for _, members in campaigns for m in members}

    def recent_near() -> list[int]:
        return [i for i in range(index) if i not in grouped
                and sig.near(fingerprint.signature(rows[i]["text"]).encode(), fingerprint.CAMPAIGN_NEAR)]

    members = next((m for first, m in campaigns if sig.near(first.encode(), fingerprint.CAMPAIGN_NEAR)), None)
    if members is None:
        members = recent_near() + [index]
        campaigns.append((sig, members))
    else:
        members.append(index)
        if len(members) < 4 or len(members) & (len(members) - 1):
            return
        members[:-1] = sorted(members[:-1] + recent_near())
    for member in members[:-1]:
        older = {authors[m] for m in members if not new_authors[m]} - {authors[member]}
        if not outs[member] and (new_authors[member] or (member != members[0] and len(older) >= 3)):
            outs[member] = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"{len(rows)} comments: {sum(r['label'] == 'spam' for r in rows)} spam, "
          f"{sum(r['label'] == 'ham' for r in rows)} legitimate")
    print(f"{'config':<24} {'author':<30} {'recall':>7} {'precision':>9} {'legit links held':>17}")
    for cname, cfg in CONFIGS.items():
        for aname, ctx_of in AUTHORS.items():
            m = evaluate(rows, ctx_of, cfg)
            print(f"{cname:<24} {aname:<30} {m['recall']:>7.2f} {m['precision']:>9.2f} "
                  f"{m['ham_links_held']:>5}/{m['ham_with_links']:<3} ({m['ham_links_held_share']:.0%})")
    sim = similarity(rows)
    print(f"\nNearly the same text (MinHash, {fingerprint.HASHES} values, at least {fingerprint.NEAR:.0%} alike): "
          f"{sim['edited_found']}/{sim['texts']} texts found again after two small edits; "
          f"{sim['pairs_taken_as_same']}/{sim['pairs']} pairs of different texts taken as the same")
    print(f"As strangers' copies (at least {fingerprint.CAMPAIGN_MIN_WORDS} words, "
          f"{fingerprint.CAMPAIGN_NEAR:.0%} alike): {sim['copies_found']}/{sim['copy_pairs']} pairs of one "
          f"campaign's copies found; {sim['campaign_pairs_taken_as_same']}/{sim['campaign_pairs']} pairs of "
          f"different texts taken as copies")
    print("\nWhole pipeline (repeats and campaigns on Redis, then the policy), the file as one stream:")
    print(f"{'config':<24} {'author':<30} {'recall':>7} {'precision':>9} {'legit links held':>17} "
          f"{'legit held':>11}")
    for cname, cfg in CONFIGS.items():
        for aname, ctx_of in AUTHORS.items():
            m = asyncio.run(pipeline(rows, ctx_of, cfg, args.redis))
            print(f"{cname:<24} {aname:<30} {m['recall']:>7.2f} {m['precision']:>9.2f} "
                  f"{m['ham_links_held']:>5}/{m['ham_with_links']:<3} ({m['ham_links_held_share']:.0%}) "
                  f"{m['ham_held']:>5}/{m['ham']}")


if __name__ == "__main__":
    main()
