"""Notification emails as ``email.message.EmailMessage`` objects: the message (``Mail`` -> ``build``)
and the words of each kind of notification (``reply_digest``, ``confirm_email``, ``moderator_alert``,
``held_digest``, each giving a ``Rendered`` subject, text and HTML). Pure: no I/O, no clock but the
Date header's. Mails to readers (replies, confirmation, the DSA's) are written in the reader's
language (``Words``: services/notifications.words builds it from comments_service/i18n; each
sentence a msgid there); moderators' are English.

Everything a reader wrote (names, excerpts, titles, summaries) reaches the HTML only through
``html.escape`` and the text only without control characters, bidirectional overrides or line
breaks; every link is checked to be http(s) before it becomes an ``href``. Header values with a CR
or LF are refused (ValueError), so no value can add a header of its own.

The Message-ID is a function of the delivery's idempotency key: a delivery sent twice (a retry
after a lost reply) carries the same Message-ID both times, which lets a receiver drop the copy.
"""

from __future__ import annotations

import binascii
import hashlib
import html
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from email.policy import Policy
from email.utils import formataddr, formatdate
from string import Template
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .structs import Struct

# ``tr(msgid, **params)``: the reader's translation (comments_service/i18n.translator); English by default
Translate = Callable[..., str]

EXCERPT_CHARS = 300
NAME_CHARS = 100
TITLE_CHARS = 200
SUMMARY_CHARS = 1000
# a digest lists this many replies and counts the rest: a thread that explodes overnight still
# makes a short email
DIGEST_MAX_LISTED = 20
# RFC 5322 2.1.1: a line is at most 998 characters; the List-Unsubscribe line is never folded
_MAX_HEADER_LINE = 998


class Mail(Struct, frozen=True):
    """One email to one address. ``message_id_key``: the delivery's idempotency key (the same for
    every attempt at the same delivery). ``unsubscribe_url``: the one-click (RFC 8058) link, for
    mail a reader subscribed to. ``from_name`` empty: the site's name is the sender's display name."""

    to: str
    from_address: str
    from_name: str
    subject: str
    text: str
    html: str
    message_id_key: str
    unsubscribe_url: str | None
    site_name: str
    reply_to: str | None = None


class ReplyLine(Struct, frozen=True):
    """One new reply in a reply digest: who wrote it, its start (cut here to EXCERPT_CHARS), its link."""

    author_name: str
    excerpt: str
    url: str


class Rendered(NamedTuple):
    subject: str
    text: str
    html: str


# ---------------------------------------------------------------- the message
#
# The message is put together from headers and parts already in their wire form (set_raw, RFC 2047
# encoded where needed, bodies quoted-printable): built through the email package's header objects
# it cost eight times as much (about 2.5 ms a message here), and as much again to fold when sent.
# The result is an ordinary EmailMessage: reading a header parses it, except List-Unsubscribe and a
# header with a line over 78 characters, which read back as their wire form (_VerbatimHeader).

_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")
_LDH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


class _VerbatimHeader(str):
    """A header value (in wire form, lines joined by "\\n ") that the generator writes as it is. The
    email package refolds a long value, and turns a long List-Unsubscribe URL into RFC 2047 encoded
    words that no mail client reads as a URL; a value with ``name`` and ``fold`` is asked to fold
    itself instead (email.policy.EmailPolicy._fold)."""

    name: str

    def __new__(cls, name: str, value: str) -> _VerbatimHeader:
        self = super().__new__(cls, value)
        self.name = name
        return self

    def fold(self, *, policy: Policy) -> str:
        lines = self.split("\n")
        return f"{self.name}: {policy.linesep.join(lines)}{policy.linesep}"


def _set(msg: EmailMessage, name: str, value: str) -> None:
    """Store a header already in wire form (lines joined by "\\n "). Lines within RFC 5322's 78
    characters are stored raw (reading the header parses it, as for any header); a longer one would
    be refolded when sent, and the email package's refolding can break a header (a display name
    with "<" comes out half encoded, a URL becomes encoded words), so it is written as it is."""
    lines = f"{name}: {value}".split("\n")
    if all(len(line) <= 78 for line in lines):
        msg.set_raw(name, value)
    elif all(len(line) <= _MAX_HEADER_LINE for line in lines):
        msg.set_raw(name, _VerbatimHeader(name, value))
    else:
        raise ValueError(f"{name}: a line of this header would be over {_MAX_HEADER_LINE} characters")


def _refuse_line_breaks(field: str, value: str) -> str:
    # CR and LF end a header line; the other line separators (VT, FF, NEL, U+2028/9) are refused
    # too, since some parsers and str.splitlines break lines there as well
    if any(ch in value for ch in "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029") or "\x00" in value:
        raise ValueError(f"{field}: a header value may not contain a line break or NUL")
    return value


def _is_host_name(value: str) -> bool:
    return 0 < len(value) <= 253 and all(
        0 < len(label) <= 63 and set(label) <= _LDH and not label.startswith("-") and not label.endswith("-")
        for label in value.split(".")
    )


def check_address(value: str, field: str = "address") -> str:
    """``value`` if it is a plain ASCII address (dot-atom local part @ host name), else ValueError.
    Quoted local parts, address literals and internationalised addresses are refused: worth checking
    with this when an address is first given, not when the mail goes out."""
    _refuse_line_breaks(field, value)
    local, at, host = value.rpartition("@")
    if (not at or not 0 < len(local) <= 64 or len(value) > 254 or not set(local) <= _ATEXT | {"."}
            or local.startswith(".") or local.endswith(".") or ".." in local or "." not in host
            or not _is_host_name(host)):
        raise ValueError(f"{field}: {value!r} is not a plain email address")
    return value


def _domain(value: str) -> str:
    _refuse_line_breaks("domain", value)
    if not _is_host_name(value):
        raise ValueError(f"domain: {value!r} is not a host name")
    return value


def _checked_url(field: str, url: str) -> str:
    """An absolute http(s) URL of printable ASCII without spaces, quotes or angle brackets: safe in an
    ``href``, in a text body and between the angle brackets of List-Unsubscribe."""
    _refuse_line_breaks(field, url)
    if not url.isascii() or any(ch.isspace() or not ch.isprintable() or ch in '<>"' for ch in url):
        raise ValueError(f"{field}: the URL must be printable ASCII without spaces, quotes or angle brackets")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"{field}: not a URL") from exc
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{field}: only an absolute http or https URL is allowed")
    return url


def _encoded(name: str, value: str) -> str:
    """An unstructured header value in its wire form: as it is when short ASCII, else RFC 2047.
    ASCII holding "=?" is encoded too: left as it is, a receiver would decode a title such as
    "=?utf-8?b?...?=" as an encoded word, into whatever it hides."""
    if "=?" in value:
        return Header(value, "utf-8", header_name=name).encode()
    if value.isascii() and len(name) + 2 + len(value) <= 78:
        return value
    return Header(value, "us-ascii" if value.isascii() else "utf-8", header_name=name).encode()


def _mailbox(field: str, address: str, display_name: str = "") -> str:
    check_address(address, field)
    _refuse_line_breaks(f"{field} name", display_name)
    if len(display_name) > NAME_CHARS:
        # a site's name is set by its admin: a long one is shortened, not a reason to stop the mail
        display_name = display_name[: NAME_CHARS - 1].rstrip() + "\u2026"
    if not display_name:
        return address
    if display_name.isascii() and "=?" not in display_name:
        phrase = formataddr((display_name, "x@x"))[: -len(" <x@x>")]
    else:
        # encoded words of at most 75 characters, one a line (RFC 2047 2 and 6.2)
        phrase = Header(display_name, "utf-8", header_name=field).encode(maxlinelen=76)
    last_line = phrase.rsplit("\n", 1)[-1]
    joiner = " " if len(field) + 2 + len(last_line) + len(address) + 3 <= 78 else "\n "
    return f"{phrase}{joiner}<{address}>"


def message_id(message_id_key: str, domain: str) -> str:
    """The Message-ID of every attempt at one delivery."""
    if not message_id_key:
        raise ValueError("message_id_key: empty")
    digest = hashlib.sha256(message_id_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{_domain(domain)}>"


def _text_part(subtype: str, body: str) -> EmailMessage:
    part = EmailMessage()
    part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
    part.set_raw("Content-Transfer-Encoding", "quoted-printable")
    # binascii's QP: lines of at most 76 characters, "=" always escaped (see the boundary below)
    part.set_payload(binascii.b2a_qp(body.encode("utf-8", "replace"), istext=True).decode("ascii"))
    return part


def build(mail: Mail, *, domain: str) -> EmailMessage:
    """The message for ``mail``, ready for SmtpSender.send. ``domain``: the right-hand side of the
    Message-ID (the sending site's host). ValueError on a header value with a line break, an
    address that is not a plain one, or an unsubscribe URL that is not http(s)."""
    _refuse_line_breaks("subject", mail.subject)
    _refuse_line_breaks("site_name", mail.site_name)
    msg = EmailMessage()
    _set(msg, "From", _mailbox("From", mail.from_address, mail.from_name or mail.site_name))
    _set(msg, "To", _mailbox("To", mail.to))
    if mail.reply_to is not None:
        _set(msg, "Reply-To", _mailbox("Reply-To", mail.reply_to))
    _set(msg, "Subject", _encoded("Subject", mail.subject))
    msg.set_raw("Date", formatdate(localtime=False, usegmt=True))
    identifier = message_id(mail.message_id_key, domain)
    msg.set_raw("Message-ID", identifier)
    # RFC 3834: an automatic message, so out-of-office replies do not answer it
    msg.set_raw("Auto-Submitted", "auto-generated")
    if mail.unsubscribe_url is not None:
        value = f"<{_checked_url('unsubscribe_url', mail.unsubscribe_url)}>"
        if len("List-Unsubscribe: ") + len(value) > _MAX_HEADER_LINE:
            raise ValueError("unsubscribe_url: too long for one header line")
        msg.set_raw("List-Unsubscribe", _VerbatimHeader("List-Unsubscribe", value))
        # RFC 8058: a POST with this body to the URL unsubscribes, no page to click through
        msg.set_raw("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    msg.set_raw("MIME-Version", "1.0")
    # Both parts are quoted-printable, where "=" is always followed by two hex digits or a line
    # break: no line of theirs can contain "=_", so this boundary can never occur in them.
    msg.set_raw("Content-Type", f'multipart/alternative;\n boundary="=_{identifier[1:33]}"')
    msg.set_payload([_text_part("plain", mail.text), _text_part("html", mail.html)])
    return msg


# ---------------------------------------------------------------- what reader-written text becomes

# Format characters (Cf) go, bidirectional overrides and isolates among them (they make a name read
# as something else) and tag characters (invisible text), except the joiners that emoji sequences and
# some scripts need. Lone surrogates (Cs) go too: they cannot be encoded as UTF-8.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_KEPT_FORMAT = frozenset("\u200c\u200d")


def clean_text(value: str, limit: int) -> str:
    """``value`` on one line: control and format characters dropped, every run of white space
    one space, cut to at most ``limit`` characters (the last one an ellipsis when cut)."""
    kept: list[str] = []
    space = False
    for ch in value:
        category = unicodedata.category(ch)
        if ch.isspace() or category in ("Zl", "Zp"):
            space = bool(kept)
            continue
        if category in _DROPPED_CATEGORIES and ch not in _KEPT_FORMAT:
            continue
        if space:
            kept.append(" ")
            space = False
        kept.append(ch)
        if len(kept) > limit:
            break
    if len(kept) > limit:
        kept = kept[: limit - 1]
        while kept and kept[-1] == " ":
            kept.pop()
        kept.append("\u2026")
    return "".join(kept)


def _h(value: str) -> str:
    return html.escape(value, quote=True)


_PAGE = Template("""\
<!DOCTYPE html>
<html lang="$lang"$dir>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
</head>
<body style="margin:0;padding:16px;background:#ffffff;color:#1a1a1a;\
font-family:Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5">
<main style="max-width:600px;margin:0 auto">
$body
</main>
<footer style="max-width:600px;margin:24px auto 0;color:#4a4a4a;font-size:14px">
$footer
</footer>
</body>
</html>
""")


def _page(title: str, body: str, footer: str, words: Words | None = None) -> str:
    words = words or ENGLISH
    return _PAGE.substitute(title=_h(title), body=body, footer=footer, lang=_h(words.lang),
                            dir=' dir="rtl"' if words.rtl else "")


def _link(url: str, label: str) -> str:
    return f'<a href="{_h(url)}" style="color:#0b57d0">{_h(label)}</a>'


# ---------------------------------------------------------------- the reader's language

_FIELD = re.compile(r"\{(\w+)\}")


def english(msgid: str, **params: Any) -> str:
    """The msgid itself, its ``{placeholders}`` filled (comments_service/i18n.translate's rule)."""
    if not params:
        return msgid
    return _FIELD.sub(lambda m: str(params[m.group(1)]) if m.group(1) in params else m.group(0), msgid)


def _english_when(value: datetime) -> str:
    return value.strftime("%d %B %Y, %H:%M UTC")


class Words(NamedTuple):
    """The language a mail to a reader is written in: its translation of each sentence (the
    English sentence is the msgid, through comments_service/i18n), how it writes a count and a
    date, and its tag and direction for the HTML. Moderators' mails are English."""

    tr: Translate = english
    number: Callable[[int], str] = str
    when: Callable[[datetime], str] = _english_when
    lang: str = "en"
    rtl: bool = False


ENGLISH = Words()


# ---------------------------------------------------------------- reply digest


def reply_digest(
    site_name: str, article_title: str, article_url: str, replies: list[ReplyLine], unsubscribe_url: str,
    words: Words = ENGLISH,
) -> Rendered:
    """One email about 1..N new replies to a reader's comments under one article, in ``words``."""
    if not replies:
        raise ValueError("replies: a digest needs at least one reply")
    tr = words.tr
    site = clean_text(site_name, NAME_CHARS)
    title = clean_text(article_title, TITLE_CHARS)
    article_url = _checked_url("article_url", article_url)
    unsubscribe_url = _checked_url("unsubscribe_url", unsubscribe_url)
    count = len(replies)
    # one reply, or several: the translations of the second put the count where no noun has to agree
    # with it ("Новые ответы …: 21"), as a catalogue of single messages cannot give each number its form
    if count == 1:
        subject = tr("A new reply to your comment on \u201c{title}\u201d", title=title)
        headline = tr("A new reply on \u201c{title}\u201d", title=title)
    else:
        subject = tr("{count} new replies to your comment on \u201c{title}\u201d", count=words.number(count),
                     title=title)
        headline = tr("{count} new replies on \u201c{title}\u201d", count=words.number(count), title=title)
    listed = [
        (clean_text(r.author_name, NAME_CHARS) or tr("Someone"), clean_text(r.excerpt, EXCERPT_CHARS),
         _checked_url("reply url", r.url))
        for r in replies[:DIGEST_MAX_LISTED]
    ]
    hidden = count - len(listed)
    more = tr("and {count} more", count=words.number(hidden)) if hidden else ""
    why = tr("You get this email because you asked {site_name} to tell you about replies.", site_name=site)
    text = "".join([
        f"{headline}\n\n",
        "\n".join(f"{tr('{author} wrote:', author=a)}\n  {e}\n  {u}\n" for a, e, u in listed),
        f"\n...{more}\n" if more else "",
        f"\n{tr('Read the conversation: {url}', url=article_url)}\n\n--\n{why}\n",
        f"{tr('Unsubscribe: {url}', url=unsubscribe_url)}\n",
    ])
    items = "\n".join(
        _REPLY_ITEM.substitute(author=_h(a), excerpt=_h(e), link=_link(u, tr("Read {author}\u2019s reply", author=a)))
        for a, e, u in listed)
    body = (f'<h1 style="font-size:20px;margin:0 0 16px">{_h(headline)}</h1>\n'
            f'<ul style="list-style:none;padding:0;margin:0">\n{items}\n</ul>\n'
            + (f'<p style="margin:0">{_h(more)}</p>' if more else "")
            + f'\n<p style="margin:24px 0 0">{_link(article_url, tr("Read the conversation"))}</p>\n')
    footer = (f'<p style="margin:0">{_h(why)}\n'
              f'{_link(unsubscribe_url, tr("Unsubscribe from reply emails"))}</p>')
    return Rendered(subject, text, _page(subject, body, footer, words))


_REPLY_ITEM = Template("""\
<li style="margin:0 0 16px;padding:0 0 0 12px;border-left:3px solid #c4c4c4">
<p style="margin:0;font-weight:bold">$author</p>
<p style="margin:4px 0">$excerpt</p>
<p style="margin:0">$link</p>
</li>""")


# ---------------------------------------------------------------- confirm a guest's address


def confirm_email(site_name: str, confirm_url: str, words: Words = ENGLISH) -> Rendered:
    """Double opt-in: the first email to a guest's address, asking them to confirm it, in ``words``."""
    tr = words.tr
    site = clean_text(site_name, NAME_CHARS)
    confirm_url = _checked_url("confirm_url", confirm_url)
    subject = tr("Confirm your email address for {site_name}", site_name=site)
    asked = tr("Someone (we hope you) asked {site_name} to send reply notifications to this address.",
               site_name=site)
    ignore = tr("If it was not you, ignore this email: nothing will be sent to you.")
    text = (f"{tr('Please confirm your email address for {site_name}.', site_name=site)}\n\n{asked}\n"
            f"{tr('To confirm, open this link:')}\n\n{confirm_url}\n\n{ignore}\n")
    body = (f'<h1 style="font-size:20px;margin:0 0 16px">{_h(tr("Confirm your email address"))}</h1>\n'
            f"<p>{_h(asked)}</p>\n"
            f'<p style="margin:24px 0">{_link(confirm_url, tr("Confirm my email address"))}</p>\n'
            f"<p>{_h(ignore)}</p>\n")
    return Rendered(subject, text, _page(subject, body, f'<p style="margin:0">{_h(site)}</p>', words))


# ---------------------------------------------------------------- moderators

_ALERT_TEXT = Template("""\
Moderation alert on $site_name: $kind

$summary

Open the moderation console: $console_url
""")

_ALERT_BODY = Template("""\
<h1 style="font-size:20px;margin:0 0 16px">Moderation alert: $kind</h1>
<p>$summary</p>
<p style="margin:24px 0">$console_link</p>
""")

_STAFF_FOOTER = Template('<p style="margin:0">You get this email as a moderator of $site_name.</p>')


def moderator_alert(site_name: str, kind: str, summary: str, console_url: str) -> Rendered:
    """Something a moderator should look at now (``kind``: a short label; ``summary`` may quote readers)."""
    site = clean_text(site_name, NAME_CHARS)
    kind = clean_text(kind, NAME_CHARS)
    summary = clean_text(summary, SUMMARY_CHARS)
    console_url = _checked_url("console_url", console_url)
    subject = f"[{site}] Moderation alert: {kind}"
    text = _ALERT_TEXT.substitute(site_name=site, kind=kind, summary=summary, console_url=console_url)
    body = _ALERT_BODY.substitute(
        kind=_h(kind), summary=_h(summary), console_link=_link(console_url, "Open the moderation console")
    )
    return Rendered(subject, text, _page(subject, body, _STAFF_FOOTER.substitute(site_name=_h(site))))


_HELD_TEXT = Template("""\
$headline on $site_name.
The oldest has waited $age.

Review them: $console_url
""")

_HELD_BODY = Template("""\
<h1 style="font-size:20px;margin:0 0 16px">$headline</h1>
<p>The oldest has waited $age.</p>
<p style="margin:24px 0">$console_link</p>
""")


def _age(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} minute{'' if minutes == 1 else 's'}"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"


def held_digest(site_name: str, held_count: int, oldest_age_minutes: int, console_url: str) -> Rendered:
    """Comments held for review, for the moderators who have not looked yet."""
    if held_count < 1 or oldest_age_minutes < 0:
        raise ValueError("held_digest: held_count must be at least 1 and oldest_age_minutes not negative")
    site = clean_text(site_name, NAME_CHARS)
    console_url = _checked_url("console_url", console_url)
    headline = f"{held_count} comment{'' if held_count == 1 else 's'} waiting for review"
    subject = f"[{site}] {headline}"
    age = _age(oldest_age_minutes)
    text = _HELD_TEXT.substitute(headline=headline, site_name=site, age=age, console_url=console_url)
    body = _HELD_BODY.substitute(
        headline=_h(headline), age=_h(age), console_link=_link(console_url, "Review held comments")
    )
    return Rendered(subject, text, _page(subject, body, _STAFF_FOOTER.substitute(site_name=_h(site))))


# ---------------------------------------------------------------- the Digital Services Act (services/dsa.py)
#
# Every sentence is a literal msgid (the ``tr`` calls below, and the tables' values, marked with
# N_, are read by comments_service/i18n_sources): these mails go to readers, in their language.

DSA_KINDS = ("notice_decision", "appeal_decision", "statement")
DSA_EXPLANATION_CHARS = 5000


def N_(msgid: str) -> str:  # gettext's name: a msgid translated where it is sent
    return msgid


_CATEGORY_WORDS = {
    "illegal_hate_speech": N_("illegal hate speech"), "terrorist_content": N_("terrorist content"),
    "child_sexual_abuse_material": N_("child sexual abuse material"), "defamation": N_("defamation"),
    "privacy_violation": N_("a privacy violation"),
    "intellectual_property": N_("an intellectual property infringement"),
    "fraud_or_scam": N_("fraud or a scam"), "other_illegal": N_("illegal content"),
}


def _paragraphs(lines: list[str]) -> str:
    return "".join(f"<p>{_h(line)}</p>" for line in lines)


def _dsa_mail(site: str, subject: str, lines: list[str], words: Words) -> Rendered:
    text = "\n\n".join(lines) + "\n"
    body = f'<h1 style="font-size:20px;margin:0 0 16px">{_h(subject)}</h1>' + _paragraphs(lines)
    return Rendered(subject, text, _page(subject, body, f'<p style="margin:0">{_h(site)}</p>', words))


def _out_of_court(tr: Translate, out_of_court: str | None, also: bool) -> str:
    settle = clean_text(out_of_court, DSA_EXPLANATION_CHARS) if out_of_court else ""
    if also:
        return (tr("You may also turn to an out-of-court dispute settlement body: {body}, or to a court.", body=settle)
                if settle else tr("You may also turn to an out-of-court dispute settlement body, or to a court."))
    return (tr("You may turn to an out-of-court dispute settlement body: {body}, or to a court.", body=settle)
            if settle else tr("You may turn to an out-of-court dispute settlement body, or to a court."))


def notice_decision(site_name: str, reference: str, category: str, decision: str, explanation: str,
                    appeal_key: str | None, words: Words = ENGLISH) -> Rendered:
    """The decision on a notice of illegal content, told to its notifier (Art. 16(5) DSA), with how
    to appeal a decision to keep the comment (Art. 20)."""
    tr = words.tr
    site = clean_text(site_name, NAME_CHARS)
    reference = clean_text(reference, 20)
    what = tr(_CATEGORY_WORDS.get(category, "illegal content"))
    subject = f"[{site}] " + tr("Decision on your notice {reference}", reference=reference)
    outcome = (tr("We removed the comment you reported.") if decision == "remove"
               else tr("We reviewed the comment you reported and decided to keep it online."))
    lines = [tr("You told {site_name} about a comment (reference {reference}) that you consider illegal: "
                "{category}.", site_name=site, reference=reference, category=what), outcome,
             tr("Our reasons: {explanation}", explanation=clean_text(explanation, DSA_EXPLANATION_CHARS)),
             tr("This decision was taken by a person, not by automated means.")]
    if appeal_key:
        lines.append(tr("You may appeal this decision within six months, free of charge, with your reference "
                        "{reference} and this appeal key: {appeal_key}", reference=reference,
                        appeal_key=clean_text(appeal_key, 64)))
    lines.append(tr("You may also turn to an out-of-court dispute settlement body or a court."))
    return _dsa_mail(site, subject, lines, words)


def appeal_decision(site_name: str, outcome: str, explanation: str, out_of_court: str | None,
                    to_notifier: bool, *, authors_appeal: bool = False, words: Words = ENGLISH) -> Rendered:
    """The reasoned decision on an appeal (Art. 20(5) DSA), with the out-of-court option (Art. 21):
    to the appellant, or (``authors_appeal`` and ``to_notifier``) to the notifier whose notice led to
    the removal the author appealed, since its outcome changes what their notice achieved."""
    tr = words.tr
    site = clean_text(site_name, NAME_CHARS)
    if to_notifier and authors_appeal:
        subject = f"[{site}] " + tr("An appeal on the comment you reported")
        result = (tr("Its author appealed our removal, and we reversed it: the comment is visible again.")
                  if outcome == "reverse" else
                  tr("Its author appealed our removal, and we confirmed it: the comment stays removed."))
        who = tr("A person, not an automated system, decided the appeal.")
    else:
        subject = f"[{site}] " + tr("Decision on your appeal")
        if to_notifier:
            result = (tr("We reversed our decision: the comment you reported is removed.") if outcome == "reverse"
                      else tr("We confirmed our decision to keep the comment you reported."))
        else:
            result = (tr("We reversed our decision: the restriction is lifted.") if outcome == "reverse"
                      else tr("We confirmed our decision."))
        who = tr("A person, not an automated system, decided your appeal.")
    lines = [result, tr("Our reasons: {explanation}", explanation=clean_text(explanation, DSA_EXPLANATION_CHARS)),
             who, _out_of_court(tr, out_of_court, also=False)]
    return _dsa_mail(site, subject, lines, words)


_STATEMENT_DECISIONS = {
    "removal": N_("We removed your comment: readers no longer see it."),
    "suspension": N_("We suspended your account: you cannot post, edit or vote until {until}."),
    "termination": N_("We banned your account: you cannot post, edit or vote until the ban is lifted."),
}
_SUSPENSION_WITHOUT_END = N_("Your account is suspended: you cannot post, edit or vote until the date given.")
_SOURCES = {
    "automated": N_("Our automated moderation flagged it."),
    "notice": N_("It followed a notice that the content is illegal."),
    "reader_report": N_("Readers reported it to our moderators."),
    "own_initiative": N_("Our moderators acted on their own initiative."),
}


def _until(value: str | None, words: Words) -> str | None:
    """A suspension's end (an ISO timestamp in the payload) as the reader's language writes a date;
    None when the payload has none."""
    if not value:
        return None
    try:
        return words.when(datetime.fromisoformat(value))
    except (TypeError, ValueError):
        return clean_text(value, 40)


def statement_of_reasons(site_name: str, restriction: str, until: str | None, reason: str | None,
                         ground: str | None, source: str, automated_detection: bool, automated_decision: bool,
                         out_of_court: str | None, words: Words = ENGLISH) -> Rendered:
    """A statement of reasons (Art. 17 DSA), told to the author when their address is known: what
    was decided, on what ground and facts, whether automated means were used, and the redress.
    ``reason``: the reason's words in English (a msgid), translated here; ``ground``: the site's own
    rule, as its admin wrote it."""
    tr = words.tr
    site = clean_text(site_name, NAME_CHARS)
    subject = f"[{site}] " + (tr("Why we restricted your comment") if restriction == "removal"
                              else tr("Why we restricted your account"))
    decision = _STATEMENT_DECISIONS.get(restriction)
    end = _until(until, words)
    if restriction == "suspension" and end is None:
        # a sentence of its own: "until" + a phrase does not read in every language ("jusqu'au la …")
        decision = _SUSPENSION_WITHOUT_END
    lines = [tr(decision, until=end) if decision else tr("We restricted your content.")]
    if reason:
        lines.append(tr("Reason: {reason}", reason=clean_text(tr(reason), NAME_CHARS)))
    if ground and ground != reason:
        lines.append(tr("Our rule: {rule}", rule=clean_text(ground, DSA_EXPLANATION_CHARS)))
    lines.append(tr(_SOURCES[source]) if source in _SOURCES else "")
    if automated_detection:
        lines.append(tr("Automated means detected it, and the decision was taken automatically.")
                     if automated_decision else tr("Automated means detected it, and a person took the decision."))
    else:
        lines.append(tr("Automated means did not detect it, and the decision was taken automatically.")
                     if automated_decision else
                     tr("Automated means did not detect it, and a person took the decision."))
    lines.append(tr("You may appeal within six months, free of charge, from your comments on the site; a person "
                    "decides the appeal."))
    lines.append(_out_of_court(tr, out_of_court, also=True))
    return _dsa_mail(site, subject, [line for line in lines if line], words)
