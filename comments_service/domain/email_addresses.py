"""Which email addresses we write to: the plain form every mail system accepts (a local part of
the usual characters, a dotted domain of hostname labels), at most 254 characters. Quoted local
parts, comments and IP-literal domains are refused rather than parsed: a reader can always give
a plain address, and nothing odd reaches a mail header."""

from __future__ import annotations

import re2

MAX_LENGTH = 254
# RE2: linear in the input whatever it holds
_ADDRESS = re2.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")


def normalise(address: str) -> str | None:
    """The address as we store it (the domain in lower case), or None when it is not one we send to."""
    address = address.strip()
    if not address or len(address) > MAX_LENGTH or _ADDRESS.fullmatch(address) is None:
        return None
    local, _, domain = address.rpartition("@")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    return f"{local}@{domain.lower()}"
