"""The commands that change what readers see purge a CDN's copies as the API does, as they end:
``comments-service import`` its articles (the site's key past PURGE_EACH_MAX of them), ``site
update`` and ``site delete`` the site's key. A real HTTP receiver on 127.0.0.1 gets the calls the
operator configured."""

from __future__ import annotations

import asyncio

import pytest

from comments_service.services.cdn_purge import article_key, site_key
from comments_service.services.importer import PURGE_EACH_MAX
from tests.support.cli import run_cli
from tests.support.imports import Post, Thread, disqus_xml
from tests.support.purge_receiver import PurgeReceiver
from tests.support.sites import make_site


@pytest.fixture
async def receiver():
    found = await PurgeReceiver().start()
    yield found
    await found.stop()


async def command(storage, database: str, receiver: PurgeReceiver, *args: str) -> None:
    """One CLI command in a process of its own (off this loop, which serves the receiver)."""
    done = await asyncio.to_thread(run_cli, storage, database, *args, timeout=300,
                                   COMMENTS_CDN_PURGE_URL=f"http://127.0.0.1:{receiver.port}/purge",
                                   COMMENTS_CDN_PURGE_METHOD="PURGE")
    assert done.returncode == 0, done.stderr + done.stdout


def export(tmp_path, site, articles: int) -> str:
    threads = [Thread(id=f"t{n}", ident=f"story-{n}", link=f"{site.origin}/story-{n}", title=f"Story {n}",
                      posts=[Post(id=f"p{n}", thread=f"t{n}")]) for n in range(articles)]
    path = tmp_path / "disqus.xml"
    path.write_text(disqus_xml(threads), encoding="utf-8")
    return str(path)


def purged(receiver: PurgeReceiver) -> set[str]:
    return {key for r in receiver.requests for key in r["headers"].get("surrogate-key", "").split()}


async def test_an_import_purges_the_articles_it_wrote_when_it_ends(storage, database, services, db, receiver,
                                                                    tmp_path):
    site = await make_site(services, db)
    await command(storage, database, receiver, "import", "--site", site.id, export(tmp_path, site, 3))
    assert purged(receiver) == {article_key(site.id, f"story-{n}") for n in range(3)}
    assert {r["method"] for r in receiver.requests} == {"PURGE"}

    # run again: nothing new is written, so nothing is purged
    receiver.requests.clear()
    await command(storage, database, receiver, "import", "--site", site.id, export(tmp_path, site, 3))
    assert receiver.requests == []


async def test_a_large_import_purges_its_sites_key_once(storage, database, services, db, receiver, tmp_path):
    site = await make_site(services, db)
    await command(storage, database, receiver, "import", "--site", site.id,
                  export(tmp_path, site, PURGE_EACH_MAX + 1))
    assert purged(receiver) == {site_key(site.id)}


async def test_a_dry_run_purges_nothing(storage, database, services, db, receiver, tmp_path):
    site = await make_site(services, db)
    await command(storage, database, receiver, "import", "--site", site.id, "--dry-run", export(tmp_path, site, 2))
    assert receiver.requests == []


async def test_site_update_and_delete_purge_the_sites_key(storage, database, services, db, receiver):
    site = await make_site(services, db)
    await command(storage, database, receiver, "site", "update", site.id, "--name", "Renamed")
    assert purged(receiver) == {site_key(site.id)}
    receiver.requests.clear()
    await command(storage, database, receiver, "site", "delete", site.id, "--yes", "--force")
    assert purged(receiver) == {site_key(site.id)}
