"""The notifier's delivery rate: N queued reply emails to a local SMTP sink, sent by
`comments-service notifier` as an operator runs it, with its resident memory sampled.

    .venv/bin/python -m bench.notifications --emails 100000

A database of its own (bench.common.scratch_storage) holds one article with one published reply and
N readers subscribed to it, each with a queued reply email (as the fan-out leaves them). The sink,
a minimal SMTP server in a process of its own (cheap enough not to be what is measured), counts
what arrives and the distinct Message-IDs. The rate is emails sent over the wall time from the
notifier's start until the database says every delivery is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

from .common import REDIS_URL, SECRET_KEY, SITE_ID, scratch_storage
from .imports import tree_rss_kb

REPO = Path(__file__).resolve().parents[1]


class _SinkProtocol(asyncio.Protocol):
    """Just enough SMTP to take messages (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), each line
    answered as it comes: a sink that costs the machine little, so that the notifier's own work is
    what is measured. Counts messages and their distinct Message-IDs."""

    def __init__(self, stats: dict) -> None:
        self.stats = stats
        self.buffer = b""
        self.in_data = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 bench sink\r\n")

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        out = []
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    break
                message, self.buffer = self.buffer[:end], self.buffer[end + 5:]
                self.in_data = False
                self.stats["count"] += 1
                start = message.lower().find(b"message-id:")
                if start >= 0:
                    self.stats["ids"].add(message[start:message.find(b"\r\n", start)])
                out.append(b"250 OK\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                break
            line, self.buffer = self.buffer[:end], self.buffer[end + 2:]
            verb = line[:4].upper()
            if verb == b"EHLO":
                out.append(b"250-bench\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            elif verb == b"DATA":
                self.in_data = True
                out.append(b"354 go on\r\n")
            elif verb == b"QUIT":
                out.append(b"221 bye\r\n")
                self.transport.write(b"".join(out))
                self.transport.close()
                return
            else:
                out.append(b"250 OK\r\n")
        if out:
            self.transport.write(b"".join(out))


class _Receiver(asyncio.Protocol):
    """A webhook receiver that answers every request 204 at once, keeping the connection open for
    the next (HTTP/1.1 keep-alive, as common servers do), counting requests and distinct webhook-ids."""

    def __init__(self, stats: dict) -> None:
        self.stats = stats
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        answers = 0
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                break
            head = self.buffer[:head_end].lower()
            start = head.find(b"content-length:")
            length = int(head[start + 15:head.find(b"\r\n", start)].strip() or 0) if start >= 0 else 0
            if len(self.buffer) < head_end + 4 + length:
                break
            self.buffer = self.buffer[head_end + 4 + length:]
            self.stats["count"] += 1
            self.stats["connections"].add(id(self))
            start = head.find(b"webhook-id:")
            if start >= 0:
                self.stats["ids"].add(head[start:head.find(b"\r\n", start)])
            answers += 1
        if answers:
            self.transport.write(b"HTTP/1.1 204 No Content\r\n\r\n" * answers)


def _serve_receiver(port: int, results: Any, stop: Any) -> None:
    _serve(port, results, stop, _Receiver)


def _serve_sink(port: int, results: Any, stop: Any) -> None:
    _serve(port, results, stop, _SinkProtocol)


def _serve(port: int, results: Any, stop: Any, protocol: Any) -> None:
    stats: dict = {"count": 0, "ids": set(), "connections": set()}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: protocol(stats), "127.0.0.1", port, backlog=1024)
        while not stop.is_set():
            results["count"] = stats["count"]
            await asyncio.sleep(0.2)
        server.close()
        results["count"] = stats["count"]
        results["ids"] = len(stats["ids"])
        results["connections"] = len(stats["connections"])

    asyncio.run(main())


async def seed(url: str, n: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        article = await conn.fetchval("INSERT INTO articles (site_id, external_id, url, title) VALUES "
                                      "($1, 'bench-story', 'https://bench.example/story', 'A story') RETURNING id",
                                      SITE_ID)
        author = await conn.fetchval("INSERT INTO users (site_id, kind, external_id, display_name) VALUES "
                                     "($1, 'sso', 'author', 'Author') RETURNING id", SITE_ID)
        comment = await conn.fetchval(
            "INSERT INTO comments (article_id, site_id, author_id, body_markdown, body_html, status) VALUES "
            "($1, $2, $3, 'Back for good', '<p>Back for good, the ministry says.</p>', 'published') RETURNING id",
            article, SITE_ID, author)
        await conn.execute("UPDATE outbox SET fanned_out_at = now()")
        await conn.execute(
            "INSERT INTO users (site_id, kind, external_id, display_name, email) "
            "SELECT $1, 'sso', 'reader' || g, 'Reader ' || g, 'reader' || g || '@bench.example' "
            "FROM generate_series(1, $2) g", SITE_ID, n)
        await conn.execute(
            "INSERT INTO notification_subscriptions (site_id, user_id, scope, article_id, email, confirmed_at) "
            "SELECT $1, u.id, 'article', $2, u.email, now() FROM users u WHERE u.site_id = $1 AND u.email IS NOT NULL",
            SITE_ID, article)
        await conn.execute(
            "INSERT INTO notification_deliveries (site_id, channel, kind, recipient, subscription_id, idempotency_key, "
            "payload) SELECT $1, 'email', 'reply_digest', s.email, s.id, 'reply:' || s.id || ':' || $2::bigint, "
            "jsonb_build_object('comment_ids', jsonb_build_array($2::bigint)) FROM notification_subscriptions s",
            SITE_ID, comment)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def seed_webhooks(url: str, n: int, port: int) -> None:
    """One endpoint (this machine's receiver), and N queued calls to it, as the fan-out leaves them."""
    from datetime import UTC, datetime

    import msgspec

    from comments_service.domain import webhook_events as events
    from comments_service.identity import Keyring
    from comments_service.services.webhook_sender import new_secret

    conn = await asyncpg.connect(url)
    try:
        endpoint = await conn.fetchval(
            "INSERT INTO webhook_endpoints (site_id, url, secret_sealed, event_types) VALUES ($1, $2, $3, "
            "'{comment.published}') RETURNING id", SITE_ID, f"http://127.0.0.1:{port}/hooks",
            Keyring(SECRET_KEY).encrypt(new_secret()))
        event = msgspec.to_builtins(events.make_event(
            id="evt_1", site_id=SITE_ID, created_at=datetime.now(UTC), data=events.comment_data(
                "comment.published", comment_id=1, article_id="bench-story", parent_id=None, author_name="Author",
                body_html="<p>Back for good, the ministry says.</p>", article_url="https://bench.example/story")))
        await conn.execute(
            "INSERT INTO notification_deliveries (site_id, channel, kind, recipient, idempotency_key, payload) "
            "SELECT $1, 'webhook', 'comment.published', $2, 'webhook:' || $2 || ':' || g, $3::jsonb "
            "FROM generate_series(1, $4) g", SITE_ID, str(endpoint), msgspec.json.encode(event).decode(), n)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def sent(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM notification_deliveries WHERE state = 'sent'"))
    finally:
        await conn.close()


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "comments_service.cli", *args]


async def run(args: argparse.Namespace) -> None:
    async with scratch_storage("notify") as (url, prefix):
        env = {**os.environ, "COMMENTS_DATABASE_URL": url, "COMMENTS_REDIS_URL": REDIS_URL,
               "COMMENTS_REDIS_PREFIX": prefix, "COMMENTS_SECRET_KEY": SECRET_KEY, "COMMENTS_LOG_LEVEL": "WARNING",
               "COMMENTS_MAIL_FROM": "comments@bench.example"}
        subprocess.run(cli("migrate"), cwd=REPO, env=env, check=True, capture_output=True)
        subprocess.run(cli("site", "create", "--id", SITE_ID, "--name", "Bench", "--origin", "https://bench.example"),
                       cwd=REPO, env=env, check=True, capture_output=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        started = time.perf_counter()
        if args.webhooks:
            await seed_webhooks(url, args.emails, port)
            env["COMMENTS_WEBHOOKS_ALLOW_HTTP_LOOPBACK"] = "true"
        else:
            await seed(url, args.emails)
        what = "webhook calls" if args.webhooks else "emails"
        print(f"seeded {args.emails:,} queued {what} in {time.perf_counter() - started:.1f} s", file=sys.stderr)

        manager = multiprocessing.Manager()
        results, stop = manager.dict(), manager.Event()
        sink = multiprocessing.Process(target=_serve_receiver if args.webhooks else _serve_sink,
                                       args=(port, results, stop), daemon=True)
        sink.start()
        time.sleep(0.5)
        env["COMMENTS_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
        for name, value in args.setting:
            env[name] = value
        samples: list[tuple[float, int]] = []
        log = open(args.log, "w")  # noqa: SIM115 - closed below, after the child
        children = [subprocess.Popen(cli("notifier"), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
                    for _ in range(args.notifiers)]
        started = time.perf_counter()
        try:
            done = 0
            while done < args.emails:
                await asyncio.sleep(0.25)
                # the largest notifier's: each is a process of its own, sized alike
                samples.append((time.perf_counter() - started, max(tree_rss_kb(c.pid) for c in children)))
                if len(samples) % 4 == 0:
                    done = await sent(url)
                if any(c.poll() is not None for c in children):
                    raise SystemExit(f"a notifier exited; see {args.log}")
                if time.perf_counter() - started > args.timeout:
                    raise SystemExit(f"only {done:,} of {args.emails:,} sent in {args.timeout} s")
            seconds = time.perf_counter() - started
        finally:
            for child in children:
                child.terminate()
            for child in children:
                child.wait(30)
            log.close()
            stop.set()
            sink.join(10)
        rss = [kb for _, kb in samples if kb]
        conn = await asyncpg.connect(url)
        try:
            states = {r[0]: r[1] for r in await conn.fetch(
                "SELECT state || CASE WHEN attempts > 1 THEN ' (retried)' ELSE '' END, count(*) "
                "FROM notification_deliveries GROUP BY 1")}
        finally:
            await conn.close()
        print(f"deliveries by state: {states}", file=sys.stderr)
        if args.webhooks:
            print(f"receiver connections: {results['connections']:,}", file=sys.stderr)

        def at(fraction: float) -> float:
            until = seconds * fraction
            seen = [kb for t, kb in samples if t <= until and kb] or rss[:1]
            return seen[-1] / 1024

        print(f"| notifiers | {what} | wall s | {what}/s | peak RSS MB (each) | RSS at 25/50/75/100% MB | received | "
              "distinct ids |")
        print("|---:|---:|---:|---:|---:|---|---:|---:|")
        print(f"| {args.notifiers} | {args.emails:,} | {seconds:.1f} | {args.emails / seconds:,.0f} | "
              f"{max(rss) / 1024:.0f} | "
              f"{' / '.join(f'{at(f):.0f}' for f in (0.25, 0.5, 0.75, 1.0))} | {results['count']:,} | "
              f"{results['ids']:,} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=100_000, help="how many to send")
    parser.add_argument("--webhooks", action="store_true",
                        help="webhook calls to a local HTTP receiver instead of emails to an SMTP sink")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--notifiers", type=int, default=1, help="notifier processes side by side")
    parser.add_argument("--log", default="/tmp/bench-notifier.log")
    parser.add_argument("--setting", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="an environment setting for the notifier, e.g. --setting COMMENTS_SMTP_CONNECTIONS 4")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
