"""`comments-service run` on embedded PostgreSQL and Redis: the demo comes up, and a signal stops
everything it started — no server process outlives it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and int(pid) != os.getpid():
            found.append(f"{pid}: {cmdline[:200]}")
    return found


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_run_serves_the_demo_on_embedded_storage_and_stops_cleanly(tmp_path, stop_signal):
    port = free_port()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTS_")}
    env.update({"COMMENTS_DATA_DIR": str(data_dir), "COMMENTS_PORT": str(port),
                "COMMENTS_PUBLIC_URL": f"http://127.0.0.1:{port}", "COMMENTS_LOG_LEVEL": "WARNING",
                "COMMENTS_TOXICITY_CACHE_DIR": str(tmp_path / "toxicity-cache")})  # ONNX exports
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "comments_service.cli", "run"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        page = None
        while time.monotonic() < deadline:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/demo", timeout=2)
                if page.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "run.log").read_text()
            time.sleep(0.3)
        assert page is not None and page.status_code == 200, (tmp_path / "run.log").read_text()
        assert "Afghanistan" in page.text and "/embed.js" in page.text and 'data-site="demo"' in page.text
        thread = httpx.get(f"http://127.0.0.1:{port}/api/v1/articles/afghan-tajik-border-troops/comments",
                           params={"site": "demo"}, timeout=5).json()
        assert thread["article"]["comment_count"] >= 5 and thread["comments"]
        assert processes_mentioning(str(data_dir)), "embedded servers should be running under the data dir"
    finally:
        proc.send_signal(stop_signal)
        try:
            proc.wait(45)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    deadline = time.monotonic() + 10
    while processes_mentioning(str(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_mentioning(str(data_dir)) == [], (tmp_path / "run.log").read_text()
    assert proc.returncode == 0
