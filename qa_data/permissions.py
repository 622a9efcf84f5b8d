"""Who may do what. The service layer (``qa_data.editing``, ``qa_data.accounts``, ...) calls these
checks itself, so that department ownership holds whoever calls it: a page, the CLI or a script.

Roles:
- システム管理者 (``system_admin``): everything, including users and settings.
- 部署管理者 (``department_admin``): edits and publishes the QA of their own departments.
- 編集者 (``editor``): creates and edits drafts of their own departments (no publishing, no
  archiving, no changes to published entries).
- 閲覧者 (``viewer``): reads only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from qa_data.models import QAStatus, Role, User

ROLE_LABELS: dict[Role, str] = {
    Role.SYSTEM_ADMIN: "システム管理者",
    Role.DEPARTMENT_ADMIN: "部署管理者",
    Role.EDITOR: "編集者",
    Role.VIEWER: "閲覧者",
}
ROLE_BY_LABEL: dict[str, Role] = {label: role for role, label in ROLE_LABELS.items()}
# Higher rank = more rights; used for "at least this role" checks.
ROLE_RANK: dict[Role, int] = {
    Role.VIEWER: 0,
    Role.EDITOR: 1,
    Role.DEPARTMENT_ADMIN: 2,
    Role.SYSTEM_ADMIN: 3,
}
STATUS_LABELS: dict[QAStatus, str] = {
    QAStatus.DRAFT: "下書き",
    QAStatus.PUBLISHED: "公開中",
    QAStatus.ARCHIVED: "アーカイブ",
}


class PermissionDenied(PermissionError):
    """The acting user may not do this; ``str()`` is a Japanese message for staff."""


@dataclass(frozen=True)
class CurrentUser:
    """The acting user as the service layer sees it (detached from any database session)."""

    login_id: str
    display_name: str
    role: Role
    department_ids: frozenset[int] = field(default_factory=frozenset)
    department_names: tuple[str, ...] = ()
    ip: str | None = None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    @property
    def is_system_admin(self) -> bool:
        return self.role is Role.SYSTEM_ADMIN

    def at_least(self, role: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


# The actor for command-line use by IT staff (first admin, scripted maintenance).
SYSTEM_ACTOR = CurrentUser(login_id="system", display_name="システム", role=Role.SYSTEM_ADMIN)


def current_user_from(user: User, ip: str | None = None) -> CurrentUser:
    departments = sorted(user.departments, key=lambda d: d.name)
    return CurrentUser(
        login_id=user.login_id,
        display_name=user.display_name,
        role=Role(user.role),
        department_ids=frozenset(d.id for d in departments),
        department_names=tuple(d.name for d in departments),
        ip=ip,
    )


def require_role(actor: CurrentUser, minimum: Role, what: str = "この操作") -> None:
    if actor is None or not actor.at_least(minimum):
        raise PermissionDenied(f"{what}には「{ROLE_LABELS[minimum]}」以上の権限が必要です。")


def require_system_admin(actor: CurrentUser, what: str = "この操作") -> None:
    require_role(actor, Role.SYSTEM_ADMIN, what)


def owns_department(actor: CurrentUser, department_id: int | None) -> bool:
    if actor.is_system_admin:
        return True
    return department_id is not None and department_id in actor.department_ids


def can_edit_department(actor: CurrentUser, department_id: int | None) -> bool:
    """May create or edit drafts in this department."""
    return actor.at_least(Role.EDITOR) and owns_department(actor, department_id)


def can_publish_department(actor: CurrentUser, department_id: int | None) -> bool:
    """May publish, archive and edit published entries in this department."""
    return actor.at_least(Role.DEPARTMENT_ADMIN) and owns_department(actor, department_id)


def can_edit_entry(actor: CurrentUser, department_id: int | None, status: QAStatus) -> bool:
    if QAStatus(status) is QAStatus.DRAFT:
        return can_edit_department(actor, department_id)
    return can_publish_department(actor, department_id)


def _department_text(department_name: str | None) -> str:
    return f"「{department_name}」" if department_name else "この部署"


def require_edit_department(
    actor: CurrentUser, department_id: int | None, department_name: str | None = None
) -> None:
    if actor is None or actor.role is Role.VIEWER:
        raise PermissionDenied("閲覧者の権限ではQAを変更できません。")
    if not can_edit_department(actor, department_id):
        raise PermissionDenied(
            f"{_department_text(department_name)}のQAを変更する権限がありません。"
            "担当部署のQAのみ変更できます。"
        )


def require_publish_department(
    actor: CurrentUser,
    department_id: int | None,
    department_name: str | None = None,
    what: str = "公開・アーカイブ",
) -> None:
    require_edit_department(actor, department_id, department_name)
    if not actor.at_least(Role.DEPARTMENT_ADMIN):
        raise PermissionDenied(
            f"{what}は部署管理者以上が行えます。編集者は下書きのみ編集できます。"
        )
    if not can_publish_department(actor, department_id):
        raise PermissionDenied(
            f"{_department_text(department_name)}のQAを{what}する権限がありません。"
        )


def require_edit_entry(
    actor: CurrentUser,
    department_id: int | None,
    status: QAStatus,
    department_name: str | None = None,
) -> None:
    """Edit the content of an entry in its current status."""
    require_edit_department(actor, department_id, department_name)
    if QAStatus(status) is not QAStatus.DRAFT and not can_publish_department(actor, department_id):
        label = STATUS_LABELS[QAStatus(status)]
        raise PermissionDenied(
            f"{label}のQAを変更できるのは部署管理者以上です。編集者は下書きのみ編集できます。"
        )


def editable_department_ids(actor: CurrentUser, all_ids: Iterable[int]) -> list[int]:
    return [i for i in all_ids if can_edit_department(actor, i)]
