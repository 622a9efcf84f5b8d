"""ウィジェット設定 (システム管理者): the look of the residents' chat widget."""

from __future__ import annotations

import base64

import streamlit as st

from admin_ui.auth import require_login
from admin_ui.common import flash, show_flash
from qa_data import editing
from qa_data.db import session_scope
from qa_data.models import Role
from qa_data.permissions import PermissionDenied

AVATAR_MAX_BYTES = 200 * 1024

user = require_login(Role.SYSTEM_ADMIN)
st.title("ウィジェット設定")
st.caption(
    "住民向けチャットの見た目です。保存すると、次にウィジェットを開いたときから反映されます。"
)
show_flash()
with session_scope() as session:
    current = editing.widget_settings(session)

left, right = st.columns([3, 2])
with left:
    title = st.text_input("タイトル", current["title"], key="w_title")
    character = st.text_input("キャラクター名", current["character_name"], key="w_character")
    avatar_url = st.text_input(
        "アバター画像のURL（https:// または /widget/...）",
        current["avatar_url"] if not str(current["avatar_url"]).startswith("data:") else "",
        key="w_avatar_url",
    )
    avatar_file = st.file_uploader(
        "またはアバター画像をアップロード（PNG・JPEG・GIF・WebP、200KBまで）",
        type=["png", "jpg", "jpeg", "gif", "webp"],
        key="w_avatar_file",
    )
    c1, c2, c3 = st.columns(3)
    primary = c1.color_picker("メインの色", current["colors"]["primary"], key="w_primary")
    background = c2.color_picker("背景色", current["colors"]["background"], key="w_background")
    text = c3.color_picker("文字色", current["colors"]["text"], key="w_text")
    welcome = st.text_area("はじめのあいさつ", current["welcome_message"], key="w_welcome")
    suggested = st.text_area(
        "おすすめの質問（1行に1つ、10件まで）",
        "\n".join(current["suggested_questions"]),
        key="w_suggested",
    )
    position = st.radio(
        "表示位置",
        ["bottom-right", "bottom-left"],
        index=0 if current["position"] != "bottom-left" else 1,
        format_func=lambda p: "右下" if p == "bottom-right" else "左下",
        horizontal=True,
        key="w_position",
    )

avatar = avatar_url.strip() or current["avatar_url"]
problem = None
if avatar_file is not None:
    data = avatar_file.getvalue()
    kind = editing.sniff_content_type(data)
    if kind is None or not kind.startswith("image/"):
        problem = "アバターには画像ファイルを選んでください。"
    elif len(data) > AVATAR_MAX_BYTES:
        problem = "アバター画像は200KB以下にしてください。"
    else:
        avatar = f"data:{kind};base64,{base64.b64encode(data).decode()}"

with right:
    st.markdown("**プレビュー**")
    st.html(
        f'<div style="border-radius:12px;overflow:hidden;border:1px solid #ccc;'
        f'background:{background};color:{text};max-width:320px">'
        f'<div style="background:{primary};color:#fff;padding:8px 12px;font-weight:bold">'
        f"{st.session_state.get('w_title', title)}</div>"
        f'<div style="padding:12px"><img src="{avatar}" alt="" width="40" '
        f'style="vertical-align:middle;border-radius:50%"> <b>{character}</b>'
        f"<p>{welcome}</p></div></div>".replace("<script", "")
    )

if problem:
    st.error(problem)
if st.button("保存", type="primary", key="w_save", disabled=bool(problem)):
    values = {
        "title": title,
        "character_name": character,
        "avatar_url": avatar,
        "colors": {"primary": primary, "background": background, "text": text},
        "welcome_message": welcome,
        "suggested_questions": suggested.splitlines(),
        "position": position,
    }
    try:
        with session_scope() as session:
            editing.save_widget_settings(session, user, values)
    except (PermissionDenied, editing.EditError) as error:
        st.error(str(error))
    else:
        flash("ウィジェット設定を保存しました。")
        st.rerun()
