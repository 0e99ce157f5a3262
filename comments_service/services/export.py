"""Export one site's (or one article's) comments to JSON, and restore them into an empty database.

The file holds the rows themselves (sites, users, articles, comments, votes) with their ids, so a
restore gives identical threads: same comment ids, parents, paths, statuses, timestamps, authors,
scores. The site's SSO secret stays encrypted with the service's secret key (COMMENTS_SECRET_KEY):
restore with the same key, or set the secret again with `comments-service site update ID --sso-secret-stdin`.

    comments-service export --site ID [--article ID] --out FILE
    comments-service import --in FILE

Not exported: moderation audit entries, reports, bans, scoring jobs, API tokens (operational state,
not threads).

A file to import is untrusted input, checked by the rules that apply when the same things are
written through the API or the CLI, and refused whole, naming the row, when one row breaks them:
origins are normalised, site settings follow the rules of `site update` and the admin API (no
unknown key), names and titles hold no control characters, article urls are on their site's origins,
comment statuses are the known ones, and every reference (a comment's article, author and parent,
a vote's comment and voter) stays inside the file and its site, so an import never touches rows
already there. Users come back as readers: a role is the SSO token's to give at the next post, as
the site's settings allow. Each comment's HTML is rendered again from its markdown by the renderer
the API uses (with the site's image setting); the file's ``body_html`` is never stored.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from ..cache import Cache
from ..db import export as repo
from ..db.connection import Connection
from ..domain import article_ids
from ..domain.labels import label_is_clean
from ..domain.render import render_markdown
from ..domain.structs import Struct
from ..identity import Keyring
from .cdn_purge import Cdn
from .sites import normalise_origin, page_url, settings_problem

FORMAT = "comments_service.export"
VERSION = 1
log = logging.getLogger(__name__)
# The file's JSON as read: untrusted until _check has gone through every row.
Row = dict[str, Any]
Seen = dict[str, dict[Any, Row]]  # per table, the rows checked so far by id


class ExportError(Exception):
    pass


class Exporter:
    """Writes one site's (or one article's) rows into an export; needs no secret key, since the
    SSO secret leaves encrypted."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def export(self, site_id: str, external_id: str | None = None) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            return await export_scope(conn, site_id, external_id)


class Restored(Struct, frozen=True):
    counts: dict[str, int]  # rows restored per table
    cache_retired: bool  # False: Redis was not reached (or none is configured)


class Restorer:
    """Restores an export into an empty database. ``keyring``: this service's, which must open the
    sites' encrypted SSO secrets. ``cache`` and ``cdn``: what they hold was read from the data the
    restore replaced (a restore after a lost database, with Redis and the CDN still serving what
    was newer than the export): once the restore committed, every cached page is retired and each
    restored site is purged from the CDN."""

    def __init__(self, pool: asyncpg.Pool, keyring: Keyring, cache: Cache | None = None,
                 cdn: Cdn | None = None) -> None:
        self.pool = pool
        self.keyring = keyring
        self.cache = cache
        self.cdn = cdn

    async def restore(self, data: Any) -> Restored:
        """What was restored; ExportError, with nothing restored, when the file or the database does
        not allow it."""
        async with self.pool.acquire() as conn:
            counts = await import_data(conn, data, self.keyring)
        # the restore has committed: from here nothing may make it look failed (run again, it would
        # be refused as a restore into a database that is not empty)
        retired = False
        try:
            # Redis first: a CDN that refetched a page before the bump would keep the old one again
            retired = self.cache is not None and await self.cache.retire_all("after a restore")
        except Exception:
            log.exception("restore: the cached pages could not be retired")
        if self.cdn is not None:
            for site in data["tables"].get("sites", []):
                self.cdn.purge_site(site["id"])
        return Restored(counts=counts, cache_retired=retired)


async def export_scope(conn: Connection, site_id: str, external_id: str | None = None) -> dict[str, Any]:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        tables = {table: await repo.dump(conn, table, site_id, external_id) for table in repo.TABLES}
        version = await repo.schema_version(conn)
    if not tables["sites"]:
        raise ExportError(f"no site {site_id!r}")
    if external_id is not None and not tables["articles"]:
        raise ExportError(f"site {site_id!r} has no article {external_id!r}")
    return {"format": FORMAT, "version": VERSION, "schema_version": version,
            "exported_at": datetime.now(UTC).isoformat(),
            "scope": {"site": site_id, "article": external_id},
            "counts": {t: len(rows) for t, rows in tables.items()}, "tables": tables}


async def import_data(conn: Connection, data: Any, keyring: Keyring) -> dict[str, int]:
    """Restore ``data`` into an empty database, all or nothing. ``keyring``: this service's, which
    must open the sites' encrypted SSO secrets."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise ExportError("not a comments_service export (format/version)")
    schema_version = data.get("schema_version", 0)
    if not isinstance(schema_version, int) or await repo.schema_version(conn) < schema_version:
        raise ExportError("the target database is older than the export: run `comments-service migrate` first")
    tables: Any = data.get("tables")
    _check(tables, keyring)
    _render_comments(tables)
    restored: dict[str, int] = {}
    table = ""
    try:
        async with conn.transaction():
            for table in repo.TABLES:
                rows = tables.get(table, [])
                ids = [r["id"] for r in rows] if table != "votes" else []
                if await repo.existing(conn, table, ids):
                    raise ExportError(f"the target database already has some of these {table}; restore into an "
                                      "empty database")
                restored[table] = await repo.restore(conn, table, rows)
            await repo.advance_sequences(conn)
    except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
        raise ExportError(f"the file's {table} do not fit the database ({exc}); nothing was restored") from None
    return restored


# ---------------------------------------------------------------- what a file may hold
_STATUSES = frozenset(("pending_scoring", "published", "held", "rejected", "deleted"))
# a user's external id (an SSO subject or a guest's id); article ids follow domain.article_ids
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Refused(Exception):
    pass


def _check(tables: Any, keyring: Keyring) -> None:
    """Refuses the file (ExportError naming the row) unless every row is one the service could have
    written; normalises origins, sets each comment's site from its article, and makes users readers."""
    if not isinstance(tables, dict) or not all(isinstance(tables.get(t, []), list) for t in repo.TABLES):
        raise ExportError("the file's tables are not lists of rows")
    checks = {"sites": lambda row, seen: _site(row, seen, keyring), "users": _user, "articles": _article,
              "comments": _comment, "votes": _vote}
    seen: Seen = {t: {} for t in repo.TABLES}
    for table in repo.TABLES:
        for row in tables.get(table, []):
            name = row.get("id") if isinstance(row, dict) else None
            if table == "votes" and isinstance(row, dict):
                name = (row.get("comment_id"), row.get("user_id"))
            try:
                if not isinstance(row, dict):
                    raise _Refused("not an object")
                checks[table](row, seen)
            except _Refused as exc:
                raise ExportError(f"{table} row {name!r}: {exc}") from None
            seen[table][name] = row


def _id(row: Row, key: str, among: dict[Any, Row] | None = None) -> int:
    value = row.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _Refused(f"{key} is not a positive integer")
    if among is not None and value not in among:
        raise _Refused(f"{key} {value} is not a row of this file (listed before it)")
    return value


def _label(row: Row, key: str) -> None:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip() or not label_is_clean(value):
        raise _Refused(f"{key} is empty or holds control or text-direction characters")


def _flags(row: Row, *keys: str) -> None:
    for key in keys:
        if key in row and not isinstance(row[key], bool):
            raise _Refused(f"{key} is not true or false")


def _site(row: Row, seen: Seen, keyring: Keyring) -> None:
    if not isinstance(row.get("id"), str) or row["id"] in seen["sites"]:
        raise _Refused("id is not a text or is listed twice")
    _label(row, "name")
    origins = row.get("allowed_origins")
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise _Refused("allowed_origins is not a list of origins")
    try:
        row["allowed_origins"] = list(dict.fromkeys(normalise_origin(o) for o in origins))
    except ValueError as exc:
        raise _Refused(f"allowed_origins: {exc}") from None
    _flags(row, "guest_commenting", "allow_images")
    _site_settings(row.get("settings", {}))
    secret = row.get("sso_secret_enc")
    if secret is not None:
        # a secret sealed under another COMMENTS_SECRET_KEY would fail every signed-in request later
        try:
            keyring.decrypt(bytes.fromhex(secret.removeprefix("\\x")))
        except (AttributeError, ValueError):  # identity.SecretSealedElsewhere is a ValueError
            raise _Refused("sso_secret_enc does not open with this service's COMMENTS_SECRET_KEY (export and "
                           "import with the same key, or set the site's secret again after the import)") from None


def _site_settings(settings: Any) -> None:
    # sites.settings_problem, the rules of the CLI and the admin API, so that an imported site is never
    # listed INVALID. An export may hold a key that nothing reads (a typo stored before settings were
    # checked; every key this service writes is still a setting): it is refused by name, not dropped,
    # since dropping it would change the site without a word, and one command corrects the site.
    if not isinstance(settings, dict):
        raise _Refused("settings is not an object")
    problem = settings_problem(settings)
    if problem is not None:
        raise _Refused(f"settings: {problem} (correct it in the file, or on the exporting service with "
                       "`comments-service site update ID --settings JSON`, where null removes a key, and export "
                       "again)")


def _user(row: Row, seen: Seen) -> None:
    _id(row, "id")
    if row.get("site_id") not in seen["sites"]:
        raise _Refused("site_id is not a site of this file")
    if row.get("kind") not in ("sso", "guest"):
        raise _Refused("kind is neither sso nor guest")
    if not isinstance(row.get("external_id"), str) or _CONTROL.search(row["external_id"]):
        raise _Refused("external_id is not a text without control characters")
    _label(row, "display_name")
    _flags(row, "trusted", "premoderate")
    row["role"] = "reader"


def _article(row: Row, seen: Seen) -> None:
    _id(row, "id")
    site = seen["sites"].get(row.get("site_id"))
    if site is None:
        raise _Refused("site_id is not a site of this file")
    external = row.get("external_id")
    if not isinstance(external, str) or not article_ids.is_valid(external):
        raise _Refused(f"external_id is empty, longer than {article_ids.MAX_LENGTH} characters or holds control "
                       "characters")
    _label(row, "title")
    url = row.get("url")
    if not isinstance(url, str):
        raise _Refused("url is not an http(s) URL")
    try:
        row["url"] = page_url(url, site["allowed_origins"])
    except ValueError as exc:
        raise _Refused(f"url {exc}") from None
    _flags(row, "comments_open", "premoderation", "auto_close")


def _comment(row: Row, seen: Seen) -> None:
    if not isinstance(row.get("body_markdown"), str):
        raise _Refused("it has no body_markdown text")
    comment_id = _id(row, "id")
    article = seen["articles"][_id(row, "article_id", seen["articles"])]
    if seen["users"][_id(row, "author_id", seen["users"])]["site_id"] != article["site_id"]:
        raise _Refused("author_id is a user of another site")
    if row.get("status") not in _STATUSES:
        raise _Refused(f"status is not one of {', '.join(sorted(_STATUSES))}")
    path = [comment_id]
    if row.get("parent_id") is not None:
        parent = seen["comments"][_id(row, "parent_id", seen["comments"])]
        if parent["article_id"] != row["article_id"]:
            raise _Refused("parent_id is a comment of another article")
        path = parent["path"] + path
    if row.get("path") != path or row.get("root_id") != path[0] or row.get("depth") != len(path) - 1:
        raise _Refused("path, root_id and depth do not follow from parent_id")
    row["site_id"] = article["site_id"]


def _vote(row: Row, seen: Seen) -> None:
    comment = seen["comments"][_id(row, "comment_id", seen["comments"])]
    voter = seen["users"][_id(row, "user_id", seen["users"])]
    if voter["site_id"] != seen["articles"][comment["article_id"]]["site_id"]:
        raise _Refused("user_id is a user of another site")
    if row.get("value") not in (-1, 1) or isinstance(row.get("value"), bool):
        raise _Refused("value is neither 1 nor -1")


def _render_comments(tables: dict[str, list[Row]]) -> None:
    images = {site.get("id"): site.get("allow_images") is True for site in tables.get("sites", [])}
    site_of = {article.get("id"): article.get("site_id") for article in tables.get("articles", [])}
    for row in tables.get("comments", []):
        row["body_html"] = render_markdown(row["body_markdown"],
                                           allow_images=images.get(site_of.get(row.get("article_id")), False))


def write(data: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def read(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ExportError(f"cannot read {path}: {exc}") from None
