"""未回答の質問: questions that ended in no_match or 「解決しない」, grouped by similarity."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import streamlit as st

from admin_ui.auth import require_login
from admin_ui.common import editable_departments, flash, jst, show_flash
from qa_data import editing, unanswered
from qa_data.db import session_scope
from qa_data.models import QAStatus, Role
from qa_data.permissions import PermissionDenied, can_edit_entry

user = require_login()
st.title("未回答の質問")
st.caption(
    "チャットボットが答えられなかった質問（該当なし）と、住民が「解決しない」を押した質問です。"
    "似た質問をまとめて件数順に表示します。対応したグループは一覧から消えます。"
)
show_flash()

c1, c2, c3 = st.columns([2, 2, 2])
days = c1.selectbox(
    "期間",
    [7, 30, 90, 365, 0],
    index=1,
    key="ua_days",
    format_func=lambda d: "すべて" if d == 0 else f"直近{d}日",
)
sort_label = c2.radio("並び順", ["件数の多い順", "新しい順"], horizontal=True, key="ua_sort")
since = (
    None if days == 0 else datetime.combine(datetime.utcnow().date(), time()) - timedelta(days=days)
)

with session_scope() as session:
    groups = unanswered.group_unanswered(
        session, since=since, sort="recent" if sort_label == "新しい順" else "count"
    )
    choices = [
        (e.external_id, e.question, e.department_id, QAStatus(e.status))
        for e in editing.list_entries(session, statuses=[QAStatus.DRAFT, QAStatus.PUBLISHED])
    ]
c3.metric(
    "未対応のグループ",
    f"{len(groups)}件",
    f"質問 {sum(g.count for g in groups)}件",
    delta_color="off",
)
may_act = user.at_least(Role.EDITOR)
editable_qa = [c for c in choices if can_edit_entry(user, c[2], c[3])]

if not groups:
    st.success("未対応の質問はありません。")


def act(group, action, **kwargs) -> None:
    try:
        with session_scope() as session:
            if action == unanswered.ACTION_NEW_QA:
                entry = editing.create_entry(session, user, kwargs.pop("fields"))
                kwargs["qa_external_id"] = entry.external_id
            unanswered.handle_group(session, user, group, action, **kwargs)
    except (PermissionDenied, editing.EditError, ValueError) as error:
        st.error(str(error))
        return
    qa_id = kwargs.get("qa_external_id")
    labels = {
        unanswered.ACTION_NEW_QA: f"新しいQA（下書き {qa_id}）を作成しました。",
        unanswered.ACTION_ADD_ALTERNATE: f"{qa_id} の別の聞き方に追加しました。"
        "すぐに検索に反映されます。",
        unanswered.ACTION_IGNORED: "対応不要にしました。",
    }
    flash(f"「{group.representative}」: {labels[action]}")
    st.rerun()


for index, group in enumerate(groups[:100]):
    reasons = "、".join(
        f"{'該当なし' if k == 'no_match' else '解決しない'} {v}件" for k, v in group.reasons.items()
    )
    with st.expander(
        f"{group.count}件｜{group.representative}｜最終 {jst(group.last_seen)}",
        expanded=index < 3,
    ):
        st.caption(f"{reasons}　初回 {jst(group.first_seen)}")
        st.markdown("**聞き方の例**")
        st.markdown("\n".join(f"- {example}" for example in group.examples))
        if not may_act:
            continue
        tab_new, tab_alt, tab_ignore = st.tabs(
            ["新しいQAとして登録", "既存のQAの別の聞き方に追加", "対応不要"]
        )
        with tab_new:
            departments = [n for _, n in editable_departments(user)]
            if not departments:
                st.info("QAを作成できる担当部署がありません。")
            else:
                department = st.selectbox("部署", departments, key=f"ua_dep_{index}")
                question = st.text_input("質問", group.representative, key=f"ua_q_{index}")
                alternates = st.text_area(
                    "別の聞き方（1行に1つ）",
                    "\n".join(e for e in group.examples if e != group.representative),
                    key=f"ua_alt_{index}",
                )
                answer = st.text_area("回答（Markdown）", key=f"ua_ans_{index}")
                if st.button("下書きとして登録", key=f"ua_new_{index}", type="primary"):
                    act(
                        group,
                        unanswered.ACTION_NEW_QA,
                        fields={
                            "department": department,
                            "question": question,
                            "alternate_questions": alternates,
                            "answer": answer,
                            "status": "draft",
                        },
                    )
        with tab_alt:
            if not editable_qa:
                st.info("別の聞き方を追加できるQAがありません。")
            else:
                target = st.selectbox(
                    "追加先のQA",
                    [c[0] for c in editable_qa],
                    format_func=lambda ext: next(
                        f"{c[0]}｜{c[1]}" for c in editable_qa if c[0] == ext
                    ),
                    key=f"ua_target_{index}",
                )
                picked = st.multiselect(
                    "追加する聞き方", group.examples, default=group.examples, key=f"ua_pick_{index}"
                )
                if st.button("別の聞き方に追加", key=f"ua_add_{index}", type="primary"):
                    act(
                        group,
                        unanswered.ACTION_ADD_ALTERNATE,
                        qa_external_id=target,
                        alternates=picked,
                    )
        with tab_ignore:
            st.caption("挨拶やいたずらなど、QAにする必要のない質問です。")
            if st.button("対応不要にする", key=f"ua_ignore_{index}"):
                act(group, unanswered.ACTION_IGNORED)

with st.expander("対応の履歴"):
    with session_scope() as session:
        history = [
            {
                "対応日時": jst(h.handled_at),
                "対応者": h.handled_by,
                "対応": unanswered.ACTION_LABELS.get(h.action, h.action),
                "QA": h.qa_external_id or "",
                "質問": h.group_key,
                "件数": len(h.query_log_ids or []),
            }
            for h in unanswered.handling_history(session)
        ]
    st.dataframe(history, hide_index=True, width="stretch")
