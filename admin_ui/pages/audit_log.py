"""監査ログ (システム管理者): view and export; the log itself is append-only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import streamlit as st

from admin_ui.auth import require_login
from admin_ui.common import JST, jst
from qa_data import audit
from qa_data.db import session_scope
from qa_data.models import Role

user = require_login(Role.SYSTEM_ADMIN)
st.title("監査ログ")
st.caption(
    "ログイン・QAの変更・公開・取り込み・書き出し・ユーザー変更などの記録です。追記のみで、変更・削除はできません。"
)

today = datetime.now(JST).date()
c1, c2, c3, c4 = st.columns(4)
start = c1.date_input("開始日", today - timedelta(days=30), key="audit_start")
end = c2.date_input("終了日", today, key="audit_end")
actions = c3.multiselect(
    "操作", sorted(audit.ACTIONS), format_func=lambda a: audit.ACTION_LABELS[a], key="audit_actions"
)
actor = c4.text_input("操作者（ログインID）", key="audit_actor")


def utc(day, *, next_day: bool = False) -> datetime:
    """Midnight (Japan time) of ``day`` (or the day after) as naive UTC."""
    local = datetime.combine(day + timedelta(days=1) if next_day else day, time(), tzinfo=JST)
    return local.astimezone(UTC).replace(tzinfo=None)


with session_scope() as session:
    rows = audit.list_audit(
        session,
        since=utc(start),
        until=utc(end, next_day=True),
        actor=actor.strip() or None,
        actions=actions or None,
    )
    table = [
        {
            "日時": jst(r.at),
            "操作者": r.actor,
            "操作": audit.ACTION_LABELS.get(r.action, r.action),
            "対象": r.target or "",
            "詳細": json.dumps(r.detail or {}, ensure_ascii=False),
            "IP": r.ip or "",
        }
        for r in rows
    ]
    data = audit.audit_csv(rows)
st.caption(f"{len(table)}件（最大5,000件）")
st.dataframe(table, hide_index=True, width="stretch")
if st.download_button(
    "CSVをダウンロード",
    data,
    file_name=f"audit_{start}_{end}.csv",
    mime="text/csv",
    key="audit_download",
):
    with session_scope() as session:
        audit.record_audit(
            session,
            actor=user.login_id,
            action="logs_export",
            target="audit_logs",
            detail={"rows": len(table)},
            ip=user.ip,
        )
