"""Two editors save the same QA: the second is refused and sees the first's change.
Runs on SQLite and, when MADOGUCHI_TEST_POSTGRES_URL is set, on PostgreSQL."""

from __future__ import annotations

import pytest

from qa_data import editing, qa_store
from qa_data.db import session_factory, session_scope
from qa_data.qa_store import StaleEntryError


def test_second_save_is_refused_with_the_first_change(seeded):
    url = seeded.url
    first, second = seeded.users["shimin_editor"], seeded.users["shimin_admin"]
    with session_scope(url) as session:
        loaded = qa_store.get_entry(session, "MD-0002").version  # both opened version 1
    with session_scope(url) as session:
        editing.update_entry(
            session, first, "MD-0002", {"answer": "Aさんの回答"}, expected_version=loaded
        )
    with pytest.raises(StaleEntryError) as caught, session_scope(url) as session:
        editing.update_entry(
            session, second, "MD-0002", {"answer": "Bさんの回答"}, expected_version=loaded
        )
    error = caught.value
    assert error.current["answer"] == "Aさんの回答"
    assert error.current_version == loaded + 1
    assert "他の人" in str(error)
    with session_scope(url) as session:
        entry = qa_store.get_entry(session, "MD-0002")
        assert entry.answer == "Aさんの回答" and entry.version == loaded + 1
    # Merging on top of the first change succeeds and keeps both.
    with session_scope(url) as session:
        editing.update_entry(
            session,
            second,
            "MD-0002",
            {"answer": "Aさんの回答\n\nBさんの補足"},
            expected_version=error.current_version,
        )
    with session_scope(url) as session:
        assert qa_store.get_entry(session, "MD-0002").answer == "Aさんの回答\n\nBさんの補足"
        changes = [r.changed_by for r in qa_store.revisions(session, "MD-0002")]
    assert changes[-2:] == ["shimin_editor", "shimin_admin"]


def test_true_race_is_caught_by_the_database_version_check(seeded):
    """Both sessions hold the entry at the same version before either saves; the database's
    version check refuses the second write even though its in-memory version looked current."""
    url = seeded.url
    first, second = seeded.users["shimin_editor"], seeded.users["shimin_admin"]
    factory = session_factory(url)
    session_a, session_b = factory(), factory()
    try:
        entry_b = qa_store.get_entry(session_b, "MD-0002")
        version = entry_b.version
        editing.update_entry(
            session_a, first, "MD-0002", {"question": "印鑑登録のしかた"}, expected_version=version
        )
        session_a.commit()
        with pytest.raises(StaleEntryError) as caught:
            editing.update_entry(
                session_b, second, "MD-0002", {"question": "印鑑の登録"}, expected_version=version
            )
        session_b.rollback()
        assert caught.value.current is not None
        assert caught.value.current["question"] == "印鑑登録のしかた"
    finally:
        session_a.close()
        session_b.close()
    with session_scope(url) as session:
        assert qa_store.get_entry(session, "MD-0002").question == "印鑑登録のしかた"
