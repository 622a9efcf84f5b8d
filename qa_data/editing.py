"""Permission-checked changes to QA entries, attachments, dictionaries and console settings.

Every public function here that changes something takes the acting user (``CurrentUser``) and
refuses with ``PermissionDenied`` (a Japanese message) when that user may not make the change —
whoever calls it: a console page, the CLI or a script. QA content is written only through
``qa_data.qa_store.save_entry`` (revisions, optimistic locking), and every change is audited.

Rules (see ``qa_data.permissions``):
- 編集者: creates drafts and edits drafts of their own departments;
- 部署管理者: also edits published entries, publishes, archives and restores in their departments;
- システム管理者: everything;
- 閲覧者: nothing.
With ``settings.console.require_approval`` a change is published only by a 部署管理者 (or
システム管理者) who is not the person who made the last change (four-eyes approval).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from qa_data import qa_store
from qa_data.audit import record_audit
from qa_data.models import (
    AppSetting,
    Attachment,
    Department,
    GarbageItem,
    QAEntry,
    QAStatus,
    Role,
    SynonymGroup,
    utcnow,
)
from qa_data.permissions import (
    STATUS_LABELS,
    CurrentUser,
    PermissionDenied,
    can_edit_department,
    can_publish_department,
    require_edit_department,
    require_edit_entry,
    require_publish_department,
    require_role,
    require_system_admin,
)
from qa_data.qa_store import StaleEntryError
from qa_data.settings import get_settings

__all__ = [
    "MUTATING_FUNCTIONS",
    "EditError",
    "PermissionDenied",
    "StaleEntryError",
    "add_alternate_questions",
    "add_attachment",
    "approve_entry",
    "archive_entry",
    "create_entry",
    "publish_entry",
    "remove_attachment",
    "request_approval",
    "restore_entry",
    "restore_revision",
    "update_entry",
]

APPROVALS_KEY = "qa_approval_requests"
WIDGET_KEY = "widget"


class EditError(ValueError):
    """A change that cannot be saved as given; ``str()`` is a Japanese message for staff."""


# --- helpers ---------------------------------------------------------------------------------


def _load(session: Session, external_id: str) -> QAEntry:
    entry = session.scalar(
        select(QAEntry)
        .options(selectinload(QAEntry.department))
        .where(QAEntry.external_id == (external_id or "").strip())
    )
    if entry is None:
        raise EditError(f"QA「{external_id}」が見つかりません。")
    return entry


def _department(session: Session, name: str | None, actor: CurrentUser) -> Department:
    name = (name or "").strip()
    if not name:
        raise EditError("部署を選んでください。")
    department = session.scalar(select(Department).where(Department.name == name))
    if department is None:
        if not actor.is_system_admin:
            raise PermissionDenied(
                f"部署「{name}」は登録されていません。部署の追加はシステム管理者が行います。"
            )
        department = qa_store.get_or_create_department(session, name)
    return department


def _validate(fields: Mapping[str, Any]) -> None:
    limits = get_settings().limits
    question = str(fields.get("question") or "")
    answer = str(fields.get("answer") or "")
    if "question" in fields and not question.strip():
        raise EditError("質問を入力してください。")
    if "answer" in fields and not answer.strip():
        raise EditError("回答を入力してください。")
    if len(question) > limits.question_chars:
        raise EditError(f"質問は{limits.question_chars}文字以内にしてください。")
    if len(answer) > limits.answer_chars:
        raise EditError(f"回答は{limits.answer_chars}文字以内にしてください。")
    for alternate in qa_store.clean_list(fields.get("alternate_questions")):
        if len(alternate) > limits.question_chars:
            raise EditError(f"別の聞き方は1行{limits.question_chars}文字以内にしてください。")
    for link in qa_store.clean_list(fields.get("links")):
        url = link.split(" ", 1)[-1] if " " in link else link
        if not re.match(r"^(https?://|mailto:|tel:|/)", url.strip().split()[-1]):
            raise EditError(f"リンク「{link}」は http(s):// で始まるURLにしてください。")


def _save(
    session: Session,
    actor: CurrentUser,
    *,
    entry: QAEntry | None,
    external_id: str | None,
    fields: Mapping[str, Any],
    expected_version: int | None,
    change: str,
) -> QAEntry:
    """``save_entry`` with a dependable ``StaleEntryError`` (current content attached) also when
    the database's version check caught a race that the version comparison could not see."""
    try:
        return qa_store.save_entry(
            session,
            external_id=external_id,
            entry=entry,
            fields=dict(fields),
            actor=actor.login_id,
            expected_version=expected_version,
            change=change,
        )
    except StaleEntryError as error:
        if error.current is not None or external_id is None:
            raise
        stale_id = error.external_id or external_id
    except (StaleDataError, InvalidRequestError):
        stale_id = external_id or (entry.external_id if entry is not None else "")
    session.rollback()
    current = qa_store.get_entry(session, stale_id)
    if current is not None:
        session.refresh(current)
    raise StaleEntryError(
        stale_id,
        current.version if current is not None else None,
        qa_store.entry_snapshot(current) if current is not None else None,
    )


def _changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [name for name in qa_store.SNAPSHOT_FIELDS if before.get(name) != after.get(name)]


def _check_status_change(
    session: Session,
    actor: CurrentUser,
    entry: QAEntry | None,
    department: Department,
    new: QAStatus,
) -> None:
    """Rights for the status an entry will have after the change."""
    old = QAStatus(entry.status) if entry is not None else None
    if new is QAStatus.DRAFT and old in (None, QAStatus.DRAFT):
        require_edit_department(actor, department.id, department.name)
        return
    what = {
        QAStatus.PUBLISHED: "公開",
        QAStatus.ARCHIVED: "アーカイブ",
        QAStatus.DRAFT: "公開の取り下げ",
    }[new]
    if old is QAStatus.ARCHIVED and new is not QAStatus.ARCHIVED:
        what = "復元"
    require_publish_department(actor, department.id, department.name, what=what)
    if new is QAStatus.PUBLISHED and old is not QAStatus.PUBLISHED:
        _check_four_eyes(actor, entry)


def _check_four_eyes(actor: CurrentUser, entry: QAEntry | None) -> None:
    if not get_settings().console.require_approval:
        return
    if entry is None or entry.updated_by == actor.login_id:
        raise PermissionDenied(
            "承認が必要な設定のため、ご自身が作成・変更した内容はご自身で公開できません。"
            "下書きとして保存し、承認を依頼してください（他の部署管理者が承認すると公開されます）。"
        )


# --- QA entries ------------------------------------------------------------------------------


def create_entry(
    session: Session,
    actor: CurrentUser,
    fields: Mapping[str, Any],
    *,
    external_id: str | None = None,
) -> QAEntry:
    """Create an entry (a draft unless ``fields['status']`` says otherwise and the actor may
    publish). ``fields['department']`` is the department's name."""
    fields = dict(fields)
    status = QAStatus(fields.get("status") or QAStatus.DRAFT)
    fields["status"] = status.value
    department = _department(session, fields.get("department"), actor)
    fields["department"] = department.name
    _check_status_change(session, actor, None, department, status)
    _validate(fields)
    if external_id and qa_store.get_entry(session, external_id.strip()) is not None:
        raise EditError(f"ID「{external_id}」は既に使われています。")
    entry = _save(
        session,
        actor,
        entry=None,
        external_id=external_id,
        fields=fields,
        expected_version=None,
        change="create",
    )
    record_audit(
        session,
        actor=actor.login_id,
        action="qa_create",
        target=entry.external_id,
        detail={"department": department.name, "status": status.value, "question": entry.question},
        ip=actor.ip,
    )
    if status is QAStatus.PUBLISHED:
        record_audit(
            session,
            actor=actor.login_id,
            action="qa_publish",
            target=entry.external_id,
            ip=actor.ip,
        )
    return entry


def update_entry(
    session: Session,
    actor: CurrentUser,
    external_id: str,
    fields: Mapping[str, Any],
    *,
    expected_version: int | None,
    change: str = "update",
) -> QAEntry:
    """Change an entry the actor loaded at ``expected_version``; a stale version raises
    ``StaleEntryError`` with the other person's content (nothing is overwritten)."""
    entry = _load(session, external_id)
    require_edit_entry(actor, entry.department_id, entry.status, entry.department.name)
    fields = dict(fields)
    before = qa_store.entry_snapshot(entry)
    department = entry.department
    if fields.get("department") and fields["department"] != department.name:
        department = _department(session, fields["department"], actor)
        fields["department"] = department.name
    new_status = QAStatus(fields.get("status") or entry.status)
    if department.id != entry.department_id or new_status is not QAStatus(entry.status):
        _check_status_change(session, actor, entry, department, new_status)
    if QAStatus(entry.status) is QAStatus.DRAFT and new_status is QAStatus.DRAFT:
        require_edit_department(actor, department.id, department.name)
    elif new_status is not QAStatus.DRAFT:
        require_publish_department(actor, department.id, department.name, what="変更")
    _validate(fields)
    if expected_version is not None and entry.version != expected_version:
        raise StaleEntryError(entry.external_id, entry.version, before)
    entry = _save(
        session,
        actor,
        entry=entry,
        external_id=entry.external_id,
        fields=fields,
        expected_version=expected_version,
        change=change,
    )
    after = qa_store.entry_snapshot(entry)
    changed = _changed_fields(before, after)
    if changed:
        record_audit(
            session,
            actor=actor.login_id,
            action="qa_update",
            target=entry.external_id,
            detail={"fields": changed, "version": entry.version},
            ip=actor.ip,
        )
    if before["status"] != after["status"]:
        action = {
            "published": "qa_publish",
            "archived": "qa_archive",
            "draft": "qa_restore" if before["status"] == "archived" else "qa_update",
        }[after["status"]]
        record_audit(
            session,
            actor=actor.login_id,
            action=action,
            target=entry.external_id,
            detail={"from": before["status"], "to": after["status"]},
            ip=actor.ip,
        )
        if after["status"] == "published":
            _clear_approval_request(session, entry.external_id)
    return entry


@dataclass(frozen=True)
class _StatusChange:
    """One status button: the revision's change, the audit action, and the word that permission
    messages use for it."""

    status: QAStatus
    change: str
    action: str
    what: str
    extra_detail: dict[str, Any] | None = None


_PUBLISH = _StatusChange(QAStatus.PUBLISHED, "publish", "qa_publish", "公開")
_APPROVE = _StatusChange(QAStatus.PUBLISHED, "approve", "qa_publish", "承認", {"approved": True})
_ARCHIVE = _StatusChange(QAStatus.ARCHIVED, "archive", "qa_archive", "アーカイブ")
_RESTORE = _StatusChange(QAStatus.DRAFT, "restore", "qa_restore", "復元")


def _set_status(
    session: Session,
    actor: CurrentUser,
    external_id: str,
    to: _StatusChange,
    *,
    expected_version: int | None,
) -> QAEntry:
    entry = _load(session, external_id)
    require_publish_department(actor, entry.department_id, entry.department.name, what=to.what)
    before = QAStatus(entry.status)
    if to.status is QAStatus.PUBLISHED and before is not QAStatus.PUBLISHED:
        _check_four_eyes(actor, entry)
    if expected_version is not None and entry.version != expected_version:
        raise StaleEntryError(entry.external_id, entry.version, qa_store.entry_snapshot(entry))
    if before is not to.status:
        entry = _save(
            session,
            actor,
            entry=entry,
            external_id=entry.external_id,
            fields={"status": to.status.value},
            expected_version=expected_version,
            change=to.change,
        )
        record_audit(
            session,
            actor=actor.login_id,
            action=to.action,
            target=entry.external_id,
            detail={"from": before.value, "to": to.status.value, **(to.extra_detail or {})},
            ip=actor.ip,
        )
    if to.status is not QAStatus.DRAFT:
        # Published or archived, the entry no longer waits for anyone's approval.
        _clear_approval_request(session, entry.external_id)
    return entry


def publish_entry(
    session: Session, actor: CurrentUser, external_id: str, *, expected_version: int | None = None
) -> QAEntry:
    """Draft → 公開 (部署管理者 of the entry's department, or システム管理者)."""
    return _set_status(session, actor, external_id, _PUBLISH, expected_version=expected_version)


def approve_entry(
    session: Session, actor: CurrentUser, external_id: str, *, expected_version: int | None = None
) -> QAEntry:
    """Approve a requested draft: it is published and the approval is audited."""
    request = pending_approvals(session).get(external_id)
    entry = _set_status(session, actor, external_id, _APPROVE, expected_version=expected_version)
    record_audit(
        session,
        actor=actor.login_id,
        action="qa_approve",
        target=entry.external_id,
        detail={"requested_by": (request or {}).get("requested_by"), "version": entry.version},
        ip=actor.ip,
    )
    return entry


def archive_entry(
    session: Session, actor: CurrentUser, external_id: str, *, expected_version: int | None = None
) -> QAEntry:
    """公開中/下書き → アーカイブ (the bot stops using it; nothing is deleted)."""
    return _set_status(session, actor, external_id, _ARCHIVE, expected_version=expected_version)


def restore_entry(
    session: Session, actor: CurrentUser, external_id: str, *, expected_version: int | None = None
) -> QAEntry:
    """アーカイブ → 下書き (publish it again afterwards)."""
    entry = _load(session, external_id)
    require_publish_department(actor, entry.department_id, entry.department.name, what="復元")
    if QAStatus(entry.status) is not QAStatus.ARCHIVED:
        raise EditError("アーカイブされていないQAは復元の必要がありません。")
    return _set_status(session, actor, external_id, _RESTORE, expected_version=expected_version)


def restore_revision(
    session: Session,
    actor: CurrentUser,
    external_id: str,
    version: int,
    *,
    expected_version: int | None,
) -> QAEntry:
    """Put the content of an earlier version back (the status stays as it is now)."""
    entry = _load(session, external_id)
    require_edit_entry(actor, entry.department_id, entry.status, entry.department.name)
    snapshot = None
    for item in qa_store.history(session, external_id):
        if item.version == version:
            snapshot = dict(item.snapshot)
    if not snapshot:
        raise EditError(f"{external_id} の版 {version} が見つかりません。")
    snapshot.pop("status", None)
    if snapshot.get("department") and snapshot["department"] != entry.department.name:
        target = _department(session, snapshot["department"], actor)
        require_edit_entry(actor, target.id, entry.status, target.name)
    entry = update_entry(
        session,
        actor,
        external_id,
        snapshot,
        expected_version=expected_version,
        change="restore",
    )
    record_audit(
        session,
        actor=actor.login_id,
        action="qa_restore",
        target=entry.external_id,
        detail={"restored_version": version, "version": entry.version},
        ip=actor.ip,
    )
    return entry


def add_alternate_questions(
    session: Session,
    actor: CurrentUser,
    external_id: str,
    texts: Iterable[str],
    *,
    expected_version: int | None = None,
) -> QAEntry:
    """Append wordings to 別の聞き方 (duplicates and the question itself are skipped)."""
    entry = _load(session, external_id)
    require_edit_entry(actor, entry.department_id, entry.status, entry.department.name)
    existing = [entry.question, *(entry.alternate_questions or [])]
    seen = {_compare_key(t) for t in existing}
    added: list[str] = []
    for text in texts:
        text = " ".join(str(text or "").split())
        if text and _compare_key(text) not in seen:
            seen.add(_compare_key(text))
            added.append(text)
    if not added:
        return entry
    return update_entry(
        session,
        actor,
        external_id,
        {"alternate_questions": [*(entry.alternate_questions or []), *added]},
        expected_version=expected_version if expected_version is not None else entry.version,
        change="alternate",
    )


def _compare_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").casefold().replace(" ", "")


# --- approval requests (stored as one AppSetting row) ------------------------------------------


def pending_approvals(session: Session) -> dict[str, dict[str, Any]]:
    row = session.get(AppSetting, APPROVALS_KEY)
    return dict(row.value) if row is not None and row.value else {}


def request_approval(
    session: Session, actor: CurrentUser, external_id: str, *, note: str = ""
) -> None:
    """An editor asks a 部署管理者 to publish a draft."""
    entry = _load(session, external_id)
    require_edit_entry(actor, entry.department_id, entry.status, entry.department.name)
    if QAStatus(entry.status) is not QAStatus.DRAFT:
        raise EditError("承認を依頼できるのは下書きのQAだけです。")
    requests = pending_approvals(session)
    requests[entry.external_id] = {
        "requested_by": actor.login_id,
        "requested_at": utcnow().isoformat(timespec="seconds"),
        "version": entry.version,
        "department": entry.department.name,
        "note": note[:500],
    }
    _store_setting(session, APPROVALS_KEY, requests, actor.login_id)
    record_audit(
        session,
        actor=actor.login_id,
        action="qa_update",
        target=entry.external_id,
        detail={"approval_requested": True, "note": note[:500]},
        ip=actor.ip,
    )


def _clear_approval_request(session: Session, external_id: str) -> None:
    requests = pending_approvals(session)
    if external_id in requests:
        requests.pop(external_id)
        _store_setting(session, APPROVALS_KEY, requests, "system")


def _store_setting(session: Session, key: str, value: dict[str, Any], actor: str) -> AppSetting:
    row = session.get(AppSetting, key)
    if row is None:
        row = AppSetting(key=key, value=value, updated_by=actor, updated_at=utcnow())
        session.add(row)
    else:
        row.value = value
        row.updated_by = actor
        row.updated_at = utcnow()
    session.flush()
    return row


# --- attachments -----------------------------------------------------------------------------

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_EXTENSIONS = {
    "application/pdf": {".pdf"},
    "image/png": {".png"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/gif": {".gif"},
    "image/webp": {".webp"},
}


def sniff_content_type(data: bytes) -> str | None:
    """The file type from its first bytes (PDF, PNG, JPEG, GIF, WebP), or None."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _safe_filename(name: str, content_type: str) -> str:
    name = unicodedata.normalize("NFKC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f<>:\"|?*]", "_", name).strip(" .") or "file"
    _stem, dot, extension = name.rpartition(".")
    if not dot or f".{extension.lower()}" not in _EXTENSIONS[content_type]:
        name = f"{name}{sorted(_EXTENSIONS[content_type])[0]}"
    return name[-200:]


def add_attachment(
    session: Session, actor: CurrentUser, external_id: str, filename: str, data: bytes
) -> Attachment:
    """Attach an image or PDF; the type is checked by its content, the size by the limit."""
    entry = _load(session, external_id)
    require_edit_entry(actor, entry.department_id, entry.status, entry.department.name)
    limit = get_settings().limits.attachment_bytes
    if len(data) > limit:
        raise EditError(
            f"ファイルが大きすぎます（{len(data) / 1048576:.1f}MB）。"
            f"{limit / 1048576:.0f}MB以下にしてください。"
        )
    if not data:
        raise EditError("空のファイルは添付できません。")
    content_type = sniff_content_type(data)
    if content_type is None:
        raise EditError("添付できるのは画像（PNG・JPEG・GIF・WebP）とPDFだけです。")
    attachment = Attachment(
        qa_id=entry.id,
        filename=_safe_filename(filename, content_type),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        created_by=actor.login_id,
    )
    session.add(attachment)
    session.flush()
    record_audit(
        session,
        actor=actor.login_id,
        action="qa_update",
        target=entry.external_id,
        detail={
            "attachment_added": attachment.filename,
            "attachment_id": attachment.id,
            "size": attachment.size,
            "content_type": content_type,
        },
        ip=actor.ip,
    )
    return attachment


def remove_attachment(session: Session, actor: CurrentUser, attachment_id: int) -> None:
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise EditError("添付ファイルが見つかりません。")
    entry = session.get(QAEntry, attachment.qa_id) if attachment.qa_id is not None else None
    if entry is None:
        require_system_admin(actor, "QAに属さない添付ファイルの削除")
        target = None
    else:
        require_edit_entry(actor, entry.department_id, entry.status, entry.department.name)
        target = entry.external_id
    session.delete(attachment)
    session.flush()
    record_audit(
        session,
        actor=actor.login_id,
        action="qa_update",
        target=target,
        detail={"attachment_removed": attachment.filename, "attachment_id": attachment_id},
        ip=actor.ip,
    )


def attachment_url(attachment: Attachment) -> str:
    """The public URL the widget server serves the file at (published entries only)."""
    return f"/attachments/{attachment.id}/{attachment.filename}"


# --- import ----------------------------------------------------------------------------------


def require_import(
    actor: CurrentUser,
    department_ids: Iterable[int | None],
    *,
    publishes: bool = True,
    department_names: Iterable[str] = (),
) -> None:
    """An import may only touch departments the actor publishes for (imported rows carry their
    status, so importing is publishing). Unknown departments need a システム管理者."""
    require_role(actor, Role.DEPARTMENT_ADMIN if publishes else Role.EDITOR, "インポート")
    if actor.is_system_admin:
        return
    names = [n for n in department_names if n]
    if names:
        raise PermissionDenied(
            f"未登録の部署（{'、'.join(names)}）を含むファイルはシステム管理者のみ取り込めます。"
        )
    check = can_publish_department if publishes else can_edit_department
    for department_id in department_ids:
        if not check(actor, department_id):
            raise PermissionDenied(
                "担当していない部署のQAを含むファイルは取り込めません。担当部署の行だけにしてください。"
            )


# --- dictionaries and settings ---------------------------------------------------------------


def save_synonym_group(
    session: Session,
    actor: CurrentUser,
    *,
    group_id: int | None,
    terms: Iterable[str],
    oneway: bool = False,
    note: str | None = None,
) -> SynonymGroup:
    """Add or change a synonym group (部署管理者 and above)."""
    require_role(actor, Role.DEPARTMENT_ADMIN, "同義語の編集")
    cleaned = list(dict.fromkeys(t.strip() for t in terms if t and t.strip()))
    if len(cleaned) < 2:
        raise EditError("同義語は2語以上入力してください。")
    if group_id is None:
        group = SynonymGroup(terms=cleaned, oneway=oneway, note=note, created_by=actor.login_id)
        session.add(group)
        before = None
    else:
        group = session.get(SynonymGroup, group_id)
        if group is None:
            raise EditError("同義語グループが見つかりません。")
        before = {"terms": list(group.terms), "oneway": group.oneway, "note": group.note}
        group.terms, group.oneway, group.note = cleaned, oneway, note
        group.updated_at = utcnow()
    session.flush()
    record_audit(
        session,
        actor=actor.login_id,
        action="synonym_update",
        target=str(group.id),
        detail={"before": before, "after": {"terms": cleaned, "oneway": oneway, "note": note}},
        ip=actor.ip,
    )
    return group


def delete_synonym_group(session: Session, actor: CurrentUser, group_id: int) -> None:
    require_role(actor, Role.DEPARTMENT_ADMIN, "同義語の削除")
    group = session.get(SynonymGroup, group_id)
    if group is None:
        raise EditError("同義語グループが見つかりません。")
    detail = {"deleted": {"terms": list(group.terms), "oneway": group.oneway}}
    session.delete(group)
    session.flush()
    record_audit(
        session,
        actor=actor.login_id,
        action="synonym_update",
        target=str(group_id),
        detail=detail,
        ip=actor.ip,
    )


GARBAGE_FIELDS = ("name", "reading", "category", "how_to", "notes")


def save_garbage_item(
    session: Session, actor: CurrentUser, *, item_id: int | None, values: Mapping[str, Any]
) -> GarbageItem:
    """Add or change one garbage-dictionary item (部署管理者 and above)."""
    require_role(actor, Role.DEPARTMENT_ADMIN, "ごみ分別辞書の編集")
    clean = {k: (str(values.get(k) or "").strip() or None) for k in GARBAGE_FIELDS}
    if not clean["name"] or not clean["category"]:
        raise EditError("品目名と分別区分は必須です。")
    if item_id is None:
        item = GarbageItem(**clean)
        session.add(item)
        before = None
    else:
        item = session.get(GarbageItem, item_id)
        if item is None:
            raise EditError("品目が見つかりません。")
        before = {k: getattr(item, k) for k in GARBAGE_FIELDS}
        for key, value in clean.items():
            setattr(item, key, value)
        item.updated_at = utcnow()
    session.flush()
    record_audit(
        session,
        actor=actor.login_id,
        action="garbage_update",
        target=f"{item.id}:{item.name}",
        detail={"before": before, "after": clean},
        ip=actor.ip,
    )
    return item


def delete_garbage_item(session: Session, actor: CurrentUser, item_id: int) -> None:
    require_role(actor, Role.DEPARTMENT_ADMIN, "ごみ分別辞書の削除")
    item = session.get(GarbageItem, item_id)
    if item is None:
        raise EditError("品目が見つかりません。")
    detail = {"deleted": {k: getattr(item, k) for k in GARBAGE_FIELDS}}
    session.delete(item)
    session.flush()
    record_audit(
        session,
        actor=actor.login_id,
        action="garbage_update",
        target=f"{item_id}:{detail['deleted']['name']}",
        detail=detail,
        ip=actor.ip,
    )


WIDGET_FIELDS = (
    "title",
    "character_name",
    "avatar_url",
    "colors",
    "welcome_message",
    "suggested_questions",
    "position",
    "lang",
)
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def widget_settings(session: Session) -> dict[str, Any]:
    """The widget's look: config defaults merged with the stored ``AppSetting('widget')``."""
    merged = get_settings().web.widget.model_dump()
    row = session.get(AppSetting, WIDGET_KEY)
    if row is not None and row.value:
        for key, value in row.value.items():
            if key == "colors" and isinstance(value, dict):
                merged["colors"] = {**merged["colors"], **value}
            elif key in WIDGET_FIELDS:
                merged[key] = value
    return merged


def save_widget_settings(
    session: Session, actor: CurrentUser, values: Mapping[str, Any]
) -> dict[str, Any]:
    """Store the widget's look (システム管理者 only); the widget server merges it."""
    require_system_admin(actor, "ウィジェット設定の変更")
    value = {k: values[k] for k in WIDGET_FIELDS if k in values}
    if not str(value.get("title", "x")).strip():
        raise EditError("タイトルを入力してください。")
    colors = value.get("colors") or {}
    for key, color in colors.items():
        if not _COLOR_RE.match(str(color)):
            raise EditError(f"色「{key}」は #RRGGBB の形式で指定してください。")
    if value.get("position", "bottom-right") not in ("bottom-right", "bottom-left"):
        raise EditError("表示位置は右下か左下を選んでください。")
    avatar = str(value.get("avatar_url") or "")
    if avatar and not re.match(r"^(https://|/|data:image/(png|jpeg|gif|webp);base64,)", avatar):
        raise EditError("アバターは https:// のURLか、アップロードした画像にしてください。")
    if "suggested_questions" in value:
        value["suggested_questions"] = [
            q.strip() for q in value["suggested_questions"] if q and q.strip()
        ][:10]
    before = widget_settings(session)
    _store_setting(session, WIDGET_KEY, value, actor.login_id)
    record_audit(
        session,
        actor=actor.login_id,
        action="settings_update",
        target=WIDGET_KEY,
        detail={
            "changed": sorted(
                k for k in value if before.get(k) != value.get(k) and k != "avatar_url"
            )
            + (["avatar_url"] if before.get("avatar_url") != value.get("avatar_url") else [])
        },
        ip=actor.ip,
    )
    return widget_settings(session)


# --- read-only queries used by the console ----------------------------------------------------


def list_entries(
    session: Session,
    *,
    department_ids: Iterable[int] | None = None,
    categories: Iterable[str] | None = None,
    statuses: Iterable[QAStatus | str] | None = None,
    text: str | None = None,
    limit: int | None = None,
) -> list[QAEntry]:
    query = select(QAEntry).options(selectinload(QAEntry.department)).order_by(QAEntry.external_id)
    if department_ids:
        query = query.where(QAEntry.department_id.in_(list(department_ids)))
    if categories:
        query = query.where(QAEntry.category_major.in_(list(categories)))
    if statuses:
        query = query.where(QAEntry.status.in_([QAStatus(s) for s in statuses]))
    if text and text.strip():
        pattern = f"%{text.strip()}%"
        query = query.where(
            or_(
                QAEntry.external_id.ilike(pattern),
                QAEntry.question.ilike(pattern),
                QAEntry.answer.ilike(pattern),
                QAEntry.category_minor.ilike(pattern),
            )
        )
    if limit:
        query = query.limit(limit)
    entries = list(session.scalars(query))
    if text and text.strip():
        # Alternate questions and keywords are JSON lists: filter those in Python.
        extra_query = select(QAEntry).options(selectinload(QAEntry.department))
        if department_ids:
            extra_query = extra_query.where(QAEntry.department_id.in_(list(department_ids)))
        if categories:
            extra_query = extra_query.where(QAEntry.category_major.in_(list(categories)))
        if statuses:
            extra_query = extra_query.where(QAEntry.status.in_([QAStatus(s) for s in statuses]))
        found = {e.id for e in entries}
        needle = text.strip().casefold()
        for entry in session.scalars(extra_query):
            if entry.id in found:
                continue
            haystack = " ".join([*(entry.alternate_questions or []), *(entry.keywords or [])])
            if needle in haystack.casefold():
                entries.append(entry)
        entries.sort(key=lambda e: e.external_id)
    return entries


def status_label(status: QAStatus | str) -> str:
    return STATUS_LABELS[QAStatus(status)]


# Every public function above that changes something; the permission tests iterate over these.
MUTATING_FUNCTIONS = (
    create_entry,
    update_entry,
    publish_entry,
    approve_entry,
    archive_entry,
    restore_entry,
    restore_revision,
    add_alternate_questions,
    request_approval,
    add_attachment,
    remove_attachment,
)
