"""The Alembic head matches the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command

from qa_data import db


def test_alembic_head_matches_models(store_url: str) -> None:
    # ``store_url`` is migrated to head; ``check`` fails if autogenerate would find changes.
    command.check(db.alembic_config(store_url))
