"""Readers' emails in the reader's language (domain/notification_mail.py written through
comments_service/i18n, as services/notifications.words builds it): subject, text and HTML in
Russian and Arabic, the HTML page's lang and direction, counts and dates as the language writes
them, and the same guarantees as in English: hostile reader text escaped, no header injection."""

from __future__ import annotations

import email
import email.policy

from comments_service.domain.notification_mail import (
    Mail,
    ReplyLine,
    build,
    confirm_email,
    notice_decision,
    reply_digest,
    statement_of_reasons,
)
from comments_service.services.notifications import words

UNSUBSCRIBE = "https://news.example/api/v1/notifications/unsubscribe?token=abc&x=1"
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def replies(*pairs: tuple[str, str]) -> list[ReplyLine]:
    return [ReplyLine(author_name=a, excerpt=e, url=f"https://news.example/a#comment-{i}")
            for i, (a, e) in enumerate(pairs, 1)]


def sent(subject: str, text: str, html: str):
    """The message as a receiver reads it, written out and parsed back."""
    message = build(Mail(to="reader@example.org", from_address="noreply@news.example", from_name="", subject=subject,
                         text=text, html=html, message_id_key="k", unsubscribe_url=UNSUBSCRIBE,
                         site_name="Daily"), domain="news.example")
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def parts(got) -> tuple[str, str]:
    text, html = (p.get_content() for p in got.iter_parts())
    return text, html


def test_a_russian_reply_digest() -> None:
    ru = words("ru")
    one = reply_digest("Ежедневник", "Войска у границы", "https://news.example/a", replies(("Анна", "Надолго ли?")),
                       UNSUBSCRIBE, ru)
    assert one.subject == "Новый ответ на ваш комментарий к «Войска у границы»"
    assert "Анна пишет:\n  Надолго ли?" in one.text
    assert "Читать обсуждение: https://news.example/a" in one.text
    assert "Вы получили это письмо, потому что попросили Ежедневник сообщать вам об ответах." in one.text
    assert f"Отписаться: {UNSUBSCRIBE}" in one.text
    assert '<html lang="ru">' in one.html and "Отписаться от писем об ответах" in one.html
    assert "Читать ответ (Анна)" in one.html

    many = reply_digest("Ежедневник", "Войска", "https://news.example/a",
                        replies(*[(f"Читатель {i}", "да") for i in range(1021)]), UNSUBSCRIBE, ru)
    # the count stands where no noun agrees with it, and grouped as Russian writes it
    assert many.subject == "Новые ответы на ваш комментарий к «Войска»: 1\xa0021"
    assert "и ещё 1\xa0001" in many.text and "и ещё 1\xa0001" in many.html

    got = sent(*one)
    assert str(got["Subject"]) == one.subject
    text, html = parts(got)
    assert "Анна пишет:" in text and "Новый ответ к «Войска у границы»" in html


def test_an_arabic_reply_digest_is_right_to_left_and_escapes_what_readers_wrote() -> None:
    ar = words("ar")
    rendered = reply_digest("يومية", HOSTILE, "https://news.example/a", replies((HOSTILE, HOSTILE)), UNSUBSCRIBE, ar)
    assert rendered.subject.startswith("ردّ جديد على تعليقك على «")
    assert '<html lang="ar" dir="rtl">' in rendered.html
    assert "<script" not in rendered.html and "<img" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in rendered.html
    assert f"كتب {HOSTILE}:" in rendered.text  # the text part is plain text: as written, one line
    assert "إلغاء الاشتراك في رسائل الردود" in rendered.html and "اقرأ النقاش" in rendered.html
    got = sent(*rendered)
    assert str(got["Subject"]) == rendered.subject


def test_the_confirmation_in_russian_and_arabic() -> None:
    url = "https://news.example/api/v1/notifications/confirm?token=t&a=1"
    ru = confirm_email("Ежедневник", url, words("ru"))
    assert ru.subject == "Подтвердите адрес электронной почты для Ежедневник"
    assert ru.text.startswith("Пожалуйста, подтвердите адрес электронной почты для Ежедневник.\n")
    assert f"Чтобы подтвердить, откройте эту ссылку:\n\n{url}\n" in ru.text
    assert 'href="https://news.example/api/v1/notifications/confirm?token=t&amp;a=1"' in ru.html
    assert "Подтвердить мой адрес" in ru.html and '<html lang="ru">' in ru.html

    ar = confirm_email(f"Daily {HOSTILE}\r\nBcc: evil@example.org", url, words("ar"))
    assert ar.subject.startswith("أكّد عنوان بريدك الإلكتروني لدى Daily")
    assert "\n" not in ar.subject and "\r" not in ar.subject
    assert '<html lang="ar" dir="rtl">' in ar.html and "<script" not in ar.html
    assert "تأكيد عنوان بريدي الإلكتروني" in ar.html
    got = sent(*ar)
    assert str(got["Subject"]) == ar.subject and got["Bcc"] is None


def test_dsa_mails_in_the_readers_language_with_its_dates() -> None:
    statement = statement_of_reasons("Daily", "suspension", "2026-12-08T10:00:00+00:00", "Spam or advertising",
                                     None, "reader_report", False, False, None, words("ru"))
    assert statement.subject == "[Daily] Почему мы ограничили вашу учётную запись"
    assert "до 8 декабря 2026\u202fг., 10:00:00 UTC вы не можете" in statement.text
    assert "Причина: Спам или реклама" in statement.text
    assert "Автоматические средства его не обнаруживали, а решение принял человек." in statement.text
    notice = notice_decision("Daily", "N-AB23-CD45", "defamation", "keep", "Мнение, <b>не</b> факт.", "KEY234",
                             words("fa"))
    assert notice.subject == "[Daily] تصمیم درباره گزارش شما N-AB23-CD45"
    assert "افترا" in notice.text and "KEY234" in notice.text
    assert '<html lang="fa" dir="rtl">' in notice.html and "&lt;b&gt;не&lt;/b&gt;" in notice.html


def test_a_language_we_do_not_have_is_english() -> None:
    for locale in (None, "xx", "pt", 42):
        rendered = confirm_email("Daily", "https://news.example/c", words(locale))
        assert rendered.subject == "Confirm your email address for Daily" and '<html lang="en">' in rendered.html


def test_a_suspension_without_its_end_date_reads_as_a_whole_sentence() -> None:
    # "until" + a stand-in phrase is not a sentence in every language ("jusqu’au la date indiquée")
    for code, expected in (("fr", "jusqu’à la date indiquée"), ("en", "until the date given")):
        _, text, _ = statement_of_reasons("Site", "suspension", None, "Spam", None, "own_initiative", False, False,
                                          None, words(code))
        assert expected in text and "jusqu’au la" not in text, text
