"""Which addresses count as one client for per-address limits, stream caps and guest bans."""

import pytest

from comments_service.domain.limits import address_group


@pytest.mark.parametrize(("ip", "group"), [
    ("203.0.113.7", "203.0.113.7/32"),
    ("::ffff:203.0.113.7", "203.0.113.7/32"),  # IPv4-mapped: the IPv4 client it is
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # the same subscriber's block
])
def test_address_groups(ip, group):
    assert address_group(ip) == group


def test_neighbouring_ipv6_blocks_are_apart():
    assert address_group("2001:db8:1:2::1") != address_group("2001:db8:1:3::1")
