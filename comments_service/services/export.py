"""Export one site's (or one article's) comments to JSON, and restore them into an empty database.

The file holds the rows themselves (sites, users, articles, comments, votes) with their ids, so a
restore gives identical threads: same comment ids, parents, paths, statuses, timestamps, authors,
scores. The site's SSO secret stays encrypted with the service's secret key (COMMENTS_SECRET_KEY):
restore with the same key, or set the secret again with `comments-service site create`.

    comments-service export --site ID [--article ID] --out FILE
    comments-service import --in FILE

Not exported: moderation audit entries, reports, bans, scoring jobs, API tokens (operational state,
not threads).

A file to import is untrusted input: each comment's HTML is rendered again from its markdown by the
renderer the API uses (with the site's image setting); the file's ``body_html`` is never stored.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import asyncpg

from ..db import export as repo
from ..domain.render import render_markdown

FORMAT = "comments_service.export"
VERSION = 1


class ExportError(Exception):
    pass


async def export_scope(conn: asyncpg.Connection, site_id: str, article: str | None = None) -> dict:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        tables = {table: await repo.dump(conn, table, site_id, article) for table in repo.TABLES}
        version = await repo.schema_version(conn)
    if not tables["sites"]:
        raise ExportError(f"no site {site_id!r}")
    if article is not None and not tables["articles"]:
        raise ExportError(f"site {site_id!r} has no article {article!r}")
    return {"format": FORMAT, "version": VERSION, "schema_version": version,
            "exported_at": datetime.now(timezone.utc).isoformat(),
            "scope": {"site": site_id, "article": article},
            "counts": {t: len(rows) for t, rows in tables.items()}, "tables": tables}


async def import_data(conn: asyncpg.Connection, data: dict) -> dict[str, int]:
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise ExportError("not a comments_service export (format/version)")
    if await repo.schema_version(conn) < data.get("schema_version", 0):
        raise ExportError("the target database is older than the export: run `comments-service migrate` first")
    tables = data["tables"]
    _render_comments(tables)
    restored: dict[str, int] = {}
    async with conn.transaction():
        for table in repo.TABLES:
            rows = tables.get(table, [])
            ids = [r["id"] for r in rows] if table != "votes" else []
            if await repo.existing(conn, table, ids):
                raise ExportError(f"the target database already has some of these {table}; restore into an "
                                  "empty database")
            restored[table] = await repo.restore(conn, table, rows)
        await repo.advance_sequences(conn)
    return restored


def _render_comments(tables: dict) -> None:
    images = {site.get("id"): site.get("allow_images") is True for site in tables.get("sites", [])}
    site_of = {article.get("id"): article.get("site_id") for article in tables.get("articles", [])}
    for row in tables.get("comments", []):
        markdown = row.get("body_markdown")
        if not isinstance(markdown, str):
            raise ExportError(f"comment {row.get('id')!r} has no body_markdown text")
        row["body_html"] = render_markdown(markdown, allow_images=images.get(site_of.get(row.get("article_id")), False))


def write(data: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def read(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


# ---------------------------------------------------------------- CLI
def cmd_export(args) -> int:
    import asyncio
    import sys

    from ..cli import _require_db, _settings, on_database

    try:
        data = asyncio.run(on_database(_require_db(_settings()),
                                       lambda conn: export_scope(conn, args.site, args.article)))
    except ExportError as exc:
        print(f"comments-service: {exc}", file=sys.stderr)
        return 1
    write(data, args.out)
    counts = ", ".join(f"{n} {t}" for t, n in data["counts"].items())
    print(f"exported {counts} to {args.out}")
    return 0


def cmd_import(args) -> int:
    import asyncio
    import sys

    from ..cli import _migrate, _require_db, _settings, on_database

    settings = _settings()
    url = _require_db(settings)

    async def run() -> dict[str, int]:
        await _migrate(url, settings.database.migrations_dir)
        return await on_database(url, lambda conn: import_data(conn, read(args.infile)))

    try:
        restored = asyncio.run(run())
    except ExportError as exc:
        print(f"comments-service: {exc}", file=sys.stderr)
        return 1
    print("restored " + ", ".join(f"{n} {t}" for t, n in restored.items()))
    return 0


def register(sub) -> None:
    """Add `export` and `import` to the CLI's subcommands."""
    export = sub.add_parser("export", help="export a site's (or one article's) comments to JSON")
    export.add_argument("--site", required=True)
    export.add_argument("--article", help="only this article (its external id)")
    export.add_argument("--out", required=True, help="the JSON file to write")
    export.set_defaults(func=cmd_export)
    restore = sub.add_parser("import", help="restore an export into an empty (migrated) database")
    restore.add_argument("--in", dest="infile", required=True, help="the JSON file to read")
    restore.set_defaults(func=cmd_import)
