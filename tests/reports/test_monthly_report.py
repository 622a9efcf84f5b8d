"""The monthly report built from a month of logs written through ``qa_data.chat_log``: every
number in the workbook is checked against plain SQL on the database (not ``reports.metrics``)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from openpyxl import load_workbook
from report_logdata import (
    OCTOBER_END_UTC,
    OCTOBER_START_UTC,
    SEPTEMBER_START_UTC,
    handle_dog_questions,
    staff_october_changes,
)
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from qa_data.cli import _register_all, app
from qa_data.db import session_scope
from reports.monthly import build_report
from reports.periods import Month

REPO_ROOT = Path(__file__).resolve().parents[2]
OUTPUT_DIR = REPO_ROOT / "test-output"
WINDOW = {"s": OCTOBER_START_UTC, "e": OCTOBER_END_UTC}
PREVIOUS = {"s": SEPTEMBER_START_UTC, "e": OCTOBER_START_UTC}

_register_all()
runner = CliRunner()


def _sheet_values(ws) -> dict[str, list]:
    """Column A label → the rest of its row."""
    out = {}
    for row in ws.iter_rows(values_only=True):
        if row and isinstance(row[0], str):
            out.setdefault(row[0], list(row[1:]))
    return out


def _table_rows(ws, header: str) -> list[tuple]:
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row and row[0] == header)
    result = []
    for row in rows[start + 1 :]:
        if not row or row[0] is None:
            break
        result.append(row)
    return result


class Sql:
    """Independent figures: plain SQL on the same database."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def scalar(self, sql: str, **params):
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params):
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).all()

    W = "created_at >= :s AND created_at < :e"

    def questions(self, window) -> int:
        return self.scalar(
            f"SELECT COUNT(*) FROM query_logs WHERE kind='message' AND {self.W}", **window
        )

    def decision(self, window, decision: str) -> int:
        return self.scalar(
            f"SELECT COUNT(*) FROM query_logs WHERE kind='message' AND decision=:d AND {self.W}",
            d=decision,
            **window,
        )

    def conversations(self, window) -> int:
        return self.scalar(
            f"SELECT COUNT(DISTINCT session_id) FROM query_logs WHERE {self.W}", **window
        )

    def helpful(self, window) -> tuple[int, int]:
        row = self.rows(
            "SELECT SUM(CASE WHEN helpful THEN 1 ELSE 0 END), COUNT(*) FROM feedback "
            f"WHERE {self.W}",
            **window,
        )[0]
        return int(row[0] or 0), int(row[1])

    def selected_candidates(self, window) -> int:
        # A candidates question followed in the same conversation by a select row, with no
        # other question in between.
        later = "(x.created_at > m.created_at OR (x.created_at = m.created_at AND x.id > m.id))"
        return self.scalar(
            "SELECT COUNT(*) FROM query_logs m WHERE m.kind='message' AND m.decision='candidates'"
            " AND m.created_at >= :s AND m.created_at < :e AND EXISTS ("
            "  SELECT 1 FROM query_logs x WHERE x.session_id = m.session_id AND x.kind='select'"
            f"  AND x.created_at < :e AND {later} AND NOT EXISTS ("
            "    SELECT 1 FROM query_logs n WHERE n.session_id = m.session_id"
            "    AND n.kind='message' AND (n.created_at > m.created_at OR"
            "    (n.created_at = m.created_at AND n.id > m.id)) AND (n.created_at < x.created_at"
            "    OR (n.created_at = x.created_at AND n.id < x.id))))",
            **window,
        )

    def percentile(self, window, p: float) -> float:
        n = self.scalar(
            f"SELECT COUNT(*) FROM query_logs WHERE response_ms IS NOT NULL AND {self.W}", **window
        )
        offset = max(1, math.ceil(p / 100 * n)) - 1
        return self.scalar(
            f"SELECT response_ms FROM query_logs WHERE response_ms IS NOT NULL AND {self.W} "
            "ORDER BY response_ms LIMIT 1 OFFSET :o",
            o=offset,
            **window,
        )


def _rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


@pytest.fixture
def october_report(log_data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """September's report (which stores September's regression run), the staff's October work,
    then October's report through the CLI."""
    from qa_data.settings import get_settings

    url = log_data.url
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", url)
    get_settings.cache_clear()
    with session_scope(url) as session:
        build_report(session, Month(2026, 9), dev_set=log_data.dev_set)
    staff_october_changes(url)
    handle_dog_questions(url, log_data.handled_log_ids)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["report", "--month", "2026-10", "--out", str(out), "--dev-set", str(log_data.dev_set)],
    )
    assert result.exit_code == 0, result.output
    assert "2026年10月" in result.output
    yield log_data, out
    get_settings.cache_clear()


def test_xlsx_numbers_match_the_database(october_report) -> None:
    data, out = october_report
    sql = Sql(data.url)
    wb = load_workbook(out / "madoguchi-report-2026-10.xlsx")
    assert wb.sheetnames[0] == "概要"
    summary = _sheet_values(wb["概要"])

    questions = sql.questions(WINDOW)
    assert questions > 100
    answers = sql.decision(WINDOW, "answer")
    candidates = sql.decision(WINDOW, "candidates")
    no_match = sql.decision(WINDOW, "no_match")
    selected = sql.selected_candidates(WINDOW)
    helpful, feedback = sql.helpful(WINDOW)
    assert candidates and selected and feedback  # the data exercises every figure
    expected = {
        "質問数": questions,
        "会話数": sql.conversations(WINDOW),
        "回答率": answers / questions,
        "候補選択率": selected / candidates,
        "該当なし率": no_match / questions,
        "役に立った率": helpful / feedback,
        "推定正答率": (answers + selected) / questions * (helpful / feedback),
    }
    p_questions = sql.questions(PREVIOUS)
    p_helpful, p_feedback = sql.helpful(PREVIOUS)
    previous = {
        "質問数": p_questions,
        "会話数": sql.conversations(PREVIOUS),
        "回答率": sql.decision(PREVIOUS, "answer") / p_questions,
        "該当なし率": sql.decision(PREVIOUS, "no_match") / p_questions,
        "役に立った率": _rate(p_helpful, p_feedback),
    }
    for label, value in expected.items():
        assert summary[label][0] == pytest.approx(value), label
    for label, value in previous.items():
        assert summary[label][1] == pytest.approx(value), label
        arrow = "↑" if expected[label] > value else "↓" if expected[label] < value else "→"
        assert summary[label][3] == arrow, label

    # The Japan-time month: 00:30 JST on 1 October counts, 00:30 JST on 1 November does not.
    assert (
        sql.scalar(
            "SELECT COUNT(*) FROM query_logs WHERE response_ms = 99999.0 AND created_at >= :s "
            "AND created_at < :e",
            **WINDOW,
        )
        == 0
    )

    # 12-month trend: the last two rows are September and October.
    trend = _table_rows(wb["概要"], "月")
    assert len(trend) == 12
    assert trend[-1][0] == "2026年10月" and trend[-1][1] == questions
    assert trend[-2][0] == "2026年9月" and trend[-2][1] == p_questions
    assert all(row[1] == 0 for row in trend[:-2])
    assert wb["概要"]._charts, "native Excel charts"

    # Operations.
    ops = _sheet_values(wb["運用"])
    rows = sql.scalar(f"SELECT COUNT(*) FROM query_logs WHERE {Sql.W}", **WINDOW)
    errors = sql.scalar(
        f"SELECT COUNT(*) FROM query_logs WHERE error IS NOT NULL AND {Sql.W}", **WINDOW
    )
    assert errors > 0
    assert ops["応答件数（全メッセージ）"][0] == rows
    assert ops["エラー件数"][0] == errors
    assert ops["稼働率（エラーなく応答できた割合）"][0] == pytest.approx((rows - errors) / rows)
    assert ops["応答時間 p50（ミリ秒）"][0] == pytest.approx(sql.percentile(WINDOW, 50))
    assert ops["応答時間 p95（ミリ秒）"][0] == pytest.approx(sql.percentile(WINDOW, 95))
    masked = sql.scalar(f"SELECT SUM(masked_count) FROM query_logs WHERE {Sql.W}", **WINDOW)
    assert masked > 0
    assert ops["個人情報のマスキング件数"][0] == masked
    audit = {"s": WINDOW["s"], "e": WINDOW["e"]}
    failed = sql.scalar(
        "SELECT COUNT(*) FROM audit_logs WHERE action='login_failed' AND at >= :s AND at < :e",
        **audit,
    )
    locked = sql.scalar(
        "SELECT COUNT(*) FROM audit_logs WHERE action='account_locked' AND at >= :s AND at < :e",
        **audit,
    )
    assert (failed, locked) == (3, 1)
    assert ops["ログイン失敗"][0] == failed
    assert ops["アカウントロック"][0] == locked

    # Most viewed QA.
    top_qa = sql.rows(
        "SELECT qa_shown, COUNT(*) FROM query_logs WHERE decision='answer' AND qa_shown IS NOT "
        f"NULL AND {Sql.W} GROUP BY qa_shown ORDER BY COUNT(*) DESC, qa_shown LIMIT 20",
        **WINDOW,
    )
    sheet = _table_rows(wb["よく見られたQA"], "QA（質問文）")
    assert [(row[2], row[1]) for row in sheet] == [(qa, n) for qa, n in top_qa]

    # By department (no_match questions belong to no department).
    by_department = dict(
        sql.rows(
            "SELECT COALESCE(d.name, '（部署なし）'), COUNT(*) FROM query_logs q LEFT JOIN "
            "departments d ON d.id = q.department_id AND q.decision <> 'no_match' "
            "WHERE q.kind='message' AND q.created_at >= :s AND q.created_at < :e "
            "GROUP BY COALESCE(d.name, '（部署なし）')",
            **WINDOW,
        )
    )
    sheet = {row[0]: row[1] for row in _table_rows(wb["部署別"], "部署")}
    assert sheet == by_department
    assert sum(sheet.values()) == questions

    # Daily rows add up to the month.
    daily = _table_rows(wb["日別"], "日付")
    assert len(daily) == 31 and daily[0][0] == "2026-10-01"
    assert sum(row[1] for row in daily) == questions

    # Staff changes: one QA added, one edited, one archived, one synonym group.
    changes = {row[0]: row[1:] for row in _table_rows(wb["職員の更新"], "部署")}
    assert changes["合計"] == (1, 1, 1, 1)
    assert changes["環境課"][:2] == (1, 1)
    assert changes["税務課"][2] == 1

    # Accuracy: September's run is stored; archiving MD-0007 made its query worse.
    accuracy = _sheet_values(wb["精度"])
    assert accuracy["Hit@1"][1] is not None and accuracy["Hit@1"][0] < accuracy["Hit@1"][1]
    worse = _table_rows(wb["精度"], "質問")
    assert [row[0] for row in worse] == ["住民税を納付したい"]
    stored = sql.scalar(
        "SELECT COUNT(*) FROM app_settings "
        "WHERE key IN ('regression:2026-09', 'regression:2026-10')"
    )
    assert stored == 2

    # Suggested actions come from the data.
    actions = [
        row[0] for row in wb["推奨アクション"].iter_rows(min_row=4, values_only=True) if row[0]
    ]

    # The unanswered groups come from qa_data.unanswered (similarity grouping): the passport
    # group holds at least the exact wording and at most every wording of it.
    def passport(pattern: str) -> int:
        return sql.scalar(
            f"SELECT COUNT(*) FROM query_logs WHERE text LIKE :p AND decision='no_match' "
            f"AND {Sql.W}",
            p=pattern,
            **WINDOW,
        )

    groups = {row[0]: row[1] for row in _table_rows(wb["未回答TOP20"], "質問（代表的な表現）")}
    group = groups["パスポートを更新したい"]
    assert passport("パスポートを更新したい") <= group <= passport("パスポート%")
    assert any(
        f"『パスポートを更新したい』に関する未回答が{group}件：QAの追加を推奨" in a for a in actions
    )
    assert any("回帰セットで結果が悪化した質問が1件" in a for a in actions)
    assert any("アカウントロックが1件" in a for a in actions)


def test_html_renders_in_chromium(october_report, browser) -> None:
    _data, out = october_report
    html_path = out / "madoguchi-report-2026-10.html"
    html = html_path.read_text(encoding="utf-8")
    assert "@page" in html and "A4" in html
    assert "http://" not in html and "https://" not in html  # self-contained
    assert html.count("data:image/png;base64,") >= 6
    OUTPUT_DIR.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 900, "height": 1200})
    try:
        page = context.new_page()
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(html_path.as_uri())
        assert page.locator("h1").inner_text().endswith("月次レポート（2026年10月）")
        headings = page.locator("h2").all_inner_texts()
        assert headings == [
            "1. 概要",
            "2. 回答精度（回帰セット）",
            "3. 利用状況",
            "4. 職員による更新",
            "5. 運用状況",
            "6. 推奨アクション",
        ]
        widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        assert widths and all(w > 100 for w in widths)
        assert all(url.startswith(("file:", "data:")) for url in requests)
        page.screenshot(path=str(OUTPUT_DIR / "monthly-report-2026-10.png"), full_page=True)
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4", print_background=True)
        (OUTPUT_DIR / "monthly-report-2026-10.pdf").write_bytes(pdf)
    finally:
        context.close()
    assert (OUTPUT_DIR / "monthly-report-2026-10.png").stat().st_size > 50_000
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 3  # several A4 pages


def test_empty_month_gives_a_clear_report(use_store: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--month", "2026-03", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "利用記録はありません" in result.output
    wb = load_workbook(tmp_path / "madoguchi-report-2026-03.xlsx")
    summary = _sheet_values(wb["概要"])
    assert "この月の利用記録はありません。" in summary
    assert summary["質問数"][0] == 0
    assert summary["回答率"][0] == "－"
    actions = [
        row[0] for row in wb["推奨アクション"].iter_rows(min_row=4, values_only=True) if row[0]
    ]
    assert actions and "利用記録がありません" in actions[0]
    html = (tmp_path / "madoguchi-report-2026-03.html").read_text(encoding="utf-8")
    assert "この月の利用記録はありません" in html
    assert "2026年3月" in html


def test_bad_month_is_a_usage_error(use_store: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["report", "--month", "2026-13", "--out", str(out)])
    assert result.exit_code == 2
    assert "YYYY-MM" in result.output or "存在しない月" in result.output
    assert not out.exists()
