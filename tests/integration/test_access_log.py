"""The access log of a real `comments-service serve`: one JSON line per request (method, route
template, status, duration, request id, site), and every 4xx at info with its error code beside
the request id the reader is shown as the "Reference", whichever layer refused the request."""

from __future__ import annotations

import json
import time

import httpx

from tests.support.servers import ServiceProcess
from tests.support.sites import make_site

THREAD_ROUTE = "/api/v1/articles/{article_id}/comments"


def access_lines(server: ServiceProcess) -> list[dict]:
    lines = []
    for line in server.logs().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger") == "comments_service.access":
                lines.append(entry)
    return lines


def line_for(server: ServiceProcess, request_id: str, timeout: float = 10.0) -> dict:
    """The access line of one request (written once its answer has gone out, so poll briefly)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [entry for entry in access_lines(server) if entry.get("request_id") == request_id]
        if found:
            assert len(found) == 1, found
            return found[0]
        assert time.monotonic() < deadline, f"no access line for {request_id}:\n{server.logs()[-3000:]}"
        time.sleep(0.1)


async def test_every_request_has_one_access_line_and_a_4xx_names_its_code(storage, services, db, tmp_path):
    site = await make_site(services, db)
    # two processes, as production runs them: uvicorn spawns each one fresh, and each must log
    with ServiceProcess(storage.env(COMMENTS_LOG_LEVEL="INFO"), args=["--workers", "2"],
                        log_path=tmp_path / "serve.log") as server, httpx.Client(base_url=server.url) as http:
        page = http.get("/api/v1/articles/access-art/comments", params=site.q(),
                        headers={"X-Request-Id": "reader-page-0001"})
        assert page.status_code == 200, page.text
        line = line_for(server, "reader-page-0001")
        assert line["level"] == "info"
        assert (line["method"], line["route"], line["status"], line["site"]) == ("GET", THREAD_ROUTE, 200, site.id)
        assert isinstance(line["ms"], int | float) and line["ms"] >= 0
        assert "code" not in line
        assert "access-art" not in json.dumps(line)  # the route template, never the raw path

        # refused by a handler: the reader sees a problem with a request id (the widget's "Reference")
        unknown = http.get("/api/v1/articles/access-art/comments", params={"site": "no-such-site"})
        assert unknown.status_code == 404
        reference = unknown.json()["request_id"]
        assert reference and unknown.json()["code"] == "unknown_site"
        line = line_for(server, reference)
        assert (line["level"], line["status"], line["code"], line["site"]) == ("info", 404, "unknown_site",
                                                                              "no-such-site")

        # refused by the edge before any handler runs
        twice = http.get(f"/api/v1/articles/access-art/comments?site={site.id}&site={site.id}")
        assert twice.status_code == 400
        line = line_for(server, twice.json()["request_id"])
        assert (line["status"], line["code"], line["route"]) == (400, "invalid_request", THREAD_ROUTE)

        # a path no route matches
        nowhere = http.get("/api/v1/nowhere")
        assert nowhere.status_code == 404
        line = line_for(server, nowhere.json()["request_id"])
        assert (line["route"], line["code"]) == ("unmatched", "not_found")
        assert nowhere.headers["x-request-id"] == nowhere.json()["request_id"]

        # a body the handler cannot read
        bad = http.post("/api/v1/articles/access-art/comments", params=site.q(), content=b"{not json",
                        headers={"Content-Type": "application/json"})
        assert bad.status_code == 400
        line = line_for(server, bad.json()["request_id"])
        assert (line["method"], line["code"]) == ("POST", "invalid_json")


async def test_errors_mode_logs_only_refusals_and_text_logs_say_it_all(storage, services, db, tmp_path):
    site = await make_site(services, db)
    env = storage.env(COMMENTS_LOG_LEVEL="INFO", COMMENTS_ACCESS_LOG="errors", COMMENTS_LOG_JSON="false")
    with ServiceProcess(env, log_path=tmp_path / "serve.log") as server, \
            httpx.Client(base_url=server.url) as http:
        assert http.get("/api/v1/articles/quiet/comments", params=site.q(),
                        headers={"X-Request-Id": "quiet-page-00001"}).status_code == 200
        refused = http.get("/api/v1/articles/quiet/comments", params={"site": "no-such-site"})
        assert refused.status_code == 404
        reference = refused.json()["request_id"]
        deadline = time.monotonic() + 10
        while reference not in server.logs():
            assert time.monotonic() < deadline, server.logs()[-3000:]
            time.sleep(0.1)
        line = next(x for x in server.logs().splitlines() if reference in x)
        assert line.startswith("INFO comments_service.access: GET " + THREAD_ROUTE + " 404 unknown_site ")
        assert "site=no-such-site" in line
        assert "quiet-page-00001" not in server.logs()  # answered 200: not logged in this mode


def test_a_site_parameter_that_cannot_be_a_site_id_never_splits_a_line(storage, database, tmp_path):
    """?site= is the caller's text: a line break or U+2028 in it must not start a log line of
    theirs, in the JSON log (viewers split on U+2028) or the text log."""
    forged = "x\n2026-12-06 INFO fake admin login\u2028{\"level\": \"info\"}"
    for json_log in ("true", "false"):
        with ServiceProcess(storage.env(COMMENTS_LOG_LEVEL="INFO", COMMENTS_LOG_JSON=json_log),
                            log_path=tmp_path / f"serve-{json_log}.log") as server, \
                httpx.Client(base_url=server.url) as http:
            r = http.get("/api/v1/articles/a/comments", params={"site": forged},
                         headers={"X-Request-Id": f"forged-site-{json_log}"})
            assert r.status_code in (400, 404), r.text
            deadline = time.monotonic() + 10
            while f"forged-site-{json_log}" not in server.logs():
                assert time.monotonic() < deadline, server.logs()[-2000:]
                time.sleep(0.1)
            logs = server.logs()
            assert "fake admin login" not in logs and "\u2028" not in logs, logs[-2000:]
            mine = [line for line in logs.splitlines() if f"forged-site-{json_log}" in line]
            assert mine and all("<invalid>" in line for line in mine), mine
