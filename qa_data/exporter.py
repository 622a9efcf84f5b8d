"""QA export to ``.xlsx`` or ``.csv`` (UTF-8 with BOM by default), in the import columns.

The output imports back unchanged (``--dry-run`` reports no changes). With an encoding that
cannot hold every character (CP932 has no emoji and no U+301C 〜), nothing is written and every
affected cell is listed: the file is never silently lossy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from qa_data import db
from qa_data.models import Department, QAEntry, QAStatus
from qa_data.qa_store import entry_snapshot
from qa_data.qa_table import COLUMNS, HEADER, entry_cells, parse_status
from qa_data.spreadsheet import output_format, unwritable_messages, write_table


@dataclass
class ExportReport:
    path: str
    format: str
    encoding: str | None
    count: int = 0
    errors: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_status_filter(text: str) -> QAStatus | None:
    value = text.strip().lower()
    for status in QAStatus:
        if value == status.value:
            return status
    return parse_status(text) if text.strip() else None


def export_qa(
    path: str | Path,
    *,
    url: str | None = None,
    format: str | None = None,
    encoding: str | None = None,
    department: str | None = None,
    category: str | None = None,
    status: str | None = None,
    actor: str | None = None,
) -> ExportReport:
    """Write the (filtered) entries; ``spreadsheet.FormatError`` propagates (usage error)."""
    report = ExportReport(str(path), *output_format(path, format, encoding))
    wanted_status = None
    if status:
        wanted_status = parse_status_filter(status)
        if wanted_status is None:
            report.errors.append(
                f"--status「{status}」が分かりません（published/draft/archived、"
                "または 公開/非公開/アーカイブ）。"
            )
            return report

    with db.session_scope(url) as session:
        query = select(QAEntry).options(selectinload(QAEntry.department)).order_by(QAEntry.id)
        if department:
            found = session.scalar(select(Department).where(Department.name == department))
            if found is None:
                report.errors.append(f"部署「{department}」は登録されていません。")
                return report
            query = query.where(QAEntry.department_id == found.id)
        if category:
            major, _, minor = category.partition("/")
            if minor:
                query = query.where(
                    QAEntry.category_major == major, QAEntry.category_minor == minor
                )
            else:
                query = query.where(QAEntry.category_major == major)
        if wanted_status is not None:
            query = query.where(QAEntry.status == wanted_status)
        entries = session.scalars(query).all()
        rows = [entry_cells(entry_snapshot(entry), entry.external_id) for entry in entries]
        ids = [entry.external_id for entry in entries]

        report.errors.extend(
            unwritable_messages(rows, HEADER, report.format, report.encoding, ids.__getitem__)
        )
        if report.errors:
            if report.format == "csv":
                report.errors.append(
                    "これらの文字を直すか、UTF-8（既定）または .xlsx で書き出してください。"
                    "何も書き出していません。"
                )
            return report

        write_table(
            path,
            HEADER,
            rows,
            format=report.format,
            encoding=report.encoding,
            sheet_title="QA",
            column_widths=[column.width for column in COLUMNS],
            wrap_columns=[index for index, column in enumerate(COLUMNS) if column.wrap],
        )
        report.count = len(rows)
        report.written = True
        from qa_data.importer import default_actor, record_audit

        record_audit(
            session,
            actor=actor or default_actor(),
            action="export",
            target=Path(path).name,
            detail={
                "count": report.count,
                "format": report.format,
                "department": department,
                "category": category,
                "status": status,
            },
        )
    return report


def format_export_report(report: ExportReport) -> list[str]:
    if report.errors:
        return ["書き出せませんでした:", *(f"  {error}" for error in report.errors)]
    encoding = f"、文字コード {report.encoding}" if report.encoding else ""
    return [
        f"{report.count:,} 件を「{report.path}」に書き出しました（{report.format}{encoding}）。"
    ]
