"""The notifier under faults, as separate processes against a real SMTP server: killed after the
mail server took an email and before it heard so, and a mail server that stops mid-run and
comes back. Nothing is lost; what went out once is recognisably the same message if it goes out
again (its Message-ID is the delivery's idempotency key, stable across attempts)."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller

from comments_service.db.pool import connect
from tests.integration.test_export import cli
from tests.support.servers import ServiceProcess, free_port
from tests.support.smtp_server import SmtpSink


class HoldingSink:
    """An SMTP server that keeps each message's final 250 until the test lets it go, so that the
    test can act while the sender has delivered but not yet heard so."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.got = threading.Event()
        self.release = threading.Event()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(envelope.original_content or b"")
        self.got.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        return "250 OK"


@pytest.fixture
def holding_sink() -> Iterator[HoldingSink]:
    sink = HoldingSink()
    sink.controller.start()
    yield sink
    sink.release.set()
    sink.controller.stop()


async def subscribed_reply(db, site_id: str) -> None:
    """A confirmed subscriber to an article, and a published comment by someone else in it: one
    email to send."""
    article = await db.fetchval("INSERT INTO articles (site_id, external_id, url, title) VALUES "
                                "($1, 'a1', 'https://faults.example/a1', 'A story') RETURNING id", site_id)
    ann = await db.fetchval("INSERT INTO users (site_id, kind, external_id, display_name, email) VALUES "
                            "($1, 'sso', 'ann', 'Ann', 'ann@example.org') RETURNING id", site_id)
    bea = await db.fetchval("INSERT INTO users (site_id, kind, external_id, display_name) VALUES "
                            "($1, 'sso', 'bea', 'Bea') RETURNING id", site_id)
    await db.execute("INSERT INTO notification_subscriptions (site_id, user_id, scope, article_id, email, "
                     "confirmed_at) VALUES ($1, $2, 'article', $3, 'ann@example.org', now())", site_id, ann, article)
    await db.execute("INSERT INTO comments (article_id, site_id, author_id, body_markdown, body_html, status) "
                     "VALUES ($1, $2, $3, 'Back for good', '<p>Back for good</p>', 'published')", article, site_id, bea)


def notifier(storage, url: str, smtp_url: str, log_dir) -> ServiceProcess:
    env = storage.env(COMMENTS_DATABASE_URL=url, COMMENTS_SMTP_URL=smtp_url, COMMENTS_NOTIFY_LEASE_SECONDS="3",
                      COMMENTS_NOTIFY_POLL_SECONDS="0.3", COMMENTS_NOTIFY_RETRY_BASE_SECONDS="0.5",
                      COMMENTS_MAIL_FROM="comments@faults.example")
    return ServiceProcess(env, "notifier", ready=None, log_path=log_dir / "notifier.log").start()


async def wait_until(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_a_notifier_killed_after_sending_and_before_recording_sends_the_same_message_again(
        storage, holding_sink, tmp_path) -> None:
    async with storage.own_database("notify_kill", migrated=True) as url:
        site = SimpleNamespace(id="faults", origin="https://faults.example")
        assert cli(storage, url, "site", "create", "--id", site.id, "--name", "F", "--origin",
                   site.origin).returncode == 0
        db = await connect(url)
        try:
            await subscribed_reply(db, site.id)
            first = notifier(storage, url, f"smtp://127.0.0.1:{holding_sink.port}", tmp_path)
            try:
                assert await asyncio.get_running_loop().run_in_executor(None, holding_sink.got.wait, 30)
                # the server has the whole message and the notifier waits for its 250: killed there,
                # it sent the email and never learnt so
                first.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
                first.process.wait(10)  # type: ignore[union-attr]
                holding_sink.release.set()
            finally:
                if first.running:
                    first.process.kill()  # type: ignore[union-attr]
            row = await db.fetchrow("SELECT state, attempts FROM notification_deliveries")
            assert (row["state"], row["attempts"]) == ("queued", 1)  # sent, but not known to be

            second = notifier(storage, url, f"smtp://127.0.0.1:{holding_sink.port}", tmp_path)
            try:
                async def sent() -> bool:
                    return await db.fetchval("SELECT state FROM notification_deliveries") == "sent"
                await wait_until(sent, 30, "the second notifier to send once the lease ended")
            finally:
                second.stop()
            assert len(holding_sink.messages) == 2
            ids = {line for m in holding_sink.messages for line in m.split(b"\r\n")
                   if line.lower().startswith(b"message-id:")}
            assert len(ids) == 1, "a resend must be the same message (the same Message-ID)"
            assert await db.fetchval("SELECT attempts FROM notification_deliveries") == 2
        finally:
            await db.close()


async def test_a_mail_server_that_stops_mid_run_loses_nothing(storage, tmp_path) -> None:
    sink = SmtpSink().start()
    async with storage.own_database("notify_down", migrated=True) as url:
        site_id = "down"
        assert cli(storage, url, "site", "create", "--id", site_id, "--name", "D", "--origin",
                   "https://down.example").returncode == 0
        db = await connect(url)
        running = notifier(storage, url, sink.url, tmp_path)
        try:
            article = await db.fetchval("INSERT INTO articles (site_id, external_id, url, title) VALUES "
                                        "($1, 'a1', 'https://down.example/a1', 'A story') RETURNING id", site_id)
            author = await db.fetchval("INSERT INTO users (site_id, kind, external_id, display_name) VALUES "
                                       "($1, 'sso', 'author', 'Author') RETURNING id", site_id)
            readers = []
            for n in range(20):
                uid = await db.fetchval("INSERT INTO users (site_id, kind, external_id, display_name, email) VALUES "
                                        "($1, 'sso', $2, 'R', $3) RETURNING id", site_id, f"r{n}",
                                        f"r{n}@example.org")
                readers.append(uid)
                await db.execute("INSERT INTO notification_subscriptions (site_id, user_id, scope, article_id, email, "
                                 "confirmed_at) VALUES ($1, $2, 'article', $3, $4, now())", site_id, uid, article,
                                 f"r{n}@example.org")
            await db.execute("INSERT INTO comments (article_id, site_id, author_id, body_markdown, body_html, "
                             "status) VALUES ($1, $2, $3, 'News', '<p>News</p>', 'published')", article, site_id,
                             author)
            sink.wait_for(1, timeout=30)
            sink.stop()  # mid-run: some sent, the rest fail and wait
            await asyncio.sleep(1.0)
            sink.start()  # the same port: the notifier's retries find it again

            async def all_sent() -> bool:
                return await db.fetchval("SELECT count(*) FROM notification_deliveries WHERE state = 'sent'") == 20
            await wait_until(all_sent, 60, "every email to be sent after the server came back")
            by_reader: dict[str, set[str]] = {}
            for m in sink.messages:
                by_reader.setdefault(str(m["To"]), set()).add(str(m["Message-ID"]))
            assert set(by_reader) == {f"r{n}@example.org" for n in range(20)}
            # one message each; a resend (the server went away between taking one and answering) is
            # the same message, which the mail system drops as a duplicate
            assert all(len(ids) == 1 for ids in by_reader.values()), by_reader
        finally:
            running.stop()
            await db.close()
            sink.stop()
