"""madoguchi staff console: ``streamlit run admin_ui/app.py --server.port 8501``.

The pages shown depend on the logged-in user's role; every page checks the login and role itself
as well (``admin_ui.auth.require_login``), and the service layer checks every change again.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from admin_ui.auth import require_login, sidebar_user_box
from qa_data.models import Role
from qa_data.settings import get_settings

PAGES_DIR = Path(__file__).resolve().parent / "pages"

st.set_page_config(
    page_title=f"{get_settings().city_name} FAQ 管理画面",
    page_icon="🏛️",
    layout="wide",
)

user = require_login()
sidebar_user_box(user)


def page(name: str, title: str, icon: str, *, default: bool = False):
    return st.Page(f"pages/{name}", title=title, icon=icon, default=default)


sections: dict[str, list] = {
    "QA": [
        page("qa.py", "QA管理", "📝", default=True),
        page("unanswered.py", "未回答の質問", "❓"),
        page("preview.py", "プレビュー（テスト環境）", "🔍"),
        page("import_export.py", "インポート・エクスポート", "📥"),
    ],
    "辞書": [
        page("synonyms.py", "同義語辞書", "🔁"),
        page("garbage.py", "ごみ分別辞書", "🗑️"),
    ],
}
if (PAGES_DIR / "statistics.py").exists():
    sections["分析"] = [page("statistics.py", "統計・ログ", "📊")]
admin_pages = []
if user.at_least(Role.SYSTEM_ADMIN):
    admin_pages = [
        page("users.py", "ユーザー管理", "👥"),
        page("audit_log.py", "監査ログ", "📜"),
        page("widget_settings.py", "ウィジェット設定", "🎨"),
    ]
if admin_pages:
    sections["管理"] = admin_pages
sections["アカウント"] = [page("account.py", "パスワード変更", "🔑")]

st.navigation(sections).run()
