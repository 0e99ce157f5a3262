"""Bytes on the wire for one URL, as sent plain, gzip and brotli (each asked for by Accept-Encoding).

    .venv/bin/python -m bench.page_bytes 'http://127.0.0.1:8000/api/v1/articles/ID/comments?site=SITE'

The answer is read as it came (not decoded), so the figures are what a browser downloads; the
body's own size and the headers' size are shown beside them.
"""

from __future__ import annotations

import argparse
import http.client
import json
from urllib.parse import urlsplit


def sizes(url: str) -> dict[str, dict[str, int | str | None]]:
    parts = urlsplit(url)
    out: dict[str, dict[str, int | str | None]] = {}
    for name, accepted in (("plain", "identity"), ("gzip", "gzip"), ("br", "gzip, deflate, br, zstd")):
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
        try:
            conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""),
                         headers={"Accept-Encoding": accepted})
            response = conn.getresponse()
            body = response.read()  # http.client does not decode content encodings
            head = sum(len(k) + len(v) + 4 for k, v in response.getheaders()) + 17
            out[name] = {"status": response.status, "encoding": response.getheader("content-encoding"),
                         "body_bytes": len(body), "header_bytes": head}
        finally:
            conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.page_bytes", description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    print(json.dumps(sizes(parser.parse_args().url), indent=2))


if __name__ == "__main__":
    main()
