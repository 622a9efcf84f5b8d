"""Conversation logs for statistics: one ``QueryLog`` row per resident message, plus ``Feedback``.

Both functions mask the text with ``bot.privacy.mask_personal_data`` (callers may pass text that
is already masked: placeholders are not masked twice) and store the session id only as a hash
(``hash_session_id``), so neither raw text nor the widget's session id reaches the database.

Values the bot writes (the reports read them):

========================  ==========================================================
``kind``                  ``decision``
========================  ==========================================================
``message`` (free text     ``answer`` / ``candidates`` / ``no_match`` (retrieval result;
routed to the FAQ)         ``no_match`` rows are the "unanswered" questions)
``select`` (a candidate    ``answer`` (``qa_selected`` is the chosen QA)
or menu question clicked)
``none_of_these``          ``candidates`` (next candidates shown) or ``no_match`` (contact)
``feedback``               ``helpful`` / ``not_helpful`` (also a ``Feedback`` row)
``garbage``                ``garbage_match`` / ``garbage_ambiguous`` / ``garbage_unknown``
``menu``                   ``menu``
``handoff``                ``handoff``
``dialogue``               ``dialogue`` (greeting, thanks, bot challenge, out of scope, ...)
``error``                  ``error`` (retrieval failed; ``error`` holds the exception type)
========================  ==========================================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from qa_data.models import Feedback, QueryLog

_SESSION_SALT = "madoguchi-session:"
_HASH_LENGTH = 32


def hash_session_id(session_id: str | None) -> str:
    """A stable, non-reversible id for a conversation (the same sender gives the same hash)."""
    raw = (session_id or "anonymous").encode("utf-8")
    return hashlib.sha256(_SESSION_SALT.encode("utf-8") + raw).hexdigest()[:_HASH_LENGTH]


def _clean_hits(top_hits: Iterable[Any] | None) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    for hit in top_hits or []:
        if isinstance(hit, Mapping):
            qa_id, score = hit.get("id"), hit.get("score")
        else:
            qa_id, score = getattr(hit, "id", None), getattr(hit, "score", None)
        if qa_id is None:
            continue
        hits.append({"id": str(qa_id), "score": round(float(score or 0.0), 4)})
    return hits


def record_query(
    session: Session,
    *,
    session_id: str,
    channel: str = "rest",
    kind: str = "message",
    text: str,
    intent: str | None = None,
    decision: str | None = None,
    top_hits: Iterable[Any] | None = None,
    qa_shown: str | None = None,
    qa_selected: str | None = None,
    department_id: int | None = None,
    category: str | None = None,
    response_ms: float | None = None,
    error: str | None = None,
    masked_count: int = 0,
    created_at: Any = None,
) -> QueryLog:
    """Add one ``QueryLog`` row to ``session`` (the caller commits) and return it (flushed)."""
    from bot.privacy import mask_personal_data

    masked, count = mask_personal_data(text or "")
    row = QueryLog(
        session_id=hash_session_id(session_id),
        channel=(channel or "rest")[:30],
        kind=(kind or "message")[:30],
        text=masked,
        masked_count=int(masked_count) + count,
        intent=(intent or None) and intent[:50],
        decision=(decision or None) and decision[:20],
        top_hits=_clean_hits(top_hits),
        qa_shown=qa_shown,
        qa_selected=qa_selected,
        department_id=department_id,
        category=(category or None) and category[:200],
        response_ms=None if response_ms is None else round(float(response_ms), 2),
        error=(error or None) and error[:200],
    )
    if created_at is not None:
        row.created_at = created_at
    session.add(row)
    session.flush()
    return row


def record_feedback(
    session: Session,
    *,
    session_id: str,
    helpful: bool,
    qa_external_id: str | None = None,
    query_log_id: int | None = None,
    created_at: Any = None,
) -> Feedback:
    """Add one ``Feedback`` row («解決した» / «解決しない») and return it (flushed)."""
    row = Feedback(
        session_id=hash_session_id(session_id),
        query_log_id=query_log_id,
        qa_external_id=qa_external_id,
        helpful=bool(helpful),
    )
    if created_at is not None:
        row.created_at = created_at
    session.add(row)
    session.flush()
    return row
