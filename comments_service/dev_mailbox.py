"""The local run's mailbox: with no COMMENTS_SMTP_URL, `comments-service run` receives the
notifier's emails itself, on a loopback SMTP port (aiosmtpd), into a folder beside the embedded
database, and the demo server lists them at /dev/mail, so a newcomer can follow a reply email
end to end without a mail server. Never part of a configured deployment: the route exists only
in demo mode with COMMENTS_DEV_MAIL_DIR set, which only `run` sets."""

from __future__ import annotations

import email
import email.policy
import itertools
import socket
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

KEEP = 200  # the newest messages kept; older ones are removed as new ones come
MAX_MESSAGE_BYTES = 1024 * 1024


class _Handler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counter = itertools.count()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        if len(content) > MAX_MESSAGE_BYTES:
            return "552 message too large for the local mailbox"
        name = f"{time.time_ns():020d}-{next(self.counter):04d}.eml"
        (self.folder / (name + ".part")).write_bytes(content)
        (self.folder / (name + ".part")).rename(self.folder / name)
        for old in sorted(self.folder.glob("*.eml"))[:-KEEP]:
            old.unlink(missing_ok=True)
        return "250 OK"


class DevMailbox:
    """An SMTP server on 127.0.0.1 (a free port) that files every message in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self._controller: Controller | None = None

    def start(self) -> DevMailbox:
        self.folder.mkdir(parents=True, exist_ok=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(_Handler(self.folder), hostname="127.0.0.1", port=self.port,
                                      data_size_limit=MAX_MESSAGE_BYTES)
        self._controller.start()
        return self

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def messages(folder: Path, limit: int = 100) -> list[tuple[str, EmailMessage]]:
    """The newest messages first: (file name, message)."""
    found = sorted(folder.glob("*.eml"), reverse=True)[:limit] if folder.is_dir() else []
    return [(path.name, read(path)) for path in found]


def message(folder: Path, name: str) -> EmailMessage | None:
    """One message by its file name (a name of the folder's own form only: no path reaches out)."""
    if not name.endswith(".eml") or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = folder / name
    return read(path) if path.is_file() else None


def read(path: Path) -> EmailMessage:
    parsed: Any = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return parsed
