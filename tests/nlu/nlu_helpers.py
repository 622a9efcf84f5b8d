"""Helpers the retrieval tests import (conftest modules are not importable by a unique name)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from qa_data.db import session_scope
from qa_data.models import Department, QAEntry, QAStatus


def add_entries(url: str, rows: Iterable[tuple], status: QAStatus = QAStatus.PUBLISHED) -> None:
    """Create QA rows directly (test setup; the console and importer use qa_store)."""
    with session_scope(url) as session:
        dept = session.query(Department).filter_by(name="テスト課").one_or_none()
        if dept is None:
            dept = Department(name="テスト課", phone="000-0000")
            session.add(dept)
            session.flush()
        for ext, question, alternates, keywords, category, answer in rows:
            session.add(
                QAEntry(
                    external_id=ext,
                    department_id=dept.id,
                    category_major=category,
                    question=question,
                    alternate_questions=list(alternates),
                    keywords=list(keywords),
                    answer=answer,
                    status=status,
                )
            )


def wait_for(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
