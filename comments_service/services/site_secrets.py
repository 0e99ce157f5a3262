"""Key rotation for sites' SSO secrets: seal every secret again under the current key.

Rotation (README, "Secrets and key rotation"): first give every process the new key as
COMMENTS_SECRET_KEY_PREVIOUS beside the current one, so that all of them accept it before any uses
it; then swap the two (the new key as COMMENTS_SECRET_KEY, the old one as _PREVIOUS: either opens a
secret meanwhile); then run ``comments-service rekey``; then drop the previous key once nothing
needs it.
"""

from __future__ import annotations

import logging

import asyncpg

from ..db import sites as site_repo
from ..db import webhooks as webhook_repo
from ..domain.structs import Struct
from ..identity import Keyring, SecretSealedElsewhere

log = logging.getLogger("comments_service.site_secrets")


class ResealReport(Struct, frozen=True):
    resealed: list[str]  # sites whose secret a previous key sealed, now sealed under the current one
    current: list[str]  # sites already sealed under the current key
    # sites whose secret no configured key opens: set it again (site update ID --sso-secret-stdin)
    unopenable: list[str]


class SecretRotation:
    def __init__(self, pool: asyncpg.Pool, keyring: Keyring) -> None:
        self.pool = pool
        self.keyring = keyring

    async def reseal_all(self) -> ResealReport:
        """Every site's SSO secret, and every webhook's signing secret, under the current key, in one
        transaction (all or nothing)."""
        resealed: list[str] = []
        current: list[str] = []
        unopenable: list[str] = []
        async with self.pool.acquire() as conn, conn.transaction():
            for site_id, sealed in await site_repo.sealed_secrets_for_update(conn):
                try:
                    again = self.keyring.reseal(sealed)
                except SecretSealedElsewhere:
                    unopenable.append(site_id)
                    continue
                if again is None:
                    current.append(site_id)
                else:
                    await site_repo.replace_secret(conn, site_id, again)
                    resealed.append(site_id)
            # webhook signing secrets are sealed the same way: a site counts as resealed, current or
            # unopenable by all of its secrets
            for row in await webhook_repo.sealed_secrets(conn):
                label = f"{row['site_id']} (webhook {row['id']})"
                try:
                    again = self.keyring.reseal(row["secret_sealed"])
                except SecretSealedElsewhere:
                    unopenable.append(label)
                    continue
                if again is not None:
                    await webhook_repo.reseal(conn, row["id"], again)
                    resealed.append(label)
        if unopenable:
            log.error("sites whose SSO secret no configured key opens: %s", ", ".join(unopenable))
        return ResealReport(resealed=resealed, current=current, unopenable=unopenable)
