"""Fixtures for the retrieval tests: stores filled with the small fixture FAQ."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import pytest
from nlu_fixture_qa import FIXTURE_QA

from nlu.normalizer import JapaneseNormalizer
from nlu.retrieval import Retriever
from nlu.retrieval.config import RetrievalConfig
from qa_data.db import session_scope
from qa_data.models import Department, QAEntry, QAStatus


@pytest.fixture(scope="session")
def normalizer() -> JapaneseNormalizer:
    return JapaneseNormalizer()


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


@pytest.fixture
def fixture_store(store_url: str) -> str:
    add_entries(store_url, FIXTURE_QA)
    return store_url


@pytest.fixture
def make_retriever(normalizer: JapaneseNormalizer) -> Callable[..., Retriever]:
    def make(url: str, **overrides) -> Retriever:
        overrides.setdefault("refresh_interval_seconds", 0.0)
        return Retriever(RetrievalConfig(**overrides), url=url, normalizer=normalizer)

    return make


def wait_for(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
