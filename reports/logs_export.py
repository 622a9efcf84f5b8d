"""The query-log viewer's rows and their CSV/xlsx export: masked text only.

``QueryLog.text`` is masked before it is stored (``bot.privacy``) and session ids are hashed
(``qa_data.chat_log``), so the export holds nothing a resident typed unmasked. Times are shown in
Japan time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_data.models import Department, QueryLog
from reports.periods import utc_to_jst

COLUMNS = (
    ("id", "ID"),
    ("created_at", "日時（日本時間）"),
    ("session", "会話ID（匿名化）"),
    ("channel", "経路"),
    ("kind", "種類"),
    ("text", "質問（マスキング済み）"),
    ("masked_count", "マスキング数"),
    ("decision", "判定"),
    ("qa", "表示したQA"),
    ("department", "部署"),
    ("category", "分類"),
    ("response_ms", "応答時間（ミリ秒）"),
    ("error", "エラー"),
)
MAX_ROWS = 200_000


@dataclass
class LogFilter:
    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive
    decisions: Sequence[str] = ()
    kinds: Sequence[str] = ()
    text: str = ""
    department_id: int | None = None
    errors_only: bool = False


def query_log_rows(session: Session, flt: LogFilter, limit: int = MAX_ROWS) -> list[dict[str, Any]]:
    stmt = select(QueryLog).where(QueryLog.created_at >= flt.start, QueryLog.created_at < flt.end)
    if flt.decisions:
        stmt = stmt.where(QueryLog.decision.in_(list(flt.decisions)))
    if flt.kinds:
        stmt = stmt.where(QueryLog.kind.in_(list(flt.kinds)))
    if flt.text.strip():
        stmt = stmt.where(QueryLog.text.contains(flt.text.strip(), autoescape=True))
    if flt.department_id is not None:
        stmt = stmt.where(QueryLog.department_id == flt.department_id)
    if flt.errors_only:
        stmt = stmt.where(QueryLog.error.is_not(None))
    stmt = stmt.order_by(QueryLog.created_at.desc(), QueryLog.id.desc()).limit(limit)
    names = dict(session.execute(select(Department.id, Department.name)).all())
    rows = []
    for log in session.scalars(stmt):
        rows.append(
            {
                "id": log.id,
                "created_at": utc_to_jst(log.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                "session": (log.session_id or "")[:12],
                "channel": log.channel,
                "kind": log.kind,
                "text": log.text,
                "masked_count": log.masked_count,
                "decision": log.decision or "",
                "qa": log.qa_shown or log.qa_selected or "",
                "department": names.get(log.department_id, "") if log.department_id else "",
                "category": log.category or "",
                "response_ms": log.response_ms,
                "error": log.error or "",
            }
        )
    return rows


def rows_to_csv(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with BOM, so that Excel opens the Japanese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label for _, label in COLUMNS])
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key, _ in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def rows_to_xlsx(rows: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("問い合わせログ")
    ws.append([label for _, label in COLUMNS])
    for row in rows:
        ws.append([_cell(row.get(key)) for key, _ in COLUMNS])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # no formula injection when the file is opened in Excel
    return value


def table_csv(
    rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]] | None = None
) -> bytes:
    """Any statistics table as CSV (UTF-8 with BOM)."""
    if columns is None:
        columns = [(key, key) for key in (rows[0].keys() if rows else [])]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label for _, label in columns])
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key, _ in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
