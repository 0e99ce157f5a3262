"""B0, the limit: a minimal Litestar app on the same server returning the API's own bytes from memory.

The bench fetches a real thread page and a real counts answer from the API first and passes them
here in files (BENCH_B0_PAGE, BENCH_B0_COUNTS), so both apps send the same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar, Response, get, post
from litestar.params import FromPath

PAGE = Path(os.environ["BENCH_B0_PAGE"]).read_bytes()
COUNTS = Path(os.environ["BENCH_B0_COUNTS"]).read_bytes()


@get("/api/v1/articles/{article_id:str}/comments")
async def page(article_id: FromPath[str]) -> Response[bytes]:
    return Response(PAGE, media_type="application/json")


@post("/api/v1/counts", status_code=200)
async def counts() -> Response[bytes]:
    return Response(COUNTS, media_type="application/json")


@get("/api/v1/counts")
async def counts_get(article_ids: str) -> Response[bytes]:
    return Response(COUNTS, media_type="application/json")


app = Litestar([page, counts, counts_get], debug=False, logging_config=None, openapi_config=None)
