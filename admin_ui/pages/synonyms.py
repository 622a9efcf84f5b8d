"""同義語辞書: staff-managed synonym groups used by retrieval."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import select

from admin_ui.auth import require_login
from admin_ui.common import apply_change, jst, show_flash
from qa_data import editing
from qa_data.db import session_scope
from qa_data.models import Role, SynonymGroup
from qa_data.permissions import PermissionDenied

user = require_login()
st.title("同義語辞書")
st.caption(
    "同じ意味の言葉をまとめると、住民がどの言い方で聞いても同じQAが見つかります。"
    "「一方向」は、2語目以降が1語目としても検索されます（例: ソファ → 粗大ごみ）。"
    "変更は数秒で検索に反映されます。"
)
show_flash()
may_edit = user.at_least(Role.DEPARTMENT_ADMIN)
if not may_edit:
    st.info("同義語の編集は部署管理者以上が行えます（表示のみ）。")

with session_scope() as session:
    groups = [
        (g.id, list(g.terms), g.oneway, g.note or "", g.created_by, g.updated_at)
        for g in session.scalars(select(SynonymGroup).order_by(SynonymGroup.id))
    ]
search = st.text_input("言葉で絞り込み", key="syn_search")
shown = [g for g in groups if not search or any(search in t for t in g[1])]
st.dataframe(
    [
        {
            "ID": g[0],
            "言葉": "、".join(g[1]),
            "種類": "一方向" if g[2] else "同義",
            "メモ": g[3],
            "更新": jst(g[5]),
        }
        for g in shown
    ],
    hide_index=True,
    width="stretch",
)


REFUSED = (PermissionDenied, editing.EditError)


def run(action, message: str) -> None:
    apply_change(action, message, REFUSED)


if may_edit:
    NEW = 0
    choice = st.selectbox(
        "編集するグループ",
        [NEW] + [g[0] for g in shown],
        format_func=lambda i: (
            "＋ 新しいグループ"
            if i == NEW
            else f"{i}: {'、'.join(next(g[1] for g in groups if g[0] == i))}"
        ),
        key="syn_choice",
    )
    current = next((g for g in groups if g[0] == choice), None)
    terms = st.text_area(
        "言葉（1行に1つ、または読点区切り）",
        "\n".join(current[1]) if current else "",
        key=f"syn_terms_{choice}",
    )
    oneway = st.checkbox(
        "一方向（2語目以降 → 1語目）", current[2] if current else False, key=f"syn_oneway_{choice}"
    )
    note = st.text_input("メモ", current[3] if current else "", key=f"syn_note_{choice}")
    words = [t for line in terms.splitlines() for t in line.replace(",", "、").split("、")]
    c1, c2 = st.columns(2)
    if c1.button("保存", type="primary", key="syn_save"):
        run(
            lambda s: editing.save_synonym_group(
                s,
                user,
                group_id=current[0] if current else None,
                terms=words,
                oneway=oneway,
                note=note or None,
            ),
            "同義語を保存しました。",
        )
    if current and c2.button("このグループを削除", key="syn_delete"):
        run(lambda s: editing.delete_synonym_group(s, user, current[0]), "削除しました。")
