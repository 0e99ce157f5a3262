"""The demo is a demo: /demo and the / redirect exist only in demo mode (`run`, COMMENTS_DEMO=true);
a real server's / is a landing page. Swagger UI's files come from this origin, never a CDN. A
favicon. Without a model the demo site, and only it, is judged by the offline fallback and the word
lists, and its author is told what decided; every real site still holds everything (fail closed)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from comments_service.db.pool import connect
from tests.support.apps import other_app, scoring_app
from tests.support.scoring import wait_worker_ready
from tests.support.servers import ServiceProcess, process_env, run_cli
from tests.support.sites import article_body, make_site


class _Links(HTMLParser):
    """Every URL a page loads or links to: (tag, attribute value, attributes)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("src", "href"):
            if attributes.get(name):
                self.found.append((tag, attributes[name], attributes))


def links_of(page: str) -> list[tuple[str, str, dict]]:
    scan = _Links()
    scan.feed(page)
    return scan.found


# ---------------------------------------------------------------- landing page and demo mode
async def test_a_real_server_shows_a_landing_page_and_no_demo(client):
    page = await client.get("/", follow_redirects=False)
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    hrefs = {url for tag, url, _ in links_of(page.text) if tag == "a"}
    assert {"/health/ready", "/schema/swagger", "/moderation"} <= hrefs
    for path in ("/health/live", "/schema/swagger", "/moderation", "/landing.css", "/favicon.svg"):
        assert (await client.get(path)).status_code == 200, path
    for path in ("/demo", "/demo.css"):
        assert (await client.get(path)).status_code == 404, path


async def test_demo_mode_serves_the_demo_and_sends_the_root_there(storage, database):
    async with other_app(storage, COMMENTS_DEMO="true") as demo:
        root = await demo.get("/", follow_redirects=False)
        assert root.status_code == 302 and root.headers["location"] == "/demo"
        page = await demo.get("/demo")
        assert page.status_code == 200 and 'data-site="demo"' in page.text
        assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
        assert (await demo.get("/demo.css")).status_code == 200


# ---------------------------------------------------------------- the API console, offline
async def test_swagger_ui_loads_only_files_of_this_origin_with_pinned_digests(client):
    """No CDN at run time: a server without internet access shows its console too."""
    for path in ("/schema", "/schema/swagger"):
        page = await client.get(path)
        assert page.status_code == 200, path
        policy = page.headers["content-security-policy"]
        assert "https:" not in policy and "http:" not in policy, policy
        loaded = [(url, attributes) for tag, url, attributes in links_of(page.text) if tag in ("script", "link")]
        assert loaded, path
        for url, attributes in loaded:
            assert url.startswith("/") and not url.startswith("//"), (path, url)
            asset = await client.get(url)
            assert asset.status_code == 200, url
            if "integrity" in attributes:
                digest = "sha384-" + base64.b64encode(hashlib.sha384(asset.content).digest()).decode()
                assert attributes["integrity"] == digest, url
        pinned = [url for url, attributes in loaded if "integrity" in attributes]
        assert any(url.endswith("swagger-ui-bundle.js") for url in pinned), pinned
        assert any(url.endswith("swagger-ui.css") for url in pinned), pinned
    # only the pinned files are served from the package's folder
    bundle = next(url for _, url, _ in links_of((await client.get("/schema/swagger")).text)
                  if url.endswith("swagger-ui-bundle.js"))
    for name in ("index.html", "swagger-initializer.js", "..%2F..%2F__init__.py"):
        assert (await client.get(bundle.rsplit("/", 1)[0] + "/" + name)).status_code == 404, name


async def test_a_favicon_is_served_and_every_page_names_it(client, storage, database):
    ico = await client.get("/favicon.ico")
    assert ico.status_code == 200 and ico.headers["content-type"] == "image/x-icon"
    assert ico.content[:4] == b"\x00\x00\x01\x00"  # an icon file's header
    svg = await client.get("/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.content.lstrip().startswith(b"<svg")
    async with other_app(storage, COMMENTS_DEMO="true") as demo:
        pages = {path: (await client.get(path)).text for path in ("/", "/schema/swagger")}
        pages["/demo"] = (await demo.get("/demo")).text
    for path, text in pages.items():
        icons = [url for tag, url, attributes in links_of(text) if tag == "link" and attributes.get("rel") == "icon"]
        assert icons == ["/favicon.svg"], (path, icons)


# ---------------------------------------------------------------- scoring without a model
def test_the_demo_settings_are_valid_site_settings():
    from comments_service.demo.seed import demo_content
    from comments_service.services.sites import settings_problem

    settings = demo_content("http://127.0.0.1:8000").site_settings
    assert settings["moderation"]["fail_closed"] is False and settings["explain_decisions"] is True
    assert settings_problem(settings) is None


@pytest.fixture
def no_model_worker(storage, database, tmp_path):
    """A worker whose model cannot load: it scores with the offline fallback."""
    env = storage.env(COMMENTS_SCORING="on", COMMENTS_LOG_LEVEL="INFO", COMMENTS_SCORING_POLL_SECONDS="0.2",
                      COMMENTS_TOXICITY_CHECKPOINT=str(tmp_path / "no-such-model.ckpt"),
                      COMMENTS_TOXICITY_CONFIG_DIR=str(tmp_path / "no-such-config"),
                      COMMENTS_TOXICITY_MISSING_MODEL="fallback",
                      COMMENTS_DATABASE_POOL_MIN="1", COMMENTS_DATABASE_POOL_MAX="3",
                      HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    worker = ServiceProcess(env, "worker", ready=None, log_path=tmp_path / "worker.log").start()
    yield worker
    assert worker.stop() in (0, None), worker.logs()[-2000:]


async def test_without_a_model_the_demo_is_judged_by_the_fallback_and_real_sites_still_hold(
        storage, database, db, services, no_model_worker):
    run_cli(storage.env(), "demo")  # the demo site as `run` seeds it
    real = await make_site(services, db)
    await db.execute("DELETE FROM worker_status")  # workers an earlier test killed still count as live
    status = await wait_worker_ready(db, no_model_worker)
    assert status["is_fallback"] is True

    article = "scorer-" + secrets.token_hex(4)  # not the demo article, whose five comments other tests count
    demo_body = {"article_url": "http://127.0.0.1:8000/" + article, "article_title": "Scorer test"}
    async with scoring_app(storage, COMMENTS_DECISION_WAIT_MS="20000") as api:
        async def post_demo(text: str, name: str) -> dict:
            r = await api.post(f"/api/v1/articles/{article}/comments", params={"site": "demo"},
                               json={"body": text, "author_name": name, **demo_body})
            assert r.status_code == 201, r.text
            return r.json()

        # a newcomer's civil first comment is published, and they are told the fallback decided
        civil = await post_demo("Good reporting; I hope the Ishkashim market reopens on time.", "Newcomer")
        assert civil["status"] == "published", civil
        assert "offline fallback" in civil["judged_by"] and "no toxicity model" in civil["judged_by"]
        assert civil["judged_by"] in civil["message"]  # the widget shows the message
        # rudeness is held, for a reason its author can read
        rude = await post_demo("Shut up, you have no idea.", "Rude")
        assert rude["status"] == "held", rude
        assert "offline fallback" in rude["judged_by"] and "moderator will look" in rude["judged_by"]
        assert re.search(r"score|word", rude["judged_by"]), rude["judged_by"]
        # a banned phrase is still rejected outright
        abuse = await post_demo("kys", "Abuser")
        assert abuse["status"] == "rejected" and "banned word" in abuse["judged_by"]

        # a real site, same worker, same fallback: everything held for a moderator, nothing explained
        r = await api.post("/api/v1/articles/real-art/comments", params=real.q(),
                           json=article_body("Good reporting; I hope the market reopens on time."),
                           headers=real.auth(real.sso_token()))
        assert r.status_code == 201, r.text
        held = r.json()
        assert held["status"] == "held" and held["judged_by"] is None and "fallback" not in held["message"]
    reason = await db.fetchval("SELECT status_reason FROM comments WHERE id = $1", held["comment"]["id"])
    assert reason == "model_unavailable"


async def test_seeding_the_demo_leaves_a_real_site_called_demo_alone(storage):
    """A newsroom's own site with the demo's id: `comments-service demo` (and `run`) must not
    replace its origins, open it to guests or drop its word lists."""
    name = storage.database + "_demo_id"
    url = await storage.create_database(name)
    try:
        env = storage.env(COMMENTS_DATABASE_URL=url)
        run_cli(env, "migrate")
        conn = await connect(url)
        try:
            await conn.execute(
                "INSERT INTO sites (id, name, allowed_origins, guest_commenting, settings) VALUES "
                "('demo', 'The Demo Gazette', ARRAY['https://gazette.example'], false, $1::jsonb)",
                '{"moderation": {"banned_words": ["rotten"]}}')
            before = dict(await conn.fetchrow("SELECT * FROM sites WHERE id = 'demo'"))
            seeded = subprocess.run([sys.executable, "-m", "comments_service.cli", "demo"], env=process_env(env),
                                    capture_output=True, text=True, timeout=120)
            assert seeded.returncode == 1 and "is not the demo" in seeded.stderr, seeded.stderr
            assert dict(await conn.fetchrow("SELECT * FROM sites WHERE id = 'demo'")) == before
            assert await conn.fetchval("SELECT count(*) FROM articles WHERE site_id = 'demo'") == 0
        finally:
            await conn.close()
    finally:
        await storage.drop_database(name)
