"""How a new or edited comment enters its thread: the comment service asks an ``Admission``, chosen
once by the composition root (wiring.py): published at once, or scored first
(services/scoring_admission.py)."""

from __future__ import annotations

from typing import Protocol

from ..db.connection import Connection
from ..domain import judged_by as judgement
from ..domain.models import CommentRow


class Admission(Protocol):
    @property
    def initial_status(self) -> str:
        """The status a new comment is stored with."""

    @property
    def writes_on_admit(self) -> bool:
        """Whether admit() writes in the post's transaction (a post without it needs none)."""

    async def admit(self, conn: Connection, row: CommentRow) -> None:
        """Inside the post's transaction, after the insert."""

    async def readmit(self, conn: Connection, row: CommentRow) -> CommentRow:
        """Inside an edit's transaction: the edited comment as it must now be."""

    async def settle(self, row: CommentRow) -> CommentRow:
        """After commit: the comment as the reader should be told it is."""

    async def judged_by(self, row: CommentRow, tr: judgement.Translate = judgement.english) -> str:
        """After settle: what decided the comment, in words (domain/judged_by.py), translated by ``tr``."""

    async def close(self) -> None:
        """When the process stops: whatever the admission holds open."""


class PublishNow:
    """Every comment is published as it is stored; edits change nothing but the text."""

    initial_status = "published"
    writes_on_admit = False

    async def admit(self, conn: Connection, row: CommentRow) -> None:
        return None

    async def readmit(self, conn: Connection, row: CommentRow) -> CommentRow:
        return row

    async def settle(self, row: CommentRow) -> CommentRow:
        return row

    async def judged_by(self, row: CommentRow, tr: judgement.Translate = judgement.english) -> str:
        return judgement.judged_by(row.status, row.status_reason, None, None, tr)

    async def close(self) -> None:
        return None
