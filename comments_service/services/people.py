"""The moderators' view of readers: finding one by name, user id or SSO subject, the author
drawer's profile (standing, comments, reports against them, decisions, bans, notes), and private
moderator notes. Bans, suspensions and flags are UserModeration's."""

from __future__ import annotations

import asyncpg

from ..db import audit as audit_repo
from ..db import moderation as mod_repo
from ..db import moderator_notes as notes_repo
from ..db import people as people_repo
from ..db.connection import Connection
from ..domain.moderation_models import AuditEntry, UserStanding
from ..domain.people_models import (
    CommentCounts,
    ModeratorNote,
    PeopleSearch,
    PersonHit,
    ProfileArticle,
    ProfileComment,
    ProfileReport,
    ReportsAgainst,
    UserProfile,
)
from ..domain.scoring_models import stored_scores
from ..errors import DomainError
from .staff_scope import StaffLike, one_site, require_site
from .user_moderation import offers_shadow_restriction

NOTES_CAP = 200  # per reader: the drawer lists them all, so they stay few
RECENT_COMMENTS = 20
RECENT_REPORTS = 10
DECISIONS = 30
BAN_ACTIONS = ("ban", "unban", "suspend")
# user ids are bigserial: a longer run of digits is no id, only perhaps a subject or a name
_MAX_ID_DIGITS = 18


class People:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def search(self, staff: StaffLike, site_id: str | None, query: str, limit: int) -> PeopleSearch:
        scope = one_site(staff, site_id, "Searching for readers needs the site query parameter.")
        term = query.strip()
        if not term:
            return PeopleSearch(query=query, people=[])
        user_id = int(term) if term.isascii() and term.isdigit() and len(term) <= _MAX_ID_DIGITS else None
        async with self.pool.acquire() as conn:
            rows = await people_repo.search(conn, scope, user_id=user_id, subject=term, name_prefix=term,
                                            limit=limit + 1)
        seen: set[int] = set()
        hits: list[PersonHit] = []
        names = 0
        for r in rows:
            if r["matched_by"] == "name":
                names += 1
                if names > limit:
                    break
            if r["id"] in seen:
                continue
            seen.add(r["id"])
            hits.append(PersonHit(
                user_id=r["id"], site_id=r["site_id"], name=r["display_name"], kind=r["kind"],
                subject=r["external_id"], matched_by=r["matched_by"], banned=r["banned"],
                banned_until=r["banned_until"] if r["banned"] else None, trusted=r["trusted"],
                premoderated=r["premoderate"], created_at=r["created_at"]))
        return PeopleSearch(query=query, people=hits, more=names > limit)

    async def _person(self, conn: Connection, staff: StaffLike, user_id: int) -> asyncpg.Record:
        user = await people_repo.person(conn, user_id)
        if user is None:
            raise DomainError("user_not_found")
        require_site(staff, user["site_id"])
        return user

    async def profile(self, staff: StaffLike, user_id: int) -> UserProfile:
        async with self.pool.acquire() as conn:
            user = await self._person(conn, staff, user_id)
            site_id = user["site_id"]
            ban = await mod_repo.active_ban(conn, site_id, user_id)
            counts = await people_repo.comment_counts(conn, user_id)
            comments = await people_repo.recent_comments(conn, user_id, RECENT_COMMENTS)
            reasons = await people_repo.report_reasons(conn, user_id)
            reports = await people_repo.recent_reports(conn, user_id, RECENT_REPORTS)
            decisions = await people_repo.audit_about(conn, site_id, user_id, actions=(*BAN_ACTIONS, "note"),
                                                      among=False, limit=DECISIONS)
            bans = await people_repo.audit_about(conn, site_id, user_id, actions=BAN_ACTIONS, among=True,
                                                 limit=DECISIONS)
            notes = await notes_repo.of_user(conn, user_id, NOTES_CAP)
            shadow_offered = await offers_shadow_restriction(conn, site_id)
        standing = UserStanding(
            user_id=user_id, site_id=site_id, name=user["display_name"], kind=user["kind"], banned=ban is not None,
            banned_until=ban["until"] if ban else None, ban_reason=ban["reason"] if ban else None,
            premoderated=user["premoderate"], trusted=user["trusted"], shadow_restricted=user["shadow_restricted"])
        return UserProfile(
            standing=standing, subject=user["external_id"], created_at=user["created_at"],
            counts=CommentCounts(**{k: v for k, v in counts.items() if k in CommentCounts.__struct_fields__}),
            recent_comments=[ProfileComment(
                id=c["id"], status=c["status"], status_reason=c["status_reason"], created_at=c["created_at"],
                body_html=c["body_html"], scores=stored_scores(c["toxicity"]),
                max_score=c["max_score"] if c["max_score"] is not None and c["max_score"] >= 0 else None,
                open_reports=c["open_reports"], moderated_at=c["moderated_at"], moderated_by=c["moderated_by"],
                article=ProfileArticle(id=c["external_id"], title=c["title"], url=c["url"])) for c in comments],
            reports=ReportsAgainst(
                count=sum(r["n"] for r in reasons), open=sum(r["open"] for r in reasons),
                reasons={r["reason"]: r["n"] for r in reasons},
                recent=[ProfileReport(comment_id=r["comment_id"], reason=r["reason"], note=r["note"],
                                      created_at=r["created_at"], open=r["open"]) for r in reports]),
            decisions=[_entry(r) for r in decisions], bans=[_entry(r) for r in bans],
            notes=[_note(r) for r in notes], notes_cap=NOTES_CAP, shadow_restriction=shadow_offered)

    async def add_note(self, staff: StaffLike, user_id: int, text: str) -> ModeratorNote:
        if not text.strip():
            raise DomainError("invalid_request", "The note is empty.")
        async with self.pool.acquire() as conn, conn.transaction():
            # the reader's row lock serialises notes on them, so the cap holds under concurrent adds
            user = await mod_repo.user(conn, user_id, for_update=True)
            if user is None:
                raise DomainError("user_not_found")
            require_site(staff, user["site_id"])
            if await notes_repo.count(conn, user_id) >= NOTES_CAP:
                raise DomainError("too_many_notes", f"A reader may have {NOTES_CAP} moderator notes.")
            row = await notes_repo.add(conn, site_id=user["site_id"], user_id=user_id, author_id=staff.id,
                                       author_name=staff.name, body=text)
            await audit_repo.record(conn, site_id=user["site_id"], actor_id=staff.id, actor_name=staff.name,
                                    action="note", user_id=user_id, note=text, details={"note_id": row["id"]})
        return _note(row)



def _entry(r: asyncpg.Record) -> AuditEntry:
    return AuditEntry(**{k: r[k] for k in AuditEntry.__struct_fields__ if k in r})


def _note(r: asyncpg.Record) -> ModeratorNote:
    return ModeratorNote(id=r["id"], user_id=r["user_id"], text=r["body"], author_id=r["author_id"],
                         author_name=r["author_name"], created_at=r["created_at"])
