"""The retention sweep the notifier runs hourly: comments' addresses and problem reports' user agents
go after COMMENTS_IP_RETENTION_DAYS, problem reports' text, checks and reader after
COMMENTS_PROBLEM_REPORT_RETENTION_DAYS; recent ones stay, a banned reader's addresses stay while the
ban lasts, and the sweep works in batches until nothing old is left."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest

from comments_service.db.pool import create_pool
from comments_service.services.privacy import Retention
from comments_service.settings import PrivacySettings, Settings
from tests.support.seeding import seed_comment, seed_reader
from tests.support.servers import ServiceProcess


@pytest.fixture
async def pool(settings, database):
    """A pool of this test's loop, as the notifier's own."""
    pool = await create_pool(settings.database, database)
    yield pool
    await pool.close()


def days_ago(n: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=n)


# a check as the troubleshooter stores it: the moderators' list of reports shows these as they are
CHECKS = {"checks": [{"id": "api", "status": "ok", "title": "Comment service", "explanation": "Reachable."}]}


async def problem_report(db, site_id: str, user_id: int | None, age_days: float) -> int:
    return await db.fetchval(
        "INSERT INTO problem_reports (reference, site_id, user_id, description, troubleshoot, user_agent, created_at) "
        "VALUES ($1, $2, $3, 'I cannot post, my name is Ann', $5, 'AnnBrowser/1.0', $4) RETURNING id",
        "ref-" + secrets.token_hex(6), site_id, user_id, days_ago(age_days), CHECKS)


async def test_old_addresses_and_problem_reports_are_cleared_and_recent_ones_kept(services, site, db, pool,
                                                                                  caplog) -> None:
    reader = await seed_reader(db, site.id, name="Ann")
    troll = await seed_reader(db, site.id, name="Troll")
    await db.execute("INSERT INTO bans (site_id, user_id, created_by) VALUES ($1, $2, 'test')", site.id, troll)
    old = [(await seed_comment(services, db, site.id, author_id=reader, status="published", reason=None,
                               created_at=days_ago(31 + i))).id for i in range(5)]
    recent = (await seed_comment(services, db, site.id, author_id=reader, status="published", reason=None,
                                 created_at=days_ago(29))).id
    banned = (await seed_comment(services, db, site.id, author_id=troll, status="published", reason=None,
                                 created_at=days_ago(60))).id
    await db.execute("UPDATE comments SET author_ip = '203.0.113.9' WHERE id = ANY($1::bigint[])",
                     [*old, recent, banned])
    fresh_report = await problem_report(db, site.id, reader, 10)
    agent_gone = await problem_report(db, site.id, reader, 40)
    all_gone = await problem_report(db, site.id, reader, 91)

    # a batch of two: five old addresses take three statements, and the sweep goes on until done
    retention = Retention(pool, PrivacySettings(retention_batch=2))
    with caplog.at_level(logging.INFO, logger="comments_service.privacy"):
        result = await retention.sweep()
    assert result.comment_ips >= 5 and result.problem_report_agents >= 1 and result.problem_reports >= 1
    assert any(r.getMessage() == "retention cleared personal data" and r.comment_ips == result.comment_ips
               for r in caplog.records)

    ips = dict(await db.fetch("SELECT id, host(author_ip) FROM comments WHERE id = ANY($1::bigint[])",
                              [*old, recent, banned]))
    assert [ips[i] for i in old] == [None] * 5
    assert ips[recent] == "203.0.113.9"
    assert ips[banned] == "203.0.113.9"  # a guest's ban reaches the network it names while it lasts
    rows = {r["id"]: r for r in await db.fetch(
        "SELECT id, user_id, description, troubleshoot, user_agent FROM problem_reports WHERE site_id = $1", site.id)}
    assert tuple(rows[fresh_report])[1:] == (reader, "I cannot post, my name is Ann", CHECKS,
                                             "AnnBrowser/1.0")
    assert tuple(rows[agent_gone])[1:] == (reader, "I cannot post, my name is Ann", CHECKS, None)
    assert tuple(rows[all_gone])[1:] == (None, "", {}, None)

    # the ban lifted, its reader's old addresses go on the next sweep; nothing else is left to clear
    await db.execute("DELETE FROM bans WHERE user_id = $1", troll)
    again = await retention.sweep()
    assert again.comment_ips >= 1 and again.problem_report_agents == again.problem_reports == 0
    assert await db.fetchval("SELECT author_ip FROM comments WHERE id = $1", banned) is None


def test_the_retention_periods_are_read_from_the_environment() -> None:
    cfg = Settings.from_env({"COMMENTS_IP_RETENTION_DAYS": "7", "COMMENTS_PROBLEM_REPORT_RETENTION_DAYS": "14"})
    assert (cfg.privacy.ip_retention_days, cfg.privacy.problem_report_retention_days) == (7, 14)
    assert (Settings().privacy.ip_retention_days, Settings().privacy.problem_report_retention_days) == (30, 90)
    from comments_service.settings import SettingsError
    with pytest.raises(SettingsError, match="COMMENTS_IP_RETENTION_DAYS"):
        Settings.from_env({"COMMENTS_IP_RETENTION_DAYS": "0"})


async def test_the_notifier_process_sweeps_as_it_starts(storage, services, site, db) -> None:
    old = (await seed_comment(services, db, site.id, status="published", reason=None, created_at=days_ago(45))).id
    await db.execute("UPDATE comments SET author_ip = '192.0.2.44' WHERE id = $1", old)
    notifier = ServiceProcess(storage.env(COMMENTS_IP_RETENTION_DAYS="40", COMMENTS_LOG_LEVEL="INFO"), "notifier",
                              ready=None).start()
    try:
        deadline = time.monotonic() + 60
        while await db.fetchval("SELECT author_ip FROM comments WHERE id = $1", old) is not None:
            assert time.monotonic() < deadline, notifier.logs()[-3000:]
            await asyncio.sleep(0.2)
        while "retention cleared personal data" not in notifier.logs():
            assert time.monotonic() < deadline, notifier.logs()[-3000:]
            await asyncio.sleep(0.2)
    finally:
        notifier.stop()
