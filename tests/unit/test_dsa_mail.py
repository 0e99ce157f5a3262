"""The Digital Services Act's emails (domain/notification_mail.py): what each says, and that what
a notifier or a moderator wrote can neither break the message nor inject markup."""

from __future__ import annotations

from comments_service.domain.notification_mail import appeal_decision, notice_decision


def test_a_kept_notice_tells_how_to_appeal_with_the_key():
    subject, text, html = notice_decision("Daily", "N-AB23-CD45", "defamation", "keep",
                                          "Opinion <b>not</b> fact.", "KEY234")
    assert subject == "[Daily] Decision on your notice N-AB23-CD45"
    assert "decided to keep it online" in text and "KEY234" in text and "six months" in text
    assert "defamation" in text and "by a person" in text
    assert "Opinion &lt;b&gt;not&lt;/b&gt; fact." in html and "<b>not</b>" not in html


def test_a_removal_offers_no_appeal_key():
    _, text, _ = notice_decision("Daily", "N-AB23-CD45", "fraud_or_scam", "remove", "A scam.", None)
    assert "We removed the comment" in text and "appeal key" not in text


def test_line_breaks_in_what_people_wrote_cannot_add_headers():
    subject, text, _ = notice_decision("Daily\r\nBcc: x@evil.example", "N-AB23-CD45\nX: y", "other_illegal",
                                       "keep", "a\r\nb", None)
    assert "\n" not in subject and "\r" not in subject


def test_an_appeal_decision_names_the_out_of_court_bodies():
    _, text, html = appeal_decision("Daily", "reverse", "A quotation.", "The Board, https://board.example", False)
    assert "restriction is lifted" in text and "The Board, https://board.example" in text
    assert "not an automated system" in text
    _, text, _ = appeal_decision("Daily", "confirm", "It stands.", None, True)
    assert "confirmed our decision to keep the comment you reported" in text
    assert "out-of-court dispute settlement body, or to a court" in text


def test_the_notifier_hears_how_an_authors_appeal_ended():
    subject, text, _ = appeal_decision("Daily", "reverse", "Sharp, but not hatred.", None, True, authors_appeal=True)
    assert "appeal on the comment you reported" in subject
    assert "visible again" in text and "Sharp, but not hatred." in text
    _, text, _ = appeal_decision("Daily", "confirm", "It stands.", None, True, authors_appeal=True)
    assert "stays removed" in text
