"""The widget is downloaded by every article reader: its weight is a budget, enforced here."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

WIDGET = Path(__file__).resolve().parents[2] / "comments_service" / "widget"


def gzipped(*names: str) -> int:
    return sum(len(gzip.compress((WIDGET / name).read_bytes(), compresslevel=9)) for name in names)


def test_embed_script_and_styles_fit_in_17_kb_gzipped():
    # 16.0 KB with live edits and deletions, token refresh, the host-page theme, local dates and the
    # moderators' featured and pinned comments; still a fraction of what a framework-based widget downloads
    assert gzipped("embed.js", "embed.css") <= 17 * 1024


def test_count_script_fits_in_2_kb_gzipped():
    assert gzipped("count.js") <= 2 * 1024


def test_widget_downloads_nothing_but_its_own_stylesheet():
    # no framework or font fetched at run time: the only URL the widget builds is its own base
    source = (WIDGET / "embed.js").read_text() + (WIDGET / "count.js").read_text()
    assert not re.search(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/""", source.replace("https://example.com", ""))
    assert not re.search(r"\bimport\s*\(|importScripts|@import", source + (WIDGET / "embed.css").read_text())


def test_only_sanitised_server_html_is_assigned_as_markup():
    source = (WIDGET / "embed.js").read_text()
    assignments = re.findall(r"\.(?:innerHTML|outerHTML)\s*=\s*([^;]+);|insertAdjacentHTML|document\.write", source)
    assert assignments == ["c.body_html"]
