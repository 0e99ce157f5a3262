"""The local run's mailbox: with no mail server, `run` keeps the notifier's emails and the demo
server shows them at /dev/mail, links clickable and everything else escaped; a configured
deployment (no demo, or no COMMENTS_DEV_MAIL_DIR) has no such page."""

from __future__ import annotations

from comments_service.dev_mailbox import DevMailbox
from comments_service.domain import notification_mail as mail
from comments_service.services.smtp_sender import SmtpSender, parse_smtp_url
from tests.support.apps import other_app


async def test_the_local_run_keeps_its_emails_and_shows_them(storage, database, tmp_path) -> None:
    box = DevMailbox(tmp_path / "dev-mail").start()
    sender = SmtpSender(parse_smtp_url(box.url))
    try:
        subject, text, html = mail.reply_digest(
            "The Daily <b>", "Troops return", "https://news.example/troops",
            [mail.ReplyLine(author_name="Bea <script>alert(1)</script>", excerpt="Until spring",
                            url="https://news.example/troops#comment-7")], "https://c.example/unsub?token=abc")
        await sender.send(mail.build(mail.Mail(
            to="ann@example.org", from_address="comments@news.example", from_name="The Daily", subject=subject,
            text=text, html=html, message_id_key="reply:1:7", unsubscribe_url="https://c.example/unsub?token=abc",
            site_name="The Daily"), domain="news.example"))
    finally:
        await sender.close()
        box.stop()

    async with other_app(storage, COMMENTS_DEMO="true", COMMENTS_DEV_MAIL_DIR=str(box.folder)) as demo:
        listing = await demo.get("/dev/mail")
        assert listing.status_code == 200 and "ann@example.org" in listing.text
        name = listing.text.split('href="/dev/mail/')[1].split('"')[0]
        one = await demo.get(f"/dev/mail/{name}")
        assert one.status_code == 200
        assert '<a href="https://news.example/troops#comment-7">' in one.text
        assert '<a href="https://c.example/unsub?token=abc">' in one.text
        assert "<script>" not in one.text and "&lt;script&gt;" in one.text
        assert (await demo.get("/dev/mail/..%2F..%2Fetc%2Fpasswd")).status_code == 404
        assert (await demo.get("/dev/mail/nothing.eml")).status_code == 404

    async with other_app(storage, COMMENTS_DEV_MAIL_DIR=str(box.folder)) as configured:
        assert (await configured.get("/dev/mail")).status_code == 404
    async with other_app(storage, COMMENTS_DEMO="true") as demo_with_smtp:
        assert (await demo_with_smtp.get("/dev/mail")).status_code == 404
