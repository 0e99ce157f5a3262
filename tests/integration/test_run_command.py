"""`comments-service run` on embedded PostgreSQL and Redis: the demo comes up, and a signal stops
everything it started — no server process outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.servers import ServiceProcess, free_port


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
    # only these settings: none of the caller's COMMENTS_* (the storage comes up embedded)
    env = {"COMMENTS_DATA_DIR": str(data_dir), "COMMENTS_PORT": str(port),
           "COMMENTS_PUBLIC_URL": f"http://127.0.0.1:{port}", "COMMENTS_LOG_LEVEL": "WARNING",
           "COMMENTS_TOXICITY_CACHE_DIR": str(tmp_path / "toxicity-cache")}  # ONNX exports
    proc = ServiceProcess(env, "run", port=port, ready="/demo", log_path=tmp_path / "run.log", isolated=True)
    try:
        proc.start(timeout=90)  # until the demo page answers; a run that exits first fails here
        page = httpx.get(f"http://127.0.0.1:{port}/demo", timeout=5)
        assert page.status_code == 200, (tmp_path / "run.log").read_text()
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
