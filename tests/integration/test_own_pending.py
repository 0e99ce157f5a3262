"""What a process knows of signed-in readers with nothing awaiting review (services/own_pending.py),
against the database's own notifications: a finding is kept only while nothing about it was heard
since its query began, it goes when the database tells of a comment awaiting review, and nothing is
known while the LISTEN connection is down."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from comments_service.identity import Identity
from comments_service.services import own_pending as own_pending_module
from comments_service.services.own_pending import OwnPending, reader_key
from tests.support.listeners import cut_own_pending
from tests.support.seeding import seed_comment, seed_reader


@pytest.fixture
async def known(database):
    own = OwnPending(database, size=4)
    own.start()
    assert await own.wait_listening(10)
    yield own
    await own.close()


async def told(db, known: OwnPending, payload: str) -> None:
    """Sends what the trigger sends, and waits until the process has heard it."""
    generation = known.generation
    await db.execute("SELECT pg_notify('own_pending', $1)", payload)
    for _ in range(200):
        if known.generation > generation:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the notification should reach the listener")


def test_readers_are_named_as_the_database_names_them():
    assert reader_key(Identity(site_id="s", kind="sso", external_id="sub\nwith a newline", name="R")) \
        == "s:sub\nwith a newline"
    assert reader_key(Identity(site_id="s", kind="guest", external_id="guest:42", name="G", user_id=42)) == "g:42"


async def test_a_finding_is_forgotten_when_the_database_tells_of_a_comment_awaiting_review(known, db):
    begun = known.begin()
    known.note_clear("news", "a-1", "s:sub\nwith a newline", begun)
    known.note_clear("news", "a-1", "g:7", begun)
    assert known.known_clear("news", "a-1", "s:sub\nwith a newline") and known.known_clear("news", "a-1", "g:7")
    await told(db, known, "news\na-1\ns:sub\nwith a newline")
    assert not known.known_clear("news", "a-1", "s:sub\nwith a newline")
    assert known.known_clear("news", "a-1", "g:7")  # another reader's finding stands


async def test_a_finding_whose_query_overlapped_a_notification_is_not_kept(known, db):
    begun = known.begin()
    await told(db, known, "news\na-1\ng:7")  # held while the handler was looking
    known.note_clear("news", "a-1", "g:7", begun)
    assert not known.known_clear("news", "a-1", "g:7")
    known.note_clear("news", "a-1", "g:8", begun)  # a notification about someone else does not matter
    assert known.known_clear("news", "a-1", "g:8")
    # a query begun after it was heard began after its comment committed, and saw it
    known.note_clear("news", "a-1", "g:7", known.begin())
    assert known.known_clear("news", "a-1", "g:7")


async def test_findings_and_what_was_heard_are_bounded(known, db):
    begun = known.begin()
    for n in range(6):
        known.note_clear("news", "a-1", f"g:{n}", begun)
    assert [n for n in range(6) if known.known_clear("news", "a-1", f"g:{n}")] == [2, 3, 4, 5]
    # more keys heard than are kept: no query begun before that counts any longer
    begun = known.begin()
    for n in range(5):
        known.forget("news", "a-2", f"g:{n}")
    known.note_clear("news", "a-2", "g:99", begun)
    assert not known.known_clear("news", "a-2", "g:99")
    known.note_clear("news", "a-2", "g:99", known.begin())
    assert known.known_clear("news", "a-2", "g:99")


async def test_nothing_is_known_while_the_listener_is_down(known, db):
    known.note_clear("news", "a-1", "g:7", known.begin())
    begun = known.begin()
    await cut_own_pending(db, known)
    assert not known.known_clear("news", "a-1", "g:7")
    known.note_clear("news", "a-1", "g:8", begun)
    assert not known.known_clear("news", "a-1", "g:8")
    # back, with nothing from before: a query begun while it was down counts for nothing
    assert await known.wait_listening(10)
    known.note_clear("news", "a-1", "g:8", begun)
    assert not known.known_clear("news", "a-1", "g:7") and not known.known_clear("news", "a-1", "g:8")
    known.note_clear("news", "a-1", "g:8", known.begin())
    assert known.known_clear("news", "a-1", "g:8")


async def test_the_database_tells_of_every_comment_that_starts_awaiting_review(services, site, db, database):
    heard: list[str] = []
    listener = await asyncpg.connect(database)
    await listener.add_listener("own_pending", lambda *args: heard.append(args[3]))
    try:
        sso_reader = await seed_reader(db, site.id, sub="sub\nnewline")
        guest = await db.fetchval("INSERT INTO users (site_id, kind, external_id, display_name) "
                                  "VALUES ($1, 'guest', 'g-uuid', 'G') RETURNING id", site.id)
        held = await seed_comment(services, db, site.id, article="own-1", status="held", author_id=sso_reader)
        await seed_comment(services, db, site.id, article="own-1", status="pending_scoring", reason=None,
                           author_id=guest)
        published = await seed_comment(services, db, site.id, article="own-1", status="published", reason=None,
                                       author_id=guest)
        await db.execute("UPDATE comments SET status = 'published' WHERE id = $1", held.id)  # leaving review
        await db.execute("UPDATE comments SET body_html = '<p>x</p>' WHERE id = $1", published.id)
        await db.execute("UPDATE comments SET status = 'held' WHERE id = $1", published.id)  # sent back
        await db.execute("UPDATE comments SET status = 'held' WHERE id = $1", published.id)  # no change
        for _ in range(200):
            if len(heard) >= 3:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # anything sent wrongly would be here by now too
    finally:
        await listener.close()
    guest_told = f"{site.id}\nown-1\ng:{guest}"
    assert heard == [f"{site.id}\nown-1\ns:sub\nnewline", guest_told, guest_told]


async def test_a_name_too_long_to_send_fails_no_write_and_forgets_everything(known, services, site, db):
    # an import takes subjects of any length (a signed-in reader's is at most 200 characters)
    long_subject = await seed_reader(db, site.id, sub="x" * 8000)
    known.note_clear(site.id, "own-2", "g:1", known.begin())
    generation = known.generation
    held = await seed_comment(services, db, site.id, article="own-2", status="held", author_id=long_subject)
    await db.execute("UPDATE comments SET status = 'published' WHERE id = $1", held.id)
    await db.execute("UPDATE comments SET status = 'held' WHERE id = $1", held.id)
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", held.id) == "held"
    for _ in range(200):
        if known.generation > generation:
            break
        await asyncio.sleep(0.01)
    assert not known.known_clear(site.id, "own-2", "g:1")


async def test_closing_leaves_no_connection_behind(database, db):
    own = OwnPending(database)
    own.start()
    assert await own.wait_listening(10)
    pid = own._conn.get_server_pid()
    await own.close()
    for _ in range(200):
        if not await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            break
        await asyncio.sleep(0.01)
    assert await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid) == 0


async def test_a_connection_that_stops_answering_is_dropped_and_nothing_known_stands(database, monkeypatch):
    """A partition or a failover that sends no reset: the socket stays open, nothing arrives."""
    monkeypatch.setattr(own_pending_module, "PING_S", 0.3)
    monkeypatch.setattr(own_pending_module, "PING_TIMEOUT_S", 0.5)
    target = urlsplit(database)
    silent = asyncio.Event()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                if silent.is_set():
                    continue  # swallowed: the connection stays open and says nothing
                writer.write(data)
                await writer.drain()

    tasks: set[asyncio.Task] = set()

    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(target.hostname, target.port or 5432)
        tasks.update({asyncio.ensure_future(pipe(client_reader, server_writer)),
                      asyncio.ensure_future(pipe(server_reader, client_writer))})

    proxy = await asyncio.start_server(relay, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    user = target.netloc.rpartition("@")[0]
    own = OwnPending(urlunsplit(target._replace(netloc=f"{user}@127.0.0.1:{port}" if user else f"127.0.0.1:{port}")))
    own.start()
    try:
        assert await own.wait_listening(10)
        own.note_clear("news", "a-1", "g:7", own.begin())
        assert own.known_clear("news", "a-1", "g:7")
        silent.set()
        for _ in range(500):
            if not own.listening:
                break
            await asyncio.sleep(0.01)
        assert not own.listening and not own.known_clear("news", "a-1", "g:7")
        own.note_clear("news", "a-1", "g:7", own.begin())
        assert not own.known_clear("news", "a-1", "g:7")
    finally:
        await own.close()
        proxy.close()
        for task in tasks:
            task.cancel()
