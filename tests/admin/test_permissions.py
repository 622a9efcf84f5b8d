"""Department ownership is enforced by the service layer, for every public changing function."""

from __future__ import annotations

import inspect

import pytest
from sqlalchemy import func, select

from qa_data import accounts, editing, qa_store, unanswered
from qa_data.db import session_scope
from qa_data.models import Attachment, AuditLog, QAEntry, QARevision
from qa_data.permissions import PermissionDenied

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _state(url: str) -> dict:
    with session_scope(url) as session:
        entries = {
            e.external_id: (e.version, qa_store.entry_snapshot(e))
            for e in session.scalars(select(QAEntry))
        }
        return {
            "entries": entries,
            "revisions": session.scalar(select(func.count()).select_from(QARevision)),
            "attachments": session.scalar(select(func.count()).select_from(Attachment)),
            "approvals": editing.pending_approvals(session),
        }


def _attachment_on(url: str, external_id: str, seeded) -> int:
    with session_scope(url) as session:
        return editing.add_attachment(
            session, seeded.users["admin"], external_id, "map.png", PNG
        ).id


def _calls(seeded, published: str, draft: str):
    """One call per public changing function, aimed at another department's entries."""
    attachment_id = _attachment_on(seeded.url, draft, seeded)
    return {
        "create_entry": lambda s, u: editing.create_entry(
            s, u, {"department": "市民課", "question": "新しい質問", "answer": "回答です。"}
        ),
        "update_entry": lambda s, u: editing.update_entry(
            s, u, draft, {"answer": "書き換え"}, expected_version=None
        ),
        "publish_entry": lambda s, u: editing.publish_entry(s, u, draft),
        "approve_entry": lambda s, u: editing.approve_entry(s, u, draft),
        "archive_entry": lambda s, u: editing.archive_entry(s, u, published),
        "restore_entry": lambda s, u: editing.restore_entry(s, u, "MD-0005"),
        "restore_revision": lambda s, u: editing.restore_revision(
            s, u, published, 1, expected_version=None
        ),
        "add_alternate_questions": lambda s, u: editing.add_alternate_questions(
            s, u, published, ["別の聞き方です"]
        ),
        "request_approval": lambda s, u: editing.request_approval(s, u, draft),
        "add_attachment": lambda s, u: editing.add_attachment(s, u, draft, "a.png", PNG),
        "remove_attachment": lambda s, u: editing.remove_attachment(s, u, attachment_id),
    }


@pytest.mark.parametrize("login_id", ["kosodate_editor", "kosodate_admin", "viewer"])
def test_other_department_cannot_change_shimin_qa_through_any_function(seeded_sqlite, login_id):
    url = seeded_sqlite.url
    user = seeded_sqlite.users[login_id]
    # A published entry with an earlier version, so restore_revision has something to restore.
    with session_scope(url) as session:
        editing.update_entry(
            session,
            seeded_sqlite.users["shimin_admin"],
            "MD-0001",
            {"answer": "改訂した回答"},
            expected_version=1,
        )
        qa_store.save_entry(
            session,
            external_id="MD-0005",
            fields={
                "department": "市民課",
                "question": "旧制度",
                "answer": "終了",
                "status": "archived",
            },
            actor="seed",
        )
    calls = _calls(seeded_sqlite, "MD-0001", "MD-0002")
    assert {f.__name__ for f in editing.MUTATING_FUNCTIONS} == set(calls), (
        "every public changing function must be tried here"
    )
    public = {
        name
        for name, member in inspect.getmembers(editing, inspect.isfunction)
        if member.__module__ == editing.__name__ and not name.startswith("_")
    }
    assert set(calls) <= public
    before = _state(url)
    for name, call in calls.items():
        with pytest.raises(PermissionDenied) as caught, session_scope(url) as session:
            call(session, user)
        message = str(caught.value)
        assert "権限" in message or "閲覧者" in message, (name, message)
    assert _state(url) == before


def test_own_department_rules(seeded_sqlite):
    url = seeded_sqlite.url
    editor = seeded_sqlite.users["shimin_editor"]
    manager = seeded_sqlite.users["shimin_admin"]
    with session_scope(url) as session:
        editing.update_entry(
            session, editor, "MD-0002", {"answer": "下書きを直しました"}, expected_version=1
        )
    # An editor cannot publish, nor change a published entry, nor create a published entry.
    for call in (
        lambda s: editing.publish_entry(s, editor, "MD-0002"),
        lambda s: editing.update_entry(
            s, editor, "MD-0001", {"answer": "x"}, expected_version=None
        ),
        lambda s: editing.create_entry(
            s,
            editor,
            {"department": "市民課", "question": "q", "answer": "a", "status": "published"},
        ),
        lambda s: editing.update_entry(
            s, editor, "MD-0002", {"department": "子育て支援課"}, expected_version=None
        ),
    ):
        with pytest.raises(PermissionDenied), session_scope(url) as session:
            call(session)
    with session_scope(url) as session:
        created = editing.create_entry(
            session,
            editor,
            {"department": "市民課", "question": "転入届", "answer": "14日以内に。"},
        )
        assert created.status.value == "draft"
        editing.publish_entry(session, manager, "MD-0002")
    with session_scope(url) as session:
        assert qa_store.get_entry(session, "MD-0002").status.value == "published"
        actions = [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert "qa_publish" in actions and "qa_create" in actions and "qa_update" in actions


def test_require_approval_needs_a_second_manager(seeded_sqlite, monkeypatch):
    from qa_data.settings import get_settings

    monkeypatch.setenv("MADOGUCHI_CONSOLE__REQUIRE_APPROVAL", "true")
    get_settings.cache_clear()
    url = seeded_sqlite.url
    first, second = seeded_sqlite.users["shimin_admin"], seeded_sqlite.users["shimin_admin2"]
    with session_scope(url) as session:
        editing.update_entry(
            session, first, "MD-0002", {"answer": "新しい手順"}, expected_version=1
        )
        editing.request_approval(session, first, "MD-0002")
    with pytest.raises(PermissionDenied, match="承認"), session_scope(url) as session:
        editing.publish_entry(session, first, "MD-0002")
    with session_scope(url) as session:
        editing.approve_entry(session, second, "MD-0002")
    with session_scope(url) as session:
        assert qa_store.get_entry(session, "MD-0002").status.value == "published"
        assert editing.pending_approvals(session) == {}
        assert session.scalar(select(AuditLog).where(AuditLog.action == "qa_approve")).actor == (
            "shimin_admin2"
        )


def test_user_management_is_for_system_admins_only(seeded_sqlite):
    url = seeded_sqlite.url
    for login_id in ("shimin_admin", "kosodate_editor", "viewer"):
        user = seeded_sqlite.users[login_id]
        for call in (
            lambda s, u=user: accounts.create_user(
                s,
                u,
                login_id="newbie",
                display_name="新人",
                password="Freshstart2026",
                role="editor",
                department_names=["市民課"],
            ),
            lambda s, u=user: accounts.update_user(s, u, "viewer", role="system_admin"),
            lambda s, u=user: accounts.reset_password(s, u, "admin", "Takeover2026pw"),
            lambda s, u=user: accounts.bulk_add_users(s, u, b"x"),
            lambda s, u=user: editing.save_widget_settings(s, u, {"title": "x"}),
        ):
            with pytest.raises(PermissionDenied), session_scope(url) as session:
                call(session)


def test_unanswered_add_alternate_respects_departments(seeded_sqlite):
    group = unanswered.UnansweredGroup(
        key="k",
        representative="住民票 とりたい",
        count=1,
        last_seen=None,
        query_log_ids=[1],
        examples=["住民票 とりたい"],
    )
    with pytest.raises(PermissionDenied), session_scope(seeded_sqlite.url) as session:
        unanswered.handle_group(
            session,
            seeded_sqlite.users["kosodate_admin"],
            group,
            "add_alternate",
            qa_external_id="MD-0001",
        )
