"""PRIVACY.md's inventory and the live schema (every migration applied) name the same personal
columns: a column whose name looks personal must have a row saying why it is kept, for how long, who
sees it and what an erasure does to it; a row for a column that no longer exists is stale."""

from __future__ import annotations

import re
from pathlib import Path

PRIVACY = Path(__file__).resolve().parents[2] / "PRIVACY.md"
# names that hold, or point at, something about a person: contact details, addresses, names, free
# text, ids of people (readers' user ids, staff ids: "*_by", actors, staff), event payloads
PERSONAL = re.compile(r"email|(^|_)ip($|_)|user_agent|name|note|body|external_id|author|description|explanation"
                      r"|recipient|payload|details|actor|staff|_by$|troubleshoot|user_id|reporter_id")
_ROW = re.compile(r"^\|\s*`([a-z_0-9]+)\.([a-z_0-9]+)`\s*\|")


def inventory() -> set[tuple[str, str]]:
    """The (table, column) of each row of PRIVACY.md's Inventory table."""
    section = PRIVACY.read_text().split("\n## Inventory\n", 1)[1].split("\n## ", 1)[0]
    rows = [_ROW.match(line) for line in section.splitlines() if line.startswith("| `")]
    assert all(rows), "each inventory row starts with one `table.column`"
    found = [(m.group(1), m.group(2)) for m in rows if m]
    assert len(found) == len(set(found)), "a column has two rows"
    return set(found)


async def test_every_personal_column_is_in_privacy_md_and_every_listed_one_exists(db) -> None:
    columns = {(r["table_name"], r["column_name"]) for r in await db.fetch(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'")}
    listed = inventory()
    personal = {c for c in columns if PERSONAL.search(c[1])}
    missing = sorted(f"{t}.{c}" for t, c in personal - listed)
    assert not missing, f"personal-looking columns PRIVACY.md does not list: {missing}"
    stale = sorted(f"{t}.{c}" for t, c in listed - columns)
    assert not stale, f"PRIVACY.md lists columns the schema does not have: {stale}"


def test_the_pattern_recognises_what_it_is_for() -> None:
    for name in ("email", "author_ip", "ip", "user_agent", "display_name", "note", "body_html", "external_id",
                 "author_id", "notifier_email", "decided_by", "reporter_id"):
        assert PERSONAL.search(name), name
    for name in ("id", "status", "created_at", "score", "ipsum_count", "zip_code", "shipping", "comment_id"):
        assert not PERSONAL.search(name), name
