"""Log retention (``madoguchi logs prune``) and the query-log export (masked text only)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from qa_data.chat_log import record_feedback, record_query
from qa_data.cli import _register_all, app
from qa_data.db import session_scope
from qa_data.models import utcnow
from qa_data.retention import prune_logs

_register_all()
runner = CliRunner()


def _seed_ages(url: str, ages_days: list[float]) -> dict[float, int]:
    now = utcnow()
    ids = {}
    with session_scope(url) as session:
        for age in ages_days:
            moment = now - timedelta(days=age)
            row = record_query(
                session,
                session_id=f"s{age}",
                text=f"{age}日前の質問",
                decision="answer",
                qa_shown="MD-0001",
                created_at=moment,
            )
            record_feedback(
                session,
                session_id=f"s{age}",
                helpful=True,
                qa_external_id="MD-0001",
                query_log_id=row.id,
                created_at=moment,
            )
            ids[age] = row.id
    return ids


def _counts(url: str) -> tuple[list[str], int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        texts = [r[0] for r in connection.execute(text("SELECT text FROM query_logs ORDER BY id"))]
        feedback = connection.execute(text("SELECT COUNT(*) FROM feedback")).scalar()
    engine.dispose()
    return texts, feedback


def test_prune_deletes_only_entries_older_than_the_retention(store_url: str) -> None:
    _seed_ages(store_url, [1, 200, 399, 401, 800])
    with session_scope(store_url) as session:
        result = prune_logs(session, days=400, actor="test")
    assert (result.query_logs, result.feedback) == (2, 2)
    texts, feedback = _counts(store_url)
    assert texts == ["1日前の質問", "200日前の質問", "399日前の質問"]
    assert feedback == 3
    engine = create_engine(store_url)
    with engine.connect() as connection:
        audit = connection.execute(
            text("SELECT actor FROM audit_logs WHERE action = 'retention'")
        ).all()
    engine.dispose()
    assert [row[0] for row in audit] == ["test"]


def test_prune_command_uses_the_configured_retention(use_store: str, monkeypatch) -> None:
    from qa_data.settings import get_settings

    _seed_ages(use_store, [10, 50, 400.5])
    dry = runner.invoke(app, ["logs", "prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "問い合わせログ 1 件" in dry.output
    assert len(_counts(use_store)[0]) == 3  # nothing deleted by a dry run

    monkeypatch.setenv("MADOGUCHI_LOGS__RETENTION_DAYS", "30")
    get_settings.cache_clear()
    result = runner.invoke(app, ["logs", "prune"])
    assert result.exit_code == 0, result.output
    assert "問い合わせログ 2 件" in result.output
    assert _counts(use_store)[0] == ["10日前の質問"]


def test_export_has_masked_text_only(use_store: str, tmp_path: Path) -> None:
    now = utcnow()
    with session_scope(use_store) as session:
        record_query(
            session,
            session_id="resident-1",
            text="住民票について。電話は090-1234-5678、メールはtaro@example.jpです",
            decision="no_match",
            created_at=now - timedelta(hours=1),
        )
        record_query(
            session,
            session_id="resident-2",
            text="粗大ごみの出し方",
            decision="answer",
            qa_shown="MD-0005",
            created_at=now - timedelta(hours=1),
        )
    from reports.periods import utc_to_jst

    today = utc_to_jst(now).date()
    first = (today - timedelta(days=1)).isoformat()
    out = tmp_path / "logs.csv"
    result = runner.invoke(
        app, ["logs", "export", "--from", first, "--to", today.isoformat(), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    content = out.read_bytes().decode("utf-8-sig")
    assert "090-1234-5678" not in content and "taro@example.jp" not in content
    assert "resident-1" not in content  # session ids are anonymised
    rows = list(csv.DictReader(io.StringIO(content)))
    assert len(rows) == 2
    masked = next(r for r in rows if r["判定"] == "no_match")
    assert "[電話番号]" in masked["質問（マスキング済み）"]
    assert int(masked["マスキング数"]) >= 2

    filtered = tmp_path / "logs.xlsx"
    result = runner.invoke(
        app,
        [
            "logs", "export", "--from", first, "--to", today.isoformat(),
            "--out", str(filtered), "--decision", "answer",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sheet = load_workbook(filtered).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 2 and values[1][5] == "粗大ごみの出し方"
    engine = create_engine(use_store)
    with engine.connect() as connection:
        exports = connection.execute(
            text("SELECT COUNT(*) FROM audit_logs WHERE action = 'logs_export'")
        ).scalar()
    engine.dispose()
    assert exports == 2


def test_export_rejects_bad_dates(use_store: str, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    result = runner.invoke(
        app, ["logs", "export", "--from", "2026-10-31", "--to", "2026-10-01", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert not out.exists()
