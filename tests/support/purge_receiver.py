"""A CDN's purge endpoint for tests: a real HTTP/1.1 server on 127.0.0.1 that records every call."""

from __future__ import annotations

import asyncio

WAIT_S = 10.0  # how long a purge may take to arrive before the test fails (it comes in milliseconds)


class PurgeReceiver:
    """A real HTTP/1.1 server on 127.0.0.1 that records every request and answers ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[dict] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> PurgeReceiver:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                headers = {}
                while (header := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append({"method": method, "target": target, "headers": headers, "body": body})
                writer.write(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % self.status)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    def with_key(self, key: str) -> list[dict]:
        return [r for r in self.requests if key in r["headers"].get("surrogate-key", "").split()]

    async def wait_for(self, key: str, count: int = 1) -> list[dict]:
        """The requests that purged ``key``, once ``count`` of them came."""
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while len(found := self.with_key(key)) < count and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        return found
