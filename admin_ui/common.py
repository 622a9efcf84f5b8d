"""Small helpers shared by the console pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import streamlit as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_data.db import session_scope
from qa_data.models import Department, QAEntry
from qa_data.permissions import CurrentUser, can_edit_department
from qa_data.rich_text import render_answer_html

JST = ZoneInfo("Asia/Tokyo")

ANSWER_CSS = """
<style>
.madoguchi-answer {border:1px solid #d0d7de;border-radius:12px;padding:12px 16px;
  background:#f6f8fa;max-width:36rem;font-size:15px;line-height:1.7;color:#1f2328}
.madoguchi-answer img {max-width:100%}
.madoguchi-answer table {border-collapse:collapse} .madoguchi-answer td,
.madoguchi-answer th {border:1px solid #d0d7de;padding:2px 6px}
</style>
"""


def jst(value: datetime | None) -> str:
    """A stored naive-UTC time shown in Japan time."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(JST).strftime("%Y-%m-%d %H:%M")


def departments() -> list[tuple[int, str]]:
    with session_scope() as session:
        return [
            (d.id, d.name) for d in session.scalars(select(Department).order_by(Department.name))
        ]


def editable_departments(user: CurrentUser) -> list[tuple[int, str]]:
    return [(i, n) for i, n in departments() if can_edit_department(user, i)]


def categories() -> list[str]:
    with session_scope() as session:
        rows = session.scalars(select(QAEntry.category_major).distinct())
        return sorted(c for c in rows if c)


def answer_preview(markdown: str, links: Iterable[str] = ()) -> None:
    """The answer as residents see it in the widget (the same sanitised HTML)."""
    html = render_answer_html(markdown or "")
    link_items = "".join(
        f'<li><a href="{_link_url(link)}" target="_blank" rel="noopener noreferrer">'
        f"{_escape(_link_title(link))}</a></li>"
        for link in links
        if link.strip()
    )
    if link_items:
        html += f"<p><strong>関連リンク</strong></p><ul>{link_items}</ul>"
    st.html(ANSWER_CSS + f'<div class="madoguchi-answer">{html}</div>')


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _link_title(link: str) -> str:
    parts = link.strip().rsplit(" ", 1)
    return parts[0] if len(parts) == 2 and parts[1].startswith(("http", "/")) else link.strip()


def _link_url(link: str) -> str:
    url = link.strip().rsplit(" ", 1)[-1]
    if not url.startswith(("http://", "https://", "/", "mailto:", "tel:")):
        url = "#"
    return _escape(url)


def flash(message: str, kind: str = "success") -> None:
    """A message shown once after the next rerun."""
    st.session_state.setdefault("madoguchi_flash", []).append((kind, message))


def apply_change(
    action: Callable[[Session], object], message: str, refused: tuple[type[Exception], ...]
) -> None:
    """Run ``action`` in one transaction. A refused change (one of ``refused``: no permission, a
    rule of the store) shows its message and writes nothing; otherwise ``message`` is shown after
    the rerun."""
    try:
        with session_scope() as session:
            action(session)
    except refused as error:
        st.error(str(error))
        return
    flash(message)
    st.rerun()


def show_flash() -> None:
    for kind, message in st.session_state.pop("madoguchi_flash", []):
        getattr(st, kind)(message)
