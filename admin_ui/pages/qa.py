"""QA管理: search, edit with live preview, attachments, history, publish and approval."""

from __future__ import annotations

import difflib
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import select

from admin_ui.auth import require_login
from admin_ui.common import (
    answer_preview,
    categories,
    departments,
    editable_departments,
    flash,
    jst,
    show_flash,
)
from qa_data import editing, qa_store
from qa_data.db import session_scope
from qa_data.models import Attachment, QAStatus, Role
from qa_data.permissions import (
    STATUS_LABELS,
    PermissionDenied,
    can_edit_entry,
    can_publish_department,
)
from qa_data.qa_store import StaleEntryError
from qa_data.settings import get_settings

user = require_login()
settings = get_settings()

FIELD_LABELS = {
    "department": "部署",
    "category_major": "大分類",
    "category_minor": "小分類",
    "question": "質問",
    "alternate_questions": "別の聞き方",
    "answer": "回答",
    "links": "リンク",
    "keywords": "キーワード",
    "status": "状態",
}


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


STATUS_BY_LABEL = {label: status for status, label in STATUS_LABELS.items()}
SELECTED_KEY = "qa_selected"
GOTO_KEY = "qa_goto"
CONFLICT_KEY = "qa_conflict"

st.title("QA管理")
show_flash()

# --- filters and table ------------------------------------------------------------------------
all_departments = departments()
department_names = {i: n for i, n in all_departments}
with st.container(border=True):
    col1, col2, col3, col4 = st.columns([2, 2, 2, 3])
    chosen_departments = col1.multiselect(
        "部署", [n for _, n in all_departments], key="qa_filter_departments"
    )
    chosen_categories = col2.multiselect("大分類", categories(), key="qa_filter_categories")
    chosen_statuses = col3.multiselect(
        "状態", list(STATUS_BY_LABEL), default=["下書き", "公開中"], key="qa_filter_statuses"
    )
    search_text = col4.text_input(
        "キーワード検索（ID・質問・別の聞き方・回答）", key="qa_filter_text"
    )

with session_scope() as session:
    entries = editing.list_entries(
        session,
        department_ids=[i for i, n in all_departments if n in chosen_departments] or None,
        categories=chosen_categories or None,
        statuses=[STATUS_BY_LABEL[s] for s in chosen_statuses] or None,
        text=search_text,
    )
    rows = [
        {
            "ID": e.external_id,
            "状態": STATUS_LABELS[QAStatus(e.status)],
            "部署": e.department.name,
            "大分類": e.category_major or "",
            "小分類": e.category_minor or "",
            "質問": e.question,
            "別の聞き方": len(e.alternate_questions or []),
            "更新日時": jst(e.updated_at),
            "更新者": e.updated_by,
            "版": e.version,
        }
        for e in entries
    ]
    approvals = editing.pending_approvals(session)

st.caption(f"{len(rows)}件")
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="qa_table")

# --- approval requests ------------------------------------------------------------------------
mine_to_approve = {
    ext: request
    for ext, request in approvals.items()
    if user.is_system_admin
    or any(
        name == request.get("department") and can_publish_department(user, i)
        for i, name in all_departments
    )
}
if mine_to_approve:
    with st.expander(f"承認待ち（{len(mine_to_approve)}件）", expanded=True):
        for ext, request in mine_to_approve.items():
            st.write(
                f"**{ext}**（{request.get('department')}）"
                f" 依頼者: {request.get('requested_by')}　{request.get('note') or ''}"
            )

# --- choose an entry --------------------------------------------------------------------------
NEW = "＋ 新しいQAを作成"
options = [NEW] + [r["ID"] for r in rows]
labels = {r["ID"]: f"{r['ID']}｜{r['状態']}｜{r['質問'][:40]}" for r in rows}
goto = st.session_state.pop(GOTO_KEY, None)  # set by "create" (before the widget exists)
current_choice = goto or st.session_state.get("qa_choice")
if isinstance(current_choice, str) and current_choice not in options and "｜" in current_choice:
    # Streamlit identifies the chosen option by its label: once the entry's status or question
    # has changed (here or by someone else), the browser sends the old label. Its ID still holds.
    goto = current_choice = current_choice.split("｜", 1)[0]
if current_choice and current_choice not in options:
    options.append(current_choice)  # keep the entry open even when the filters hide it
    labels[current_choice] = current_choice
if goto:
    st.session_state["qa_choice"] = goto
elif st.session_state.get("qa_choice") not in options:
    st.session_state["qa_choice"] = options[1] if len(options) > 1 else options[0]
choice = st.selectbox(
    "編集するQA",
    options,
    format_func=lambda value: labels.get(value, value),
    key="qa_choice",
)
st.session_state[SELECTED_KEY] = choice


def form_fields(prefix: str, initial: dict[str, Any], department_choices: list[str]) -> dict:
    """The edit widgets; returns the fields as ``save_entry`` takes them."""
    col_left, col_right = st.columns(2)
    with col_left:
        department = st.selectbox(
            "部署",
            department_choices,
            index=department_choices.index(initial["department"])
            if initial.get("department") in department_choices
            else 0,
            key=f"{prefix}_department",
        )
        c1, c2 = st.columns(2)
        major = c1.text_input(
            "大分類", value=initial.get("category_major") or "", key=f"{prefix}_major"
        )
        minor = c2.text_input(
            "小分類", value=initial.get("category_minor") or "", key=f"{prefix}_minor"
        )
        question = st.text_input(
            "質問",
            value=initial.get("question") or "",
            key=f"{prefix}_question",
            max_chars=settings.limits.question_chars,
        )
        alternates = st.text_area(
            "別の聞き方（1行に1つ）",
            value="\n".join(initial.get("alternate_questions") or []),
            key=f"{prefix}_alternates",
            height=120,
        )
        answer = st.text_area(
            "回答（Markdown）",
            value=initial.get("answer") or "",
            key=f"{prefix}_answer",
            height=240,
            help=(
                "**太字**、箇条書き（- ）、[リンク](https://...)、"
                "![画像](/attachments/...) が使えます。"
            ),
        )
        links = st.text_area(
            "関連リンク（1行に1つ。「タイトル URL」の形でも可）",
            value="\n".join(initial.get("links") or []),
            key=f"{prefix}_links",
            height=80,
        )
        keywords = st.text_input(
            "キーワード（読点・カンマ区切り）",
            value="、".join(initial.get("keywords") or []),
            key=f"{prefix}_keywords",
        )
    with col_right:
        st.markdown("**住民に表示される回答のプレビュー**")
        st.caption(question or "（質問）")
        answer_preview(answer, qa_store.clean_list(links))
    return {
        "department": department,
        "category_major": major,
        "category_minor": minor,
        "question": question,
        "alternate_questions": qa_store.clean_list(alternates),
        "answer": answer,
        "links": qa_store.clean_list(links),
        "keywords": [k.strip() for k in keywords.replace(",", "、").split("、") if k.strip()],
    }


def run_action(action, success: str) -> bool:
    try:
        with session_scope() as session:
            action(session)
    except StaleEntryError as error:
        st.session_state[CONFLICT_KEY] = {
            "external_id": error.external_id,
            "current_version": error.current_version,
            "current": error.current,
        }
        st.rerun()
    except (PermissionDenied, editing.EditError, ValueError) as error:
        st.error(str(error))
        return False
    flash(success)
    st.rerun()
    return True


# --- create -----------------------------------------------------------------------------------
if choice == NEW:
    st.subheader("新しいQAを作成")
    allowed = [n for _, n in editable_departments(user)]
    if not allowed:
        st.info("QAを作成できる部署がありません（閲覧者、または担当部署が未設定です）。")
        st.stop()
    prefill = st.session_state.get("qa_new_prefill") or {}
    fields = form_fields("new", prefill, allowed)
    can_publish_here = any(
        can_publish_department(user, i) for i, n in all_departments if n == fields["department"]
    )
    status_choices = ["下書き"] + (
        ["公開中"] if can_publish_here and not settings.console.require_approval else []
    )
    status_label = st.radio("状態", status_choices, horizontal=True, key="new_status")
    if st.button("作成", type="primary", key="new_create"):
        fields["status"] = STATUS_BY_LABEL[status_label].value

        def create(session):
            entry = editing.create_entry(session, user, fields)
            st.session_state[GOTO_KEY] = entry.external_id
            st.session_state.pop("qa_new_prefill", None)

        run_action(create, "QAを作成しました。")
    st.stop()

# --- edit an existing entry -------------------------------------------------------------------
with session_scope() as session:
    entry = qa_store.get_entry(session, choice)
    if entry is None:
        st.warning("このQAは見つかりません。")
        st.stop()
    snapshot = qa_store.entry_snapshot(entry)
    version = entry.version
    department_id = entry.department_id
    status = QAStatus(entry.status)
    meta = {
        "created": f"{jst(entry.created_at)} {entry.created_by}",
        "updated": f"{jst(entry.updated_at)} {entry.updated_by}",
        "updated_by": entry.updated_by,
    }
    attachments = [
        {"id": a.id, "filename": a.filename, "size": a.size, "type": a.content_type}
        for a in session.scalars(select(Attachment).where(Attachment.qa_id == entry.id))
    ]
    versions = qa_store.history(session, choice)

st.subheader(f"{choice}（{STATUS_LABELS[status]}・版 {version}）")
st.caption(f"作成: {meta['created']}　最終更新: {meta['updated']}")
may_edit = can_edit_entry(user, department_id, status)
may_publish = can_publish_department(user, department_id)
if not may_edit:
    if user.role is Role.EDITOR and status is not QAStatus.DRAFT:
        st.info("公開中・アーカイブのQAは部署管理者が変更します。編集者は下書きを編集できます。")
    else:
        st.info("このQAを変更する権限がありません（表示のみ）。")

tab_edit, tab_history, tab_files = st.tabs(["編集", "変更履歴", "添付ファイル"])

with tab_edit:
    conflict = st.session_state.get(CONFLICT_KEY)
    if conflict and conflict.get("external_id") == choice:
        mine = st.session_state.get("qa_pending_fields") or {}
        theirs = conflict.get("current") or {}
        base_version = st.session_state.get("qa_pending_base_version")
        base = next((dict(v.snapshot) for v in versions if v.version == base_version), {})
        st.error(
            "保存できませんでした。あなたが編集している間に、他の人がこのQAを保存しました"
            f"（現在の版: {conflict.get('current_version')}、更新者: {meta['updated_by']}）。"
            "どちらの内容も失われないよう、見比べてから保存してください。"
        )
        merged: dict[str, Any] = {}
        automatic: list[str] = []
        for field in FIELD_LABELS:
            if field == "status" or mine.get(field) == theirs.get(field):
                continue
            if base and mine.get(field) == base.get(field):
                automatic.append(f"{FIELD_LABELS[field]}（先に保存された内容を残します）")
                merged[field] = theirs.get(field)
                continue
            if base and theirs.get(field) == base.get(field):
                automatic.append(f"{FIELD_LABELS[field]}（あなたの変更を反映します）")
                merged[field] = mine.get(field)
                continue
            st.markdown(f"**{FIELD_LABELS[field]}**（両方が変更しています）")
            left, right = st.columns(2)
            left.caption("あなたの変更")
            left.code(_as_text(mine.get(field)) or "（空）", language=None)
            right.caption("先に保存された内容")
            right.code(_as_text(theirs.get(field)) or "（空）", language=None)
            pick = st.radio(
                f"{FIELD_LABELS[field]}に残す内容",
                ["あなたの変更", "先に保存された内容"],
                horizontal=True,
                key=f"merge_{field}",
            )
            merged[field] = mine.get(field) if pick == "あなたの変更" else theirs.get(field)
        if automatic:
            st.info("片方だけが変更した項目はそのまま統合します: " + "、".join(automatic))
        if not merged:
            st.info("あなたの変更は先に保存された内容と同じです。")
        c1, c2 = st.columns(2)
        if c1.button("統合した内容で保存", type="primary", key="merge_save"):
            their_version = conflict.get("current_version")
            st.session_state.pop(CONFLICT_KEY, None)

            def save_merged(session):
                editing.update_entry(session, user, choice, merged, expected_version=their_version)
                st.session_state.pop(f"qa_loaded_version_{choice}", None)

            run_action(save_merged, "内容を統合して保存しました。")
        if c2.button("自分の変更を破棄して最新の内容を表示", key="merge_discard"):
            st.session_state.pop(CONFLICT_KEY, None)
            st.session_state.pop("qa_pending_fields", None)
            st.session_state.pop(f"qa_loaded_version_{choice}", None)
            st.rerun()
        st.stop()

    loaded_key = f"qa_loaded_version_{choice}"
    # The version this editor started from: kept across reruns until a save succeeds.
    if loaded_key not in st.session_state:
        st.session_state[loaded_key] = version
    loaded_version = st.session_state[loaded_key]
    if loaded_version != version:
        st.warning(
            f"このQAは表示後に他の人が更新しました（版 {loaded_version} → {version}）。"
            "保存すると、変更内容を見比べる画面になります。"
        )
    allowed_departments = [n for _, n in editable_departments(user)] or [snapshot["department"]]
    if snapshot["department"] not in allowed_departments:
        allowed_departments = [snapshot["department"], *allowed_departments]
    fields = form_fields(f"edit_{choice}_{loaded_version}", snapshot, allowed_departments)
    st.session_state["qa_pending_fields"] = fields
    st.session_state["qa_pending_base_version"] = loaded_version

    buttons = st.columns(5)
    if buttons[0].button("保存", type="primary", disabled=not may_edit, key="qa_save"):

        def save(session):
            editing.update_entry(session, user, choice, fields, expected_version=loaded_version)
            st.session_state.pop(loaded_key, None)

        run_action(save, "保存しました。")
    if status is QAStatus.DRAFT:
        if buttons[1].button("公開する", disabled=not may_publish, key="qa_publish"):

            def publish(session):
                editing.update_entry(session, user, choice, fields, expected_version=loaded_version)
                if choice in approvals:
                    editing.approve_entry(session, user, choice)
                else:
                    editing.publish_entry(session, user, choice)
                st.session_state.pop(loaded_key, None)

            run_action(publish, "公開しました。数秒でチャットボットに反映されます。")
        if buttons[2].button(
            "承認を依頼", disabled=not may_edit or choice in approvals, key="qa_request"
        ):

            def request(session):
                editing.update_entry(session, user, choice, fields, expected_version=loaded_version)
                editing.request_approval(session, user, choice)
                st.session_state.pop(loaded_key, None)

            run_action(request, "保存して、部署管理者に承認を依頼しました。")
    if status is QAStatus.PUBLISHED and buttons[1].button(
        "公開を取り下げて下書きに戻す", disabled=not may_publish, key="qa_unpublish"
    ):

        def unpublish(session):
            editing.update_entry(
                session, user, choice, {"status": "draft"}, expected_version=loaded_version
            )
            st.session_state.pop(loaded_key, None)

        run_action(unpublish, "公開を取り下げました。")
    if status is not QAStatus.ARCHIVED and buttons[3].button(
        "アーカイブ", disabled=not may_publish, key="qa_archive"
    ):

        def archive(session):
            editing.archive_entry(session, user, choice, expected_version=loaded_version)
            st.session_state.pop(loaded_key, None)

        run_action(archive, "アーカイブしました（チャットボットでは使われません）。")
    if status is QAStatus.ARCHIVED and buttons[3].button(
        "復元（下書きに戻す）", disabled=not may_publish, key="qa_unarchive"
    ):

        def unarchive(session):
            editing.restore_entry(session, user, choice, expected_version=loaded_version)
            st.session_state.pop(loaded_key, None)

        run_action(unarchive, "復元しました（下書き）。")
    if settings.console.require_approval:
        st.caption("承認が必要な設定です。公開は、最後に変更した人以外の部署管理者が行います。")


with tab_history:
    if not versions:
        st.info("履歴はまだありません。")
    else:
        history_rows = [
            {
                "版": v.version,
                "変更": v.change,
                "変更者": v.changed_by,
                "日時": jst(v.changed_at),
            }
            for v in reversed(versions)
        ]
        st.dataframe(pd.DataFrame(history_rows), hide_index=True, width="stretch")
        numbers = [v.version for v in versions]
        by_number = {v.version: v for v in versions}
        c1, c2 = st.columns(2)
        old_number = c1.selectbox(
            "比較元の版",
            numbers,
            index=max(0, len(numbers) - 2),
            key=f"diff_old_{choice}_{version}",
        )
        new_number = c2.selectbox(
            "比較先の版", numbers, index=len(numbers) - 1, key=f"diff_new_{choice}_{version}"
        )

        def snapshot_text(snap: dict[str, Any]) -> list[str]:
            lines: list[str] = []
            for field, label in FIELD_LABELS.items():
                value = snap.get(field)
                if field == "status" and value:
                    value = STATUS_LABELS[QAStatus(value)]
                lines.append(f"【{label}】")
                lines.extend(_as_text(value).split("\n") or [""])
            return lines

        diff = list(
            difflib.unified_diff(
                snapshot_text(by_number[old_number].snapshot),
                snapshot_text(by_number[new_number].snapshot),
                fromfile=f"版 {old_number}",
                tofile=f"版 {new_number}",
                lineterm="",
            )
        )
        st.code("\n".join(diff) if diff else "（違いはありません）", language="diff")
        restore_number = st.selectbox(
            "戻す版", [n for n in numbers if n != version], key=f"restore_{choice}"
        )
        if restore_number is not None and st.button(
            f"版 {restore_number} の内容に戻す", disabled=not may_edit, key="qa_restore_version"
        ):

            def restore(session):
                editing.restore_revision(
                    session, user, choice, restore_number, expected_version=version
                )

            run_action(restore, f"版 {restore_number} の内容に戻しました（新しい版として保存）。")

with tab_files:
    limit_mb = settings.limits.attachment_bytes / 1048576
    for item in attachments:
        url = f"/attachments/{item['id']}/{item['filename']}"
        c1, c2 = st.columns([5, 1])
        c1.markdown(
            f"**{item['filename']}**（{item['type']}, {item['size'] / 1024:.0f}KB）"
            f"　回答への埋め込み: `![{item['filename']}]({url})`"
        )
        if c2.button("削除", key=f"att_del_{item['id']}", disabled=not may_edit):
            run_action(
                lambda session, i=item["id"]: editing.remove_attachment(session, user, i),
                "添付ファイルを削除しました。",
            )
    if not attachments:
        st.caption("添付ファイルはありません。")
    upload = st.file_uploader(
        f"画像（PNG・JPEG・GIF・WebP）またはPDF（{limit_mb:.0f}MBまで）",
        type=["png", "jpg", "jpeg", "gif", "webp", "pdf"],
        key=f"upload_{choice}",
        disabled=not may_edit,
    )
    if upload is not None and st.button("添付する", key="att_add"):
        data = upload.getvalue()
        run_action(
            lambda session: editing.add_attachment(session, user, choice, upload.name, data),
            f"「{upload.name}」を添付しました。",
        )
