"""Readers' email notifications: their subscriptions (signed-in or guest token), and the pages
the links in our emails open, which act without signing in (the link is the credential)."""

from __future__ import annotations

from html import escape
from typing import Annotated

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import Meta

from .. import i18n
from ..domain.structs import Struct
from ..errors import DomainError
from ..services.moderator_alerts import ModeratorAlerts
from ..services.notifications import Subscriptions, SubscriptionView
from .deps import reader_of
from .middleware import PRIVATE
from .params import SiteParam, checked_article_id

Token = Annotated[str, QueryParameter(max_length=200, description="The token of the link in the email.")]


class SubscriptionCreate(Struct, forbid_unknown_fields=True):
    article_id: Annotated[str, Meta(min_length=1, max_length=1000, description="The site's id of the article.")]
    comment_id: Annotated[int, Meta(ge=1, description="Replies to this comment; without it, everything new "
                                                      "in the article.")] | None = None
    email: Annotated[str, Meta(max_length=254, description=(
        "Where to send them. A signed-in reader's own email (from the site's sign-in) is used when "
        "left out and needs no confirming; any other address gets a confirmation email first."))] | None = None


class MyNotificationsController(Controller):
    path = "/api/v1/me/notifications"
    tags = ["notifications"]

    @post("", summary="Ask for emails about replies (to a comment) or new comments (in an article)",
          status_code=201)
    async def subscribe(self, subscriptions: NamedDependency[Subscriptions], request: Request,
                        data: JSONBody[SubscriptionCreate], site: SiteParam = None) -> SubscriptionView:
        entry, actor = await reader_of(request)
        # the language the widget asks in is the one the reader's emails are written in
        return await subscriptions.subscribe(entry, actor, checked_article_id(data.article_id),
                                             comment_id=data.comment_id, email=data.email,
                                             locale=i18n.scope_asked(request.scope))

    @get("", summary="The reader's email subscriptions on this site")
    async def mine(self, subscriptions: NamedDependency[Subscriptions], request: Request,
                   site: SiteParam = None) -> list[SubscriptionView]:
        entry, actor = await reader_of(request)
        return await subscriptions.mine(entry, actor.identity)

    @delete("/{subscription_id:int}", summary="Stop one email subscription", status_code=204)
    async def cancel(self, subscriptions: NamedDependency[Subscriptions], request: Request,
                     subscription_id: FromPath[int], site: SiteParam = None) -> None:
        entry, actor = await reader_of(request)
        await subscriptions.cancel(entry, actor.identity, subscription_id)


def _page(title: str, body: str, status: int = 200, locale: str = i18n.DEFAULT) -> Response[str]:
    rtl = ' dir="rtl"' if i18n.direction(locale) == "rtl" else ""
    html = (f'<!doctype html><html lang="{escape(locale)}"{rtl}><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">'
            f"<title>{escape(title)}</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;"
            f"margin:3rem auto;padding:0 1rem}}button{{font:inherit;padding:.5rem 1rem}}</style></head>"
            f"<body><h1>{escape(title)}</h1>{body}</body></html>")
    return Response(content=html, status_code=status, media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "Content-Language": locale,
                             # the same link answers in the language of whoever opens it when none is stored
                             "Vary": "Accept-Language"})


def _locale(request: Request, stored: str | None = None) -> str:
    """A reader's page speaks the language stored with their subscription, else their browser's."""
    return i18n.supported(stored) or i18n.negotiate(None, request.headers.get("accept-language"))


def _what(view: SubscriptionView, tr: i18n.Translate) -> str:
    """What the subscription sends, in words (to be escaped: the title is the page's)."""
    if view.scope == "comment":
        return tr("replies to your comment on \u201c{title}\u201d", title=view.article_title)
    return tr("new comments on \u201c{title}\u201d", title=view.article_title)


def _about(view: SubscriptionView, tr: i18n.Translate) -> dict[str, str]:
    """The fields of a sentence about ``view``; the sentence is escaped whole (address and title are readers')."""
    return {"email": view.email, "what": _what(view, tr)}


def _form(action: str, token: str, label: str) -> str:
    # the page acts only on a POST: mail scanners that open every link must not unsubscribe anyone
    return (f'<form method="post" action="{escape(action)}?token={escape(token)}">'
            f'<button type="submit">{escape(label)}</button></form>')


def _problem_page(error: DomainError, locale: str = i18n.DEFAULT) -> Response[str]:
    tr = i18n.translator(locale)
    return _page(tr("This link cannot be used"), f"<p>{escape(tr(error.info.help))}</p>", error.status, locale)


class NotificationLinksController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]
    # opened from an email and posted from their own page, never called by an embedding site: no
    # site's CORS applies (the link's token is the credential, whoever's page sent the request)
    opt = {PRIVATE: True}

    @get("/unsubscribe", summary="The page an email's unsubscribe link opens")
    async def unsubscribe_page(self, subscriptions: NamedDependency[Subscriptions], request: Request,
                               token: Token) -> Response[str]:
        try:
            view, stored = await subscriptions.by_link("unsubscribe", token)
        except DomainError as error:
            return _problem_page(error, _locale(request))
        locale = _locale(request, stored)
        tr = i18n.translator(locale)
        said = escape(tr("Emails to {email} about {what}.", **_about(view, tr)))
        return _page(tr("Stop these emails?"), f"<p>{said}</p>"
                     + _form("/api/v1/notifications/unsubscribe", token, tr("Unsubscribe")), locale=locale)

    @post("/unsubscribe", summary="Unsubscribe (RFC 8058 one-click: the mail client's POST, or the page's button)",
          status_code=200)
    async def unsubscribe(self, subscriptions: NamedDependency[Subscriptions], request: Request,
                          token: Token) -> Response[str]:
        try:
            view, stored = await subscriptions.unsubscribe(token)
        except DomainError as error:
            locale = _locale(request)
            if error.code == "subscription_not_found":  # done before: the same answer, nothing to undo
                tr = i18n.translator(locale)
                return _page(tr("Unsubscribed"), f"<p>{escape(tr('You will get no more of these emails.'))}</p>",
                             locale=locale)
            return _problem_page(error, locale)
        locale = _locale(request, stored)
        tr = i18n.translator(locale)
        said = escape(tr("No more emails to {email} about {what}.", **_about(view, tr)))
        return _page(tr("Unsubscribed"), f"<p>{said}</p>", locale=locale)

    @get("/confirm", summary="The page a confirmation email's link opens")
    async def confirm_page(self, subscriptions: NamedDependency[Subscriptions], request: Request,
                           token: Token) -> Response[str]:
        try:
            view, stored = await subscriptions.by_link("confirm", token)
        except DomainError as error:
            return _problem_page(error, _locale(request))
        locale = _locale(request, stored)
        tr = i18n.translator(locale)
        said = escape(tr("Send emails to {email} about {what}?", **_about(view, tr)))
        return _page(tr("Confirm your email"), f"<p>{said}</p>"
                     + _form("/api/v1/notifications/confirm", token, tr("Yes, send them")), locale=locale)

    @post("/confirm", summary="Confirm an address for email notifications", status_code=200)
    async def confirm(self, subscriptions: NamedDependency[Subscriptions], request: Request,
                      token: Token) -> Response[str]:
        try:
            view, stored = await subscriptions.confirm(token, i18n.asked(None, request.headers.get("accept-language")))
        except DomainError as error:
            return _problem_page(error, _locale(request))
        locale = _locale(request, stored)
        tr = i18n.translator(locale)
        said = escape(tr("We will email {email} about {what}. Every email has a link to stop them.",
                         **_about(view, tr)))
        return _page(tr("Confirmed"), f"<p>{said}</p>", locale=locale)

    @get("/alerts-off", summary="The page a moderator alert's stop link opens")
    async def alerts_off_page(self, moderator_alerts: NamedDependency[ModeratorAlerts], token: Token) -> Response[str]:
        try:
            email = await moderator_alerts.by_link(token)
        except DomainError as error:
            return _problem_page(error)
        return _page("Stop these alerts?", f"<p>Moderation alerts to {escape(email)}.</p>"
                                           + _form("/api/v1/notifications/alerts-off", token, "Stop them"))

    @post("/alerts-off", summary="Turn a moderator's email alerts off (RFC 8058 one-click, or the page's button)",
          status_code=200)
    async def alerts_off(self, moderator_alerts: NamedDependency[ModeratorAlerts], token: Token) -> Response[str]:
        try:
            email = await moderator_alerts.off_by_link(token)
        except DomainError as error:
            if error.code == "subscription_not_found":
                return _page("Alerts off", "<p>No more moderation alerts will be sent for this.</p>")
            return _problem_page(error)
        return _page("Alerts off", f"<p>No more moderation alerts to {escape(email)} for this site.</p>")
