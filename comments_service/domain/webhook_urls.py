"""Which webhook endpoint URLs and which destination addresses the service will deliver to.

Pure: no I/O. `check_endpoint_url` is the syntactic gate (run when an endpoint is saved and again before
every delivery); `address_allowed` is the network gate applied to every address a host resolves to, so
a URL that names a public host but resolves to an internal one (SSRF, DNS rebinding) is still refused.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import quote, urlsplit

from .structs import Struct

MAX_URL_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"https": 443, "http": 80}

# Internal networks an operator may opt into (allow_private): RFC 1918, shared CGNAT space, IPv6 ULA.
_PRIVATE_V4 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))
_PRIVATE_V6 = (ipaddress.ip_network("fc00::/7"),)

# Never reachable as a webhook, whatever the options: listed explicitly rather than left to
# `is_global`, whose tables differ between Python releases and which counts multicast as global.
_REFUSED_V4 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network", 0.0.0.0 reaches the local host on Linux
        "169.254.0.0/16",  # link-local, including cloud metadata 169.254.169.254
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes broadcast 255.255.255.255
    )
)
_REFUSED_V6 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "::/96",  # unspecified and the deprecated IPv4-compatible form
        "100::/64",  # discard-only
        "2001:db8::/32",  # documentation
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)
_LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# RFC 8215 local-use NAT64: an operator's own translator, so an internal network (allow_private). The
# operator picks the prefix length, so where the IPv4 address sits cannot be known; the /96 layout,
# the one DNS64 deployments use, is judged as well.
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# SIIT's IPv4-translated form (RFC 2765), not the IPv4-mapped ::ffff:0:0/96 that `ipv4_mapped` reads
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_TEREDO = ipaddress.ip_network("2001::/32")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
# Every public IPv6 address is global unicast; the rest of the space is reserved or unassigned, and
# `is_global` calls much of it global (4000::1, 64:ff9b::1:0:0:1)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")


class InvalidEndpoint(ValueError):
    """A webhook URL the service will not deliver to; `reason_code` is stable and machine-readable."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


class EndpointUrl(Struct, frozen=True):
    """A checked endpoint. `host` is lower-case ASCII (IDNA-encoded; an IPv6 literal without brackets),
    `port` is explicit, `url` is the normalised form to store and display."""

    scheme: str
    host: str
    port: int
    path_and_query: str
    url: str

    @property
    def host_header(self) -> str:
        """The Host header value: the port is shown only when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def address_allowed(ip: IPAddress, *, allow_private: bool, allow_loopback: bool) -> bool:
    """Whether a resolved destination address may receive a webhook."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return allow_private and address_allowed(
                ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), allow_private=True, allow_loopback=False
            )
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            # the IPv6 form reaches (or is routed towards) these IPv4 hosts: judge them instead
            return all(
                address_allowed(v4, allow_private=allow_private, allow_loopback=allow_loopback) for v4 in embedded
            )
        if ip.is_loopback:
            return allow_loopback
        if any(ip in net for net in _REFUSED_V6):
            return False
        if any(ip in net for net in _PRIVATE_V6):
            return allow_private
        if ip not in _GLOBAL_UNICAST_V6:
            return False
        return ip.is_global
    if ip in _LOOPBACK_V4:
        return allow_loopback
    if any(ip in net for net in _REFUSED_V4):
        return False
    if any(ip in net for net in _PRIVATE_V4):
        return allow_private
    return ip.is_global


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...] | None:
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip in _NAT64 or ip in _IPV4_TRANSLATED:
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip in _SIX_TO_FOUR and ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip in _TEREDO and ip.teredo is not None:
        return ip.teredo  # (server, client): both must be acceptable
    return None


def check_endpoint_url(url: str, *, allow_http_loopback: bool = False, allow_private: bool = False) -> EndpointUrl:
    """Check and normalise a webhook URL, or raise InvalidEndpoint.

    https only; http only with `allow_http_loopback` and a loopback literal or "localhost" host. A host
    that is an IP literal is also judged by `address_allowed` (loopback allowed with
    `allow_http_loopback`), so an admin sees the refusal when saving rather than at delivery.
    """
    if len(url) > MAX_URL_LENGTH:
        raise InvalidEndpoint("too_long", f"the URL is longer than {MAX_URL_LENGTH} characters")
    # urlsplit silently drops tabs and newlines and strips spaces: refuse them instead of guessing
    if any(ch <= " " or ch == "\x7f" for ch in url):
        raise InvalidEndpoint("invalid_characters", "the URL contains spaces or control characters")
    if "\\" in url:
        raise InvalidEndpoint("invalid_characters", "the URL contains a backslash")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidEndpoint("malformed", f"the URL cannot be parsed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidEndpoint("scheme_not_allowed", "the URL must start with https://")
    if parts.fragment or url.endswith("#"):
        raise InvalidEndpoint("fragment_not_allowed", "the URL must not have a #fragment")
    if "@" in parts.netloc:
        raise InvalidEndpoint("credentials_not_allowed", "the URL must not contain a user name or password")
    raw_host = parts.hostname or ""
    if not raw_host:
        raise InvalidEndpoint("missing_host", "the URL has no host")
    if port is None:
        port = _DEFAULT_PORTS[scheme]
    elif not 1 <= port <= 65535:
        raise InvalidEndpoint("invalid_port", "the port must be between 1 and 65535")

    host, literal = _normalise_host(raw_host)
    if scheme == "http":
        loopback_host = host == "localhost" or (literal is not None and literal.is_loopback)
        if not (allow_http_loopback and loopback_host):
            raise InvalidEndpoint("scheme_not_allowed", "the URL must start with https://")
    if literal is not None and not address_allowed(
        literal, allow_private=allow_private, allow_loopback=allow_http_loopback
    ):
        raise InvalidEndpoint("address_not_allowed", "the URL points at a private or reserved address")

    # the request line must be ASCII: percent-encode anything else, keeping existing escapes as they are
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    path_and_query = f"{path}?{query}" if query or url.endswith("?") else path
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if port == _DEFAULT_PORTS[scheme] else f"{shown_host}:{port}"
    return EndpointUrl(
        scheme=scheme,
        host=host,
        port=port,
        path_and_query=path_and_query,
        url=f"{scheme}://{netloc}{path_and_query}",
    )


def _normalise_host(raw_host: str) -> tuple[str, IPAddress | None]:
    """The lower-case ASCII host and, when it is an IP literal, the address."""
    if ":" in raw_host:  # urlsplit only yields a colon in the host for a bracketed IPv6 literal
        if "%" in raw_host:
            raise InvalidEndpoint("invalid_host", "an IPv6 zone identifier is not allowed")
        try:
            v6 = ipaddress.IPv6Address(raw_host)
        except ValueError:
            raise InvalidEndpoint("invalid_host", "the host is not a valid IPv6 address") from None
        return str(v6), v6
    try:
        ascii_host = raw_host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidEndpoint("invalid_host", "the host name cannot be IDNA-encoded") from None
    if not ascii_host or ascii_host.startswith(".") or ".." in ascii_host:
        raise InvalidEndpoint("invalid_host", "the host name has an empty label")
    if any(not (ch.isalnum() or ch in "-._") for ch in ascii_host):
        raise InvalidEndpoint("invalid_host", "the host name contains characters not allowed in a host name")
    labels = ascii_host.rstrip(".").split(".")
    last = labels[-1]
    # resolvers (inet_aton) and browsers read "0x7f.1", "2130706433" or "0177.0.0.1" as IPv4: only the
    # canonical dotted-decimal form is accepted, so what is checked is what gets connected to
    if last.isdigit() or (last.startswith("0x") and all(c in "0123456789abcdef" for c in last[2:])):
        try:
            v4 = ipaddress.IPv4Address(ascii_host)
        except ValueError:
            raise InvalidEndpoint(
                "non_canonical_ip", "a numeric host must be a dotted-decimal IPv4 address such as 192.0.2.1"
            ) from None
        return str(v4), v4
    return ascii_host, None
