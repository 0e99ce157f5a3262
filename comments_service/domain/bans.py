"""Who a ban stops writing: a reader's own ban, or for a guest the ban on the network a banned
guest wrote from. One rule for refusing a write and for telling the widget beforehand, so the two
never disagree."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .limits import bannable_address
from .moderation import WriteAction
from .structs import Struct


class Ban(Struct, frozen=True):
    reach: Literal["reader", "network"]  # "network": a guest writing from a banned guest's network
    until: datetime | None = None  # None: until a moderator lifts it


def network_ban_reaches(kind: str, address: str | None, action: WriteAction) -> bool:
    """Whether a ban on the writer's network applies: only guests (a signed-in reader answers for
    themselves), never to deleting one's own comment, and only from an address a ban can name."""
    return kind == "guest" and action != "delete" and address is not None and bannable_address(address)


def refusal_message(ban: Ban) -> str:
    if ban.reach == "network":
        return "Guests from your network are banned from commenting on this site for now. Sign in to comment."
    return "You are banned from commenting on this site" + (
        f" until {ban.until.isoformat(timespec='minutes')}." if ban.until else ".")
