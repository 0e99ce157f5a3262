"""The console's statistics view and the audit log's list of who acted (response bodies)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from msgspec import Meta

from .models import Base

# What each count means, sent with the numbers so that the console shows the definitions the
# numbers were counted by (and the route's description repeats them).
DEFINITIONS: dict[str, str] = {
    "automatic": "Decided by the automatic moderation: the scoring worker's policy (model scores, word lists, "
                 "premoderation of an article or an author, new-account rules), or publication on arrival where "
                 "scoring is off. Counted on the day the comment was posted. A comment keeps its automatic outcome "
                 "in these counts when a moderator later changes it (the outcome is then the status before the "
                 "moderator's first decision, from the audit log). A comment its author deleted before any "
                 "moderator decision, or one still being scored, is not counted.",
    "by_moderators": "Decided by a moderator: an approval or rejection in the audit log that changed the comment's "
                     "status and was not undone (rejections that come with a ban included). Counted on the day of "
                     "the decision. Keeping a reported comment published is not counted as a publication.",
    "held": "Comments the automatic moderation held for review, by the day they were posted.",
    "median_hold_to_decision_s": "Median seconds from a held comment's posting (the automatic hold follows within "
                                 "seconds) to the moderator's decision on it, over the decisions made that day.",
    "reports": "Readers' reports of the site's comments, by the day they were filed.",
    "problem_reports": "Readers' problem reports from the troubleshooter, by the day they were filed.",
    "day": "Days are UTC days; the last one is today, so far.",
}


class StatsTotals(Base):
    published_auto: int
    published_by_moderators: int
    held: int
    rejected_auto: int
    rejected_by_moderators: int
    reports: int
    problem_reports: int
    median_hold_to_decision_s: float | None = None


class StatsDay(StatsTotals, kw_only=True):
    """One UTC day's totals."""

    date: date


class ReasonCount(Base):
    reason: str
    label: str
    count: int
    by: Literal["automatic", "moderators", "readers"]


class TopReasons(Base):
    rejected: list[ReasonCount]
    held: list[ReasonCount]
    reported: list[ReasonCount]


class StatsView(Base):
    site_id: str
    days: Annotated[int, Meta(ge=1)]
    since: datetime
    until: datetime
    per_day: list[StatsDay]
    totals: StatsTotals
    top_reasons: TopReasons
    definitions: dict[str, str]


class AuditActor(Base):
    id: str
    name: str
    last_action_at: datetime


class AuditActors(Base):
    actors: list[AuditActor]
