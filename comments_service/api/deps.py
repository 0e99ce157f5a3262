"""Dependencies shared by controllers: the services container, the site, and the actor."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated

from litestar import Request
from litestar.params import QueryParameter

from ..errors import DomainError
from ..identity import Identity, verify_bearer_token
from ..services.comments import Actor
from ..services.container import Services
from ..services.sites import SiteEntry
from .middleware import SITE_ENTRY, SITE_ID

SiteParam = Annotated[str | None, QueryParameter(name="site", required=False, max_length=64,
                                             description="The id of the site embedding the comments.")]


def services_of(request: Request) -> Services:
    return request.app.state.services


async def site_entry_of(request: Request) -> SiteEntry:
    """The site the request names, resolved once per request: the entry the edge's CORS check used,
    when it made one (api/middleware.py)."""
    state = request.scope["state"]
    entry = state.get(SITE_ENTRY)
    if entry is None:
        entry = state[SITE_ENTRY] = await services_of(request).sites.get(state.get(SITE_ID))
    return entry


async def provide_site_entry(request: Request, site: SiteParam = None) -> SiteEntry:
    # ``site`` is declared for the API's schema and validation; its value is the one the edge read
    return await site_entry_of(request)


def bearer_token(request: Request) -> str | None:
    # straight from the ASGI headers: building Litestar's Headers object costs more than the read
    header = next((v.decode("latin-1") for k, v in request.scope["headers"] if k == b"authorization"), None)
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise DomainError("token_invalid", "The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def identify(services: Services, entry: SiteEntry, token: str | None) -> Identity | None:
    if token is None:
        return None
    return verify_bearer_token(services.keyring, token, entry.site.id, entry.sso_secret, entry.sso)


def actor_of(request: Request, site_entry: SiteEntry) -> Actor:
    identity = identify(services_of(request), site_entry, bearer_token(request))
    return Actor(identity=identity, ip=client_ip(request))


async def provide_actor(request: Request, site_entry: SiteEntry) -> Actor:
    return actor_of(request, site_entry)


def client_ip(request: Request) -> str | None:
    """The peer address, when it is one (unix sockets and test clients have none)."""
    client = request.scope.get("client")
    return _normalised_ip(client[0]) if client else None


@lru_cache(maxsize=4096)
def _normalised_ip(host: str) -> str | None:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return None
    # a dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; they are IPv4 clients everywhere
    return str(addr.ipv4_mapped if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped else addr)
