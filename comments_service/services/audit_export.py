"""The audit log as CSV: the columns, and cells made safe for spreadsheets.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before one) as a
formula; a note or a reader's name that a moderator exports must never run. Such a cell is
prefixed with an apostrophe, which spreadsheets show as text and do not display."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

COLUMNS = ("id", "created_at", "site_id", "actor_id", "actor_name", "action", "comment_id", "user_id",
           "user_name", "article_id", "before_status", "after_status", "reason", "note", "details")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = msgspec.json.encode(value).decode()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def row_cells(record: asyncpg.Record) -> list[str]:
    """One audit entry as CSV cells; the article is named by the site's own id of it."""
    values = dict(record.items())
    values["article_id"] = record["article_external_id"]
    return [cell(values[name]) for name in COLUMNS]


def lines(rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()
