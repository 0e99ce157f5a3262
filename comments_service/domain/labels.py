"""Names and titles (a guest's or reader's display name, an article's title): one line of plain
text. Control characters and the bidirectional embeddings, overrides and isolates would garble or
disguise what readers and moderators see (a name that reads backwards, a title that spills onto a
new line of a log), so they are refused where a person typed them and dropped where a host site
sent them."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, LRM/RLM, LRE..RLO, LRI..PDI
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def label_is_clean(text: str) -> bool:
    return _FORBIDDEN.search(text) is None


def clean_label(text: str) -> str:
    """``text`` without the characters a label may not hold, stripped."""
    return _FORBIDDEN.sub("", text).strip()
