"""The moderators' live queue: a Server-Sent Events stream of what enters and leaves the queues,
the waiting counts and who else looks at which comment (services/moderation_events.py), and the
console's "I look at this comment" (presence).

A stream holds a connection, so it counts against the same places as the readers' article streams
(api/live.py: per client address and per process, 429 ``too_many_streams`` with Retry-After over
either) and ends after a jittered lifetime with a ``retry`` hint. On SIGTERM/SIGINT the streams end
at once: the server waits for open connections before it runs the lifespan's shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import msgspec
from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage
from msgspec import Meta

from ..domain.moderation_live_models import PresenceResult
from ..domain.structs import Struct
from ..services.moderation_events import ModerationEvents
from .auth import ModeratorRoutes, staff_of, still_admitted
from .live import RETRY_MS, end_streams_on_signals, hold_stream_place, relay
from .params import SiteParam


class Looking(Struct, forbid_unknown_fields=True):
    comment_id: Annotated[int, Meta(ge=1, le=2**63 - 1, description=(
        "The comment this moderator has in view; null: none."))] | None = None


class ModerationLiveController(ModeratorRoutes):
    path = "/api/v1/moderation"

    @get("/events", summary="The moderation queue, live (Server-Sent Events)", middleware=[hold_stream_place],
         description="Events `queue:new` {comment_id, site_id, state, article_id}, `queue:decided` {comment_id, "
                     "site_id, state, outcome, status, decided_by, decided_by_id, decided_at}, `counts` {held, "
                     "reported, cap} (at most "
                     "once a second), `presence` {comment_id, site_id, viewers}, `featured` {site_id, article_id, "
                     "comment_id, featured, pinned}, after a first `ready`. Only the sites this staff member "
                     "moderates (`site`: one of them). A stream ends after a while with a "
                     "`retry` hint; a console reloads its queue when it reconnects.")
    async def events(self, moderation_events: NamedDependency[ModerationEvents], request: Request,
                     site: SiteParam = None) -> ServerSentEvent:
        staff = staff_of(request)
        scope = moderation_events.scope(staff, site)
        if scope is not None:
            # a site that does not exist (an admin of every site may name any) is a 404 now, not a
            # stream that breaks once it has begun
            await moderation_events.sites.get(scope)
        # connect before answering, so that "unavailable" is a 503 and not a stream that says nothing
        await moderation_events.ready()
        heartbeat = moderation_events.heartbeat_seconds

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            ends = asyncio.get_running_loop().time() + moderation_events.lifetime()
            async with moderation_events.subscribe(staff, scope) as sub:
                # "ready" follows the subscription: nothing decided after it is missed
                yield ServerSentEventMessage(event="ready", data='{"type":"ready"}', retry=RETRY_MS)
                counts = await moderation_events.counts(sub)
                yield ServerSentEventMessage(event="counts", data=_json(counts))
                for viewers in moderation_events.presence_now(sub):
                    yield ServerSentEventMessage(event="presence", data=_json(viewers))
                checked = asyncio.get_running_loop().time()
                async for message in relay(sub.queue, ends, heartbeat, _message):
                    if (now := asyncio.get_running_loop().time()) - checked >= heartbeat:
                        # a stream outlives its admission: a sign-out or a revoked token ends it too
                        if not await still_admitted(request):
                            return
                        checked = now
                    yield message

        return ServerSentEvent(stream(), headers={"Cache-Control": "no-store"})

    @post("/presence", summary="Say which comment this moderator has in view (null: none)", status_code=200,
          description="Other moderators' consoles show it while it is refreshed (every 15 s or so; it lapses after "
                      "30 s). Answers who else has the comment in view.")
    async def presence(self, moderation_events: NamedDependency[ModerationEvents], request: Request,
                       data: JSONBody[Looking], site: SiteParam = None) -> PresenceResult:
        return await moderation_events.look(staff_of(request), site, data.comment_id)


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


def _message(item: tuple[str, str]) -> ServerSentEventMessage:
    return ServerSentEventMessage(event=item[0], data=item[1])


@asynccontextmanager
async def moderation_live_lifespan(app: Litestar) -> AsyncIterator[None]:
    """After the services are built: streams end on a stop signal. The listener itself is closed with
    the other services (wiring.close_api)."""
    events: ModerationEvents = app.state.services.moderation_events
    with end_streams_on_signals(events.shutdown_soon, asyncio.get_running_loop()):
        yield
