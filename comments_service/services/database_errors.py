"""What a failed database call means for the client: input of theirs that no column can hold (400),
a site deleted meanwhile (404), or the database being away (503, not 500). The API's error mapper
asks here rather than knowing the driver's exceptions."""

from __future__ import annotations

from typing import Literal

import asyncpg

from ..db.health import is_database_unavailable

DatabaseFailure = Literal["invalid_characters", "out_of_range", "site_deleted", "unavailable"]


def database_failure(exc: BaseException) -> DatabaseFailure | None:
    """None: not a failure of these kinds (a bug of ours, to log as one)."""
    if isinstance(exc, (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError)):
        # a NUL (or untranslatable) character in any text that reached a query
        return "invalid_characters"
    if isinstance(exc, asyncpg.DataError):  # SQLSTATE 22: input that fits no column (an id beyond int64)
        return "out_of_range"
    if isinstance(exc, asyncpg.ForeignKeyViolationError) and 'table "sites"' in (exc.detail or ""):
        # the site was deleted while this process still had it cached (SiteDirectory keeps a site
        # for seconds): the request names a site that no longer exists
        return "site_deleted"
    if is_database_unavailable(exc):
        return "unavailable"
    return None
