"""Admins' webhooks (services/webhooks.py): a site's endpoints, their secrets (shown once), a test
event, the delivery log, and the payload's schema. A site's admins manage that site's endpoints
(``?site=`` names it for an SSO admin, or an admin of every site); another site's endpoint answers
404 webhook_not_found, as one that does not exist; moderators get 403."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import Meta

from ..domain.structs import Struct
from ..domain.webhook_events import EVENT_TYPES, WebhookEvent, examples
from ..domain.webhook_urls import MAX_URL_LENGTH
from ..services.webhooks import (
    MAX_DESCRIPTION_CHARS,
    TestEventQueued,
    WebhookAttempt,
    WebhookEndpoint,
    Webhooks,
    WebhookWithSecret,
)
from .auth import ModeratorRoutes, requires_admin, staff_of
from .params import SiteParam

_TYPES = ", ".join(EVENT_TYPES)
Url = Annotated[str, Meta(min_length=1, max_length=MAX_URL_LENGTH, description=(
    "Where to POST the events: https:// (a public host; no user name, password or #fragment)."))]
EventTypes = Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(min_length=1, max_length=len(EVENT_TYPES) * 2,
                                                                       description=f"Any of {_TYPES}.")]
Description = Annotated[str, Meta(max_length=MAX_DESCRIPTION_CHARS * 2, description=(
    f"What the endpoint is for, for the list (at most {MAX_DESCRIPTION_CHARS} characters)."))]


class NewWebhook(Struct, forbid_unknown_fields=True):
    url: Url
    event_types: EventTypes
    description: Description | None = None


class WebhookPatch(Struct, forbid_unknown_fields=True):
    """Only what is sent changes."""

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Annotated[Description, Meta(description="\"\" clears it.")] | None = None
    enabled: Annotated[bool, Meta(description=(
        "false stops deliveries (queued ones die when tried); true on a disabled endpoint starts afresh "
        "(its failing_since and disabled_* are cleared)."))] | None = None


Limit = Annotated[int, QueryParameter(ge=1, le=1000, description="How many attempts, newest first.")]


class WebhooksController(ModeratorRoutes):
    path = "/api/v1/moderation/webhooks"
    guards = [requires_admin]

    @get("", summary="The site's webhook endpoints (admins)")
    async def endpoints(self, webhooks: NamedDependency[Webhooks], request: Request,
                        site: SiteParam = None) -> list[WebhookEndpoint]:
        return await webhooks.endpoints(staff_of(request), site)

    @post("", status_code=201, summary="Register a webhook endpoint; its signing secret is shown once (admins)",
          description="422 invalid_webhook_url (errors[0].message is the reason), 422 unknown_event_type, 409 "
                      "too_many_webhooks (20 per site). The secret (whsec_…) signs every delivery per "
                      "Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature); it is returned in "
                      "this answer only.")
    async def create(self, webhooks: NamedDependency[Webhooks], request: Request, data: JSONBody[NewWebhook],
                     site: SiteParam = None) -> WebhookWithSecret:
        return await webhooks.create(staff_of(request), site, url=data.url, event_types=data.event_types,
                                     description=data.description)

    @patch("/{webhook_id:int}", summary="Change a webhook endpoint's URL, event types, description, or enable it "
                                        "(admins)")
    async def update(self, webhooks: NamedDependency[Webhooks], request: Request, webhook_id: FromPath[int],
                     data: JSONBody[WebhookPatch], site: SiteParam = None) -> WebhookEndpoint:
        return await webhooks.update(staff_of(request), webhook_id, url=data.url, event_types=data.event_types,
                                     description=data.description, enabled=data.enabled)

    @delete("/{webhook_id:int}", status_code=204,
            summary="Delete a webhook endpoint, its log and its deliveries still waiting (admins)")
    async def remove(self, webhooks: NamedDependency[Webhooks], request: Request, webhook_id: FromPath[int],
                     site: SiteParam = None) -> None:
        await webhooks.delete(staff_of(request), webhook_id)

    @post("/{webhook_id:int}/rotate-secret", status_code=200,
          summary="Replace a webhook endpoint's signing secret with a new one, shown once (admins)",
          description="Every delivery from now on, retries included, is signed with the new secret.")
    async def rotate_secret(self, webhooks: NamedDependency[Webhooks], request: Request, webhook_id: FromPath[int],
                            site: SiteParam = None) -> WebhookWithSecret:
        return await webhooks.rotate_secret(staff_of(request), webhook_id)

    @post("/{webhook_id:int}/test", status_code=202,
          summary="Queue a webhook.test event for the endpoint (admins)",
          description="Delivered by the notifier like every event (signed, retried, in the delivery log), "
                      "within seconds. 409 webhook_disabled for a disabled endpoint.")
    async def send_test(self, webhooks: NamedDependency[Webhooks], request: Request, webhook_id: FromPath[int],
                        site: SiteParam = None) -> TestEventQueued:
        return await webhooks.send_test(staff_of(request), webhook_id)

    @get("/{webhook_id:int}/attempts",
         summary="A webhook endpoint's delivery log: the last attempts, newest first (admins)")
    async def attempts(self, webhooks: NamedDependency[Webhooks], request: Request, webhook_id: FromPath[int],
                       limit: Limit = 50, site: SiteParam = None) -> list[WebhookAttempt]:
        return await webhooks.attempts(staff_of(request), webhook_id, limit)

    @get("/events/schema", summary="An example of every webhook event type: the body every delivery has (admins)",
         description="Each delivery's body is one WebhookEvent; data holds the type's fields and repeats its "
                     "type as data.type.")
    async def schema(self, site: SiteParam = None) -> list[WebhookEvent]:
        return examples()
