"""Log retention: conversation logs (``QueryLog``) and feedback (``Feedback``) older than
``settings.logs.retention_days`` (default 400 days, so always more than a year) are deleted.

Only rows strictly older than the cut-off are touched; the audit log is never deleted here (it is
append-only), but each prune run is recorded in it (action ``retention``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from qa_data.models import Feedback, QueryLog, utcnow

MIN_RETENTION_DAYS = 1


@dataclass(frozen=True)
class PruneResult:
    cutoff: datetime
    query_logs: int
    feedback: int
    dry_run: bool = False


def retention_cutoff(days: int | None = None, now: datetime | None = None) -> datetime:
    if days is None:
        from qa_data.settings import get_settings

        days = get_settings().logs.retention_days
    if days < MIN_RETENTION_DAYS:
        raise ValueError("logs.retention_days は 1 以上にしてください。")
    return (now or utcnow()) - timedelta(days=days)


def prune_logs(
    session: Session,
    *,
    days: int | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    actor: str = "system",
) -> PruneResult:
    """Deletes query logs and feedback created before ``now - days`` (naive UTC)."""
    cutoff = retention_cutoff(days, now)
    old_logs = select(QueryLog.id).where(QueryLog.created_at < cutoff)
    n_logs = session.scalar(
        select(func.count()).select_from(QueryLog).where(QueryLog.created_at < cutoff)
    )
    n_feedback = session.scalar(
        select(func.count()).select_from(Feedback).where(Feedback.created_at < cutoff)
    )
    if not dry_run:
        # Newer feedback that points at an old log keeps its row but loses the link.
        session.execute(
            update(Feedback)
            .where(Feedback.created_at >= cutoff, Feedback.query_log_id.in_(old_logs))
            .values(query_log_id=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(Feedback)
            .where(Feedback.created_at < cutoff)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(QueryLog)
            .where(QueryLog.created_at < cutoff)
            .execution_options(synchronize_session=False)
        )
        try:
            from qa_data.audit import record_audit
        except ImportError:
            record_audit = None
        if record_audit is not None:
            record_audit(
                session,
                actor=actor,
                action="retention",
                target="query_logs",
                detail={
                    "cutoff": cutoff.isoformat(timespec="seconds"),
                    "query_logs": int(n_logs or 0),
                    "feedback": int(n_feedback or 0),
                },
            )
        session.flush()
    return PruneResult(cutoff, int(n_logs or 0), int(n_feedback or 0), dry_run)
