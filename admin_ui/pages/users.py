"""ユーザー管理 (システム管理者): add, disable, reset password, role and departments, CSV."""

from __future__ import annotations

import streamlit as st

from admin_ui.auth import require_login
from admin_ui.common import apply_change, departments, flash, jst, show_flash
from qa_data import accounts
from qa_data.db import session_scope
from qa_data.models import Role, utcnow
from qa_data.permissions import ROLE_BY_LABEL, ROLE_LABELS, PermissionDenied

user = require_login(Role.SYSTEM_ADMIN)
st.title("ユーザー管理")
show_flash()

with session_scope() as session:
    now = utcnow()
    people = [
        {
            "ログインID": u.login_id,
            "氏名": u.display_name,
            "権限": ROLE_LABELS[u.role],
            "部署": "、".join(sorted(d.name for d in u.departments)),
            "状態": "無効"
            if not u.is_active
            else ("ロック中" if u.locked_until and u.locked_until > now else "有効"),
            "失敗回数": u.failed_logins,
            "作成日時": jst(u.created_at),
        }
        for u in accounts.list_users(session)
    ]
st.dataframe(people, hide_index=True, width="stretch")
department_names = [n for _, n in departments()]
role_labels = list(ROLE_BY_LABEL)
policy = "10文字以上・英字と数字を含む・ログインIDを含まない"


REFUSED = (PermissionDenied, accounts.AccountError)


def run(action, message: str) -> None:
    apply_change(action, message, REFUSED)


tab_add, tab_edit, tab_bulk = st.tabs(["ユーザーを追加", "ユーザーを変更", "CSVで一括追加"])
with tab_add:
    with st.form("user_add_form"):
        login_id = st.text_input("ログインID（半角英数字）")
        name = st.text_input("氏名")
        role = st.selectbox("権限", role_labels, index=role_labels.index("編集者"))
        chosen = st.multiselect("担当部署（編集者・部署管理者は必須）", department_names)
        password = st.text_input(f"初期パスワード（{policy}）", type="password")
        submitted = st.form_submit_button("追加", type="primary")
    if submitted:
        run(
            lambda s: accounts.create_user(
                s,
                user,
                login_id=login_id,
                display_name=name,
                password=password,
                role=ROLE_BY_LABEL[role],
                department_names=chosen,
                must_change_password=True,
            ),
            f"ユーザー「{login_id}」を追加しました。初回ログイン時にパスワードの変更を求めます。",
        )

with tab_edit:
    if people:
        target = st.selectbox("ユーザー", [p["ログインID"] for p in people], key="user_target")
        person = next(p for p in people if p["ログインID"] == target)
        with st.form(f"user_edit_form_{target}"):
            name = st.text_input("氏名", person["氏名"])
            role = st.selectbox("権限", role_labels, index=role_labels.index(person["権限"]))
            chosen = st.multiselect(
                "担当部署",
                department_names,
                default=[d for d in person["部署"].split("、") if d in department_names],
            )
            active = st.checkbox("有効", person["状態"] != "無効")
            submitted = st.form_submit_button("変更を保存", type="primary")
        if submitted:
            run(
                lambda s: accounts.update_user(
                    s,
                    user,
                    target,
                    display_name=name,
                    role=ROLE_BY_LABEL[role],
                    department_names=chosen,
                    is_active=active,
                ),
                f"「{target}」を変更しました。",
            )
        with st.form(f"user_reset_form_{target}", clear_on_submit=True):
            new_password = st.text_input(f"新しい仮パスワード（{policy}）", type="password")
            reset = st.form_submit_button("パスワードを再設定（ロックも解除）")
        if reset:
            run(
                lambda s: accounts.reset_password(s, user, target, new_password),
                f"「{target}」のパスワードを再設定しました。次回ログイン時に変更を求めます。",
            )
        if person["状態"] == "ロック中" and st.button("ロックを解除", key="user_unlock"):
            run(lambda s: accounts.unlock_user(s, user, target), "ロックを解除しました。")

with tab_bulk:
    st.caption(
        "列: "
        + "・".join(accounts.CSV_HEADER)
        + "。権限は「システム管理者・部署管理者・編集者・閲覧者」、"
        "複数の部署は「;」で区切ります。1行でも問題があれば、何も追加しません。"
    )
    st.download_button(
        "ひな形をダウンロード",
        ("\ufeff" + accounts.CSV_TEMPLATE).encode(),
        file_name="users_template.csv",
        mime="text/csv",
    )
    upload = st.file_uploader("ユーザーCSV", type=["csv"], key="users_csv")
    if upload is not None and st.button("一括追加", type="primary", key="users_bulk"):
        with session_scope() as session:
            result = accounts.bulk_add_users(session, user, upload.getvalue())
            if not result.ok:
                session.rollback()
        if result.ok:
            flash(f"{len(result.created)}人を追加しました: {'、'.join(result.created)}")
            st.rerun()
        st.error("次の行に問題があるため、追加しませんでした。")
        st.dataframe(
            [{"行": line, "問題": message} for line, message in result.errors],
            hide_index=True,
            width="stretch",
        )
