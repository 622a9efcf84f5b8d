"""インポート・エクスポート: the same code as `madoguchi qa import/export`."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st
from sqlalchemy import select

from admin_ui.auth import require_login
from admin_ui.common import categories, departments, flash, show_flash
from qa_data import editing, qa_store
from qa_data.db import session_scope
from qa_data.exporter import export_qa
from qa_data.importer import format_report, import_qa
from qa_data.models import Department, Role
from qa_data.permissions import STATUS_LABELS, PermissionDenied
from qa_data.qa_table import LABELS

user = require_login()
st.title("インポート・エクスポート")
show_flash()
tab_import, tab_export = st.tabs(["インポート（取り込み）", "エクスポート（書き出し）"])


def _saved(upload) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="madoguchi-import-"))
    path = folder / Path(upload.name).name
    path.write_bytes(upload.getvalue())
    return path


def _check_rights(report) -> None:
    """Imported rows carry their status: importing is publishing for their departments."""
    with session_scope() as session:
        ids = {d.name: d.id for d in session.scalars(select(Department))}
        touched: set[int | None] = set()
        for planned in report.new + report.changed:
            name = planned.fields.get("department")
            if name:
                touched.add(ids.get(name))
            if planned.external_id:
                existing = qa_store.get_entry(session, planned.external_id)
                if existing is not None:
                    touched.add(existing.department_id)
    editing.require_import(
        user,
        [i for i in touched if i is not None],
        department_names=report.new_departments,
    )


def _planned_table(items) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "行": p.row,
                "ID": p.external_id or "（自動）",
                "質問": p.question,
                "変更項目": "、".join(dict.fromkeys(LABELS.get(f, f) for f in p.changed_fields)),
            }
            for p in items
        ]
    )


with tab_import:
    if not user.at_least(Role.DEPARTMENT_ADMIN):
        st.info(
            "インポートは部署管理者以上が行えます（取り込んだ行の公開状態がそのまま反映されるため）。"
        )
    else:
        st.caption(
            "Excel（.xlsx）または CSV を選ぶと、まず内容を確認します（まだ書き込みません）。"
            "問題がなければ「取り込む」で確定します。"
        )
        upload = st.file_uploader("QAファイル", type=["xlsx", "csv"], key="import_file")
        if upload is not None:
            path = _saved(upload)
            strict = not user.is_system_admin
            report = import_qa(path, dry_run=True, strict=strict, actor=user.login_id)
            for warning in report.warnings:
                st.warning(warning)
            if report.errors:
                st.error(
                    f"{len(report.errors)}件の問題があります。直してからもう一度選んでください（何も書き込んでいません）。"
                )
                st.dataframe(
                    pd.DataFrame({"問題": report.errors}), hide_index=True, width="stretch"
                )
            else:
                c1, c2, c3 = st.columns(3)
                c1.metric("新規", len(report.new))
                c2.metric("変更", len(report.changed))
                c3.metric("変更なし", len(report.unchanged))
                if report.new:
                    st.markdown("**新規**")
                    st.dataframe(_planned_table(report.new), hide_index=True, width="stretch")
                if report.changed:
                    st.markdown("**変更**")
                    st.dataframe(_planned_table(report.changed), hide_index=True, width="stretch")
                if report.new_departments:
                    st.info("新しい部署を作成します: " + "、".join(report.new_departments))
                try:
                    _check_rights(report)
                except PermissionDenied as error:
                    st.error(str(error))
                else:
                    if (report.new or report.changed) and st.button(
                        "取り込む", type="primary", key="import_confirm"
                    ):
                        final = import_qa(path, strict=strict, actor=user.login_id)
                        if final.errors:
                            st.error("\n".join(format_report(final)))
                        else:
                            flash("\n".join(format_report(final)))
                            st.rerun()
                    elif not (report.new or report.changed):
                        st.info("変更はありません。")

with tab_export:
    c1, c2, c3, c4 = st.columns(4)
    department = c1.selectbox("部署", ["すべて"] + [n for _, n in departments()], key="ex_dep")
    category = c2.selectbox("大分類", ["すべて", *categories()], key="ex_cat")
    status = c3.selectbox(
        "状態",
        ["すべて", *[s.value for s in STATUS_LABELS]],
        key="ex_status",
        format_func=lambda v: v if v == "すべて" else STATUS_LABELS[v],
    )
    kind = c4.radio("形式", ["xlsx", "csv"], horizontal=True, key="ex_kind")
    if st.button("書き出す", key="export_run"):
        folder = Path(tempfile.mkdtemp(prefix="madoguchi-export-"))
        path = folder / f"madoguchi_qa.{kind}"
        report = export_qa(
            path,
            department=None if department == "すべて" else department,
            category=None if category == "すべて" else category,
            status=None if status == "すべて" else status,
            actor=user.login_id,
        )
        if report.errors:
            for error in report.errors:
                st.error(error)
        else:
            st.session_state["export_file"] = (path.name, path.read_bytes(), report.count)
    if "export_file" in st.session_state:
        name, data, count = st.session_state["export_file"]
        st.success(f"{count}件を書き出しました。")
        st.download_button(
            f"{name} をダウンロード",
            data,
            file_name=name,
            mime="text/csv"
            if name.endswith(".csv")
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="export_download",
        )
