"""Browser tests: a real service process and headless Chromium (the Debian build, driven by Playwright).

``live_server`` is one `comments-service serve` process for the session (support.browser.DemoServer),
with the run's storage (``TestStorage.env()``) and the demo site seeded for its address. Scoring is
off there (comments publish at once); ``scoring_server`` adds the scoring pipeline and a worker for
the tests of held comments. ``news_site`` makes a fresh site whose origin is a page the browser
fetches from Playwright's router, so each test gets its own articles and settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, DemoServer
from tests.support.paths import ARTIFACTS, REPO
from tests.support.storage import TestStorage


@pytest.fixture(scope="session")
def live_server(storage: TestStorage, database: str) -> Iterator[DemoServer]:
    server = DemoServer(storage).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def scoring_server(storage: TestStorage, database: str) -> Iterator[DemoServer]:
    # no model files in tests: the worker scores with the offline fallback, and fail-open lets
    # civil comments publish so that only the policy under test (premoderation) holds them
    server = DemoServer(storage, worker=True, COMMENTS_SCORING="on", COMMENTS_TOXICITY_FAIL_CLOSED="false",
                        COMMENTS_TOXICITY_CHECKPOINT=str(REPO / "no-such-checkpoint.ckpt"),
                        COMMENTS_TOXICITY_MISSING_MODEL="fallback").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    playwright_sync = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with playwright_sync.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1000, "height": 900})
    yield ctx
    ctx.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
