"""The audit log: who did what, when, from where. Append-only.

Every staff action that matters (login, failed login, lock, QA edit, publish, import, export, user
change, settings change, ...) is recorded with :func:`record_audit`. This module offers no update or
delete function, and it protects the rows inside the application as well: any ORM ``UPDATE`` or
``DELETE`` of an :class:`AuditLog` row (through a loaded object or a bulk ``update()``/``delete()``
statement) raises :class:`AuditLogImmutable` before reaching the database. Operators who want the
database itself to refuse changes grant the console's database role only ``INSERT, SELECT`` on
``audit_logs`` (PostgreSQL: ``REVOKE UPDATE, DELETE ON audit_logs FROM madoguchi_app``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session

from qa_data.models import AuditLog, utcnow

# The fixed vocabulary of actions (see the contracts); reports and the console use the same names.
ACTIONS: frozenset[str] = frozenset(
    {
        "login",
        "login_failed",
        "account_locked",
        "logout",
        "qa_create",
        "qa_update",
        "qa_publish",
        "qa_archive",
        "qa_restore",
        "qa_approve",
        "import",
        "export",
        "user_create",
        "user_update",
        "password_reset",
        "settings_update",
        "synonym_update",
        "garbage_update",
        "unanswered_handle",
        "retune",
        "report",
        "logs_export",
        "retention",
    }
)

# Japanese labels for the console's audit page.
ACTION_LABELS: dict[str, str] = {
    "login": "ログイン",
    "login_failed": "ログイン失敗",
    "account_locked": "アカウントロック",
    "logout": "ログアウト",
    "qa_create": "QA作成",
    "qa_update": "QA更新",
    "qa_publish": "QA公開",
    "qa_archive": "QAアーカイブ",
    "qa_restore": "QA復元",
    "qa_approve": "QA承認",
    "import": "インポート",
    "export": "エクスポート",
    "user_create": "ユーザー作成",
    "user_update": "ユーザー変更",
    "password_reset": "パスワード再設定",
    "settings_update": "設定変更",
    "synonym_update": "同義語変更",
    "garbage_update": "ごみ分別辞書変更",
    "unanswered_handle": "未回答の質問の対応",
    "retune": "しきい値調整",
    "report": "レポート作成",
    "logs_export": "ログ出力",
    "retention": "ログ保存期間の削除",
}


class AuditLogImmutable(RuntimeError):
    """Raised when code tries to change or delete an audit entry."""


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditLog:
    """Add one audit entry to ``session`` (the caller's transaction commits it) and flush it."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action: {action!r}")
    row = AuditLog(
        at=utcnow(),
        actor=(actor or "unknown")[:100],
        action=action,
        target=None if target is None else str(target)[:200],
        detail=_jsonable(detail or {}),
        ip=None if ip is None else str(ip)[:64],
    )
    session.add(row)
    session.flush()
    return row


def list_audit(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    actions: Sequence[str] | None = None,
    text: str | None = None,
    limit: int | None = 5000,
) -> list[AuditLog]:
    """Audit entries, newest first, filtered by time range [since, until), actor and action."""
    query = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc())
    if since is not None:
        query = query.where(AuditLog.at >= since)
    if until is not None:
        query = query.where(AuditLog.at < until)
    if actor:
        query = query.where(AuditLog.actor == actor)
    if actions:
        query = query.where(AuditLog.action.in_(list(actions)))
    if text:
        query = query.where(AuditLog.target.contains(text))
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


CSV_COLUMNS = ("日時(UTC)", "操作者", "操作", "操作コード", "対象", "詳細", "IPアドレス")


def audit_csv(rows: Iterable[AuditLog]) -> bytes:
    """The entries as CSV (UTF-8 with BOM, so that Excel opens it correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.at.strftime("%Y-%m-%d %H:%M:%S"),
                row.actor,
                ACTION_LABELS.get(row.action, row.action),
                row.action,
                row.target or "",
                json.dumps(row.detail or {}, ensure_ascii=False, sort_keys=True),
                row.ip or "",
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


# --- append-only protection -------------------------------------------------------------------


def _refuse_flush(_mapper, _connection, target: AuditLog) -> None:
    raise AuditLogImmutable("監査ログは追記専用です。変更・削除はできません。")


event.listen(AuditLog, "before_update", _refuse_flush)
event.listen(AuditLog, "before_delete", _refuse_flush)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    table = getattr(state.statement, "table", None)
    if (mapper is not None and mapper.class_ is AuditLog) or (
        table is not None and getattr(table, "name", None) == AuditLog.__tablename__
    ):
        raise AuditLogImmutable("監査ログは追記専用です。変更・削除はできません。")
