"""Where the tests find the repository, and where they leave what a person may want to look at."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# screenshots of the browser tests
ARTIFACTS = REPO / "test-artifacts"
