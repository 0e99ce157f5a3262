"""``comments-service`` commands run as a process of their own, as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_cli(storage, database_url: str, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """``comments-service ARGS`` against ``database_url`` (the test run's Redis prefix), ``env``
    over the run's settings; its output captured."""
    environ = {**os.environ, **storage.env(COMMENTS_DATABASE_URL=database_url, **env)}
    return subprocess.run([sys.executable, "-m", "comments_service.cli", *args], cwd=REPO, env=environ,
                          capture_output=True, text=True, timeout=timeout)
