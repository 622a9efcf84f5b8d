"""Reading what the index needs from the store, and noticing when it changed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_data.models import AppSetting, QAEntry, QAStatus, SynonymGroup


@dataclass(frozen=True)
class EntryRecord:
    """One searchable QA entry (drafts included; archived entries are never indexed)."""

    pk: int
    external_id: str
    question: str
    alternates: tuple[str, ...]
    keywords: tuple[str, ...]
    category: str
    answer_text: str
    status: str
    department_id: int | None
    version: int

    @property
    def published(self) -> bool:
        return self.status == QAStatus.PUBLISHED.value

    @property
    def stamp(self) -> tuple[Any, ...]:
        """Changes whenever anything the index uses changes."""
        return (
            self.version,
            self.status,
            self.question,
            self.alternates,
            self.keywords,
            self.category,
            self.answer_text,
        )


def _plain(answer: str) -> str:
    from qa_data.rich_text import answer_plain_text

    try:
        return answer_plain_text(answer or "")
    except Exception:  # a malformed body still gets indexed as raw text
        return answer or ""


def record_from_row(row: QAEntry) -> EntryRecord:
    status = row.status.value if hasattr(row.status, "value") else str(row.status)
    return EntryRecord(
        pk=row.id,
        external_id=row.external_id,
        question=row.question or "",
        alternates=tuple(a for a in (row.alternate_questions or []) if a and a.strip()),
        keywords=tuple(k for k in (row.keywords or []) if k and k.strip()),
        category=" ".join(p for p in (row.category_major, row.category_minor) if p),
        answer_text=_plain(row.answer),
        status=status,
        department_id=row.department_id,
        version=row.version or 0,
    )


def entry_versions(session: Session) -> dict[int, tuple[Any, ...]]:
    """pk → (version, status, updated_at, external id) of every indexable entry: no text."""
    rows = session.execute(
        select(
            QAEntry.id, QAEntry.version, QAEntry.status, QAEntry.updated_at, QAEntry.external_id
        ).where(QAEntry.status != QAStatus.ARCHIVED)
    )
    return {
        pk: (version or 0, getattr(status, "value", status), updated, ext)
        for pk, version, status, updated, ext in rows
    }


def load_entries(session: Session, pks: Iterable[int] | None = None) -> list[EntryRecord]:
    stmt = select(QAEntry).where(QAEntry.status != QAStatus.ARCHIVED)
    if pks is not None:
        pks = list(pks)
        if not pks:
            return []
        out: list[EntryRecord] = []
        for i in range(0, len(pks), 500):  # keep IN lists small
            chunk = stmt.where(QAEntry.id.in_(pks[i : i + 500]))
            out.extend(record_from_row(r) for r in session.scalars(chunk))
        return out
    return [record_from_row(r) for r in session.scalars(stmt.order_by(QAEntry.id))]


def change_marker(session: Session) -> tuple[Any, ...]:
    """A cheap fingerprint of everything search depends on in the store.

    ``sum(version)`` catches every edit (SQLAlchemy bumps ``version`` on each UPDATE),
    ``count``/``max(id)`` catch inserts and deletes, ``max(updated_at)`` catches the rest."""
    qa = session.execute(
        select(
            func.count(QAEntry.id),
            func.max(QAEntry.id),
            func.sum(QAEntry.version),
            func.max(QAEntry.updated_at),
        )
    ).one()
    syn = session.execute(
        select(
            func.count(SynonymGroup.id),
            func.max(SynonymGroup.id),
            func.max(SynonymGroup.updated_at),
        )
    ).one()
    tuned = session.execute(
        select(AppSetting.updated_at).where(AppSetting.key == "retrieval")
    ).scalar_one_or_none()
    return (tuple(qa), tuple(syn), tuned)


def tuned_settings(session: Session) -> dict[str, Any]:
    """Values ``madoguchi retune`` (or staff) stored in ``AppSetting(key="retrieval")``."""
    row = session.get(AppSetting, "retrieval")
    return dict(row.value) if row and isinstance(row.value, dict) else {}
