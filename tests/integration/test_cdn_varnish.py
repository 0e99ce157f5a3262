"""A real Varnish (Debian's, with deploy/varnish/default.vcl) on 127.0.0.1 in front of the app served
by uvicorn, the app's purge hook pointed at it: anonymous reads are cached (hits, with an Age), a
signed-in reader's never are, each origin gets its own CORS answer, and a new comment, a moderator's
removal and a new count show through the cache within a second (the purge's ban), not after
s-maxage (ten minutes here)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest

from comments_service.settings import REPO_ROOT
from tests.support.servers import free_port
from tests.support.sites import NEWS_ORIGIN, article_body, make_site
from tests.support.tokens import staff_token

API = "/api/v1"
VCL = REPO_ROOT / "deploy" / "varnish" / "default.vcl"
VARNISHD = shutil.which("varnishd") or next((p for p in ("/usr/sbin/varnishd",) if Path(p).exists()), None)
# the promise: a change shows through the cache within a second of its answer
VISIBLE_WITHIN_S = 1.0

pytestmark = pytest.mark.skipif(
    VARNISHD is None, reason="varnishd is not installed: `scripts/bootstrap dev` installs Debian's varnish as root "
                             "(apt-get install varnish); test_cdn.py checks the purge calls without it")


class Varnish:
    """varnishd in the foreground, on its own port and work directory, in front of ``backend_port``."""

    def __init__(self, port: int, backend_port: int) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="cdn-varnish-"))
        vcl = VCL.read_text().replace('.port = "8000";', f'.port = "{backend_port}";')
        assert f'"{backend_port}"' in vcl, "the backend's port line of default.vcl changed"
        (self.dir / "test.vcl").write_text(vcl)
        self.process: subprocess.Popen | None = None

    async def start(self) -> Varnish:
        # -j none: no privilege separation (the test user runs it, root or not); -T none: no admin CLI
        self.process = subprocess.Popen(
            [VARNISHD, "-F", "-j", "none", "-T", "none", "-n", str(self.dir / "n"), "-a", f"127.0.0.1:{self.port}",
             "-f", str(self.dir / "test.vcl"), "-s", "malloc,64m", "-p", "ban_lurker_sleep=0.01"],
            stdout=open(self.dir / "log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115 - closed with the process
        deadline = asyncio.get_running_loop().time() + 30
        while asyncio.get_running_loop().time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("varnishd stopped: " + (self.dir / "log").read_text())
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return self
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError("varnishd did not start listening: " + (self.dir / "log").read_text())

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
async def stack(serve):
    port = free_port()
    async with serve(COMMENTS_CDN_PURGE_URL=f"http://127.0.0.1:{port}/", COMMENTS_CDN_PURGE_METHOD="BAN",
                     COMMENTS_CDN_S_MAXAGE="600", COMMENTS_CDN_STALE_WHILE_REVALIDATE="30") as live:
        varnish = await Varnish(port, int(live.url.rsplit(":", 1)[1])).start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as cdn:
                yield live, cdn
        finally:
            varnish.stop()


@pytest.fixture
async def site(stack, db):
    live, _ = stack
    return await make_site(live.services, db)


async def page(cdn: httpx.AsyncClient, site, article: str, **headers: str) -> httpx.Response:
    r = await cdn.get(f"{API}/articles/{article}/comments", params=site.q(), headers=headers)
    assert r.status_code == 200, r.text
    return r


def bodies(r: httpx.Response) -> list[str]:
    return [c["body_html"] for c in r.json()["comments"]]


async def shows_within(read, check) -> bool:
    """Whether ``check(await read())`` held within VISIBLE_WITHIN_S (reads polled until then)."""
    deadline = asyncio.get_running_loop().time() + VISIBLE_WITHIN_S
    while True:
        if check(await read()):
            return True
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.02)


async def test_anonymous_reads_are_cache_hits(stack, site):
    _, cdn = stack
    first = await page(cdn, site, "v-1")
    second = await page(cdn, site, "v-1")
    assert first.headers["x-cache"] == "MISS"
    assert second.headers["x-cache"] == "HIT" and int(second.headers["age"]) >= 0
    assert second.content == first.content
    assert "surrogate-key" not in second.headers  # the keys stay with the cache


async def test_a_new_post_shows_through_the_cache_within_a_second(stack, site):
    _, cdn = stack
    await page(cdn, site, "v-2")
    assert (await page(cdn, site, "v-2")).headers["x-cache"] == "HIT"
    r = await cdn.post(f"{API}/articles/v-2/comments", params=site.q(), json=article_body("Through the cache"),
                       headers=site.auth(site.sso_token(sub="v-poster")))
    assert r.status_code == 201, r.text
    assert await shows_within(lambda: page(cdn, site, "v-2"), lambda p: bodies(p) == ["<p>Through the cache</p>"])
    # and it is cached again: the next reader is a hit
    assert (await page(cdn, site, "v-2")).headers["x-cache"] == "HIT"


async def test_a_moderators_removal_shows_through_the_cache_within_a_second(stack, db, site):
    _, cdn = stack
    r = await cdn.post(f"{API}/articles/v-3/comments", params=site.q(), json=article_body("Soon gone"),
                       headers=site.auth(site.sso_token(sub="v-removed")))
    assert r.status_code == 201, r.text
    comment_id = r.json()["comment"]["id"]
    assert await shows_within(lambda: page(cdn, site, "v-3"), lambda p: bodies(p) == ["<p>Soon gone</p>"])
    assert (await page(cdn, site, "v-3")).headers["x-cache"] == "HIT"
    mod = site.auth(await staff_token(db, "moderator", site.id))
    r = await cdn.post(f"{API}/moderation/comments/{comment_id}/decision", params=site.q(),
                       json={"action": "reject", "reason": "spam", "override": True}, headers=mod)
    assert r.status_code == 200, r.text
    assert await shows_within(lambda: page(cdn, site, "v-3"), lambda p: bodies(p) == [])


async def test_counts_are_cached_and_move_within_a_second(stack, site):
    _, cdn = stack

    async def counts() -> httpx.Response:
        r = await cdn.get(f"{API}/counts", params=site.q(article_ids="v-4\nv-5"))
        assert r.status_code == 200, r.text
        return r

    assert (await counts()).json()["counts"] == {"v-4": 0, "v-5": 0}
    assert (await counts()).headers["x-cache"] == "HIT"
    r = await cdn.post(f"{API}/articles/v-5/comments", params=site.q(), json=article_body("Counted"),
                       headers=site.auth(site.sso_token(sub="v-counted")))
    assert r.status_code == 201, r.text
    assert await shows_within(counts, lambda c: c.json()["counts"] == {"v-4": 0, "v-5": 1})


async def test_a_signed_in_readers_page_is_never_cached(stack, site):
    _, cdn = stack
    reader = site.auth(site.sso_token(sub="v-private"))
    await page(cdn, site, "v-6")  # the anonymous page, cached
    for _ in range(2):
        mine = await page(cdn, site, "v-6", **reader)
        assert mine.headers["x-cache"] == "MISS" and mine.headers["cache-control"] == "private, max-age=0"
    anonymous = await page(cdn, site, "v-6")
    assert anonymous.headers["x-cache"] == "HIT" and anonymous.headers["cache-control"].startswith("public")


async def test_each_origin_gets_its_own_cors_answer_from_the_cache(stack, site):
    _, cdn = stack
    for _ in range(2):  # the second round comes from the cache
        plain = await page(cdn, site, "v-7")
        assert "access-control-allow-origin" not in plain.headers
        for origin in (site.origin, NEWS_ORIGIN):
            r = await page(cdn, site, "v-7", Origin=origin)
            assert r.headers["access-control-allow-origin"] == origin
    assert r.headers["x-cache"] == "HIT"


async def test_varnish_refuses_a_ban_that_is_not_a_surrogate_key(stack):
    _, cdn = stack
    r = await cdn.request("BAN", "/", headers={"Surrogate-Key": ".*"})
    assert r.status_code == 400
