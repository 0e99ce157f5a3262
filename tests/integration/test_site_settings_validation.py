"""Invalid site settings (a bad threshold, a bad word list, a setting nothing reads) are refused
when set, through the admin API and the CLI alike, with nothing written; settings stored invalid
before these rules (or by hand) show in diagnostics, for the operator and for that site's admin,
instead of only in the scoring worker's log."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_site_management import cli, new_id, site_row
from tests.support.seeding import set_site_policy
from tests.support.sites import make_site
from tests.support.tokens import bearer, staff_token

API = "/api/v1/moderation"
# (what a PATCH sends, a word the refusal names)
INVALID = {
    "threshold above 1": ({"moderation": {"thresholds": {"toxicity": {"hold": 1.5}}}}, "thresholds.toxicity.hold"),
    "threshold as text": ({"moderation": {"thresholds": {"insult": {"reject": "0.9"}}}}, "insult.reject"),
    "hold above reject": ({"moderation": {"thresholds": {"threat": {"hold": 0.8, "reject": 0.5}}}},
                          "hold must not exceed reject"),
    "thresholds not an object": ({"moderation": {"fallback_thresholds": [0.5]}}, "fallback_thresholds"),
    "word list of numbers": ({"moderation": {"banned_words": [1, 2]}}, "banned_words"),
    "word list as text": ({"moderation": {"suspect_words": "idiot"}}, "suspect_words"),
    "blank word": ({"moderation": {"banned_words": ["ok", "  "]}}, "banned_words"),
    "word of symbols only": ({"moderation": {"suspect_words": ["*"]}}, "no letter or digit"),
    "misspelt policy key": ({"moderation": {"banned_word": ["x"]}}, "moderation.banned_word"),
    "negative count": ({"moderation": {"new_account_hold_first": -1}}, "new_account_hold_first"),
    "flag as text": ({"moderation": {"fail_closed": "no"}}, "fail_closed"),
    "link domain not a host": ({"moderation": {"links": {"deny_domains": ["casino .com"]}}}, "links.deny_domains"),
    "link domain an IP": ({"moderation": {"links": {"allow_domains": ["10.0.0.1"]}}}, "links.allow_domains"),
    "too many links allowed": ({"moderation": {"links": {"max_links": 1000}}}, "links.max_links"),
    "misspelt link key": ({"moderation": {"links": {"deny": ["x.com"]}}}, "not a link setting"),
}


@pytest.mark.parametrize("case", INVALID)
async def test_the_admin_api_refuses_invalid_settings_and_writes_nothing(client, db, site, case):
    patch, named = INVALID[case]
    admin = bearer(await staff_token(db, "admin"))
    before = await db.fetchval("SELECT settings FROM sites WHERE id = $1", site.id)
    audit = await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = $1", site.id)

    r = await client.patch(f"{API}/sites/{site.id}", json={"report_threshold": 4, **patch}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_site_settings" and named in r.json()["detail"]
    # the valid setting in the same request is not applied either
    assert await db.fetchval("SELECT settings FROM sites WHERE id = $1", site.id) == before
    assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = $1", site.id) == audit


async def test_the_cli_refuses_invalid_settings_on_create_and_update(storage, database, db):
    bad = json.dumps({"moderation": {"thresholds": {"toxicity": {"hold": 2}}}})
    site_id = new_id()
    refused = cli(storage, database, "site", "create", "--id", site_id, "--origin", "https://v.example",
                  "--settings", bad)
    assert refused.returncode == 2 and "thresholds.toxicity.hold" in refused.stderr
    assert await site_row(db, site_id) is None

    assert cli(storage, database, "site", "create", "--id", site_id, "--origin", "https://v.example",
               "--settings", json.dumps({"report_threshold": 2})).returncode == 0
    before = await site_row(db, site_id)
    for settings, named in ((bad, "thresholds.toxicity.hold"),
                            (json.dumps({"moderation": {"banned_words": "x"}}), "banned_words"),
                            (json.dumps({"report_treshold": 3}), "report_treshold"),
                            (json.dumps({"report_threshold": 0}), "report_threshold")):
        refused = cli(storage, database, "site", "update", site_id, "--name", "Renamed", "--settings", settings)
        assert refused.returncode == 2 and named in refused.stderr, refused.stderr
        assert await site_row(db, site_id) == before


async def test_settings_stored_invalid_show_in_diagnostics(client, services, db, storage, database):
    broken = await make_site(services, db)
    fine = await make_site(services, db)
    # stored as an older version (or a hand-written UPDATE) would have left them
    await set_site_policy(db, broken.id, {"sso_staff_roles": True, "moderation": {"banned_words": ["ok", 7]}})

    operator = bearer(await staff_token(db, "admin"))
    d = (await client.get("/api/v1/diagnostics", headers=operator)).json()
    assert "banned_words" in d["invalid_site_settings"][broken.id]
    assert fine.id not in d["invalid_site_settings"]
    assert any(broken.id in note for note in d["notes"])

    own_admin = bearer(await staff_token(db, "admin", broken.id))
    mine = (await client.get("/api/v1/diagnostics", headers=own_admin)).json()
    assert mine["scope"] == "site" and "banned_words" in mine["invalid_settings"]
    other_admin = bearer(await staff_token(db, "admin", fine.id))
    theirs = (await client.get("/api/v1/diagnostics", headers=other_admin)).json()
    assert theirs["invalid_settings"] is None and broken.id not in json.dumps(theirs)

    listed = cli(storage, database, "site", "list")
    assert next(row for row in listed.stdout.splitlines() if row.startswith(broken.id + "\t")).split("\t")[5] == \
        "INVALID"
    shown = cli(storage, database, "site", "show", broken.id)
    assert "INVALID" in shown.stdout and "banned_words" in shown.stdout

    # correcting the setting clears the report; a change that leaves it invalid is refused
    r = await client.patch(f"{API}/sites/{broken.id}", json={"report_threshold": 2}, headers=operator)
    assert r.status_code == 422 and "banned_words" in r.json()["detail"]
    r = await client.patch(f"{API}/sites/{broken.id}", json={"moderation": {"banned_words": ["ok"]}}, headers=operator)
    assert r.status_code == 200, r.text
    d = (await client.get("/api/v1/diagnostics", headers=operator)).json()
    assert broken.id not in d["invalid_site_settings"]
