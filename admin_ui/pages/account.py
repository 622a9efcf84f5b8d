"""パスワード変更: every user changes their own password here."""

from __future__ import annotations

import streamlit as st

from admin_ui.auth import password_change_form, require_login

user = require_login()
st.title("パスワード変更")
st.write(f"{user.display_name}（{user.login_id}）／{user.role_label}")
password_change_form(user)
