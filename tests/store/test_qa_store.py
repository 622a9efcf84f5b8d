"""``save_entry``: revisions, optimistic locking, canonical text, generated IDs."""

from __future__ import annotations

import pytest

from qa_data import db
from qa_data.models import QAEntry, QARevision
from qa_data.qa_store import (
    StaleEntryError,
    entry_snapshot,
    get_entry,
    get_or_create_department,
    history,
    new_external_id,
    revisions,
    save_entry,
)

BASE = {"question": "住民票の写しはどこで取れますか", "answer": "市民課の窓口で取れます。"}


def test_create_records_a_creation_revision(store_url: str) -> None:
    with db.session_scope(store_url) as session:
        entry = save_entry(session, fields=BASE, actor="alice", change="import")
        external_id = entry.external_id
    assert external_id == "QA-000001"
    with db.session_scope(store_url) as session:
        entry = get_entry(session, external_id)
        assert entry.version == 1
        assert entry.created_by == entry.updated_by == "alice"
        assert entry_snapshot(entry)["department"] == "未設定"
        assert entry_snapshot(entry)["status"] == "published"
        kept = revisions(session, external_id)
        assert [(r.version, r.change, r.changed_by, r.snapshot) for r in kept] == [
            (0, "import", "alice", {})
        ]
        assert new_external_id(session) == "QA-000002"


def test_update_keeps_previous_content_and_bumps_version(store_url: str) -> None:
    with db.session_scope(store_url) as session:
        save_entry(session, external_id="MD-1", fields=BASE, actor="alice")
    with db.session_scope(store_url) as session:
        entry = save_entry(
            session,
            external_id="MD-1",
            fields={"answer": "変更後", "keywords": ["住民票", "写し"], "department": "市民課"},
            actor="bob",
            expected_version=1,
        )
        assert entry.version == 2
    with db.session_scope(store_url) as session:
        entry = get_entry(session, "MD-1")
        assert entry.updated_by == "bob"
        assert entry.department.name == "市民課"
        kept = revisions(session, "MD-1")
        assert [(r.version, r.change, r.changed_by) for r in kept] == [
            (0, "create", "alice"),
            (1, "update", "bob"),
        ]
        assert kept[1].snapshot["answer"] == BASE["answer"]
        assert kept[1].snapshot["department"] == "未設定"
        versions = history(session, "MD-1")
        assert [(v.version, v.changed_by, v.snapshot["answer"]) for v in versions] == [
            (1, "alice", BASE["answer"]),
            (2, "bob", "変更後"),
        ]


def test_unchanged_save_is_a_no_op(store_url: str) -> None:
    with db.session_scope(store_url) as session:
        save_entry(session, external_id="MD-1", fields=BASE, actor="alice")
    with db.session_scope(store_url) as session:
        entry = save_entry(
            session,
            external_id="MD-1",
            fields={**BASE, "answer": BASE["answer"] + "  \r\n"},
            actor="bob",
        )
        assert entry.version == 1
    with db.session_scope(store_url) as session:
        assert session.query(QARevision).count() == 1


def test_stale_expected_version_is_refused_with_current_content(store_url: str) -> None:
    with db.session_scope(store_url) as session:
        save_entry(session, external_id="MD-1", fields=BASE, actor="alice")
    with db.session_scope(store_url) as session:
        save_entry(
            session, external_id="MD-1", fields={"answer": "A"}, actor="bob", expected_version=1
        )
    with pytest.raises(StaleEntryError) as caught, db.session_scope(store_url) as session:
        save_entry(
            session, external_id="MD-1", fields={"answer": "C"}, actor="carol", expected_version=1
        )
    assert caught.value.current_version == 2
    assert caught.value.current["answer"] == "A"
    assert "他の人が更新しました" in str(caught.value)
    with db.session_scope(store_url) as session:
        assert get_entry(session, "MD-1").answer == "A"


def test_concurrent_update_detected_at_flush(store_url: str) -> None:
    with db.session_scope(store_url) as session:
        save_entry(session, external_id="MD-1", fields=BASE, actor="alice")
    factory = db.session_factory(store_url)
    first, second = factory(), factory()
    try:
        loaded_first = get_entry(first, "MD-1")
        loaded_second = get_entry(second, "MD-1")
        save_entry(first, entry=loaded_first, fields={"answer": "first"}, actor="a")
        first.commit()
        with pytest.raises(StaleEntryError):
            save_entry(second, entry=loaded_second, fields={"answer": "second"}, actor="b")
        second.rollback()
    finally:
        first.close()
        second.close()
    with db.session_scope(store_url) as session:
        assert get_entry(session, "MD-1").answer == "first"


def test_canonical_text_and_required_fields(store_url: str) -> None:
    with db.session_scope(store_url) as session:
        entry = save_entry(
            session,
            fields={
                **BASE,
                "question": "  髙﨑ｶﾀｶﾅ😀\r\n二行目 ",
                "alternate_questions": "別の聞き方1\n\n 別の聞き方2 \n",
                "category_major": " ",
            },
            actor="t",
        )
        assert entry.question == "髙﨑ｶﾀｶﾅ😀\n二行目"
        assert entry.alternate_questions == ["別の聞き方1", "別の聞き方2"]
        assert entry.category_major is None
        with pytest.raises(ValueError):
            save_entry(session, fields={"question": "q", "answer": " "}, actor="t")
        assert session.query(QAEntry).count() == 1


def test_department_created_once(store_url: str) -> None:
    with db.session_scope(store_url) as session:
        first = get_or_create_department(session, "市民課")
        assert get_or_create_department(session, " 市民課 ") is first
        assert get_or_create_department(session, "").name == "未設定"
