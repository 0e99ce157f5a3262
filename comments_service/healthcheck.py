"""The container image's HEALTHCHECK, for both of its roles: exit 0 when this container's process
answers ``/health/live``, else 1. An API container answers on ``COMMENTS_PORT`` (at
``COMMENTS_HOST``), a scoring worker's on ``COMMENTS_WORKER_PORT`` (at ``COMMENTS_WORKER_HOST``);
in a given container only one of them listens, so the first that answers decides.

It runs every few seconds and must start fast: it reads the settings as the service does (one
place for their names and defaults: settings.py imports little beyond msgspec) and asks over the
standard library's HTTP client, never importing the app, its drivers or the model.

    python -m comments_service.healthcheck
"""

from __future__ import annotations

import ipaddress
import sys
import urllib.request

from .settings import Settings, SettingsError

TIMEOUT_SECONDS = 2.0


def _url(host: str, port: int) -> str:
    """Where a listener bound to ``host`` answers this machine: any-address binds on loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:  # a name, such as localhost
        pass
    return f"http://{host}:{port}/health/live"


def alive(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:
            return bool(answer.status == 200)
    except (OSError, ValueError):  # refused, timed out, an error status, a malformed address
        return False


def main() -> int:
    try:
        server = Settings.from_env().server
    except SettingsError as exc:  # the process would not have started with these either
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1
    urls = [_url(server.host, server.port)]
    if server.worker_port is not None:
        urls.append(_url(server.worker_host, server.worker_port))
    return 0 if any(alive(url) for url in urls) else 1


if __name__ == "__main__":
    sys.exit(main())
