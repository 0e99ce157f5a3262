"""Stand-ins for the places `comments-service model fetch` downloads from, and a network guard.

* :class:`FileServer` serves a folder over HTTP on 127.0.0.1 (a thread in the test process) and
  records every path asked of it, so a test of ``model fetch`` runs without the internet.
* :func:`publish_like_upstream` lays a tiny detoxify checkpoint and its config dir out the way
  detoxify's GitHub releases and the Hugging Face hub serve the real ones, with the hub's
  config.json describing the base model (no toxicity labels) and no ``model_max_length``.
* :func:`network_guard` makes every Python process started with its environment (children
  included) refuse, and record, any attempt to resolve a host name or open a TCP/UDP connection
  other than to this machine's loopback address (where the test's PostgreSQL and Redis listen).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from pathlib import Path

# where publish_like_upstream puts the files, under the server's root
RELEASES_PREFIX = "releases"
HUB_PREFIX = "hub"


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        self.server.requested.append(self.path)  # type: ignore[attr-defined]


class FileServer:
    """``with FileServer(root) as server:`` serves ``root`` at ``server.url``; ``server.requested``
    lists the paths asked for (answered or not)."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_Handler, directory=str(root))
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.requested = []  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="file-server", daemon=True)

    @property
    def requested(self) -> list[str]:
        return list(self._httpd.requested)  # type: ignore[attr-defined]

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def publish_like_upstream(root: Path, checkpoint: Path, config_dir: Path, release_path: str, hub_repo: str) -> None:
    """Put ``checkpoint`` at ``root/releases/<release_path>`` and the config dir's files at
    ``root/hub/<hub_repo>/resolve/main/``, the hub's way: config.json without the checkpoint's
    labels (the base model has two) and tokenizer_config.json without model_max_length."""
    ckpt = root / RELEASES_PREFIX / release_path
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(checkpoint, ckpt)
    hub = root / HUB_PREFIX / hub_repo / "resolve" / "main"
    hub.mkdir(parents=True, exist_ok=True)
    for item in config_dir.iterdir():
        shutil.copyfile(item, hub / item.name)
    config = json.loads((hub / "config.json").read_text())
    for key in ("id2label", "label2id", "num_labels"):
        config.pop(key, None)
    (hub / "config.json").write_text(json.dumps(config))
    tok = json.loads((hub / "tokenizer_config.json").read_text())
    tok.pop("model_max_length", None)
    (hub / "tokenizer_config.json").write_text(json.dumps(tok))


_GUARD = '''
import os, socket, sys

_LOG = {log!r}
_LOCAL = ("127.0.0.1", "::1", "localhost")


def _outside(event, args):
    if event == "socket.getaddrinfo":
        return args[0] not in _LOCAL
    if event == "socket.connect":
        family = getattr(args[0], "family", None)
        return family != socket.AF_UNIX and not (isinstance(args[1], tuple) and args[1][0] in _LOCAL)
    return False


def _guard(event, args):
    if _outside(event, args):
        with open(_LOG, "a") as fh:
            fh.write(f"{{os.getpid()}} {{event}} {{args[1:] if event == 'socket.connect' else args[:2]}}\\n")
        raise OSError(f"network use refused by the test's guard: {{event}}")


sys.addaudithook(_guard)
'''


def network_guard(directory: Path, env: dict[str, str]) -> tuple[dict[str, str], Path]:
    """``env`` plus a sitecustomize that refuses network use in every Python process started
    with it; returns (the environment, the file listing each attempt). The Hugging Face
    libraries' own offline switches are turned off (also over an inherited environment): only the
    guard stops them."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "network-attempts.log"
    log.write_text("")
    (directory / "sitecustomize.py").write_text(_GUARD.format(log=str(log)))
    guarded = {**env, "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0"}
    guarded["PYTHONPATH"] = os.pathsep.join(p for p in (str(directory), env.get("PYTHONPATH", "")) if p)
    return guarded, log
