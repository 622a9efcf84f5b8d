"""Fixtures shared by every test: fresh, migrated stores on SQLite and (when configured) PostgreSQL.

``MADOGUCHI_TEST_POSTGRES_URL`` names a PostgreSQL database the tests may use; each test gets its
own schema-free database created from it and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from qa_data import db
from qa_data.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"
TSU_GARBAGE_CSV = SHARED_DIR / "datasets" / "tsu-garbage" / "tsu_gomi_bunbetsu.csv"
POSTGRES_URL = os.environ.get("MADOGUCHI_TEST_POSTGRES_URL")

# Real Rasa and action servers (`bot_stack`), started once per session for bot and widget tests.
pytest_plugins = ["tests.servers", "tests.browser"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies: Alembic per test would dominate run time."""
    template = tmp_path_factory.mktemp("template") / "madoguchi.db"
    url = f"sqlite:///{template}"
    db.upgrade(url)
    db.get_engine(url).dispose()
    return template


def _fresh_sqlite(template: Path, tmp_path: Path) -> str:
    target = tmp_path / "madoguchi.db"
    target.write_bytes(template.read_bytes())
    return f"sqlite:///{target}"


def _fresh_postgres() -> tuple[str, str]:
    name = f"madoguchi_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    db.upgrade(url)
    return url, name


def _drop_postgres(url: str, name: str) -> None:
    db.get_engine(url).dispose()
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[str]:
    """A fresh, migrated database URL; the PostgreSQL variant runs only when configured."""
    if request.param == "sqlite":
        url = _fresh_sqlite(sqlite_template, tmp_path)
        yield url
        db.get_engine(url).dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("MADOGUCHI_TEST_POSTGRES_URL is not set")
    url, name = _fresh_postgres()
    try:
        yield url
    finally:
        _drop_postgres(url, name)


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated SQLite database URL."""
    url = _fresh_sqlite(sqlite_template, tmp_path)
    yield url
    db.get_engine(url).dispose()


def _use(url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", url)
    # get_engine(None) is cached per process: without this a later test reuses an earlier store.
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    return url


@pytest.fixture
def use_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``store_url`` made the default database for settings, CLI commands and services."""
    yield _use(store_url, monkeypatch)
    get_settings.cache_clear()
    db.get_engine.cache_clear()


@pytest.fixture
def use_sqlite(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``sqlite_url`` made the default database."""
    yield _use(sqlite_url, monkeypatch)
    get_settings.cache_clear()
    db.get_engine.cache_clear()
