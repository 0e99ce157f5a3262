"""Process-level facts: the service's secret keys.

Every process of a deployment (each API replica, each scoring worker, each CLI command) must hold
the same ``COMMENTS_SECRET_KEY``: a key one process generated for itself would sign guest tokens
the others refuse and seal SSO secrets the others cannot open. So a process that reads the key
never makes one up: a missing key stops it with an error naming the variable. The one exception
is the embedded run (``comments-service run`` and the management commands on the embedded
PostgreSQL under ``.data/``): there one machine holds everything, and ``embedded_secret_key``
keeps a generated key beside the embedded database, which the CLI hands to its child processes
as ``COMMENTS_SECRET_KEY``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .identity import Keyring
from .settings import PREFIX, Settings, SettingsError

SECRET_KEY_VARIABLE = PREFIX + "SECRET_KEY"


class MissingSecretKey(SettingsError):
    """No COMMENTS_SECRET_KEY where one is required; the message says what to do."""

    def __init__(self) -> None:
        super().__init__(
            f"{SECRET_KEY_VARIABLE} is not set. Every process of a deployment (API, worker, CLI) must be "
            f"given the same key of at least 32 characters, e.g. from `python -c \"import secrets; "
            f"print(secrets.token_urlsafe(48))\"` kept in your secret store; a process never generates "
            f"one outside `comments-service run`.")


def secret_key(settings: Settings) -> str:
    """The configured key; MissingSecretKey when there is none."""
    if not settings.security.secret_key:
        raise MissingSecretKey()
    return settings.security.secret_key


def keyring(settings: Settings) -> Keyring:
    """The keyring of this process: the current key, and the previous one during a rotation."""
    previous = settings.security.secret_key_previous
    return Keyring(secret_key(settings), previous=(previous,) if previous else ())


def embedded_secret_key(data_dir: str | Path) -> str:
    """The embedded run's key, generated once and kept (mode 0600) in ``data_dir/secret_key``."""
    path = Path(data_dir) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    # written whole under a name of its own, then linked into place: two commands starting at once
    # agree on one key, and neither reads a file the other has created but not yet written
    staging = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(staging, path)
    except FileExistsError:
        pass
    finally:
        staging.unlink()
    return path.read_text().strip()
