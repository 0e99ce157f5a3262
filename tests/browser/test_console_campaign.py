"""A copy-paste campaign in the console's queue, in headless Chromium against a real service
process: its held comments carry the campaign's mark, and one action rejects them and bans their
authors, leaving the copy that was published (perhaps the original) for a moderator to judge."""

from __future__ import annotations

import pytest

from tests.support.browser import expect
from tests.support.console import cli_token, in_db, signed_in_console
from tests.support.seeding import seed_comment

pytestmark = pytest.mark.browser

SITE = "demo"
# not the demo page's article: other browser tests count its comments
ARTICLE = "campaign-article"
PITCH = "The real story behind the border troops is on my channel, share it before they delete it"


async def _campaign(conn) -> tuple[int, list[int]]:
    campaign = await conn.fetchval("INSERT INTO spam_campaigns (site_id, signature) VALUES ($1, 'sig') RETURNING id",
                                   SITE)
    ids = []
    for i, status in enumerate(("published", "held", "held")):
        row = await seed_comment(None, conn, SITE, article=ARTICLE, body=f"{PITCH} ({i})", status=status,
                                 reason=None if status == "published" else "copy_campaign")
        ids.append(row.id)
    await conn.execute("UPDATE comments SET campaign_id = $1 WHERE id = ANY($2::bigint[])", campaign, ids)
    return campaign, ids


def test_a_moderator_rejects_a_whole_campaign_and_bans_its_authors(live_server, context, artifacts):
    server = live_server
    campaign, ids = in_db(server, _campaign)
    console = signed_in_console(context, server, cli_token(server, SITE), SITE)
    items = console.locator("#view .queue li.item", has_text=PITCH)
    expect(items.first)
    assert items.count() == 2  # the held ones; the published one waits in no queue
    mark = items.first.locator(".campaign")
    expect(mark.get_by_text(f"Copy campaign #{campaign}"))
    expect(mark.get_by_text("2 of its comments in this list"))
    console.screenshot(path=str(artifacts / "console-campaign.png"))
    mark.get_by_role("button", name="Reject the whole campaign…").click()
    dialog = console.locator("dialog[open]")
    dialog.get_by_label("Also ban every author of the campaign").check()
    dialog.get_by_role("button", name="Reject the campaign").click()
    expect(console.get_by_text(f"Campaign #{campaign}: 2 comment(s) rejected, 2 author(s) banned."))
    assert console.locator("#view .queue li.item", has_text=PITCH).count() == 0

    async def after(conn):
        statuses = await conn.fetch("SELECT status FROM comments WHERE id = ANY($1::bigint[]) ORDER BY id", ids)
        bans = await conn.fetchval("SELECT count(*) FROM bans b JOIN comments c ON c.author_id = b.user_id "
                                   "WHERE c.id = ANY($1::bigint[])", ids)
        return [r["status"] for r in statuses], bans

    assert in_db(server, after) == (["published", "rejected", "rejected"], 2)
