"""Fixtures for the console tests: a store with two departments, users of every role and QA."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher

from qa_data import accounts, db, qa_store
from qa_data.db import session_scope
from qa_data.models import Department, Role
from qa_data.permissions import SYSTEM_ACTOR, CurrentUser

PASSWORD = "Madoguchi2026pw"
SHIMIN = "市民課"
KOSODATE = "子育て支援課"


@dataclass
class Seed:
    url: str
    users: dict[str, CurrentUser]
    password: str = PASSWORD


def _seed(url: str) -> Seed:
    with session_scope(url) as session:
        for name in (SHIMIN, KOSODATE):
            session.add(Department(name=name, phone="0120-000-001"))
        session.flush()
        people = [
            ("admin", "管理 太郎", Role.SYSTEM_ADMIN, []),
            ("shimin_admin", "市民 管理", Role.DEPARTMENT_ADMIN, [SHIMIN]),
            ("shimin_admin2", "市民 管理二", Role.DEPARTMENT_ADMIN, [SHIMIN]),
            ("shimin_editor", "市民 編集", Role.EDITOR, [SHIMIN]),
            ("kosodate_editor", "子育て 編集", Role.EDITOR, [KOSODATE]),
            ("kosodate_admin", "子育て 管理", Role.DEPARTMENT_ADMIN, [KOSODATE]),
            ("viewer", "閲覧 花子", Role.VIEWER, []),
        ]
        for login_id, name, role, departments in people:
            accounts.create_user(
                session,
                SYSTEM_ACTOR,
                login_id=login_id,
                display_name=name,
                password=PASSWORD,
                role=role,
                department_names=departments,
                must_change_password=False,
            )
        entries = [
            (
                "MD-0001",
                SHIMIN,
                "住民票の写しがほしい",
                "市民課の窓口で請求できます。",
                "published",
            ),
            ("MD-0002", SHIMIN, "印鑑登録の方法", "本人が窓口で登録します。", "draft"),
            ("MD-0003", KOSODATE, "児童手当の申請", "出生後15日以内に申請してください。", "draft"),
            ("MD-0004", KOSODATE, "保育園の入園申込", "**毎年10月**に受け付けます。", "published"),
        ]
        for external_id, department, question, answer, status in entries:
            qa_store.save_entry(
                session,
                external_id=external_id,
                fields={
                    "department": department,
                    "category_major": "くらし",
                    "question": question,
                    "answer": answer,
                    "status": status,
                    "alternate_questions": [],
                },
                actor="seed",
            )
    with session_scope(url) as session:
        users = {
            u.login_id: accounts.load_current_user(session, u.login_id)
            for u in accounts.list_users(session)
        }
    return Seed(url=url, users=users)


@pytest.fixture(autouse=True)
def _cheaper_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with a lower cost: the seed hashes seven passwords per test."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192))


@pytest.fixture(autouse=True)
def _fresh_default_engine() -> Iterator[None]:
    """``get_engine()`` without a URL is cached too: the default database changes per test."""
    db.get_engine.cache_clear()
    yield
    db.get_engine.cache_clear()


@pytest.fixture
def seeded(use_store: str) -> Seed:
    """A seeded store (SQLite, and PostgreSQL when configured) as the default database."""
    db.get_engine.cache_clear()
    return _seed(use_store)


@pytest.fixture
def seeded_sqlite(use_sqlite: str) -> Seed:
    """A seeded SQLite store as the default database."""
    db.get_engine.cache_clear()
    return _seed(use_sqlite)
