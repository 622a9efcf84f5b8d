"""ごみ分別辞書: edit items and import a file (the same code as the CLI)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st
from sqlalchemy import func, or_, select

from admin_ui.auth import require_login
from admin_ui.common import apply_change, flash, show_flash
from qa_data import editing
from qa_data.db import session_scope
from qa_data.models import GarbageItem, Role
from qa_data.permissions import PermissionDenied

user = require_login()
st.title("ごみ分別辞書")
show_flash()
may_edit = user.at_least(Role.DEPARTMENT_ADMIN)
if not may_edit:
    st.info("ごみ分別辞書の編集は部署管理者以上が行えます（表示のみ）。")

LABELS = {
    "name": "品目",
    "reading": "読み",
    "category": "分別区分",
    "how_to": "出し方",
    "notes": "備考",
}
search = st.text_input("品目・読みで検索", key="garbage_search")
with session_scope() as session:
    total = session.scalar(select(func.count()).select_from(GarbageItem))
    query = select(GarbageItem).order_by(GarbageItem.reading, GarbageItem.id).limit(500)
    if search.strip():
        pattern = f"%{search.strip()}%"
        query = query.where(
            or_(GarbageItem.name.ilike(pattern), GarbageItem.reading.ilike(pattern))
        )
    items = [
        {"ID": i.id, **{LABELS[k]: getattr(i, k) or "" for k in editing.GARBAGE_FIELDS}}
        for i in session.scalars(query)
    ]
st.caption(f"登録 {total:,}品目（表示 {len(items)}件、最大500件）")
st.dataframe(items, hide_index=True, width="stretch")


REFUSED = (PermissionDenied, editing.EditError)


def run(action, message: str) -> None:
    apply_change(action, message, REFUSED)


if may_edit:
    tab_edit, tab_import = st.tabs(["品目の追加・編集", "ファイルから取り込み"])
    with tab_edit:
        NEW = 0
        choice = st.selectbox(
            "品目",
            [NEW] + [i["ID"] for i in items],
            format_func=lambda v: (
                "＋ 新しい品目"
                if v == NEW
                else next(
                    f"{i['ID']}: {i['品目']}（{i['分別区分']}）" for i in items if i["ID"] == v
                )
            ),
            key="garbage_choice",
        )
        current = next((i for i in items if i["ID"] == choice), {})
        values = {
            key: (st.text_area if key in ("how_to", "notes") else st.text_input)(
                label, current.get(label, ""), key=f"garbage_{key}_{choice}"
            )
            for key, label in LABELS.items()
        }
        c1, c2 = st.columns(2)
        if c1.button("保存", type="primary", key="garbage_save"):
            run(
                lambda s: editing.save_garbage_item(s, user, item_id=choice or None, values=values),
                f"「{values['name']}」を保存しました。",
            )
        if choice and c2.button("この品目を削除", key="garbage_delete"):
            run(lambda s: editing.delete_garbage_item(s, user, choice), "削除しました。")
    with tab_import:
        try:
            from qa_data.garbage_io import format_garbage_report, import_garbage
        except ImportError:
            st.info("取り込み機能はこの版にはありません。")
        else:
            st.caption(
                "列: 品目・読み・分別区分・出し方・備考"
                "（津市のオープンデータ形式もそのまま使えます）。"
            )
            upload = st.file_uploader(
                "ファイル（.xlsx / .csv）", type=["xlsx", "csv"], key="garbage_file"
            )
            replace = st.checkbox("今の辞書をすべて置き換える", key="garbage_replace")
            if upload is not None:
                folder = Path(tempfile.mkdtemp(prefix="madoguchi-garbage-"))
                path = folder / Path(upload.name).name
                path.write_bytes(upload.getvalue())
                preview = import_garbage(path, dry_run=True, replace=replace, actor=user.login_id)
                for line in format_garbage_report(preview):
                    (st.error if preview.errors else st.write)(line)
                if preview.ok and st.button("取り込む", type="primary", key="garbage_import"):
                    report = import_garbage(path, replace=replace, actor=user.login_id)
                    flash(
                        "\n".join(format_garbage_report(report)),
                        "success" if report.ok else "error",
                    )
                    st.rerun()
