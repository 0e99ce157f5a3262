"""The floor under any ASGI framework: a bare ASGI callable that answers every GET with fixed bytes.

    BENCH_RAW_BODY=/tmp/page.json .venv/bin/python -m uvicorn bench.raw_asgi:app --loop uvloop --http httptools

The peer benchmark (bench/peers.py) fetches our service's thread page first and passes it here in a
file, so this app sends the same body as the API, as ``application/json``, under the same uvicorn
options; what our service measures below this is the cost of everything above the server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BODY = Path(os.environ["BENCH_RAW_BODY"]).read_bytes()
_START = {"type": "http.response.start", "status": 200,
          "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]}
_BODY = {"type": "http.response.body", "body": BODY, "more_body": False}
_NOT_ALLOWED = {"type": "http.response.start", "status": 405,
                "headers": [(b"allow", b"GET"), (b"content-length", b"0")]}
_EMPTY = {"type": "http.response.body", "body": b"", "more_body": False}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        if scope["method"] in ("GET", "HEAD"):
            await send(_START)
            await send(_BODY if scope["method"] == "GET" else _EMPTY)
        else:
            await send(_NOT_ALLOWED)
            await send(_EMPTY)
    elif scope["type"] == "lifespan":
        # uvicorn's lifespan "auto" probes for it; answering keeps its log quiet
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
