"""The console's statistics page (Streamlit AppTest) on a month of real logs."""

from __future__ import annotations

from datetime import date

import pytest
from report_logdata import OCTOBER_END_UTC, OCTOBER_START_UTC
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from qa_data import accounts
from qa_data.db import session_scope
from qa_data.models import Role
from qa_data.permissions import SYSTEM_ACTOR
from tests.admin.apptest_pages import open_page

PASSWORD = "Madoguchi2026pw"


@pytest.fixture
def page_store(log_data, monkeypatch: pytest.MonkeyPatch):
    from qa_data.settings import get_settings

    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", log_data.url)
    get_settings.cache_clear()
    with session_scope(log_data.url) as session:
        accounts.create_user(
            session,
            SYSTEM_ACTOR,
            login_id="viewer1",
            display_name="閲覧 花子",
            password=PASSWORD,
            role=Role.VIEWER,
            must_change_password=False,
        )
    yield log_data
    get_settings.cache_clear()


def _open(login_id: str | None) -> AppTest:
    return open_page("pages/statistics.py", login_id, timeout=180)


def _sql(url: str, sql: str):
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(
            text(sql), {"s": OCTOBER_START_UTC, "e": OCTOBER_END_UTC}
        ).scalar()
    engine.dispose()
    return value


def test_statistics_page_needs_a_login(page_store) -> None:
    at = _open(None)
    assert "ログインID" in [t.label for t in at.text_input]
    assert not at.metric


def test_statistics_page_shows_the_month(page_store) -> None:
    at = _open("viewer1")
    at.date_input(key="stats_range").set_value((date(2026, 10, 1), date(2026, 10, 31))).run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    questions = _sql(
        page_store.url,
        "SELECT COUNT(*) FROM query_logs WHERE kind='message' AND created_at >= :s "
        "AND created_at < :e",
    )
    assert metrics["質問数"] == f"{questions:,}"
    conversations = _sql(
        page_store.url,
        "SELECT COUNT(DISTINCT session_id) FROM query_logs WHERE created_at >= :s "
        "AND created_at < :e",
    )
    assert metrics["会話数"] == f"{conversations:,}"
    labels = [tab.label for tab in at.tabs]
    assert labels[:3] == ["質問数", "判定の内訳", "役に立った率"]
    assert "問い合わせログ" in labels and "月次レポート" in labels
    downloads = [b for b in at.get("download_button")]
    assert len(downloads) >= 8  # a CSV per table plus the log export

    # The query-log viewer shows masked text only.
    logs = [df.value for df in at.dataframe if "質問（マスキング済み）" in df.value.columns]
    assert logs, "query-log viewer"
    shown = "\n".join(logs[0]["質問（マスキング済み）"].astype(str))
    assert "090-1234-5678" not in shown and "[電話番号]" in shown

    # Filters: only no_match rows.
    at.multiselect(key="log_decisions").set_value(["no_match"]).run()
    logs = [df.value for df in at.dataframe if "質問（マスキング済み）" in df.value.columns]
    assert set(logs[0]["判定"]) == {"no_match"}


def test_statistics_page_builds_the_monthly_report(page_store) -> None:
    at = _open("viewer1")
    at.selectbox(key="report_month").set_value("2026-10")
    at.checkbox(key="report_regression").uncheck()
    at.button(key="report_build").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("2026-10 のレポートを作成しました" in s.value for s in at.success)
    assert at.session_state["report_files"]["xlsx"][0] == "madoguchi-report-2026-10.xlsx"
    html = at.session_state["report_files"]["html"][1].decode("utf-8")
    assert "月次レポート（2026年10月）" in html
    assert _sql(page_store.url, "SELECT COUNT(*) FROM audit_logs WHERE action='report'") == 1
