"""Fixtures of the report tests (the data itself is built in ``report_logdata``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_logdata import LogData, generate


@pytest.fixture
def log_data(store_url: str, tmp_path: Path) -> LogData:
    """A month of logs (October 2026) and a smaller previous month, on SQLite and PostgreSQL."""
    return generate(store_url, tmp_path)


@pytest.fixture(autouse=True)
def _fresh_default_engine():
    """``get_engine(None)`` is cached per process: without this a command run with
    ``MADOGUCHI_DATABASE_URL`` set by one test would reuse an earlier test's database."""
    from qa_data.db import get_engine

    get_engine.cache_clear()
    yield
    get_engine.cache_clear()
