"""What the service's HTTP protocol (``server.BoundedHttpProtocol``: header and body deadlines, header
cap) costs per request beside uvicorn's own ``HttpToolsProtocol``: typical keep-alive GET requests
(a browser's dozen headers) fed straight into one protocol instance on uvloop, with a transport that
only counts what is written and an ASGI app that answers at once. No socket, no app, no load generator:
only the parser callbacks, the timers and the bookkeeping each protocol does per request.

    .venv/bin/python -m bench.protocol_cost            # µs per request, median of 7 rounds each

The two protocols alternate round by round, so that the machine's noise falls on both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import uvloop
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from comments_service.server import BoundedHttpProtocol

REQUEST = (
    b"GET /api/v1/articles/2024-03-hello-world/comments?site=s_4f3a9c HTTP/1.1\r\n"
    b"Host: comments.example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    b"Accept: application/json\r\n"
    b"Accept-Language: en-GB,en;q=0.7\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Referer: https://blog.example.com/2024/03/hello-world\r\n"
    b"Origin: https://blog.example.com\r\n"
    b"Connection: keep-alive\r\n"
    b"Sec-Fetch-Dest: empty\r\n"
    b"Sec-Fetch-Mode: cors\r\n"
    b"Sec-Fetch-Site: same-site\r\n"
    b"Cookie: cs_reader=r_8d2f0a1b9c; cs_seen=1\r\n"
    b"\r\n"
)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})


class CountingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.responses = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        self.responses += data.startswith(b"HTTP/1.1 200 ")

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def one_round(protocol_class: type[HttpToolsProtocol], config: Config, requests: int) -> float:
    """µs per request over ``requests`` keep-alive requests on one connection."""
    transport = CountingTransport()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    protocol.connection_made(transport)
    start = time.perf_counter()
    for _ in range(requests):
        protocol.data_received(REQUEST)
        await asyncio.sleep(0)  # the app's task answers (it never waits)
    elapsed = time.perf_counter() - start
    if transport.responses != requests or transport.closing:
        raise SystemExit(f"{protocol_class.__name__}: {transport.responses} answers to {requests} requests")
    protocol.connection_lost(None)
    return elapsed / requests * 1e6


async def measure(protocols: dict[str, type[HttpToolsProtocol]], rounds: int,
                  requests: int) -> dict[str, list[float]]:
    config = Config(app, lifespan="off", log_config=None, access_log=False)
    config.load()
    times: dict[str, list[float]] = {name: [] for name in protocols}
    for protocol_class in protocols.values():  # warm
        await one_round(protocol_class, config, requests // 10)
    for _ in range(rounds):
        for name, protocol_class in protocols.items():
            times[name].append(await one_round(protocol_class, config, requests))
    return times


def main(protocols: dict[str, type[HttpToolsProtocol]] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=20_000, help="per round and protocol")
    args = parser.parse_args()
    protocols = protocols or {"HttpToolsProtocol": HttpToolsProtocol, "BoundedHttpProtocol": BoundedHttpProtocol}
    times = uvloop.run(measure(protocols, args.rounds, args.requests))
    plain = statistics.median(times["HttpToolsProtocol"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<22} {median:6.2f} µs/request, median of {args.rounds} rounds ({median - plain:+.2f});"
              f" fastest round {min(values):.2f}")


if __name__ == "__main__":
    main()
