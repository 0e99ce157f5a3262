"""The answer to a public read of a thread page or of counts, the same on both of the paths that
serve one (api/fast_reads.py in front of the framework, the route handlers in api/comments.py):
its headers, its entity tag and a 304 for a request that names it, and the body in the encoding the
request accepts where the body is a cached page's."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.types import Receive, Scope, Send

from ..http_encodings import EncodedBody

JSON = (b"content-type", b"application/json")


class Conditions:
    """What a request says about the answer it wants: the tags it holds, the encodings it takes."""

    __slots__ = ("if_none_match", "accept_encoding")

    def __init__(self, if_none_match: bytes | None, accept_encoding: bytes | None) -> None:
        self.if_none_match = if_none_match
        self.accept_encoding = accept_encoding

    @classmethod
    def of(cls, scope: Scope) -> Conditions:
        if_none_match = accept_encoding = None
        for key, value in scope["headers"]:
            if key == b"if-none-match":  # a list may come in several lines
                if_none_match = value if if_none_match is None else if_none_match + b", " + value
            elif key == b"accept-encoding":
                accept_encoding = value
        return cls(if_none_match, accept_encoding)


# a signed-in reader's page (their own comments awaiting review may be on it): no shared cache keeps it
PRIVATE_PAGE = [(b"cache-control", b"private, max-age=0"), (b"vary", b"Authorization, Accept-Encoding")]


def answer(body: EncodedBody, headers: list[tuple[bytes, bytes]], conditions: Conditions,
           compress: bool, content_type: tuple[bytes, bytes] = JSON) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, content) of a 200 or a 304. ``headers``: the answer's own (cache control,
    Vary); ``compress``: whether ``body`` is a cached one, whose encodings are made once."""
    coding = body.coding_for(conditions.accept_encoding) if compress else None
    etag = body.etag(coding)
    if conditions.if_none_match is not None:
        held = body.held_tag(conditions.if_none_match, etag)
        if held is not None:
            return 304, [*headers, (b"etag", held)], b""
    content = body.encoded(coding)
    length = body.length if coding is None else str(len(content)).encode()
    out = [content_type, (b"content-length", length), *headers, (b"etag", etag)]
    if coding is not None:
        out.append((b"content-encoding", coding.encode()))
    return 200, out, content


class SendBytes:
    """The smallest ASGI response: a start message and one body message."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


class PublicAnswer(Response):
    """A route handler's answer made by ``answer``, sent as it is (see api/comments.JSONBytes, whose
    shortcut it shares)."""

    __slots__ = ("_answer",)

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], content: bytes) -> None:
        self.content = content
        self.background = None
        self.cookies = []
        self.encoding = "utf-8"
        self.headers = {}
        self.media_type = "application/json"
        self.status_code = status
        self.response_type_encoders = {}
        self._answer = SendBytes(status, headers, content)

    def to_asgi_response(self, app: Any = None, request: Any = None, *, background: Any = None, cookies: Any = None,
                         headers: Any = None, status_code: int | None = None, **kwargs: Any) -> Any:
        if background or cookies or headers:
            self.headers = {name.decode(): value.decode() for name, value in self._answer.headers
                            if name not in (b"content-type", b"content-length")}
            return super().to_asgi_response(app, request, background=background, cookies=cookies, headers=headers,
                                            status_code=status_code, **kwargs)
        return self._answer
