"""Hostile content in an export: every payload of the API's XSS corpus, imported as HTML, markdown and
plain text, stores HTML as harmless as a posted comment's, and the stored markdown renders harmless
too (it is what an edit starts from). Judged by the corpus test's own checker."""

from __future__ import annotations

import pytest

from comments_service.domain.render import render_markdown
from comments_service.formats.content import EmptyBody, convert
from tests.security.test_xss_corpus import PAYLOADS, assert_safe


@pytest.mark.parametrize("images", [True, False], ids=["images", "plain"])
@pytest.mark.parametrize("body_format", ["html", "markdown", "text"])
def test_every_payload_imports_harmless(body_format, images):
    converted_any = 0
    for payload, _ in PAYLOADS:
        for body in (payload, f"<blockquote><p>{payload}</p></blockquote><ul><li><em>{payload}</em></li></ul>"):
            try:
                converted = convert(body, body_format, allow_images=images)
            except EmptyBody:
                continue
            converted_any += 1
            assert_safe(converted.html, f"stored {body_format}", body)
            assert_safe(render_markdown(converted.markdown, allow_images=images), f"re-rendered {body_format}", body)
    assert converted_any >= len(PAYLOADS)
