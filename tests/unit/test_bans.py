"""Whom a ban reaches (domain/bans): the one rule behind refusing a write and behind /me."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from comments_service.domain.bans import Ban, network_ban_reaches, refusal_message


@pytest.mark.parametrize(("kind", "address", "action", "reaches"), [
    ("guest", "81.2.69.170", "post", True),
    ("guest", "81.2.69.170", "vote", True),
    ("guest", "81.2.69.170", "delete", False),  # one's own comment may always go
    ("sso", "81.2.69.170", "post", False),  # a signed-in reader answers for themself
    ("guest", "127.0.0.1", "post", False),  # what every reader shows behind an untrusted proxy
    ("guest", "10.1.2.3", "post", False),
    ("guest", None, "post", False),
])
def test_a_network_ban_reaches_only_guests_writing_from_a_public_address(kind, address, action, reaches):
    assert network_ban_reaches(kind, address, action) is reaches


def test_the_refusal_names_whose_ban_and_its_end():
    until = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    assert refusal_message(Ban(reach="reader")) == "You are banned from commenting on this site."
    assert refusal_message(Ban(reach="reader", until=until)).endswith("until 2030-01-02T03:04+00:00.")
    assert "Sign in to comment" in refusal_message(Ban(reach="network"))
