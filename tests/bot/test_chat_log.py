"""qa_data/chat_log.py stores masked text and hashed session ids."""

from __future__ import annotations

from sqlalchemy import select

from qa_data.chat_log import hash_session_id, record_feedback, record_query
from qa_data.db import session_scope
from qa_data.models import Feedback, QueryLog


def test_record_query_masks_and_hashes(use_store: str) -> None:
    with session_scope() as session:
        row = record_query(
            session,
            session_id="widget-session-1",
            channel="rest",
            kind="message",
            text="090-1234-5678 に電話ください。住民票の写しを取りたい",
            intent="ask_faq",
            decision="answer",
            top_hits=[{"id": "MD-0001", "score": 0.912345}, {"id": "MD-0002", "score": 0.5}],
            qa_shown="MD-0001",
            response_ms=12.3456,
        )
        log_id = row.id
        record_feedback(
            session, session_id="widget-session-1", helpful=False, qa_external_id="MD-0001",
            query_log_id=log_id,
        )  # fmt: skip
    with session_scope() as session:
        stored = session.get(QueryLog, log_id)
        assert "1234" not in stored.text and "[電話番号]" in stored.text
        assert stored.masked_count == 1
        assert stored.session_id == hash_session_id("widget-session-1")
        assert stored.session_id != "widget-session-1"
        assert stored.top_hits == [
            {"id": "MD-0001", "score": 0.9123},
            {"id": "MD-0002", "score": 0.5},
        ]
        feedback = session.scalars(select(Feedback)).one()
        assert feedback.session_id == stored.session_id
        assert feedback.helpful is False and feedback.query_log_id == log_id


def test_session_hash_is_stable_and_distinct() -> None:
    assert hash_session_id("a") == hash_session_id("a")
    assert hash_session_id("a") != hash_session_id("b")
    assert len(hash_session_id("a")) == 32
