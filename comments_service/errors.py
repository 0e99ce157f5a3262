"""One error hierarchy for the whole service and the catalogue of stable error codes.

Every error a client can receive has a code in ``CATALOGUE``: its HTTP status, the message the API
returns, and a plain-language ``help`` the widget and the troubleshooter show to a reader. The
app's mapper to HTTP responses lives in ``api/problems.py``; the two small listeners outside the
app (the metrics port, the worker's probe port) answer with the same problem bodies through
``raw_http.problem_bytes``. Nothing else turns errors into responses.
"""

from __future__ import annotations

from typing import Any

from .domain.structs import Struct


# Positional, unlike the other Structs: the catalogue below is a table of (status, message, help)
# rows, and it reads as one.
class ErrorInfo(Struct, frozen=True, kw_only=False):
    status: int
    message: str
    help: str


CATALOGUE: dict[str, ErrorInfo] = {
    # request shape
    "invalid_request": ErrorInfo(
        400, "The request is malformed.",
        "The page sent something the server could not read. Reload the page and try again."),
    "invalid_json": ErrorInfo(
        400, "The request body is not valid JSON in UTF-8.",
        "The page sent something the server could not read. Reload the page and try again."),
    "invalid_characters": ErrorInfo(
        400, "The text contains characters that are not allowed (NUL).",
        "Your comment contains an invisible character we cannot store. Retype the text or paste it as plain "
             "text."),
    "invalid_cursor": ErrorInfo(
        400, "The pagination cursor is invalid.",
        "The list could not continue from where it was. Reload the page."),
    "request_too_large": ErrorInfo(
        413, "The request body is too large.",
        "What you sent is too large. Shorten your comment."),
    "empty_body": ErrorInfo(400, "The comment is empty.", "Write something before posting."),
    "body_too_long": ErrorInfo(
        400, "The comment is longer than the limit.",
        "Your comment is too long. Shorten it to fit the character limit."),
    "text_too_complex": ErrorInfo(
        422, "The text took too long to check or format.",
        "Your comment has unusual formatting (for example long runs of brackets, stars or symbols) that took "
             "too long to process. Simplify it and try again."),
    "author_name_required": ErrorInfo(
        400, "A guest comment needs a name.",
        "Enter a name to comment as a guest."),
    # site, article, thread
    "site_required": ErrorInfo(
        400, "The site query parameter is required.",
        "The comment widget is not set up correctly on this page. Let the site know."),
    "unknown_site": ErrorInfo(
        404, "The site is not known to this comment service.",
        "The comment widget is not set up correctly on this page. Let the site know."),
    "origin_not_allowed": ErrorInfo(
        403, "This origin may not use the site's comments.",
        "Comments are not enabled for the address you are viewing. Open the article on the news site itself."),
    "article_not_found": ErrorInfo(
        404, "The article has no comments yet.",
        "This article has no comment thread yet."),
    "article_details_required": ErrorInfo(
        400, "The first comment on an article needs the article's url and title.",
        "The comment widget is not set up correctly on this page. Let the site know."),
    "article_url_not_allowed": ErrorInfo(
        400, "The article url is not on one of the site's origins.",
        "The comment widget is not set up correctly on this page. Let the site know."),
    "article_closed": ErrorInfo(
        403, "Comments on this article are closed.",
        "Comments on this article are closed. You can still read the discussion."),
    "comment_not_found": ErrorInfo(
        404, "The comment does not exist.",
        "That comment no longer exists. It may have been deleted."),
    "parent_not_found": ErrorInfo(
        400, "The comment being replied to does not exist in this article.",
        "The comment you replied to is gone. Post your text as a new comment instead."),
    "parent_not_replyable": ErrorInfo(
        400, "The comment being replied to cannot take replies.",
        "The comment you replied to was removed. Post your text as a new comment instead."),
    "thread_too_deep": ErrorInfo(
        400, "The reply would be nested deeper than allowed.",
        "This conversation is nested as deep as it can go. Reply higher up the thread."),
    # identity and permission
    "auth_required": ErrorInfo(
        401, "Sign in or give a guest name to do this.",
        "Sign in to the news site (or enter a guest name where guests may comment) and try again."),
    "token_invalid": ErrorInfo(
        401, "The sign-in token is invalid.",
        "Your sign-in could not be verified. Sign out and in again on the news site."),
    "token_expired": ErrorInfo(
        401, "The sign-in token has expired.",
        "Your sign-in has expired. Sign in again on the news site, or copy your text and reload the page; if it "
             "keeps happening, check that your device's clock is correct."),
    "token_wrong_site": ErrorInfo(
        401, "The sign-in token belongs to another site.",
        "Your sign-in belongs to a different site. Reload the page."),
    "sso_unavailable": ErrorInfo(
        503, "Sign-in tokens for this site cannot be checked: the site's SSO secret does not open with the "
             "service's COMMENTS_SECRET_KEY.",
        "Signed-in commenting is not working on this site right now because of a setup problem on the comment "
             "service. You can still read the comments; let the site know."),
    "metrics_token_required": ErrorInfo(
        401, "The metrics need the scrape token (Authorization: Bearer).",
        "Set the scraper's bearer token to the service's COMMENTS_METRICS_TOKEN."),
    "campaign_not_found": ErrorInfo(
        404, "No such campaign on a site you moderate.",
        "That campaign does not exist, or it belongs to a site you do not moderate."),
    "repeat_post": ErrorInfo(
        409, "The same author posted the same or nearly the same text moments ago.",
        "You already posted this comment a moment ago. Write something new, or wait a while before "
        "posting it again."),
    "guests_not_allowed": ErrorInfo(
        403, "This site only accepts comments from signed-in readers.",
        "This site asks readers to sign in before commenting."),
    "challenge_required": ErrorInfo(
        400, "A guest post needs the solved challenge (the challenge field, from GET /api/v1/challenge).",
        "Your browser did not finish the automatic check that keeps bots out. Reload the page and try again; "
             "it needs JavaScript."),
    "challenge_invalid": ErrorInfo(
        400, "The challenge solution is not valid for this site.",
        "The automatic check that keeps bots out did not pass. Try posting again."),
    "challenge_expired": ErrorInfo(
        400, "The challenge expired; get a new one.",
        "The automatic check that keeps bots out ran out of time. Try posting again."),
    "challenge_used": ErrorInfo(
        409, "This challenge solution was already used; get a new one.",
        "The automatic check that keeps bots out was already used. Try posting again."),
    "not_author": ErrorInfo(
        403, "Only the author may change this comment.",
        "You can only edit or delete your own comments."),
    "edit_window_closed": ErrorInfo(
        403, "The time to edit or delete this comment has passed.",
        "Comments can only be edited or deleted for a short time after posting."),
    "comment_not_editable": ErrorInfo(
        409, "This comment can no longer be changed.",
        "This comment was removed or rejected and can no longer be changed."),
    "forbidden": ErrorInfo(403, "You may not do this.", "Your account may not do this."),
    "csrf_failed": ErrorInfo(
        403, "The request did not come from the moderator console (missing or wrong X-CSRF-Token, or another "
             "Origin).",
        "Reload the moderator console and try again; if you opened it from a link on another site, open it "
             "directly instead."),
    "standing_required": ErrorInfo(
        403, "Votes and reports count once you are signed in, or a while after a comment of yours was "
                            "published.",
        "On this site you can vote and report once you are signed in, or a while after a comment of yours has "
             "been published."),
    "vote_own_comment": ErrorInfo(
        400, "You cannot vote on your own comment.",
        "You cannot vote on your own comment."),
    # moderation
    "user_banned": ErrorInfo(
        403, "You are banned from commenting on this site.",
        "A moderator has banned your account from commenting on this site, for a time or until lifted. You can "
             "still read the discussion. Contact the site if you think this is a mistake."),
    "already_reported": ErrorInfo(
        409, "You have already reported this comment.",
        "You already reported this comment; moderators will review it. Each reader can report a comment once."),
    "already_decided": ErrorInfo(
        409, "Another moderator has already decided this comment.",
        "Someone decided this comment a moment ago; the queue shows its current state. To change that decision, "
             "act on it from the approved or rejected view."),
    "not_decidable": ErrorInfo(
        409, "This comment cannot be moderated in its current state.",
        "The comment was deleted by its author or is still being checked; reload the queue."),
    "nothing_to_undo": ErrorInfo(
        409, "There is no recent decision on this comment to undo.",
        "Only the latest decision on a comment can be undone, within ten minutes and only while nobody has "
             "changed it since."),
    "user_not_found": ErrorInfo(
        404, "The user does not exist.",
        "That user is not known to this site."),
    "not_featurable": ErrorInfo(
        409, "Only a published comment can be featured or pinned.",
        "This comment is not published (it is held, rejected, deleted or still being checked), so readers "
             "cannot see it. Approve it first, or pick another comment."),
    "featured_limit": ErrorInfo(
        409, "The article already has as many featured comments as it may have.",
        "An article shows at most 10 featured comments. Unfeature one before featuring another."),
    "already_banned": ErrorInfo(
        409, "The reader is already banned for at least as long as this suspension.",
        "A suspension never shortens a ban. To end the ban sooner, lift it first, then suspend."),
    "shadow_restriction_off": ErrorInfo(
        409, "This site does not use shadow restriction.",
        "An administrator turns it on with the site's moderation setting shadow_restriction. Premoderation "
             "or a ban works on every site."),
    "too_many_notes": ErrorInfo(
        409, "This reader has as many moderator notes as a reader may have.",
        "This reader has the most moderator notes a reader may have, so no more can be added. Put what "
             "matters in a ban or suspension reason instead."),
    # site management (admins)
    "invalid_site_settings": ErrorInfo(
        422, "A site setting is not valid; nothing was changed.",
        "One of the settings is not valid (the message names it); nothing was saved. Correct it and save "
             "again."),
    "site_exists": ErrorInfo(
        409, "A site with this id already exists.",
        "That site id is taken. Change the existing site instead, or choose another id."),
    "site_has_comments": ErrorInfo(
        409, "The site still has comments; deleting it needs force.",
        "Deleting this site would delete its comments too. Export them first if you need them, then confirm "
             "the deletion with force."),
    "token_not_found": ErrorInfo(
        404, "The API token does not exist.",
        "That token is not in the list; it may have been deleted with its site."),
    # troubleshooting
    "problem_report_not_found": ErrorInfo(
        404, "The problem report does not exist.",
        "That problem report is not in the list; it may belong to another site."),
    # service state
    "rate_limited": ErrorInfo(
        429, "Too many requests; retry later.",
        "You are doing that too quickly. Wait a moment and try again."),
    "too_many_streams": ErrorInfo(
        429, "Too many live-update streams are open; retry later.",
        "Live updates are paused because many are open from your network. New comments still show when you "
             "reload the page."),
    "request_timeout": ErrorInfo(
        408, "The request did not arrive in time.",
        "Your connection is too slow or was interrupted. Try again."),
    "request_headers_too_large": ErrorInfo(
        431, "The request headers are too large.",
        "Your browser sent more data than the server accepts. Clear this site's cookies and try again."),
    "service_unavailable": ErrorInfo(
        503, "The comment service is temporarily unavailable.",
        "Comments are having a problem right now. Your text is not lost: try again in a minute."),
    "not_found": ErrorInfo(404, "Nothing here.", "That page does not exist."),
    # notifications
    "link_invalid": ErrorInfo(
        400, "This link is not valid.",
        "The link in the email was cut short or changed. Open it from the email again, or manage your "
             "emails from the comments under the article."),
    "link_expired": ErrorInfo(
        410, "This link has expired.",
        "Links in our emails work for a limited time. Manage your emails from the comments under the article."),
    "invalid_email": ErrorInfo(
        422, "That is not an email address we can send to.",
        "Check the email address: it should look like name@example.org."),
    "email_required": ErrorInfo(
        422, "An email address is needed.",
        "Give the email address the notifications should go to."),
    "subscription_not_found": ErrorInfo(
        404, "No such email subscription.",
        "It was already cancelled. Nothing more will be sent for it."),
    # readers' data (services/privacy.py)
    "erasure_not_confirmed": ErrorInfo(
        400, "Erasing data needs the body {\"confirm\": \"erase\"}.",
        "Nothing was deleted. Confirm that you want your comments, name and email erased, then try again."),
    # webhooks (admins)
    "invalid_webhook_url": ErrorInfo(
        422, "The webhook URL is not one the service will deliver to.",
        "Use an https:// URL of a public host, without a user name, password or #fragment (the message says "
             "what is wrong with this one)."),
    "unknown_event_type": ErrorInfo(
        422, "An event type is not one the service sends.",
        "Choose event types from the list (GET /api/v1/moderation/webhooks/events/schema shows each)."),
    "too_many_webhooks": ErrorInfo(
        409, "The site has as many webhook endpoints as it may have.",
        "A site has at most 20 webhook endpoints. Delete one you no longer use, or send several event types "
             "to one endpoint."),
    "webhook_not_found": ErrorInfo(
        404, "The webhook endpoint does not exist.",
        "That webhook is not in the list; it may have been deleted, or belong to another site."),
    "webhook_disabled": ErrorInfo(
        409, "The webhook endpoint is disabled.",
        "Enable the endpoint first (it may have been disabled after failing for a day), then send the test "
             "again."),
    # the Digital Services Act: notices, statements of reasons, appeals (services/dsa.py)
    "good_faith_required": ErrorInfo(
        400, "A notice needs the statement that it is made in good faith (good_faith: true).",
        "Confirm that the information in your notice is accurate and complete to send it."),
    "notifier_contact_required": ErrorInfo(
        400, "A notice needs the notifier's name and email (except for child sexual abuse material).",
        "Enter your name and email address so that we can tell you what we decide."),
    "notice_not_found": ErrorInfo(
        404, "The notice does not exist.",
        "That notice is not on record for this site. Check its reference."),
    "notice_already_decided": ErrorInfo(
        409, "The notice has already been decided.",
        "Someone decided this notice already; reload the list."),
    "notice_not_appealable": ErrorInfo(
        409, "Only a notice decided without removing the comment can be appealed by its notifier.",
        "There is nothing to appeal yet: the notice is still open, or the comment was removed as you asked."),
    "appeal_key_invalid": ErrorInfo(
        403, "The notice's reference and appeal key do not match.",
        "Check the reference and the appeal key from your receipt or the decision email."),
    "statement_not_found": ErrorInfo(
        404, "The statement of reasons does not exist.",
        "That decision is not one of yours on this site."),
    "statement_lifted": ErrorInfo(
        409, "The restriction this statement explains has already ended.",
        "That decision no longer applies (your comment was restored or the ban lifted); there is nothing to "
             "appeal."),
    "appeal_too_late": ErrorInfo(
        409, "An appeal must be made within six months of the decision.",
        "The time to appeal this decision has passed. You can still turn to an out-of-court dispute settlement "
             "body or a court."),
    "already_appealed": ErrorInfo(
        409, "This decision has already been appealed.",
        "You appealed this decision already; you will be told the outcome."),
    "appeal_not_found": ErrorInfo(
        404, "The appeal does not exist.",
        "That appeal is not in the list; it may belong to another site."),
    "appeal_already_decided": ErrorInfo(
        409, "The appeal has already been decided.",
        "Someone decided this appeal already; reload the list."),
    "appeal_same_decider": ErrorInfo(
        409, "An appeal is decided by someone other than the staff member who took the decision appealed.",
        "Ask another moderator or admin of the site to decide this appeal."),
    "method_not_allowed": ErrorInfo(
        405, "That method is not allowed here.",
        "The page sent something the server could not read. Reload the page and try again."),
    "internal_error": ErrorInfo(
        500, "Something went wrong on our side.",
        "Comments had an unexpected problem. Try again; if it keeps happening, report it with the reference "
             "shown."),
}


class DomainError(Exception):
    """An expected failure with a stable code. The API maps it to a problem response."""

    def __init__(self, code: str, message: str | None = None, *, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        if code not in CATALOGUE:
            raise KeyError(f"unknown error code {code!r}: add it to CATALOGUE")
        self.code = code
        self.info = CATALOGUE[code]
        self.message = message or self.info.message
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(f"{code}: {self.message}")

    @property
    def status(self) -> int:
        return self.info.status


class RateLimited(DomainError):
    def __init__(self, retry_after: float, action: str) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__("rate_limited", f"Too many {action} requests; retry in {seconds} s.",
                         headers={"Retry-After": str(seconds)},
                         extra={"retry_after": seconds, "action": action})


class ServiceUnavailable(DomainError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__("service_unavailable", message, headers={"Retry-After": "5"})
