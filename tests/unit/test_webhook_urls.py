"""Which webhook URLs and destination addresses are accepted (SSRF gate)."""

import ipaddress

import pytest

from comments_service.domain.webhook_urls import InvalidEndpoint, address_allowed, check_endpoint_url


@pytest.mark.parametrize(("url", "host", "port", "path_and_query", "normalised"), [
    ("https://example.com/hook", "example.com", 443, "/hook", "https://example.com/hook"),
    ("https://example.com", "example.com", 443, "/", "https://example.com/"),
    ("HTTPS://Example.COM:8443/a/b?x=1&y=2", "example.com", 8443, "/a/b?x=1&y=2", "https://example.com:8443/a/b?x=1&y=2"),
    ("https://example.com:443/", "example.com", 443, "/", "https://example.com/"),
    ("https://bücher.example/x", "xn--bcher-kva.example", 443, "/x", "https://xn--bcher-kva.example/x"),
    ("https://example.com/caf\u00e9?q=\u00e9", "example.com", 443, "/caf%C3%A9?q=%C3%A9", None),
    ("https://example.com/a%20b", "example.com", 443, "/a%20b", None),
    ("https://8.8.8.8/hook", "8.8.8.8", 443, "/hook", None),
    ("https://[2606:4700:4700::1111]:8443/", "2606:4700:4700::1111", 8443, "/", "https://[2606:4700:4700::1111]:8443/"),
    ("https://example.com:65535/", "example.com", 65535, "/", None),
])
def test_good_urls(url, host, port, path_and_query, normalised):
    checked = check_endpoint_url(url)
    assert (checked.scheme, checked.host, checked.port, checked.path_and_query) == ("https", host, port, path_and_query)
    if normalised is not None:
        assert checked.url == normalised


@pytest.mark.parametrize(("url", "reason"), [
    ("http://example.com/", "scheme_not_allowed"),
    ("http://169.254.169.254/", "scheme_not_allowed"),
    ("ftp://example.com/", "scheme_not_allowed"),
    ("javascript:alert(1)", "scheme_not_allowed"),
    ("example.com/hook", "scheme_not_allowed"),
    ("https://169.254.169.254/latest/meta-data/", "address_not_allowed"),
    ("https://user:pw@example.com/", "credentials_not_allowed"),
    ("https://user@example.com/", "credentials_not_allowed"),
    ("https://@example.com/", "credentials_not_allowed"),
    ("https://example.com/#frag", "fragment_not_allowed"),
    ("https://example.com/#", "fragment_not_allowed"),
    ("https:///path", "missing_host"),
    ("https://:443/", "missing_host"),
    ("https://example.com:0/", "invalid_port"),
    ("https://example.com:65536/", "malformed"),
    ("https://example.com:http/", "malformed"),
    ("https://example.com/" + "a" * 2048, "too_long"),
    ("https://exa mple.com/", "invalid_characters"),
    ("https://example.com/\nHost: evil", "invalid_characters"),
    ("https://example.com\t.evil/", "invalid_characters"),
    ("https://example.com\\@evil/", "invalid_characters"),
    ("https://" + "a" * 64 + ".com/", "invalid_host"),
    ("https://a..b/", "invalid_host"),
    ("https://exa_mple!.com/", "invalid_host"),
    ("https://[::ffff:127.0.0.1]/", "address_not_allowed"),
    ("https://[::1]/", "address_not_allowed"),
    ("https://[fe80::1%25eth0]/", "invalid_host"),
    ("https://127.0.0.1/", "address_not_allowed"),
    ("https://10.0.0.1/", "address_not_allowed"),
    ("https://192.168.1.1/", "address_not_allowed"),
    ("https://100.64.0.1/", "address_not_allowed"),
    ("https://0.0.0.0/", "address_not_allowed"),
    ("https://[fd00::1]/", "address_not_allowed"),
    ("https://0x7f.1/", "non_canonical_ip"),
    ("https://0x7f000001/", "non_canonical_ip"),
    ("https://2130706433/", "non_canonical_ip"),
    ("https://0177.0.0.1/", "non_canonical_ip"),
    ("https://127.1/", "non_canonical_ip"),
    ("https://1.2.3.4.5/", "non_canonical_ip"),
    # IPv6 forms that carry (or are translated to) an internal IPv4 address
    ("https://[64:ff9b::a9fe:a9fe]/", "address_not_allowed"),
    ("https://[64:ff9b:1::a00:1]/", "address_not_allowed"),
    ("https://[::ffff:0:a00:1]/", "address_not_allowed"),
    ("https://[2002:c0a8:101::1]/", "address_not_allowed"),
    ("https://[2001:0:4136:e378:8000:63bf:3f57:fefe]/", "address_not_allowed"),
])
def test_bad_urls(url, reason):
    with pytest.raises(InvalidEndpoint) as caught:
        check_endpoint_url(url)
    assert caught.value.reason_code == reason


def test_http_only_to_loopback_when_allowed():
    assert check_endpoint_url("http://127.0.0.1:8080/h", allow_http_loopback=True).url == "http://127.0.0.1:8080/h"
    assert check_endpoint_url("http://localhost/", allow_http_loopback=True).port == 80
    assert check_endpoint_url("http://[::1]:9/", allow_http_loopback=True).host == "::1"
    assert check_endpoint_url("https://127.0.0.1/", allow_http_loopback=True).host == "127.0.0.1"
    for url in ("http://example.com/", "http://10.0.0.1/", "http://localhost.example.com/"):
        with pytest.raises(InvalidEndpoint) as caught:
            check_endpoint_url(url, allow_http_loopback=True)
        assert caught.value.reason_code == "scheme_not_allowed"


def test_private_literals_when_allowed():
    assert check_endpoint_url("https://10.0.0.1/", allow_private=True).host == "10.0.0.1"
    with pytest.raises(InvalidEndpoint):
        check_endpoint_url("https://169.254.169.254/", allow_private=True, allow_http_loopback=True)


REFUSED_ALWAYS = [
    "169.254.169.254", "169.254.0.1", "fe80::1", "224.0.0.1", "239.255.255.250", "ff02::1", "0.0.0.0",
    "0.1.2.3", "255.255.255.255", "240.0.0.1", "::", "192.0.2.1", "198.51.100.7", "203.0.113.9",
    "198.18.0.1", "2001:db8::1", "fec0::1", "100::1",
    "::ffff:169.254.169.254", "2002:a9fe:a9fe::1", "64:ff9b::a9fe:a9fe",
    "::127.0.0.1",  # deprecated IPv4-compatible form
    "::ffff:0:a9fe:a9fe", "::ffff:0:0:1",  # IPv4-translated (SIIT) metadata and "this network"
    "64:ff9b:1::a9fe:a9fe", "64:ff9b:1::7f00:1",  # local-use NAT64 to metadata and to loopback
    "2001:0:808:808::5601:5601",  # Teredo whose client is 169.254.169.254 (bits inverted)
    "4000::1", "64:ff9b::1:0:0:1", "1::1",  # outside global unicast 2000::/3: reserved or unassigned
]
PRIVATE = [
    "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.0.1", "100.64.0.1", "100.127.255.254",
    "fc00::1", "fd12:3456::1", "::ffff:10.0.0.1", "2002:0a00:0001::1", "64:ff9b::10.1.2.3",
    "::ffff:0:10.0.0.1", "::ffff:0:192.168.1.1", "2002:c0a8:101::1", "2002:ac10:1::1",
    # local-use NAT64 is the operator's own translator: internal, whatever it translates to
    "64:ff9b:1::a00:1", "64:ff9b:1::808:808", "64:ff9b:1:ff00::808:808",
    "2001:0:a00:1:8000:63bf:f7f7:f7f7",  # Teredo whose server is 10.0.0.1
]
LOOPBACK = ["127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1", "2002:7f00:1::1", "64:ff9b::7f00:1",
            "::ffff:0:7f00:1"]
PUBLIC = [
    "8.8.8.8", "1.1.1.1", "93.184.215.14", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "2002:0808:0808::1",
    "64:ff9b::808:808", "::ffff:0:8.8.8.8",
    "2001:0:808:808:8000:63bf:f7f7:f7f7",  # Teredo: server 8.8.8.8, client 8.8.8.8
]
# Teredo: server 65.54.227.120, client 192.168.1.1 obfuscated (bits inverted) in the last 32 bits
TEREDO_TO_PRIVATE = "2001:0:4136:e378:8000:63bf:3f57:fefe"


@pytest.mark.parametrize("address", REFUSED_ALWAYS)
def test_refused_whatever_the_options(address):
    ip = ipaddress.ip_address(address)
    assert not address_allowed(ip, allow_private=True, allow_loopback=True)


@pytest.mark.parametrize("address", PRIVATE)
def test_private_only_when_allowed(address):
    ip = ipaddress.ip_address(address)
    assert not address_allowed(ip, allow_private=False, allow_loopback=True)
    assert address_allowed(ip, allow_private=True, allow_loopback=False)


@pytest.mark.parametrize("address", LOOPBACK)
def test_loopback_only_when_allowed(address):
    ip = ipaddress.ip_address(address)
    assert not address_allowed(ip, allow_private=True, allow_loopback=False)
    assert address_allowed(ip, allow_private=False, allow_loopback=True)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_allowed(address):
    assert address_allowed(ipaddress.ip_address(address), allow_private=False, allow_loopback=False)


def test_teredo_judged_by_its_ipv4_client():
    ip = ipaddress.IPv6Address(TEREDO_TO_PRIVATE)
    assert ip.teredo == (ipaddress.IPv4Address("65.54.227.120"), ipaddress.IPv4Address("192.168.1.1"))
    assert not address_allowed(ip, allow_private=False, allow_loopback=False)
    assert address_allowed(ip, allow_private=True, allow_loopback=False)
