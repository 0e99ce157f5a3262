"""The scoring worker's own port (``COMMENTS_WORKER_PORT``): liveness, readiness and metrics for
an orchestrator and a scraper, the image's HEALTHCHECK for both roles, and readiness telling "no
worker has been seen" apart from "the model is on its fallback"."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sys

import httpx
import pytest

from comments_service.db.pool import create_pool
from comments_service.services.health import HealthMonitor, WorkerModel
from comments_service.services.scoring import ScoringService
from comments_service.wiring import redis_client
from tests.support.apps import scoring_app
from tests.support.paths import REPO
from tests.support.scoring import wait_decided
from tests.support.seeding import clear_worker_status, seed_worker_status
from tests.support.servers import ServiceProcess, free_port
from tests.support.sites import article_body, make_site

HEALTH_JSON = "application/health+json"
METRICS_TOKEN = "worker-scrape-token-0123"


def healthcheck_argv() -> list[str]:
    """The Dockerfile's HEALTHCHECK command (exec form), run by this interpreter."""
    text = (REPO / "Dockerfile").read_text()
    found = re.search(r"^HEALTHCHECK [^\n]*\\\n\s*CMD (\[.*\])$", text, re.MULTILINE)
    assert found, "the Dockerfile has no HEALTHCHECK in exec form"
    argv = json.loads(found.group(1))
    assert argv[0] == "python"
    return [sys.executable, *argv[1:]]


async def healthcheck(api_port: int, worker_port: int, **env: str) -> int:
    """The exit status of the image's health check in a container whose ports are these."""
    process = await asyncio.create_subprocess_exec(
        *healthcheck_argv(), cwd=REPO, env={"PATH": "/usr/bin:/bin", "COMMENTS_PORT": str(api_port),
                                            "COMMENTS_WORKER_PORT": str(worker_port), **env})
    return await asyncio.wait_for(process.wait(), 30)


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def outward_address() -> str | None:
    """An address of this machine that is not loopback (the one its default route leaves from);
    None when it has none. A UDP socket's connect sends nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.123", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def fallback_worker(storage, tmp_path, port: int, token: str | None = METRICS_TOKEN, **env) -> ServiceProcess:
    """A worker whose model file is missing: it scores with the offline fallback, at once."""
    if token is not None:
        env["COMMENTS_METRICS_TOKEN"] = token
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           **storage.env(COMMENTS_SCORING="on", COMMENTS_LOG_LEVEL="INFO", COMMENTS_WORKER_PORT=str(port), **env,
                         COMMENTS_TOXICITY_CHECKPOINT=str(tmp_path / "missing" / "detoxify.ckpt"),
                         COMMENTS_TOXICITY_CONFIG_DIR=str(tmp_path), COMMENTS_TOXICITY_MISSING_MODEL="fallback",
                         COMMENTS_SCORING_MODEL_RETRY_SECONDS="600",
                         COMMENTS_DATABASE_POOL_MIN="1", COMMENTS_DATABASE_POOL_MAX="3")}
    return ServiceProcess(env, "worker", port=port, ready="/health/live", log_path=tmp_path / "worker.log")


async def loaded_readiness(http: httpx.AsyncClient, timeout: float = 60.0) -> httpx.Response:
    """/health/ready once the model's first load has ended (503 "loading" until then)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        ready = await http.get("/health/ready")
        if ready.json()["checks"]["toxicity:model"][0]["status"] != "fail":
            return ready
        assert ready.status_code == 503 and "loading" in ready.text, ready.text
        assert loop.time() < deadline, ready.text
        await asyncio.sleep(0.2)


async def test_worker_port_answers_probes_and_metrics_and_closes_on_shutdown(storage, services, db, tmp_path):
    site = await make_site(services, db)
    await clear_worker_status(db)
    port = free_port()
    worker = fallback_worker(storage, tmp_path, port)
    with worker:
        async with httpx.AsyncClient(base_url=worker.url, timeout=10) as http:
            live = await http.get("/health/live")
            assert live.status_code == 200 and live.json() == {"status": "pass"}
            assert live.headers["content-type"].startswith(HEALTH_JSON)
            assert (await http.head("/health/live")).status_code == 200

            ready = await loaded_readiness(http)
            assert ready.status_code == 200 and ready.headers["content-type"].startswith(HEALTH_JSON)
            body = ready.json()
            assert body["status"] == "warn"
            assert body["checks"]["postgres:responseTime"][0]["status"] == "pass"
            model = body["checks"]["toxicity:model"][0]
            assert model["status"] == "warn" and "fallback" in model["output"]
            assert "missing" not in ready.text and str(tmp_path) not in ready.text  # the reason is the admins'

            assert (await http.get("/metrics")).status_code == 401
            scrape = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            assert scrape.status_code == 200, scrape.text
            assert re.search(r"^comments_worker_model_fallback 1\.0$", scrape.text, re.MULTILINE), scrape.text

            # a comment scored by this worker shows in its own metrics
            async with scoring_app(storage, COMMENTS_DECISION_WAIT_MS="0") as api:
                posted = await api.post("/api/v1/articles/probes/comments", params=site.q(),
                                        json=article_body("A comment for the worker's metrics."),
                                        headers=site.auth(site.sso_token()))
                assert posted.status_code == 201, posted.text
            await wait_decided(db, [posted.json()["comment"]["id"]])
            scrape = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            assert re.search(r'^comments_decisions_total\{outcome="held",reason="model_unavailable"\} 1\.0$',
                             scrape.text, re.MULTILINE), scrape.text
            assert re.search(r"^comments_scoring_batch_size_count 1\.0$", scrape.text, re.MULTILINE), scrape.text

            nowhere = await http.get("/api/v1/comments")
            assert nowhere.status_code == 404 and nowhere.json()["code"] == "not_found"
            assert (await http.post("/health/live")).status_code == 405

        # the image's HEALTHCHECK, in a worker's container (nothing on the API's port)
        assert await healthcheck(free_port(), port) == 0
    assert worker.returncode == 0, worker.logs()[-3000:]
    assert refused(port)
    assert await healthcheck(free_port(), port) == 1


async def test_without_a_token_the_worker_port_serves_metrics_to_this_machine_only(storage, db, tmp_path):
    """The image binds the worker's port to every address: with no token set, /metrics answers as
    the API's public port does, loopback peers that no proxy forwarded, and the unknown route's 404
    to everyone else. The probes answer everyone."""
    outward = outward_address()
    if outward is None:
        pytest.skip("this machine has no address but loopback to connect from")
    port = free_port()
    with fallback_worker(storage, tmp_path, port, token=None, COMMENTS_WORKER_HOST="0.0.0.0") as worker:
        async with httpx.AsyncClient(base_url=worker.url, timeout=10) as local:
            scrape = await local.get("/metrics")
            assert scrape.status_code == 200 and "comments_worker_model_fallback" in scrape.text, scrape.text
            unknown = await local.get("/no-such-route")
            for header in ({"X-Forwarded-For": "203.0.113.9"}, {"X-Real-IP": "203.0.113.9"},
                           {"Forwarded": "for=203.0.113.9"}):
                refused_scrape = await local.get("/metrics", headers=header)
                assert refused_scrape.status_code == 404, header
                assert refused_scrape.json()["code"] == unknown.json()["code"] == "not_found"
                assert "comments_" not in refused_scrape.text
        async with httpx.AsyncClient(base_url=f"http://{outward}:{port}", timeout=10) as remote:
            assert (await remote.get("/health/live")).status_code == 200
            scrape = await remote.get("/metrics")
            assert scrape.status_code == 404 and scrape.json()["code"] == "not_found", scrape.text
            assert "comments_" not in scrape.text
            # the app's problem body: the request id its header carries
            assert scrape.json()["request_id"] == scrape.headers["x-request-id"]
    assert worker.returncode == 0, worker.logs()[-3000:]


async def test_image_healthcheck_asks_the_worker_where_it_listens(storage, db, tmp_path):
    """A worker bound to one address of the machine (not loopback) answers there only."""
    outward = outward_address()
    if outward is None:
        pytest.skip("this machine has no address but loopback to bind to")
    port = free_port()
    worker = fallback_worker(storage, tmp_path, port, COMMENTS_WORKER_HOST=outward)
    worker.url = f"http://{outward}:{port}"  # where its start is awaited
    with worker:
        assert refused(port)  # nothing on loopback
        assert await healthcheck(free_port(), port, COMMENTS_WORKER_HOST=outward) == 0
        assert await healthcheck(free_port(), port) == 1  # the default host: loopback
    assert worker.returncode == 0, worker.logs()[-3000:]


async def test_image_healthcheck_probes_an_api_container(serve):
    async with serve() as live:
        api_port = int(live.url.rsplit(":", 1)[1])
        assert await healthcheck(api_port, free_port()) == 0


async def test_api_readiness_tells_no_worker_from_a_fallback_model(storage, db):
    async with scoring_app(storage) as api:
        await clear_worker_status(db)
        none = await api.get("/health/ready")
        assert none.status_code == 200
        body = none.json()
        assert body["status"] == "warn"
        workers = body["checks"]["scoring:workers"][0]
        assert workers["status"] == "warn" and workers["observedValue"] == 0
        assert "No scoring worker" in workers["output"]
        assert "toxicity:model" not in body["checks"]  # nothing is known of the model

        await seed_worker_status(db, model_id="profanity-check-1.9 (fallback)", is_fallback=True,
                                 reason="checkpoint not found")
        await asyncio.sleep(1.6)  # past the cached answer
        fallback = (await api.get("/health/ready")).json()
        assert fallback["status"] == "warn"
        workers = fallback["checks"]["scoring:workers"][0]
        assert workers["status"] == "pass" and workers["observedValue"] == 1
        model = fallback["checks"]["toxicity:model"][0]
        assert model["status"] == "warn" and "fallback" in model["output"]

        await clear_worker_status(db)
        await seed_worker_status(db, model_id="detoxify-original@abc123")
        await asyncio.sleep(1.6)
        healthy = (await api.get("/health/ready")).json()
        assert healthy["checks"]["scoring:workers"][0]["status"] == "pass"
        assert healthy["checks"]["toxicity:model"][0]["status"] == "pass"


async def test_no_worker_is_no_warning_when_scoring_is_off(client, db):
    await clear_worker_status(db)
    await asyncio.sleep(1.6)
    body = (await client.get("/health/ready")).json()  # the shared test app publishes unscored
    workers = body["checks"]["scoring:workers"][0]
    assert workers["status"] == "pass" and "off" in workers["output"]


async def test_worker_readiness_follows_its_own_model(settings):
    pool = await create_pool(settings.database, settings.database.url)
    redis = redis_client(settings)
    try:
        # as build_worker makes it; PostgreSQL and Redis answer in the test run: the model decides
        health = HealthMonitor(pool, redis, ScoringService(pool, None, settings.scoring))
        loading = await health.worker_readiness(WorkerModel(loaded=False))
        assert loading.status == "fail" and loading.checks["toxicity:model"][0].status == "fail"
        assert "loading" in (loading.output or "")
        fallback = await health.worker_readiness(WorkerModel(loaded=True, model_id="profanity-check (fallback)",
                                                             is_fallback=True))
        assert fallback.status == "warn" and fallback.checks["toxicity:model"][0].status == "warn"
        real = await health.worker_readiness(WorkerModel(loaded=True, model_id="onnx-int8-detoxify-original@abc"))
        assert real.status == "pass"
        assert real.checks["toxicity:model"][0].observed_value == "onnx-int8-detoxify-original@abc"
    finally:
        await redis.aclose()
        await pool.close()


class _NoWorkerYet:
    scorer = None  # the model is still loading: liveness must answer all the same


async def _live(port: int, source: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(b"GET /health/live HTTP/1.1\r\nHost: probe\r\n\r\n")
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), 3)
    finally:
        writer.close()


async def test_one_client_holding_connections_open_cannot_starve_the_liveness_probe():
    """A pod that opens many idle connections to the worker's probe port (reopening them before
    each head deadline) would have the kubelet restart a healthy worker: it gets a few
    connections, the probe from another address still gets its answer."""
    import msgspec

    from comments_service.settings import Settings
    from comments_service.workers.probe_server import ProbeServer

    settings = Settings.from_env({"COMMENTS_DATABASE_URL": "postgresql://unused/unused"})
    settings = msgspec.structs.replace(settings, server=msgspec.structs.replace(
        settings.server, worker_host="127.0.0.1", worker_port=0))
    probes = ProbeServer(settings, health=None, worker=_NoWorkerYet())  # type: ignore[arg-type]
    await probes.start()
    hogged = []
    try:
        for _ in range(40):  # from 127.0.0.1, as many as the listener would take
            hogged.append(await asyncio.open_connection("127.0.0.1", probes.port))
        await asyncio.sleep(0.2)
        answer = await _live(probes.port, "127.0.0.2")  # the kubelet, from another address
        assert answer.startswith(b"HTTP/1.1 200"), answer
    finally:
        for _, writer in hogged:
            writer.close()
        await probes.close()
