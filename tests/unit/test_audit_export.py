"""Audit log cells as a spreadsheet reads them: nothing a moderator exports runs as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from comments_service.services.audit_export import cell, lines


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\")"])
def test_a_cell_a_spreadsheet_would_run_is_text(text):
    assert cell(text) == "'" + text


@pytest.mark.parametrize("value,expected", [
    (None, ""), (42, "42"), ("plain note", "plain note"), ("a=b", "a=b"), (" =1", " =1"),
    (datetime(2026, 3, 1, 10, 0, tzinfo=UTC), "2026-03-01T10:00:00+00:00"),
    ({"until": None, "n": 2}, '{"until":null,"n":2}'),
])
def test_other_cells_are_kept(value, expected):
    assert cell(value) == expected


def test_lines_quote_what_csv_needs_and_read_back():
    text = lines([["a,b", 'say "hi"', "two\nlines"]])
    assert list(csv.reader(io.StringIO(text))) == [["a,b", 'say "hi"', "two\nlines"]]
