"""Login, lockout, password policy, user management, bulk add and the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from qa_data import accounts, audit
from qa_data.db import session_scope
from qa_data.models import AuditLog, Role, User, utcnow

PASSWORD = "Madoguchi2026pw"  # the seeded users' password (see conftest.Seed.password)


def _actions(url: str, actor: str | None = None) -> list[str]:
    with session_scope(url) as session:
        rows = audit.list_audit(session, actor=actor)
        return [row.action for row in reversed(rows)]


def test_password_is_hashed_with_argon2(seeded_sqlite):
    with session_scope(seeded_sqlite.url) as session:
        user = session.scalar(select(User).where(User.login_id == "viewer"))
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_login_success_and_failure_are_audited(seeded_sqlite):
    url = seeded_sqlite.url
    with session_scope(url) as session:
        result = accounts.authenticate(session, "shimin_editor", PASSWORD, ip="10.0.0.5")
    assert result.ok and result.user.role is Role.EDITOR
    assert result.user.department_names == ("市民課",)
    with session_scope(url) as session:
        result = accounts.authenticate(session, "shimin_editor", "wrong-password1", ip="10.0.0.5")
        unknown = accounts.authenticate(session, "nobody", "wrong-password1")
    assert not result.ok and result.message == unknown.message  # no hint which part was wrong
    assert _actions(url, "shimin_editor") == ["login", "login_failed"]
    with session_scope(url) as session:
        row = audit.list_audit(session, actor="shimin_editor", actions=["login"])[0]
        assert row.ip == "10.0.0.5"


def test_five_failures_lock_the_account_for_fifteen_minutes(seeded_sqlite):
    url = seeded_sqlite.url
    now = utcnow()
    for attempt in range(1, 6):
        with session_scope(url) as session:
            result = accounts.authenticate(session, "viewer", f"bad-guess-{attempt}x", now=now)
        assert not result.ok
    assert "ロック" in result.message and "15分" in result.message
    with session_scope(url) as session:
        # The right password does not help while locked.
        locked = accounts.authenticate(session, "viewer", PASSWORD, now=now + timedelta(minutes=14))
    assert not locked.ok and "ロック" in locked.message
    with session_scope(url) as session:
        later = accounts.authenticate(session, "viewer", PASSWORD, now=now + timedelta(minutes=16))
    assert later.ok
    actions = _actions(url, "viewer")
    assert actions.count("login_failed") == 6
    assert actions.count("account_locked") == 1
    assert actions[-1] == "login"
    with session_scope(url) as session:
        user = accounts.get_user(session, "viewer")
        assert user.failed_logins == 0 and user.locked_until is None


def test_four_failures_do_not_lock(seeded_sqlite):
    url = seeded_sqlite.url
    for attempt in range(4):
        with session_scope(url) as session:
            accounts.authenticate(session, "viewer", f"bad-guess-{attempt}x")
    with session_scope(url) as session:
        assert accounts.authenticate(session, "viewer", PASSWORD).ok


def test_password_policy():
    assert accounts.password_problems("Abcdefgh12", "someone") == []
    assert accounts.password_problems("short1", "x")  # too short
    assert accounts.password_problems("abcdefghijkl", "x")  # no digits
    assert accounts.password_problems("1234567890123", "x")  # no letters
    assert accounts.password_problems("tanaka2026pass", "tanaka")  # contains the login id


def test_user_management_and_audit(seeded_sqlite):
    url = seeded_sqlite.url
    admin = seeded_sqlite.users["admin"]
    with session_scope(url) as session:
        accounts.create_user(
            session,
            admin,
            login_id="newbie",
            display_name="新人 一郎",
            password="Freshstart2026",
            role=Role.EDITOR,
            department_names=["子育て支援課"],
        )
        with pytest.raises(accounts.AccountError, match="10文字"):
            accounts.create_user(
                session,
                admin,
                login_id="weak",
                display_name="弱い",
                password="abc1",
                role=Role.VIEWER,
            )
    with session_scope(url) as session:
        accounts.update_user(
            session, admin, "newbie", role=Role.DEPARTMENT_ADMIN, department_names=["市民課"]
        )
        accounts.reset_password(session, admin, "newbie", "Temporary2026x")
        accounts.update_user(session, admin, "newbie", is_active=False)
    with session_scope(url) as session:
        result = accounts.authenticate(session, "newbie", "Temporary2026x")
    assert not result.ok and "無効" in result.message
    assert _actions(url, "admin") == ["user_create", "user_update", "password_reset", "user_update"]
    with session_scope(url) as session:
        detail = audit.list_audit(session, actor="admin", actions=["user_update"])[-1].detail
        assert detail["role"] == ["editor", "department_admin"]
        with pytest.raises(accounts.AccountError, match="システム管理者"):
            accounts.update_user(session, admin, "admin", role=Role.VIEWER)


def test_bulk_add_reports_errors_per_row_and_adds_nothing(seeded_sqlite):
    url = seeded_sqlite.url
    admin = seeded_sqlite.users["admin"]
    bad = (
        "ログインID,氏名,権限,部署,初期パスワード\n"
        "good01,良い 人,編集者,市民課,Goodpass2026\n"
        "bad 02,悪い 人,課長,存在しない課,short\n"
        "good01,重複,閲覧者,,Another2026pw\n"
    ).encode()
    with session_scope(url) as session:
        result = accounts.bulk_add_users(session, admin, bad)
    lines = dict(result.errors)
    assert set(lines) == {3, 4}
    assert "権限「課長」" in lines[3] and "存在しない課" in lines[3] and "10文字" in lines[3]
    assert "重複" in lines[4]
    with session_scope(url) as session:
        assert accounts.get_user(session, "good01") is None
    good = (
        "\ufeffログインID,氏名,権限,部署,初期パスワード\n"
        "good01,良い 人,編集者,市民課;子育て支援課,Goodpass2026\n"
        "good02,見る 人,閲覧者,,Viewpass2026\n"
    ).encode()
    with session_scope(url) as session:
        result = accounts.bulk_add_users(session, admin, good)
    assert result.ok and result.created == ["good01", "good02"]
    with session_scope(url) as session:
        user = accounts.get_user(session, "good01")
        assert sorted(d.name for d in user.departments) == ["子育て支援課", "市民課"]
        assert user.must_change_password


def test_audit_log_is_append_only(seeded_sqlite):
    url = seeded_sqlite.url
    with session_scope(url) as session:
        row = audit.record_audit(session, actor="admin", action="export", target="qa.xlsx")
        row_id = row.id
    with pytest.raises(audit.AuditLogImmutable), session_scope(url) as session:
        session.get(AuditLog, row_id).target = "changed"
    with pytest.raises(audit.AuditLogImmutable), session_scope(url) as session:
        session.delete(session.get(AuditLog, row_id))
    with pytest.raises(audit.AuditLogImmutable), session_scope(url) as session:
        session.execute(update(AuditLog).values(actor="x"))
    with pytest.raises(audit.AuditLogImmutable), session_scope(url) as session:
        session.execute(delete(AuditLog))
    with pytest.raises(ValueError), session_scope(url) as session:
        audit.record_audit(session, actor="admin", action="made_up")
    with session_scope(url) as session:
        assert session.get(AuditLog, row_id).target == "qa.xlsx"
        csv_bytes = audit.audit_csv(audit.list_audit(session))
    text = csv_bytes.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("日時(UTC),操作者,操作")
    assert "エクスポート,export,qa.xlsx" in text
    assert not any(name for name in dir(audit) if name.startswith(("update_", "delete_")))


def test_ip_allowlist():
    assert accounts.ip_allowed("203.0.113.9", [])
    assert accounts.ip_allowed("10.1.2.3", ["10.0.0.0/8", "192.168.1.10"])
    assert accounts.ip_allowed("192.168.1.10", ["10.0.0.0/8", "192.168.1.10"])
    assert not accounts.ip_allowed("203.0.113.9", ["10.0.0.0/8"])
    assert not accounts.ip_allowed(None, ["10.0.0.0/8"])


def test_demo_admin_only_into_an_empty_store(use_sqlite):
    with session_scope() as session:
        assert accounts.ensure_demo_admin(session) is True
        assert accounts.ensure_demo_admin(session) is False
    with session_scope() as session:
        result = accounts.authenticate(
            session, accounts.DEMO_ADMIN_LOGIN, accounts.DEMO_ADMIN_PASSWORD
        )
    assert result.ok and result.user.role is Role.SYSTEM_ADMIN
