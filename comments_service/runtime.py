"""Process-level facts: the service's secret key, kept under the data directory when not configured."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .settings import Settings


def secret_key(settings: Settings) -> str:
    if settings.security.secret_key:
        return settings.security.secret_key
    path = Path(settings.database.data_dir) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # create exclusively so two processes starting at once agree on one key
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
