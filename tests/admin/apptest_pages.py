"""Opening a console page in Streamlit's AppTest, logged in or not."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from admin_ui import auth

ADMIN_UI = Path(__file__).resolve().parents[2] / "admin_ui"


def open_page(name: str, login_id: str | None, timeout: float = 120) -> AppTest:
    """Run ``admin_ui/<name>`` once, as ``login_id`` (``None``: not logged in); the page must not
    raise."""
    at = AppTest.from_file(str(ADMIN_UI / name), default_timeout=timeout)
    if login_id:
        for key, value in auth.logged_in_state(login_id).items():
            at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
