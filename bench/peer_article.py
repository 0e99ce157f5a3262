"""One article as a Disqus XML export, for reading the same thread from our service and its peers.

    .venv/bin/python -m bench.peer_article --url https://bench.example/peer-article --out /tmp/peers/article.xml

Every system the peer benchmark (bench/peers.py) compares imports this one file, so each serves the
same comments: ``comments`` comments of ``words`` plain words each (drawn from a fixed vocabulary,
no markup, no entities, so no importer rewrites them differently), ``reply_share`` of them replies
to an earlier comment of the thread, one comment a minute. The single ``<thread>`` has the article's
URL as its ``<link>`` and the URL's path as its ``<id>``: Remark42 keys a thread by its link, Isso by
the link's path, and our importer by the id (or, with ``--article-id-from url``, by the URL).

Deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

FORUM = "benchpeers"
THREAD_ID = 9_100_000_000
POST_ID_BASE = 9_200_000_000
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AUTHORS = 60

# A fixed vocabulary of ordinary lower-case words: any comment drawn from it reads the same in every
# system (nothing to escape, sanitise or autolink).
VOCABULARY = """able about above across after again against almost along already also always among
answer around asked away back because become been before began behind being below best better
between both bring brought build built called came cannot carry case cause certain change children
city clear close cold come common complete could country course cover cross current dark days
decide deep different direction does done door down during each early earth east easy either
enough even every example face fact family field figure final find fire first follow food form
found free full game gave general given goes going good great green ground group grow half hand
happen hard have head hear heard heart heavy help here high himself hold home hope horse hour house
however idea important inside island just keep kind knew know land large last later learn least
leave left less letter life light line list little live long look made make many mark matter mean
measure might mind minute money more morning most mother move much must near need never next night
north nothing notice number often once only open order other over page paper part pass past people
perhaps picture piece place plan plant play point power present problem produce public pull question
quick quite rain reach read ready real record remember rest right river road rock room round rule
same school science second seem sentence service several shape short should show side simple since
size slow small snow some something sound south space special stand start state still stood story
street strong study such sure surface table take talk tell than that their them then there these
thing think those though thought three through time together told took toward town tree true turn
under unit until upon usual very voice wait walk want warm watch water week well went were west
what wheel where which while white whole wind with within without word work world would write year
young""".split()


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _plan(comments: int, reply_share: float, rng: random.Random) -> list[int | None]:
    """Each comment's parent index (None: top level). Exactly round(comments x reply_share) replies;
    the first comment is always top level, and a reply's parent is always an earlier comment."""
    replies = min(round(comments * reply_share), max(comments - 1, 0))
    reply_at = set(rng.sample(range(1, comments), replies)) if replies else set()
    parents: list[int | None] = []
    for i in range(comments):
        if i in reply_at:
            # mostly the conversation going on, sometimes an older comment
            parents.append(rng.randrange(max(0, i - 10), i) if rng.random() < 0.7 else rng.randrange(i))
        else:
            parents.append(None)
    return parents


def write_export(path: Path, url: str, *, comments: int = 500, words: int = 40, reply_share: float = 0.3,
                 seed: int = 1) -> None:
    """Write the export of one article at ``url`` to ``path``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    thread_path = parts.path or "/"
    rng = random.Random(seed)
    parents = _plan(comments, reply_share, rng)
    out = ['<?xml version="1.0" encoding="utf-8"?>\n'
           '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n',
           f'  <category dsq:id="{THREAD_ID - 1}">\n    <forum>{FORUM}</forum>\n    <title>General</title>\n'
           "    <isDefault>true</isDefault>\n  </category>\n",
           f'  <thread dsq:id="{THREAD_ID}">\n    <id>{escape(thread_path)}</id>\n    <forum>{FORUM}</forum>\n'
           f'    <category dsq:id="{THREAD_ID - 1}" />\n    <link>{escape(url)}</link>\n'
           "    <title>Peer benchmark article</title>\n    <message />\n"
           f"    <createdAt>{_stamp(START - timedelta(hours=1))}</createdAt>\n"
           f"    <author>\n      <name>Newsroom</name>\n      <email>desk@{escape(parts.hostname)}</email>\n"
           f"      <username>{FORUM}</username>\n      <isAnonymous>false</isAnonymous>\n    </author>\n"
           "    <isClosed>false</isClosed>\n    <isDeleted>false</isDeleted>\n  </thread>\n"]
    for i in range(comments):
        text = " ".join(rng.choice(VOCABULARY) for _ in range(words))
        author = rng.randrange(AUTHORS)
        parent = parents[i]
        parent_xml = f'    <parent dsq:id="{POST_ID_BASE + parent}" />\n' if parent is not None else ""
        out.append(
            f'  <post dsq:id="{POST_ID_BASE + i}">\n    <id />\n    <message>{text}</message>\n'
            f"    <createdAt>{_stamp(START + timedelta(minutes=i))}</createdAt>\n"
            "    <isDeleted>false</isDeleted>\n    <isSpam>false</isSpam>\n"
            f"    <author>\n      <name>Reader {author}</name>\n      <email>reader{author}@mail.example</email>\n"
            f"      <username>reader{author}</username>\n      <isAnonymous>false</isAnonymous>\n    </author>\n"
            f"    <ipAddress>192.0.2.{author + 1}</ipAddress>\n"
            f'    <thread dsq:id="{THREAD_ID}" />\n{parent_xml}  </post>\n')
    out.append("</disqus>\n")
    path.write_text("".join(out), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peer_article", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the article's URL (its path becomes the thread's <id>)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--comments", type=int, default=500)
    parser.add_argument("--words", type=int, default=40)
    parser.add_argument("--reply-share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    write_export(args.out, args.url, comments=args.comments, words=args.words, reply_share=args.reply_share,
                 seed=args.seed)


if __name__ == "__main__":
    main()
