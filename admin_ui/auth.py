"""Login, session timeout and the IP allow-list for every console page.

``require_login(min_role)`` goes at the top of every page: it shows the login form and stops the
page when nobody is logged in, logs out after ``settings.console.session_timeout_minutes``
without activity, refuses addresses outside ``settings.console.ip_allowlist`` and stops the page
when the user's role is below ``min_role``. The user's rights are re-read from the database on
every run, so a disabled account or a changed role takes effect at once.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from qa_data.accounts import AccountError as _AccountError
from qa_data.accounts import (
    authenticate,
    change_own_password,
    ip_allowed,
    load_current_user,
    password_problems,
    record_logout,
)
from qa_data.db import session_scope
from qa_data.models import Role
from qa_data.permissions import ROLE_LABELS, CurrentUser
from qa_data.settings import get_settings

USER_KEY = "madoguchi_login_id"
ACTIVITY_KEY = "madoguchi_last_activity"
MUST_CHANGE_KEY = "madoguchi_must_change_password"
NOTICE_KEY = "madoguchi_auth_notice"

__all__ = ["CurrentUser", "client_ip", "logged_in_state", "logout", "require_login"]


def client_ip() -> str | None:
    """The client's address as Streamlit sees it (behind a trusted proxy: X-Forwarded-For)."""
    try:
        if get_settings().web.trust_proxy_headers:
            forwarded = st.context.headers.get("X-Forwarded-For")
            if forwarded:
                return forwarded.split(",")[0].strip()
        return st.context.ip_address
    except Exception:
        return None


def logged_in_state(login_id: str, *, must_change_password: bool = False) -> dict[str, Any]:
    """The session-state entries of a logged-in user (what a successful login stores)."""
    return {
        USER_KEY: login_id,
        ACTIVITY_KEY: time.time(),
        MUST_CHANGE_KEY: must_change_password,
    }


def logout(user: CurrentUser | None = None, reason: str = "user") -> None:
    if user is not None:
        with session_scope() as session:
            record_logout(session, user, reason=reason)
    for key in (USER_KEY, ACTIVITY_KEY, MUST_CHANGE_KEY):
        st.session_state.pop(key, None)


def _login_form(ip: str | None) -> None:
    settings = get_settings()
    st.title(f"{settings.city_name} FAQチャットボット 管理画面")
    st.caption("madoguchi（窓口）職員用コンソール")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice)
    with st.form("login_form"):
        login_id = st.text_input("ログインID", key="login_id_input")
        password = st.text_input("パスワード", type="password", key="login_password_input")
        submitted = st.form_submit_button("ログイン", type="primary")
    if submitted:
        with session_scope() as session:
            result = authenticate(session, login_id, password, ip=ip)
        if result.ok and result.user is not None:
            st.session_state.update(
                logged_in_state(
                    result.user.login_id, must_change_password=result.must_change_password
                )
            )
            st.rerun()
        else:
            st.error(result.message)
    st.caption(
        f"ログインに{settings.console.lockout_failures}回続けて失敗すると、アカウントは"
        f"{settings.console.lockout_minutes}分間ロックされます。"
    )


def _password_change_form(user: CurrentUser, *, forced: bool) -> bool:
    """Returns True when the password was changed."""
    if forced:
        st.warning("初期パスワードのままです。続ける前に新しいパスワードを設定してください。")
    with st.form("password_change_form", clear_on_submit=True):
        current = st.text_input("現在のパスワード", type="password")
        new = st.text_input("新しいパスワード", type="password")
        repeat = st.text_input("新しいパスワード（確認）", type="password")
        st.caption("10文字以上で、英字と数字を両方含め、ログインIDを含めないでください。")
        submitted = st.form_submit_button("パスワードを変更", type="primary")
    if not submitted:
        return False
    if new != repeat:
        st.error("新しいパスワードが確認欄と一致しません。")
        return False
    problems = password_problems(new, user.login_id)
    if problems:
        for problem in problems:
            st.error(problem)
        return False
    try:
        with session_scope() as session:
            change_own_password(session, user, current, new)
    except _AccountError as error:
        st.error(str(error))
        return False
    st.session_state[MUST_CHANGE_KEY] = False
    st.success("パスワードを変更しました。")
    return True


def password_change_form(user: CurrentUser) -> bool:
    return _password_change_form(user, forced=False)


def require_login(min_role: Role | None = None) -> CurrentUser:
    """The logged-in user; otherwise shows the login form and stops the page."""
    settings = get_settings().console
    ip = client_ip()
    if not ip_allowed(ip, settings.ip_allowlist):
        st.error(
            "このネットワークからは管理画面を利用できません。庁内ネットワークから接続してください。"
        )
        st.stop()
    login_id = st.session_state.get(USER_KEY)
    if not login_id:
        _login_form(ip)
        st.stop()
    with session_scope() as session:
        user = load_current_user(session, login_id, ip=ip)
    if user is None:
        logout(None)
        st.session_state[NOTICE_KEY] = "アカウントが無効になったため、ログアウトしました。"
        _login_form(ip)
        st.stop()
    now = time.time()
    last = st.session_state.get(ACTIVITY_KEY) or now
    if now - last > settings.session_timeout_minutes * 60:
        logout(user, reason="timeout")
        st.session_state[NOTICE_KEY] = (
            f"{settings.session_timeout_minutes}分間操作がなかったため、ログアウトしました。"
            "もう一度ログインしてください。"
        )
        _login_form(ip)
        st.stop()
    st.session_state[ACTIVITY_KEY] = now
    if st.session_state.get(MUST_CHANGE_KEY):
        st.title("パスワードの変更")
        if _password_change_form(user, forced=True):
            st.rerun()
        st.stop()
    if min_role is not None and not user.at_least(min_role):
        st.error(f"このページを表示するには「{ROLE_LABELS[min_role]}」以上の権限が必要です。")
        st.stop()
    return user


def sidebar_user_box(user: CurrentUser) -> None:
    with st.sidebar:
        st.markdown(f"**{user.display_name}**（{user.login_id}）")
        departments = "、".join(user.department_names) or "全部署"
        st.caption(f"{user.role_label}／{departments if not user.is_system_admin else '全部署'}")
        if st.button("ログアウト", key="logout_button"):
            logout(user)
            st.rerun()
