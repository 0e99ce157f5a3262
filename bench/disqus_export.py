"""A generated Disqus XML export for the import benchmark: a news site's years of comments.

    .venv/bin/python -m bench.disqus_export --comments 1000000 --threads 20000 --out /tmp/disqus-1m.xml
    .venv/bin/python -m bench.disqus_export --comments 1000000 --limit 100000 --out /tmp/disqus-1m-first100k.xml

The file has the shape of a real export (categories, then every ``<thread>``, then every ``<post>``
in time order, namespaces http://disqus.com and http://disqus.com/disqus-internals) and what the
import has to cope with at scale: articles published over four years, each drawing a burst of
comments in its first hours and a tail over weeks (so posts of neighbouring articles interleave),
a skewed number of comments per article (many quiet ones, some with thousands), about 40% replies
with conversations that run deeper than the service's maximum depth, a few percent spam and deleted
comments, guests beside registered readers, links, second paragraphs, entities, emoji, non-Latin
and right-to-left text. A thread's ``<id>`` is its link's path (/2025/03/slug-N), which is what Isso
takes as its URI.

It is deterministic from ``--seed``: the same parameters give the same bytes, and ``--limit M``
gives the first M posts of the same export (with the threads they name), so a slower importer can be
timed on a prefix of the very same file. Memory stays flat: only the comments of articles still
drawing comments are held. A JSON summary (counts the import should end with) goes to stdout and
to FILE.json beside the export.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import random
import shutil
import sys
import time
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import TextIO

START = int(datetime(2022, 12, 1, tzinfo=UTC).timestamp())
END = int(datetime(2026, 11, 30, tzinfo=UTC).timestamp())
FORUM = "benchnews"
POST_ID_BASE = 4_000_000_000
THREAD_ID_BASE = 7_000_000_000
HOUR = 3600
DAY = 24 * HOUR
REPLY_SHARE = 0.4
DELETED_SHARE = 0.03
SPAM_SHARE = 0.015
GUEST_SHARE = 0.15

# A news comment section's words, most frequent first (the weights below make the head common).
WORDS = """the to and of a is that it in this for not you they are be with have on was but as what
people just like if we their do all so he about would at more no an will or there them by can one
who has from how your than my government why should because think only his time know year some
when been years were make money pay even article also any our get new any these much right those
other way still state first need said public being tax point did most many country well every city
police good really see policy taxes work law over want going vote never again want up out could
say very back since after then here problem before where does nothing better same own two things
someone long which sure council housing rent school children health care prices market budget plan
report story reporter facts data numbers percent million billion cost costs jobs wages workers
business companies owners tenants voters election mayor governor senator minister party parties
left right centre local national climate energy power gas oil electric cars bikes roads traffic
transit buses trains fares parking streets downtown neighbourhood homes families seniors students
teachers nurses doctors hospital wait times water flood fire summer winter weather season court
judge case trial evidence justice crime safety safe risk fear blame fault truth lie lies wrong
agree disagree exactly indeed actually honestly frankly clearly obviously perhaps maybe probably
simply really totally completely nobody everyone anyone somebody everything anything something
read write wrote written said says told asked answer question questions issue issues matter matters
change changes changed fix fixed broken build built building buildings plan plans planned promise
promised promises years ago decade century history future past present today tomorrow yesterday
week month morning night office meeting vote votes voted ballot poll polls survey result results
win won lose lost fight fought support supported oppose opposed against for without within between
big small huge tiny large high low higher lower more less most least enough too very quite rather
great terrible awful fine okay decent fair unfair cheap expensive free costly useless useful
important serious real fake true false simple hard easy difficult possible impossible likely
unlikely""".split()
LINK_WORDS = ["here", "this report", "the study", "source", "the full budget", "their own numbers", "this piece"]
LINK_HOSTS = ["www.statcan.example", "en.wikipedia.example", "www.citycouncil.example", "data.gov.example",
              "www.othernews.example", "youtu.be.example"]
EXTRAS = ["😂", "👍", "🙄", "❤️", "🤔", "&amp;", "—", "…", "“quoted”", "l’été", "Größe", "naïve",
          "שלום", "مرحبا", "日本語", "Привет"]
TITLE_WORDS = """council budget vote housing plan transit fares rise school board police report mayor
election campaign tax cut flood warning hospital wait times bridge closure new park opens court rules
strike ends prices climb market record heat wave storm damage road repairs library funding stadium
deal water main break wildfire smoke bike lanes debate rent control zoning change""".split()
FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
         "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Chris", "Karen",
         "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Sandra", "Mark", "Ashley", "José", "Zoë", "Siobhán",
         "François", "Jürgen", "Aïcha", "Mohammed", "Wei", "Priya", "Olumide", "Hana", "Björn", "Ngozi", "Raúl"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Lee", "O'Brien",
        "Nguyen", "Müller", "Dubois", "Kowalski", "Okafor", "Tanaka", "Silva", "Novak", "Chen", "Haddad"]
NICKS = ["Guest", "Anonymous", "Concerned Citizen", "Local Resident", "Taxpayer", "Long-time reader",
         "just saying", "Voice of Reason", "Mom & Dad of 3", "<none>", "Observer", "A. Nonymous", ""]
DOMAINS = ["gmail.example", "yahoo.example", "hotmail.example", "outlook.example", "proton.example",
           "icloud.example", "shaw.example"]


def _zipf_cum(n: int, s: float = 1.0) -> list[float]:
    return list(accumulate(1.0 / (i + 1) ** s for i in range(n)))


WORD_CUM = _zipf_cum(len(WORDS), 0.8)


class Counts:
    """What the export holds, and what an import that follows the source's moderation should end with."""

    def __init__(self) -> None:
        self.posts = self.replies = self.spam = self.deleted = self.guests = self.links = 0
        self.max_depth = 0
        self.deep = 0  # replies deeper than 6 levels below their top-level comment
        self.deleted_ids: set[int] = set()  # deleted posts written: tombstones if a reply names them
        self.deleted_replied: set[int] = set()
        self.threads_named: set[int] = set()

    def summary(self, threads_written: int) -> dict[str, int]:
        skipped = len(self.deleted_ids - self.deleted_replied)
        return {"posts": self.posts, "threads": threads_written, "threads_with_posts": len(self.threads_named),
                "replies": self.replies, "spam": self.spam, "deleted": self.deleted,
                "deleted_with_replies": len(self.deleted_replied), "deleted_without_replies": skipped,
                # a deleted comment with no reply leaves nothing to show: it is not imported
                "importable": self.posts - skipped, "guests": self.guests, "links": self.links,
                "max_depth": self.max_depth, "deeper_than_6": self.deep}


def thread_sizes(rng: random.Random, comments: int, threads: int) -> list[int]:
    """Comments per article: log-normal (many quiet articles, a few with thousands), summing exactly."""
    weights = [rng.lognormvariate(0.0, 1.3) for _ in range(threads)]
    total = sum(weights)
    exact = [w * comments / total for w in weights]
    sizes = [int(x) for x in exact]
    short = comments - sum(sizes)
    for i in sorted(range(threads), key=lambda i: sizes[i] - exact[i])[:short]:
        sizes[i] += 1
    return sizes


def thread_meta(seed: int, index: int, created: int) -> tuple[str, str]:
    """(title, path) of an article, from its index alone (threads are written after the posts are)."""
    rng = random.Random(seed * 1_000_003 + index)
    words = rng.sample(TITLE_WORDS, rng.randint(3, 7))
    title = " ".join(words).capitalize()
    day = datetime.fromtimestamp(created, UTC)
    return title, f"/{day:%Y/%m}/{'-'.join(words[:5])}-{index}"


def plan_thread(rng: random.Random, t: int, created: int, size: int, next_id: int) -> list[tuple]:
    """One article's posts as heap entries (time, post id, thread, parent id, depth, deleted, spam, replied):
    times from the article's creation, replies to recent comments more often than to old ones."""
    delays = []
    for _ in range(size):
        if rng.random() < 0.07:
            delays.append(rng.randint(HOUR, 30 * DAY))  # the long tail: found weeks later
        else:
            delays.append(int(rng.expovariate(1.0 / (6 * HOUR))) + rng.randint(30, 600))
    delays.sort()
    parents = [-1] * size
    depths = [0] * size
    for i in range(1, size):
        if rng.random() < REPLY_SHARE:
            r = rng.random()
            if r < 0.45:
                p = i - 1 - int(rng.random() * min(i, 3))  # the conversation going on right now
            elif r < 0.8:
                p = rng.randrange(max(0, i - 30), i)
            else:
                p = rng.randrange(i)
            parents[i] = p
            depths[i] = depths[p] + 1
    deleted = [False] * size
    spam = [False] * size
    for i in range(size):
        # a deleted comment's replies are never deleted themselves, so that which deleted comments
        # keep a tombstone does not depend on the order an importer decides them in
        deleted[i] = rng.random() < DELETED_SHARE and not (parents[i] >= 0 and deleted[parents[i]])
        spam[i] = not deleted[i] and rng.random() < SPAM_SHARE
    return [(created + delays[i], next_id + i, t, next_id + parents[i] if parents[i] >= 0 else 0, depths[i],
             deleted[i], spam[i]) for i in range(size)]


def message(rng: random.Random, counts: Counts) -> str:
    choices = rng.choices
    rand = rng.random
    paragraphs = []
    for _ in range(2 if rand() < 0.18 else 1):
        sentences = []
        for _ in range(1 + int(rand() * rand() * 4)):
            words = choices(WORDS, cum_weights=WORD_CUM, k=3 + int(rand() * 14))
            if rand() < 0.08:
                words.insert(int(rand() * len(words)), EXTRAS[int(rand() * len(EXTRAS))])
            sentence = " ".join(words)
            sentences.append(sentence[0].upper() + sentence[1:] + ("?" if rand() < 0.15 else "."))
        text = " ".join(sentences)
        if rand() < 0.06:
            counts.links += 1
            host = LINK_HOSTS[int(rand() * len(LINK_HOSTS))]
            url = f"https://{host}/{int(rand() * 90000) + 10000}/{'-'.join(choices(WORDS, k=3))}"
            text += (f' See <a href="{url}" rel="nofollow noopener" target="_blank" title="{url}">'
                     f'{LINK_WORDS[int(rand() * len(LINK_WORDS))]}</a>.')
        elif rand() < 0.04:
            text = "<i>" + text + "</i>"
        paragraphs.append("<p>" + text + "</p>")
    return "".join(paragraphs)


def xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def author_xml(rng: random.Random, authors: int, author_cum: list[float], counts: Counts) -> str:
    if rng.random() < GUEST_SHARE:
        counts.guests += 1
        name = NICKS[int(rng.random() * len(NICKS))]
        email = f"guest{int(rng.random() * 1e6)}@{DOMAINS[int(rng.random() * len(DOMAINS))]}" \
            if rng.random() < 0.5 else ""
        return (f"    <author>\n      <name>{xml_text(name)}</name>\n      <email>{email}</email>\n"
                "      <isAnonymous>true</isAnonymous>\n    </author>\n")
    a = rng.choices(range(authors), cum_weights=author_cum)[0]
    first = FIRST[a % len(FIRST)]
    last = LAST[(a // len(FIRST)) % len(LAST)]
    user = f"{first[:3]}{last[:5]}{a}".lower().replace("'", "")
    return (f"    <author>\n      <name>{xml_text(first + ' ' + last)}</name>\n"
            f"      <email>{user}@{DOMAINS[a % len(DOMAINS)]}</email>\n"
            f"      <username>{user}</username>\n      <isAnonymous>false</isAnonymous>\n    </author>\n")


def ip_address(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return f"2001:db8:{int(rng.random() * 65536):x}::{int(rng.random() * 65536):x}"
    n = int(rng.random() * 2**32)
    return f"{(n >> 24) % 223 + 1}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def stamp(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_posts(out: TextIO, comments: int, threads: int, seed: int, limit: int | None,
                counts: Counts) -> tuple[list[int], int]:
    """Every post in time order; returns the articles' creation times and the number of articles up to the
    last one a post names."""
    plan = random.Random(seed)
    text = random.Random(seed + 1)
    sizes = thread_sizes(plan, comments, threads)
    step = (END - START) / threads
    created = [START + int(i * step + plan.random() * step * 0.8) for i in range(threads)]
    authors = max(1000, comments // 12)
    author_cum = _zipf_cum(authors, 0.9)
    heap: list[tuple] = []
    next_id = POST_ID_BASE
    last_thread = -1
    buffer: list[str] = []
    wanted = limit if limit is not None else comments

    def emit(until: int) -> bool:
        nonlocal last_thread
        while heap and heap[0][0] < until:
            at, pid, t, parent, depth, deleted, spam = heapq.heappop(heap)
            last_thread = max(last_thread, t)
            counts.threads_named.add(t)
            counts.posts += 1
            parent_xml = ""
            if parent:
                counts.replies += 1
                parent_xml = f'    <parent dsq:id="{parent}" />\n'
                if parent in counts.deleted_ids:
                    counts.deleted_replied.add(parent)
            if deleted:
                counts.deleted += 1
                counts.deleted_ids.add(pid)
            counts.spam += spam
            counts.max_depth = max(counts.max_depth, depth)
            counts.deep += depth > 6
            buffer.append(
                f'  <post dsq:id="{pid}">\n    <id />\n    <message><![CDATA[{message(text, counts)}]]></message>\n'
                f"    <createdAt>{stamp(at)}</createdAt>\n"
                f"    <isDeleted>{'true' if deleted else 'false'}</isDeleted>\n"
                f"    <isSpam>{'true' if spam else 'false'}</isSpam>\n"
                f"{author_xml(text, authors, author_cum, counts)}"
                f"    <ipAddress>{ip_address(text)}</ipAddress>\n"
                f'    <thread dsq:id="{THREAD_ID_BASE + t}" />\n{parent_xml}  </post>\n')
            if len(buffer) >= 2000:
                out.write("".join(buffer))
                buffer.clear()
            if counts.posts >= wanted:
                return False
        return True

    going = True
    for t in range(threads):
        # every later post is at or after this article's creation: what is older can be written
        going = emit(created[t])
        if not going:
            break
        heap.extend(plan_thread(plan, t, created[t], sizes[t], next_id))
        heapq.heapify(heap)
        next_id += sizes[t]
    if going:
        emit(2**62)
    out.write("".join(buffer))
    return created, last_thread + 1


def write_export(path: Path, comments: int, threads: int, seed: int, limit: int | None) -> dict[str, object]:
    started = time.perf_counter()
    counts = Counts()
    posts_path = path.with_name(path.name + ".posts.tmp")
    with posts_path.open("w", encoding="utf-8", buffering=1 << 20) as posts:
        created, reached = write_posts(posts, comments, threads, seed, limit, counts)
    # an export lists every thread before any post; a prefix (--limit) lists the threads its posts
    # can name, in the same order, and leaves out the articles the cut-off never reached
    written = threads if limit is None else reached
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", buffering=1 << 20) as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
                  'xmlns:dsq="http://disqus.com/disqus-internals" '
                  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                  'xsi:schemaLocation="http://disqus.com/api/schemas/1.0/disqus.xsd '
                  'http://disqus.com/api/schemas/1.0/disqus-internals.xsd">\n'
                  f'  <category dsq:id="{THREAD_ID_BASE - 1}">\n    <forum>{FORUM}</forum>\n'
                  "    <title>General</title>\n    <isDefault>true</isDefault>\n  </category>\n")
        parts = []
        for t in range(written):
            title, slug = thread_meta(seed, t, created[t])
            parts.append(
                f'  <thread dsq:id="{THREAD_ID_BASE + t}">\n    <id>{slug}</id>\n    <forum>{FORUM}</forum>\n'
                f'    <category dsq:id="{THREAD_ID_BASE - 1}" />\n    <link>https://bench.example{slug}</link>\n'
                f"    <title>{xml_text(title)}</title>\n    <message />\n"
                f"    <createdAt>{stamp(created[t])}</createdAt>\n    <author>\n      <name>Newsroom</name>\n"
                "      <email>desk@bench.example</email>\n      <isAnonymous>false</isAnonymous>\n"
                f"      <username>{FORUM}</username>\n    </author>\n"
                f"    <isClosed>{'true' if t % 50 == 7 else 'false'}</isClosed>\n"
                "    <isDeleted>false</isDeleted>\n  </thread>\n")
        out.write("".join(parts))
    # bytes, not text: decoding megabytes of posts with emoji in them would make wide strings
    with tmp.open("ab") as out_bytes, posts_path.open("rb") as posts:
        shutil.copyfileobj(posts, out_bytes, 1 << 20)
        out_bytes.write(b"</disqus>\n")
    posts_path.unlink()
    os.replace(tmp, path)
    summary: dict[str, object] = {"comments": comments, "threads_planned": threads, "seed": seed, "limit": limit,
                                  **counts.summary(written), "bytes": path.stat().st_size,
                                  "seconds": round(time.perf_counter() - started, 1)}
    path.with_name(path.name + ".json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=None, help="default: one per 50 comments")
    parser.add_argument("--limit", type=int, default=None, help="write only the first LIMIT posts of the export")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    threads = args.threads or max(1, math.ceil(args.comments / 50))
    summary = write_export(args.out, args.comments, threads, args.seed, args.limit)
    print(json.dumps(summary))
    print(f"{summary['posts']:,} posts in {summary['seconds']} s, {args.out.stat().st_size / 1e6:.0f} MB",
          file=sys.stderr)


if __name__ == "__main__":
    main()
