"""Console accounts: argon2 password hashes, lockout, password policy and user management.

- Passwords are hashed with argon2id (``argon2-cffi``'s ``PasswordHasher``); only the hash is
  stored.
- ``settings.console.lockout_failures`` (5) failures in a row lock the account for
  ``settings.console.lockout_minutes`` (15). A successful login resets the counter.
- Policy: at least 10 characters, letters and digits, not the login ID.
- Every login, failure, lock and user change is written to the audit log.
- User management is for システム管理者 only; the checks live here, not only in the pages.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from qa_data.audit import record_audit
from qa_data.models import Department, Role, User, utcnow
from qa_data.permissions import (
    ROLE_BY_LABEL,
    ROLE_LABELS,
    SYSTEM_ACTOR,
    CurrentUser,
    current_user_from,
    require_system_admin,
)
from qa_data.settings import get_settings

PASSWORD_MIN_LENGTH = 10
LOGIN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,99}$")
# The demo city's first administrator (seeded only into the demo database by `make run`).
DEMO_ADMIN_LOGIN = "admin"
DEMO_ADMIN_PASSWORD = "madoguchi-demo-2026"

_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" close to that of a wrong password.
_DUMMY_HASH = _hasher.hash("madoguchi-dummy-password-0")

LOGIN_FAILED_MESSAGE = "ログインIDまたはパスワードが正しくありません。"


class AccountError(ValueError):
    """A user-management request that cannot be carried out; ``str()`` is Japanese."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, login_id: str | None = None) -> list[str]:
    """The password policy: a list of Japanese messages, empty when the password is acceptable."""
    problems: list[str] = []
    password = password or ""
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"パスワードは{PASSWORD_MIN_LENGTH}文字以上にしてください。")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"[0-9]", password):
        problems.append("パスワードには英字と数字の両方を含めてください。")
    if login_id and login_id.casefold() in password.casefold():
        problems.append("パスワードにログインIDを含めないでください。")
    if password != password.strip():
        problems.append("パスワードの先頭と末尾に空白は使えません。")
    return problems


# --- login -------------------------------------------------------------------------------------


@dataclass
class LoginResult:
    ok: bool
    message: str
    user: CurrentUser | None = None
    must_change_password: bool = False


def get_user(session: Session, login_id: str) -> User | None:
    return session.scalar(
        select(User).options(selectinload(User.departments)).where(User.login_id == login_id)
    )


def authenticate(
    session: Session,
    login_id: str,
    password: str,
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> LoginResult:
    """Check a login. Counts failures, locks the account and writes the audit log.

    The caller commits ``session`` in every case (failures must be stored too)."""
    settings = get_settings().console
    now = now or utcnow()
    login_id = (login_id or "").strip()
    user = get_user(session, login_id) if login_id else None
    if user is None:
        verify_password(_DUMMY_HASH, password or "")
        record_audit(
            session,
            actor=login_id or "(空)",
            action="login_failed",
            detail={"reason": "unknown_user"},
            ip=ip,
        )
        return LoginResult(False, LOGIN_FAILED_MESSAGE)
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        record_audit(
            session,
            actor=user.login_id,
            action="login_failed",
            detail={"reason": "locked"},
            ip=ip,
        )
        return LoginResult(
            False,
            "ログインに続けて失敗したため、このアカウントは一時的にロックされています。"
            f"約{minutes}分後に再度お試しいただくか、システム管理者にご連絡ください。",
        )
    if not verify_password(user.password_hash, password or ""):
        if user.locked_until is not None and user.locked_until <= now:
            user.failed_logins = 0  # an expired lock starts a fresh count
            user.locked_until = None
        user.failed_logins = (user.failed_logins or 0) + 1
        record_audit(
            session,
            actor=user.login_id,
            action="login_failed",
            detail={"reason": "bad_password", "failures": user.failed_logins},
            ip=ip,
        )
        if user.failed_logins >= settings.lockout_failures:
            user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            record_audit(
                session,
                actor=user.login_id,
                action="account_locked",
                target=user.login_id,
                detail={
                    "failures": user.failed_logins,
                    "locked_until": user.locked_until.isoformat(timespec="seconds"),
                },
                ip=ip,
            )
            session.flush()
            return LoginResult(
                False,
                f"ログインに{settings.lockout_failures}回続けて失敗したため、アカウントを"
                f"{settings.lockout_minutes}分間ロックしました。",
            )
        session.flush()
        return LoginResult(False, LOGIN_FAILED_MESSAGE)
    if not user.is_active:
        record_audit(
            session,
            actor=user.login_id,
            action="login_failed",
            detail={"reason": "disabled"},
            ip=ip,
        )
        return LoginResult(
            False, "このアカウントは無効になっています。システム管理者にご連絡ください。"
        )
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    record_audit(session, actor=user.login_id, action="login", ip=ip)
    session.flush()
    return LoginResult(
        True,
        "ログインしました。",
        user=current_user_from(user, ip=ip),
        must_change_password=bool(user.must_change_password),
    )


def record_logout(session: Session, actor: CurrentUser, *, reason: str = "user") -> None:
    record_audit(
        session, actor=actor.login_id, action="logout", detail={"reason": reason}, ip=actor.ip
    )


def load_current_user(session: Session, login_id: str, ip: str | None = None) -> CurrentUser | None:
    """The current rights of a logged-in user (None when disabled or deleted meanwhile)."""
    user = get_user(session, login_id)
    if user is None or not user.is_active:
        return None
    return current_user_from(user, ip=ip)


def ip_allowed(ip: str | None, allowlist: Sequence[str]) -> bool:
    """True when no allow-list is configured, or ``ip`` lies in one of its addresses/networks."""
    if not allowlist:
        return True
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    for entry in allowlist:
        try:
            if address in ipaddress.ip_network(str(entry).strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


# --- user management ---------------------------------------------------------------------------


def _resolve_departments(session: Session, names: Iterable[str]) -> list[Department]:
    departments: list[Department] = []
    missing: list[str] = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        department = session.scalar(select(Department).where(Department.name == name))
        if department is None:
            missing.append(name)
        else:
            departments.append(department)
    if missing:
        raise AccountError(f"部署が見つかりません: {'、'.join(missing)}")
    return departments


def _check_new_user(session: Session, login_id: str, display_name: str, password: str) -> None:
    if not LOGIN_ID_RE.match(login_id or ""):
        raise AccountError(
            "ログインIDは半角英数字と . _ @ - で2～100文字にしてください（先頭は英数字）。"
        )
    if not (display_name or "").strip():
        raise AccountError("氏名を入力してください。")
    if session.scalar(select(func.count()).select_from(User).where(User.login_id == login_id)):
        raise AccountError(f"ログインID「{login_id}」は既に使われています。")
    problems = password_problems(password, login_id)
    if problems:
        raise AccountError(" ".join(problems))


def create_user(
    session: Session,
    actor: CurrentUser,
    *,
    login_id: str,
    display_name: str,
    password: str,
    role: Role,
    department_names: Iterable[str] = (),
    must_change_password: bool = True,
) -> User:
    """Add a user (システム管理者 only). Raises ``AccountError`` with a Japanese message."""
    require_system_admin(actor, "ユーザーの追加")
    login_id = (login_id or "").strip()
    _check_new_user(session, login_id, display_name, password)
    role = Role(role)
    departments = _resolve_departments(session, department_names)
    if role in (Role.EDITOR, Role.DEPARTMENT_ADMIN) and not departments:
        raise AccountError(f"{ROLE_LABELS[role]}には担当部署を1つ以上指定してください。")
    user = User(
        login_id=login_id,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        role=role,
        is_active=True,
        failed_logins=0,
        must_change_password=must_change_password,
        password_changed_at=utcnow(),
        departments=departments,
    )
    session.add(user)
    session.flush()
    record_audit(
        session,
        actor=actor.login_id,
        action="user_create",
        target=login_id,
        detail={"role": role.value, "departments": [d.name for d in departments]},
        ip=actor.ip,
    )
    return user


def _user_or_error(session: Session, login_id: str) -> User:
    user = get_user(session, login_id)
    if user is None:
        raise AccountError(f"ユーザー「{login_id}」が見つかりません。")
    return user


def _active_admin_count(session: Session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.SYSTEM_ADMIN, User.is_active.is_(True))
    )


def update_user(
    session: Session,
    actor: CurrentUser,
    login_id: str,
    *,
    display_name: str | None = None,
    role: Role | None = None,
    department_names: Iterable[str] | None = None,
    is_active: bool | None = None,
) -> User:
    """Change a user's name, role, departments or active flag (システム管理者 only)."""
    require_system_admin(actor, "ユーザーの変更")
    user = _user_or_error(session, login_id)
    changes: dict[str, object] = {}
    was_active_admin = user.role == Role.SYSTEM_ADMIN and user.is_active
    if display_name is not None and display_name.strip() != user.display_name:
        if not display_name.strip():
            raise AccountError("氏名を入力してください。")
        changes["display_name"] = [user.display_name, display_name.strip()]
        user.display_name = display_name.strip()
    if role is not None and Role(role) != user.role:
        changes["role"] = [Role(user.role).value, Role(role).value]
        user.role = Role(role)
    if department_names is not None:
        departments = _resolve_departments(session, department_names)
        old = sorted(d.name for d in user.departments)
        new = sorted(d.name for d in departments)
        if old != new:
            changes["departments"] = [old, new]
            user.departments = departments
    if is_active is not None and bool(is_active) != user.is_active:
        if user.login_id == actor.login_id and not is_active:
            raise AccountError("自分自身のアカウントは無効にできません。")
        changes["is_active"] = [user.is_active, bool(is_active)]
        user.is_active = bool(is_active)
    if (
        user.role in (Role.EDITOR, Role.DEPARTMENT_ADMIN)
        and not user.departments
        and ("role" in changes or "departments" in changes)
    ):
        raise AccountError(f"{ROLE_LABELS[Role(user.role)]}には担当部署を1つ以上指定してください。")
    still_active_admin = user.role == Role.SYSTEM_ADMIN and user.is_active
    session.flush()
    if was_active_admin and not still_active_admin and _active_admin_count(session) == 0:
        raise AccountError("有効なシステム管理者が1人もいなくなるため、変更できません。")
    if changes:
        record_audit(
            session,
            actor=actor.login_id,
            action="user_update",
            target=user.login_id,
            detail=changes,
            ip=actor.ip,
        )
    return user


def reset_password(
    session: Session,
    actor: CurrentUser,
    login_id: str,
    new_password: str,
    *,
    must_change_password: bool = True,
) -> User:
    """Set a new (temporary) password and unlock the account (システム管理者 only)."""
    require_system_admin(actor, "パスワードの再設定")
    user = _user_or_error(session, login_id)
    problems = password_problems(new_password, user.login_id)
    if problems:
        raise AccountError(" ".join(problems))
    user.password_hash = hash_password(new_password)
    user.must_change_password = must_change_password
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    record_audit(
        session,
        actor=actor.login_id,
        action="password_reset",
        target=user.login_id,
        detail={"by_admin": True},
        ip=actor.ip,
    )
    session.flush()
    return user


def unlock_user(session: Session, actor: CurrentUser, login_id: str) -> User:
    require_system_admin(actor, "ロックの解除")
    user = _user_or_error(session, login_id)
    user.failed_logins = 0
    user.locked_until = None
    record_audit(
        session,
        actor=actor.login_id,
        action="user_update",
        target=user.login_id,
        detail={"unlocked": True},
        ip=actor.ip,
    )
    session.flush()
    return user


def change_own_password(
    session: Session, actor: CurrentUser, current_password: str, new_password: str
) -> None:
    """A logged-in user changes their own password (needs the current one)."""
    user = _user_or_error(session, actor.login_id)
    if not verify_password(user.password_hash, current_password or ""):
        raise AccountError("現在のパスワードが正しくありません。")
    if current_password == new_password:
        raise AccountError("新しいパスワードは現在のパスワードと異なるものにしてください。")
    problems = password_problems(new_password, user.login_id)
    if problems:
        raise AccountError(" ".join(problems))
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    record_audit(
        session,
        actor=actor.login_id,
        action="password_reset",
        target=user.login_id,
        detail={"by_admin": False},
        ip=actor.ip,
    )
    session.flush()


def list_users(session: Session) -> list[User]:
    return list(
        session.scalars(select(User).options(selectinload(User.departments)).order_by(User.id))
    )


# --- bulk add from CSV -------------------------------------------------------------------------

CSV_HEADER = ("ログインID", "氏名", "権限", "部署", "初期パスワード")
CSV_TEMPLATE = (
    ",".join(CSV_HEADER)
    + "\r\n"
    + "kosodate01,子育て 花子,編集者,子育て支援課,Kosodate2026a\r\n"
    + "shimin_admin,市民 太郎,部署管理者,市民課;税務課,Shimin2026admin\r\n"
)


@dataclass
class BulkAddResult:
    created: list[str] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)

    @property
    def ok(self) -> bool:
        return not self.errors


def _decode_csv(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AccountError(
        "CSVの文字コードを判別できません。UTF-8 または Shift_JIS で保存してください。"
    )


def _parse_role(text: str) -> Role | None:
    text = (text or "").strip()
    if text in ROLE_BY_LABEL:
        return ROLE_BY_LABEL[text]
    try:
        return Role(text)
    except ValueError:
        return None


def bulk_add_users(session: Session, actor: CurrentUser, data: bytes) -> BulkAddResult:
    """Add users from a CSV (columns ``CSV_HEADER``; 部署 separated by ``;`` or ``、``).

    All rows are checked first; when any row has an error nothing is added and the errors are
    returned per line (line 1 is the header)."""
    require_system_admin(actor, "ユーザーの一括追加")
    result = BulkAddResult()
    reader = csv.reader(io.StringIO(_decode_csv(data)))
    rows = list(reader)
    if not rows:
        result.errors.append((1, "CSVが空です。"))
        return result
    header = [h.strip() for h in rows[0]]
    missing = [h for h in CSV_HEADER if h not in header]
    if missing:
        result.errors.append((1, f"見出し行に列がありません: {'、'.join(missing)}"))
        return result
    index = {name: header.index(name) for name in CSV_HEADER}
    seen: set[str] = set()
    planned: list[dict[str, object]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        row = row + [""] * (len(header) - len(row))
        value = {name: row[i].strip() for name, i in index.items()}
        login_id = value["ログインID"]
        problems: list[str] = []
        if not LOGIN_ID_RE.match(login_id):
            problems.append("ログインIDは半角英数字と . _ @ - で2～100文字にしてください。")
        elif login_id in seen:
            problems.append(f"ログインID「{login_id}」がCSV内で重複しています。")
        elif get_user(session, login_id) is not None:
            problems.append(f"ログインID「{login_id}」は既に使われています。")
        seen.add(login_id)
        if not value["氏名"]:
            problems.append("氏名が空です。")
        role = _parse_role(value["権限"])
        if role is None:
            problems.append(
                f"権限「{value['権限']}」は使えません（{'・'.join(ROLE_LABELS.values())}）。"
            )
        names = [n for n in re.split(r"[;；、,]", value["部署"]) if n.strip()]
        try:
            _resolve_departments(session, names)
        except AccountError as error:
            problems.append(str(error))
        if role in (Role.EDITOR, Role.DEPARTMENT_ADMIN) and not names:
            problems.append(f"{ROLE_LABELS[role]}には部署を指定してください。")
        problems.extend(password_problems(value["初期パスワード"], login_id))
        if problems:
            result.errors.append((line, " ".join(problems)))
        else:
            planned.append(
                {
                    "login_id": login_id,
                    "display_name": value["氏名"],
                    "password": value["初期パスワード"],
                    "role": role,
                    "department_names": names,
                }
            )
    if result.errors:
        return result
    for item in planned:
        create_user(session, actor, must_change_password=True, **item)  # type: ignore[arg-type]
        result.created.append(str(item["login_id"]))
    return result


# --- first run and demo ------------------------------------------------------------------------


def create_first_admin(
    session: Session, *, login_id: str, display_name: str, password: str
) -> User:
    """Create a システム管理者 from the command line (IT staff, first run)."""
    return create_user(
        session,
        SYSTEM_ACTOR,
        login_id=login_id,
        display_name=display_name,
        password=password,
        role=Role.SYSTEM_ADMIN,
        must_change_password=False,
    )


def ensure_demo_admin(session: Session) -> bool:
    """Seed the demo city's administrator ``admin`` / ``DEMO_ADMIN_PASSWORD`` when no user exists.

    Call this only for the demo database (``make run``'s seed-demo). Returns True when created."""
    if session.scalar(select(func.count()).select_from(User)):
        return False
    create_first_admin(
        session,
        login_id=DEMO_ADMIN_LOGIN,
        display_name="デモ管理者",
        password=DEMO_ADMIN_PASSWORD,
    )
    return True
