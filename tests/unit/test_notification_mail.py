"""Notification emails: the headers a receiver reads, the Message-ID of a resend, RFC 8058's pair,
and what hostile reader text becomes in the HTML and the text. Messages are checked as a receiver
sees them: written out as SMTP would send them, then parsed again."""

from __future__ import annotations

import datetime
import email
import email.policy
import re
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest

from comments_service.domain.notification_mail import (
    DIGEST_MAX_LISTED,
    EXCERPT_CHARS,
    Mail,
    ReplyLine,
    build,
    check_address,
    confirm_email,
    held_digest,
    message_id,
    moderator_alert,
    reply_digest,
)

DOMAIN = "news.example"
UNSUBSCRIBE = "https://news.example/notifications/unsubscribe?token=abc123"
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</title><script>alert(1)</script>",
    "&lt;script&gt;",
    "$site_name ${headline} $$",
]


def mail(**changes: object) -> Mail:
    fields: dict[str, object] = {
        "to": "reader@example.org", "from_address": "noreply@news.example", "from_name": "Daily News",
        "subject": "1 new reply", "text": "Hello\n", "html": "<p>Hello</p>", "message_id_key": "delivery:42",
        "unsubscribe_url": UNSUBSCRIBE, "site_name": "Daily News",
    }
    fields.update(changes)
    return Mail(**fields)  # type: ignore[arg-type]


def received(message: EmailMessage) -> EmailMessage:
    """The message as a receiver parses it after SMTP carried it."""
    wire = message.as_bytes(policy=email.policy.SMTP)
    parsed = email.message_from_bytes(wire, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def content(part: EmailMessage | None) -> str:
    """A part's decoded text, with the line ends a receiver stores (SMTP carried them as CRLF)."""
    assert part is not None
    text = part.get_content()
    assert isinstance(text, str)
    return text.replace("\r\n", "\n")


def decoded_display_name(message: EmailMessage) -> str:
    """From's display name as an RFC 2047 decoder reads it. Python's address parser is not one for a
    name in several encoded words: it keeps the folding space between them, which RFC 2047 6.2 says
    to drop (it does the same to the names Python's own folder splits), so a long name is read with
    email.header's decoder, which follows the RFC."""
    wire = message.as_bytes(policy=email.policy.SMTP).decode("ascii")
    value = wire.split("\r\n\r\n", 1)[0].split("From: ", 1)[1].split("\r\nTo: ", 1)[0].replace("\r\n", "")
    phrase = value.rsplit("<", 1)[0].strip()
    if "=?" not in phrase:
        return str(received(message)["From"].addresses[0].display_name)
    return str(make_header(decode_header(phrase)))


def raw_header_lines(message: EmailMessage) -> list[str]:
    wire = message.as_bytes(policy=email.policy.SMTP).decode("ascii")
    return wire.split("\r\n\r\n", 1)[0].split("\r\n")


# ---------------------------------------------------------------- headers


def test_headers_a_receiver_reads() -> None:
    got = received(build(mail(reply_to="desk@news.example"), domain=DOMAIN))
    assert got["From"].addresses[0].display_name == "Daily News"
    assert got["From"].addresses[0].addr_spec == "noreply@news.example"
    assert str(got["To"]) == "reader@example.org"
    assert str(got["Reply-To"]) == "desk@news.example"
    assert str(got["Subject"]) == "1 new reply"
    assert parsedate_to_datetime(str(got["Date"])).utcoffset() == datetime.timedelta(0)
    date_line = next(line for line in raw_header_lines(build(mail(), domain=DOMAIN)) if line.startswith("Date: "))
    assert date_line.endswith(" GMT")
    assert str(got["Auto-Submitted"]) == "auto-generated"
    assert got["MIME-Version"] == "1.0"


def test_display_name_and_subject_outside_ascii_and_with_specials() -> None:
    name = 'Le Monde "Édition", <Paris>'
    subject = "Réponse à « votre commentaire » — 日本語のタイトル " * 3
    message = build(mail(from_name=name, subject=subject.strip()), domain=DOMAIN)
    got = received(message)
    assert decoded_display_name(message) == name
    assert got["From"].addresses[0].addr_spec == "noreply@news.example"
    assert str(got["Subject"]) == subject.strip()
    # on the wire: ASCII only, no line over RFC 5322's 78-character recommendation but the one
    # List-Unsubscribe line that is never folded
    for line in raw_header_lines(message):
        assert line.isascii() and (len(line) <= 78 or line.startswith("List-Unsubscribe: ")), line


def test_from_name_falls_back_to_the_site_name() -> None:
    got = received(build(mail(from_name="", site_name="The Gazette"), domain=DOMAIN))
    assert got["From"].addresses[0].display_name == "The Gazette"


def test_message_id_is_the_same_for_every_attempt_at_one_delivery() -> None:
    first = received(build(mail(), domain=DOMAIN))["Message-ID"]
    again = received(build(mail(subject="resent"), domain=DOMAIN))["Message-ID"]
    other = received(build(mail(message_id_key="delivery:43"), domain=DOMAIN))["Message-ID"]
    assert first == again != other
    assert re.fullmatch(r"<[0-9a-f]{32}@news\.example>", str(first))
    assert str(first) == message_id("delivery:42", DOMAIN)


@pytest.mark.parametrize("domain", ["", "bad domain", "news.example>", "-x.example", "a" * 64 + ".example", "é.fr"])
def test_message_id_domain_must_be_a_host_name(domain: str) -> None:
    with pytest.raises(ValueError):
        build(mail(), domain=domain)


def test_message_id_key_must_not_be_empty() -> None:
    with pytest.raises(ValueError):
        build(mail(message_id_key=""), domain=DOMAIN)


def test_one_click_unsubscribe_pair() -> None:
    got = received(build(mail(), domain=DOMAIN))
    assert str(got["List-Unsubscribe"]) == f"<{UNSUBSCRIBE}>"
    assert str(got["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"


def test_long_unsubscribe_url_stays_one_plain_line() -> None:
    # the email package would fold a long value into RFC 2047 encoded words, which no mail client
    # reads as a URL
    url = "https://news.example/notifications/unsubscribe?token=" + "A1b2C3d4" * 40
    message = build(mail(unsubscribe_url=url), domain=DOMAIN)
    assert f"List-Unsubscribe: <{url}>" in raw_header_lines(message)
    assert str(received(message)["List-Unsubscribe"]) == f"<{url}>"


def test_no_unsubscribe_headers_without_a_url() -> None:
    got = received(build(mail(unsubscribe_url=None), domain=DOMAIN))
    assert got["List-Unsubscribe"] is None and got["List-Unsubscribe-Post"] is None


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "mailto:unsubscribe@news.example", "ftp://news.example/u", "//news.example/u",
    "/relative/path", "https://", "https://news.example/u?x=<y>", "https://news.example/ u",
    "https://news.example/ü", "data:text/html,hi", "https://news.example/" + "a" * 1000,
])
def test_unsubscribe_url_must_be_http_or_https(url: str) -> None:
    with pytest.raises(ValueError):
        build(mail(unsubscribe_url=url), domain=DOMAIN)


def test_plain_http_unsubscribe_is_allowed() -> None:
    got = received(build(mail(unsubscribe_url="http://localhost:8000/u?t=1"), domain=DOMAIN))
    assert str(got["List-Unsubscribe"]) == "<http://localhost:8000/u?t=1>"


@pytest.mark.parametrize("field", ["to", "from_address", "from_name", "subject", "reply_to", "unsubscribe_url",
                                   "site_name"])
@pytest.mark.parametrize("breaker", ["\r\nBcc: victim@example.org", "\nBcc: victim@example.org", "\rX: y",
                                     "\u2028X: y", "\x00"])
def test_line_breaks_in_header_values_are_refused(field: str, breaker: str) -> None:
    base = {"to": "reader@example.org", "from_address": "noreply@news.example", "from_name": "Daily",
            "subject": "Hi", "reply_to": "desk@news.example", "unsubscribe_url": UNSUBSCRIBE, "site_name": "Daily"}
    with pytest.raises(ValueError):
        build(mail(**{**base, field: base[field] + breaker}), domain=DOMAIN)


@pytest.mark.parametrize("address", [
    "", "reader", "reader@", "@example.org", "reader@localhost", "a b@example.org", "a,b@example.org",
    "<reader@example.org>", "Reader <reader@example.org>", "reader@example.org, other@example.org",
    ".reader@example.org", "re..ader@example.org", "reader@-example.org", "rëader@example.org",
    '"quoted"@example.org', "reader@[127.0.0.1]",
])
def test_only_plain_addresses(address: str) -> None:
    with pytest.raises(ValueError):
        check_address(address)
    with pytest.raises(ValueError):
        build(mail(to=address), domain=DOMAIN)


def test_plain_addresses_pass() -> None:
    for address in ["reader@example.org", "first.last+tag@mail.example.co.uk", "o'brien@example.ie"]:
        assert check_address(address) == address


# ---------------------------------------------------------------- body


def test_multipart_alternative_text_then_html() -> None:
    text = "Bonjour — ça va?\n" + "long line " * 40 + "\n.\n.leading dot\nFrom the start\n"
    html_body = "<p>Bonjour — ça va?</p>"
    got = received(build(mail(text=text, html=html_body), domain=DOMAIN))
    assert got.get_content_type() == "multipart/alternative"
    parts = list(got.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert content(parts[0]) == text
    assert content(parts[1]) == html_body
    assert all(p.get_content_charset() == "utf-8" for p in parts)


def test_a_body_quoting_the_boundary_cannot_split_the_message() -> None:
    first = build(mail(), domain=DOMAIN)
    boundary = first.get_boundary()
    assert boundary
    hostile = f"before\n--{boundary}\nContent-Type: text/html\n\n<script>x</script>\n--{boundary}--\nafter\n"
    got = received(build(mail(text=hostile), domain=DOMAIN))
    parts = list(got.iter_parts())
    assert len(parts) == 2
    assert content(parts[0]) == hostile


# ---------------------------------------------------------------- rendering reader text


def replies(*lines: tuple[str, str]) -> list[ReplyLine]:
    return [ReplyLine(author_name=a, excerpt=e, url=f"https://news.example/c/{i}") for i, (a, e) in enumerate(lines)]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_reply_digest_escapes_names_excerpts_and_titles(hostile: str) -> None:
    rendered = reply_digest(hostile, hostile, "https://news.example/a/1", replies((hostile, hostile)), UNSUBSCRIBE)
    html_body = rendered.html
    assert "<script" not in html_body and "<img" not in html_body and "<svg" not in html_body
    assert "onerror=alert(1)>" not in html_body
    assert html_body.count("<title>") == 1 and html_body.count("</title>") == 1
    escaped = hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    assert escaped.replace("'", "&#x27;") in html_body
    # the text keeps what the reader wrote, as text
    assert hostile in rendered.text
    # $ in reader text is not a template placeholder
    assert "Daily" not in rendered.text


def test_html_has_no_script_no_images_no_external_resources() -> None:
    for rendered in (
        reply_digest("Daily", "Title", "https://news.example/a", replies(("Ann", "Hi")), UNSUBSCRIBE),
        confirm_email("Daily", "https://news.example/confirm?t=1"),
        moderator_alert("Daily", "spike", "30 reports in 5 minutes", "https://news.example/console"),
        held_digest("Daily", 3, 95, "https://news.example/console"),
    ):
        lowered = rendered.html.lower()
        assert "<script" not in lowered and "<img" not in lowered and "src=" not in lowered
        assert "<link" not in lowered and "@import" not in lowered and "javascript:" not in lowered
        assert lowered.startswith("<!doctype html>") and '<html lang="en">' in lowered
        assert "<title>" in lowered and "<h1" in lowered


def test_control_and_bidi_characters_leave_the_text() -> None:
    name = "Ann\x00\x07\x1b[31m\u202eevil\u2066 \t\n  Lee\u200b"
    rendered = reply_digest("Daily", "T\x08itle\r\nBcc: x", "https://news.example/a",
                            replies((name, "line one\r\nline two\x0c\u2028three")), UNSUBSCRIBE)
    for body in (rendered.text, rendered.html, rendered.subject):
        for ch in "\x00\x07\x1b\x08\x0c\u202e\u2066\u2028\u200b\r":
            assert ch not in body
    assert "Ann[31mevil Lee wrote:" in rendered.text
    assert "line one line two three" in rendered.text
    assert "\n" not in rendered.subject and "Title Bcc: x" in rendered.subject
    # the subject goes into a header as it is
    build(mail(subject=rendered.subject, text=rendered.text, html=rendered.html), domain=DOMAIN)


def test_emoji_sequences_keep_their_joiners() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    rendered = reply_digest("Daily", "T", "https://news.example/a", replies((family, "hi")), UNSUBSCRIBE)
    assert f"{family} wrote:" in rendered.text


def test_excerpts_are_cut_to_300_characters() -> None:
    long_excerpt = "word " * 200
    rendered = reply_digest("Daily", "T", "https://news.example/a", replies(("Ann", long_excerpt)), UNSUBSCRIBE)
    line = next(line for line in rendered.text.splitlines() if line.startswith("  word"))
    excerpt = line.strip()
    assert len(excerpt) <= EXCERPT_CHARS and excerpt.endswith("\u2026")
    assert long_excerpt[:200] in rendered.html and long_excerpt.strip() not in rendered.html


def test_digest_counts_and_lists_at_most_its_limit() -> None:
    many = replies(*[(f"Reader{i}", f"reply {i}") for i in range(DIGEST_MAX_LISTED + 5)])
    rendered = reply_digest("Daily", "A story", "https://news.example/a", many, UNSUBSCRIBE)
    assert rendered.subject.startswith(f"{DIGEST_MAX_LISTED + 5} new replies")
    assert "and 5 more" in rendered.text and "and 5 more" in rendered.html
    assert f"Reader{DIGEST_MAX_LISTED - 1} wrote" in rendered.text
    assert f"Reader{DIGEST_MAX_LISTED} wrote" not in rendered.text
    one = reply_digest("Daily", "A story", "https://news.example/a", many[:1], UNSUBSCRIBE)
    assert one.subject.startswith("A new reply ")
    assert UNSUBSCRIBE in one.text and UNSUBSCRIBE.replace("&", "&amp;") in one.html


def test_digest_needs_a_reply() -> None:
    with pytest.raises(ValueError):
        reply_digest("Daily", "T", "https://news.example/a", [], UNSUBSCRIBE)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "https://x.example/\"onmouseover=x"])
def test_links_must_be_http(url: str) -> None:
    with pytest.raises(ValueError):
        reply_digest("Daily", "T", url, replies(("Ann", "hi")), UNSUBSCRIBE)
    with pytest.raises(ValueError):
        reply_digest("Daily", "T", "https://news.example/a",
                      [ReplyLine(author_name="Ann", excerpt="hi", url=url)], UNSUBSCRIBE)
    with pytest.raises(ValueError):
        confirm_email("Daily", url)
    with pytest.raises(ValueError):
        moderator_alert("Daily", "k", "s", url)
    with pytest.raises(ValueError):
        held_digest("Daily", 1, 1, url)


def test_urls_with_ampersands_are_escaped_in_href() -> None:
    rendered = confirm_email("Daily", "https://news.example/confirm?a=1&b=2")
    assert 'href="https://news.example/confirm?a=1&amp;b=2"' in rendered.html
    assert "https://news.example/confirm?a=1&b=2" in rendered.text


def test_moderator_alert_escapes_the_summary() -> None:
    rendered = moderator_alert("Daily", "<b>kind</b>", 'User "<img onerror=x>" posted 40 times', "https://n.example/c")
    assert "&lt;b&gt;kind&lt;/b&gt;" in rendered.html and "&lt;img onerror=x&gt;" in rendered.html
    assert "<img" not in rendered.html and "<b>" not in rendered.html
    assert rendered.subject == "[Daily] Moderation alert: <b>kind</b>"


def test_held_digest_words() -> None:
    one = held_digest("Daily", 1, 1, "https://n.example/c")
    assert one.subject == "[Daily] 1 comment waiting for review"
    assert "1 minute." in one.text
    many = held_digest("Daily", 12, 125, "https://n.example/c")
    assert "12 comments waiting for review" in many.subject and "2 h 5 min" in many.text
    assert "3 days 1 h" in held_digest("Daily", 2, 3 * 1440 + 60, "https://n.example/c").text
    with pytest.raises(ValueError):
        held_digest("Daily", 0, 5, "https://n.example/c")


def test_rendered_parts_make_a_message() -> None:
    rendered = reply_digest("Le Monde", "Élection: les résultats", "https://news.example/a",
                            replies(("Zoë", "Très juste.")), UNSUBSCRIBE)
    got = received(build(mail(subject=rendered.subject, text=rendered.text, html=rendered.html), domain=DOMAIN))
    assert str(got["Subject"]) == rendered.subject
    assert content(got.get_body(("plain",))) == rendered.text  # type: ignore[arg-type]
    assert content(got.get_body(("html",))) == rendered.html  # type: ignore[arg-type]


@pytest.mark.parametrize("name", [
    'Le Monde "Édition", <Paris>', "Ünïcödé " * 12, 'A "quoted", <name> with specials' * 3, "日本語の新聞社",
    "Plain Name",
])
def test_display_names_survive_the_wire(name: str) -> None:
    name = name.strip()
    message = build(mail(from_name=name, to="a-rather-long-reader-address.with.dots@subdomain.example.org"),
                    domain=DOMAIN)
    got = received(message)
    assert got["From"].addresses[0].addr_spec == "noreply@news.example"
    assert not got["From"].defects
    assert decoded_display_name(message) == name
    for line in raw_header_lines(message):
        assert line.isascii() and len(line) <= 998


def test_a_long_display_name_is_shortened() -> None:
    message = build(mail(from_name="Gazette " * 30), domain=DOMAIN)
    name = decoded_display_name(message)
    assert len(name) == 100 and name.startswith("Gazette Gazette") and name.endswith("\u2026")


def test_text_that_looks_like_an_encoded_word_stays_text() -> None:
    # "=?utf-8?b?PHNjcmlwdD4NCkJjYzogeA==?=" decodes to "<script>\r\nBcc: x": it must reach the reader
    # as the characters it is, not be decoded by the receiver
    trick = "=?utf-8?b?PHNjcmlwdD4NCkJjYzogeA==?="
    message = build(mail(subject=f"Re: {trick}", from_name=trick), domain=DOMAIN)
    got = received(message)
    assert str(got["Subject"]) == f"Re: {trick}"
    assert decoded_display_name(message) == trick
