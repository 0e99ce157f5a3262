"""The widget is downloaded by every article reader: its weight is a budget, enforced here."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from comments_service.api.pages import compact_script

WIDGET = Path(__file__).resolve().parents[2] / "comments_service" / "widget"
# every script a reader's browser runs: embed.js, and what it and the article lists load
SCRIPTS = ("embed.js", "count.js", "challenge.js", "dialogs.js")


def served(name: str) -> bytes:
    """What a reader downloads: the scripts compacted as api/pages.py serves them."""
    raw = (WIDGET / name).read_bytes()
    return compact_script(raw.decode()).encode() if name.endswith(".js") else raw


def gzipped(*names: str) -> int:
    return sum(len(gzip.compress(served(name), compresslevel=9)) for name in names)


def test_embed_script_and_styles_fit_in_15_kb_gzipped():
    # the widget's budget: what every reader downloads stays within 15 KB gzipped, the bundled locales'
    # loader included. Live edits and deletions, token refresh, the host-page theme, local dates, the
    # moderators' featured and pinned comments and reply emails fit; the forms readers seldom open are
    # in dialogs.js, fetched only when one opens
    assert gzipped("embed.js", "embed.css") <= 15 * 1024


def test_on_demand_scripts_stay_small():
    # fetched while a reader waits on a button (dialogs.js) or writes as a guest (challenge.js)
    assert gzipped("dialogs.js") <= 6 * 1024
    assert gzipped("challenge.js") <= 3 * 1024


def test_count_script_fits_in_2_kb_gzipped():
    assert gzipped("count.js") <= 2 * 1024


def test_the_scripts_can_be_compacted_line_by_line():
    """compact_script drops whole lines and indentation: right only while no string, template
    literal or comment spans lines, which these scripts must keep true."""
    for name in SCRIPTS:
        source = (WIDGET / name).read_text()
        assert "`" not in re.sub(r"'(?:[^'\\\n]|\\.)*'", "''", source), f"{name}: a template literal"
        assert not re.search(r"\\$", source, re.M), f"{name}: a line continued by a backslash"
        body = source[source.index("*/") + 2:] if source.startswith("/*") else source
        assert "/*" not in body, f"{name}: a block comment after the header"
        compacted = compact_script(source)
        assert len(compacted) < len(source)
        assert compacted.rstrip().endswith("})();")  # the whole script is there, to its last line


def test_widget_downloads_nothing_but_its_own_stylesheet():
    # no framework or font fetched at run time: the only URL the widget builds is its own base
    source = "".join((WIDGET / name).read_text() for name in SCRIPTS)
    assert not re.search(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/""", source.replace("https://example.com", ""))
    assert not re.search(r"\bimport\s*\(|importScripts|@import", source + (WIDGET / "embed.css").read_text())


def test_only_sanitised_server_html_is_assigned_as_markup():
    source = "".join((WIDGET / name).read_text() for name in SCRIPTS)
    assignments = re.findall(r"\.(?:innerHTML|outerHTML)\s*=\s*([^;]+);|insertAdjacentHTML|document\.write", source)
    assert assignments == ["c.body_html"]


def test_english_is_the_only_language_built_in():
    # the others are locales/<code>.json, fetched only by their readers (tests/unit/test_widget_locales.py)
    source = (WIDGET / "embed.js").read_text() + (WIDGET / "dialogs.js").read_text()
    assert not re.search("[\u0400-\u04ff\u0600-\u06ff]", source)
