"""/dev/mail: the local run's mailbox (dev_mailbox.py), in demo mode with COMMENTS_DEV_MAIL_DIR set
only. Every value shown comes from a message, so everything is escaped; links in a message's text
and its List-Unsubscribe header are made clickable, nothing else of the message is rendered."""

from __future__ import annotations

import re
from email.message import EmailMessage
from html import escape
from pathlib import Path

from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from .. import dev_mailbox

# bounded, no nested repetition: linear on any text
_URL = re.compile(r"https?://[^\s<>\"']{1,2000}")


def _linked(text: str) -> str:
    out, last = [], 0
    for match in _URL.finditer(text):
        out.append(escape(text[last:match.start()]))
        url = escape(match.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    return part.get_content() if isinstance(part, EmailMessage) else "(no text part)"


def _page(title: str, body: str) -> Response[str]:
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
            "td,th{padding:.25rem .75rem;text-align:left;border-bottom:1px solid #ddd}"
            "pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}</style></head>"
            f"<body><h1>{escape(title)}</h1>{body}</body></html>")
    return Response(content=html, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})


def dev_mail_routes(folder: str) -> list[HTTPRouteHandler]:
    where = Path(folder)

    @get("/dev/mail", include_in_schema=False, sync_to_thread=False)
    def mailbox() -> Response[str]:
        rows = "".join(
            f'<tr><td>{escape(str(m["Date"] or ""))}</td><td>{escape(str(m["To"] or ""))}</td>'
            f'<td><a href="/dev/mail/{escape(name)}">{escape(str(m["Subject"] or "(no subject)"))}</a></td></tr>'
            for name, m in dev_mailbox.messages(where))
        body = ("<p>The emails this local run sent (no mail server is configured, so they stop here). "
                "Newest first.</p>" + (f"<table><tr><th>Date</th><th>To</th><th>Subject</th></tr>{rows}</table>"
                                       if rows else "<p>None yet.</p>"))
        return _page("Local mailbox", body)

    @get("/dev/mail/{name:str}", include_in_schema=False, sync_to_thread=False)
    def one(name: FromPath[str]) -> Response[str]:
        found = dev_mailbox.message(where, name)
        if found is None:
            raise NotFoundException()
        heads = "".join(f"<tr><th>{escape(h)}</th><td>{_linked(str(found[h]))}</td></tr>"
                        for h in ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe") if found[h])
        return _page(str(found["Subject"] or "(no subject)"),
                     f'<p><a href="/dev/mail">All messages</a></p><table>{heads}</table>'
                     f"<pre>{_linked(_text_of(found))}</pre>")

    return [mailbox, one]
