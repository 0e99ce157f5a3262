"""What the moderator console's browser tests share: a staff token as the CLI makes one, a page
signed in through the console's own form, a database call from a synchronous test, and an
accessibility scan with axe-core.

axe-core comes from npm (scripts/bootstrap dev puts it in ``.tools/node_modules``). The console's
CSP allows scripts from its own origin only, so the scan is not added as a <script> (an inline
script the page would refuse): Playwright evaluates it through the DevTools protocol, which the
page's CSP does not govern, and the page under test keeps its real policy."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from comments_service.db.pool import connect
from tests.support.paths import REPO

AXE = REPO / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
# the impacts that fail a test; "minor" and "moderate" findings are printed, not failed
FAILING = ("serious", "critical")


def in_db(server, work):
    """``await work(conn)`` on a connection of its own, from a synchronous (Playwright) test: in a
    thread, since the test's own thread may already run an event loop."""
    async def run():
        conn = await connect(server.database_url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(run())).result()


def cli_token(server, site_id: str | None, role: str = "moderator", name: str = "browser-test") -> str:
    """A staff token made by `comments-service token create`, as an operator makes one."""
    args = [sys.executable, "-m", "comments_service.cli", "token", "create", "--role", role, "--name", name]
    if site_id:
        args += ["--site", site_id]
    done = subprocess.run(args, cwd=REPO, env=server.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"token create failed: {done.stderr[-2000:]}"
    return done.stdout.strip()


def sign_in(page, token: str, site: str | None = None) -> None:
    """Fill the console's sign-in form and wait until the console shows a view."""
    page.locator("#signin").wait_for(state="visible")
    page.fill("#signin-token", token)
    page.fill("#signin-site", site or "")
    page.click("#signin button[type=submit]")
    page.locator("#top").wait_for(state="visible")
    page.locator("#view").wait_for(state="attached")


def signed_in_console(context, server, token: str, site: str | None = None, *, view: str = "queue"):
    """``<server.url>/moderation`` signed in through its form, showing ``view`` (the queue: once
    its first page has loaded). Script errors are collected in ``page.console_errors``."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors  # type: ignore[attr-defined]
    page.goto(f"{server.url}/moderation#/{view}")
    sign_in(page, token, site)
    if view == "queue":
        wait_queue(page)
    return page


def wait_queue(page, timeout: float = 10_000) -> None:
    """The queue view has drawn its first page: items, or the note that nothing waits."""
    page.wait_for_function(
        "() => document.querySelector('#view.view-queue') && "
        "(document.querySelector('#view .queue li.item') || "
        "document.querySelector('#view .empty:not([hidden])'))", timeout=timeout)


def assert_accessible(page, context_name: str = "page", *, include: str | None = None) -> list[dict]:
    """Run axe-core on the page as it is now; fail on any serious or critical violation, listing
    each with its rule, help text and the elements it found. Returns the other violations."""
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (scripts/bootstrap dev installs it with npm)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        """async (include) => {
            const r = await window.axe.run(include ? document.querySelector(include) : document,
                                           { resultTypes: ['violations'] });
            return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ') + ' — ' +
                                        (n.failureSummary || '').split('\\n').slice(1).join('; '))
            }));
        }""", include)
    failing = [v for v in result if v["impact"] in FAILING]
    if failing:
        lines = [f"{context_name}: {len(failing)} serious/critical accessibility violation(s):"]
        for v in failing:
            lines.append(f"- [{v['impact']}] {v['id']}: {v['help']}")
            lines.extend(f"    {node}" for node in v["nodes"][:8])
        pytest.fail("\n".join(lines), pytrace=False)
    return [v for v in result if v["impact"] not in FAILING]
