"""QA import from a spreadsheet: validate every row, then write all of it or nothing.

- Columns are matched by their Japanese header or English alias (``qa_table.COLUMNS``); unknown
  columns are reported as warnings and ignored. 質問 and 回答 are required.
- A row with an ID updates that entry (recording a revision) or creates it under that ID; a row
  without one creates an entry with a generated ID (``QA-000123``).
- 部署: a blank cell means the default department: ``department`` (``--department``) when given,
  else ``settings.default_department``. A department that does not exist yet is created (and
  the report says so) unless ``strict``, where it is an error.
- A column missing from the file leaves that field of existing entries as it is; new entries get
  the default (empty, 公開, the default department).
- Every problem is reported (row number as the spreadsheet shows it, column, in Japanese); when
  there is any, nothing is written. The write is one transaction.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from qa_data import db
from qa_data.models import Department, QAEntry
from qa_data.qa_store import (
    SNAPSHOT_FIELDS,
    clean_list,
    clean_text,
    create_entries,
    entry_snapshot,
    external_id_allocator,
    save_entry,
)
from qa_data.qa_table import (
    COLUMNS,
    LABELS,
    column_key,
    is_qa_header,
    link_url,
    parse_status,
    split_category,
    split_keywords,
)
from qa_data.settings import Settings, get_settings
from qa_data.spreadsheet import Row, SpreadsheetError, Table, read_table

ID_MAX_CHARS = 64
NAME_MAX_CHARS = 100  # departments and category names (the columns' sizes)


@dataclass
class Planned:
    row: int
    external_id: str | None  # None: generated on write
    question: str
    fields: dict[str, Any]
    changed_fields: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    source: str
    sheet: str | None = None
    encoding: str | None = None
    rows: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    new: list[Planned] = field(default_factory=list)
    changed: list[Planned] = field(default_factory=list)
    unchanged: list[Planned] = field(default_factory=list)
    new_departments: list[str] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


class TableReport(Protocol):
    """What an import report (QA or garbage) notes about the file it read."""

    sheet: str | None
    encoding: str | None
    rows: int
    errors: list[str]
    warnings: list[str]


def read_import_table(
    path: str | Path,
    report: TableReport,
    is_header: Callable[[list[str]], bool],
    settings: Settings | None,
    *,
    format: str | None,
    sheet: str | None,
    encoding: str | None,
) -> Table | None:
    """The file's table, its sheet, encoding and row count noted in ``report``; None when the
    file cannot be read (the reason is in ``report.errors``)."""
    try:
        table = read_table(
            path,
            is_header=is_header,
            format=format,
            sheet=sheet,
            encoding=encoding,
            max_bytes=(settings or get_settings()).limits.import_file_bytes,
        )
    except SpreadsheetError as error:
        report.errors.append(str(error))
        return None
    report.sheet, report.encoding, report.rows = table.sheet, table.encoding, len(table.rows)
    return table


def report_opening(report: TableReport, source: str) -> list[str]:
    """The first lines of an import report for staff: the file, warnings, and (when there are
    any) every error with the note that nothing was written."""
    lines = [f"{source}: データ {report.rows:,} 行"]
    lines += [f"注意: {warning}" for warning in report.warnings]
    if report.errors:
        lines.append(
            f"取り込めませんでした。次の {len(report.errors):,} 件の問題を直してから、"
            "もう一度実行してください（何も書き込んでいません）。"
        )
        lines += [f"  {error}" for error in report.errors]
    return lines


def default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def import_qa(
    path: str | Path,
    *,
    url: str | None = None,
    dry_run: bool = False,
    sheet: str | None = None,
    department: str | None = None,
    strict: bool = False,
    format: str | None = None,
    encoding: str | None = None,
    actor: str | None = None,
    settings: Settings | None = None,
) -> ImportReport:
    """Validate the file and (unless ``dry_run`` or invalid) write it in one transaction.

    ``spreadsheet.FormatError`` (an undeterminable format: a usage error) propagates.
    """
    settings = settings or get_settings()
    report = ImportReport(source=Path(path).name, dry_run=dry_run)
    table = read_import_table(
        path, report, is_qa_header, settings, format=format, sheet=sheet, encoding=encoding
    )
    if table is None:
        return report

    columns = _map_columns(table, report)
    parsed = [_parse_row(row, columns, report, settings) for row in table.rows]
    if not table.rows:
        report.errors.append("データの行がありません（見出し行の下に1行以上必要です）。")
    _check_duplicate_ids(parsed, report)

    with db.session_scope(url) as session:
        known = set(session.scalars(select(Department.name)))
        fallback = clean_text(department) or settings.default_department
        _check_departments(parsed, columns, known, fallback, strict, department, report)
        if report.errors:
            return report
        existing = _load_existing(session, [p.external_id for p in parsed if p.external_id])
        _plan(parsed, columns, existing, fallback, report)
        report.new_departments = sorted(
            {p.fields.get("department") for p in report.new + report.changed} - known - {None}
        )
        if dry_run or not (report.new or report.changed):
            return report
        _write(session, report, existing, actor or default_actor())
        _audit(session, report, actor or default_actor())
    report.written = True
    return report


# --- reading rows ---------------------------------------------------------------------------


def _map_columns(table: Table, report: ImportReport) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, header in enumerate(table.header):
        if not header:
            continue
        key = column_key(header)
        if key is None:
            report.warnings.append(f"列「{header}」は取り込みの対象外のため、無視します。")
        elif key in columns:
            report.errors.append(
                f"{table.header_row}行目: 列「{LABELS[key]}」が2つあります"
                f"（「{table.header[columns[key]]}」と「{header}」）。1つにしてください。"
            )
        else:
            columns[key] = index
    if "category" in columns:
        for extra in ("category_major", "category_minor"):
            if extra in columns:
                report.warnings.append(
                    f"列「{table.header[columns.pop(extra)]}」は「カテゴリ」列があるため無視します。"
                )
    return columns


@dataclass
class _Parsed:
    row: int
    external_id: str | None
    fields: dict[str, Any]


def _parse_row(
    row: Row, columns: dict[str, int], report: ImportReport, settings: Settings
) -> _Parsed:
    number = row.number
    limits = settings.limits

    def cell(key: str) -> str:
        return clean_text(row.get(columns.get(key)))

    def error(key: str, message: str) -> None:
        report.errors.append(f"{number}行目「{LABELS[key]}」{message}")

    fields: dict[str, Any] = {}
    external_id = cell("external_id") or None
    if external_id and (len(external_id) > ID_MAX_CHARS or "\n" in external_id):
        error("external_id", f"が正しくありません（改行なし・{ID_MAX_CHARS}文字以内）。")

    for key, limit in (("question", limits.question_chars), ("answer", limits.answer_chars)):
        value = cell(key)
        if not value:
            error(key, "が空です")
        elif len(value) > limit:
            error(key, f"が長すぎます（{len(value):,}文字。上限は{limit:,}文字です）")
        fields[key] = value

    if "alternate_questions" in columns:
        alternates = clean_list(cell("alternate_questions"))
        for position, text in enumerate(alternates, start=1):
            if len(text) > limits.question_chars:
                error(
                    "alternate_questions",
                    f"の{position}行目が長すぎます（{len(text):,}文字。"
                    f"上限は{limits.question_chars:,}文字です）",
                )
        fields["alternate_questions"] = alternates

    if "department" in columns:
        name = cell("department")
        if len(name) > NAME_MAX_CHARS:
            error("department", f"が長すぎます（上限は{NAME_MAX_CHARS}文字です）")
        fields["department"] = name  # blank: filled with the default later

    if "category" in columns:
        major, minor = split_category(cell("category"))
        fields["category_major"], fields["category_minor"] = major, minor
    else:
        for key in ("category_major", "category_minor"):
            if key in columns:
                fields[key] = cell(key) or None
    for key, label in (("category_major", "大分類"), ("category_minor", "中分類")):
        if len(fields.get(key) or "") > NAME_MAX_CHARS:
            report.errors.append(
                f"{number}行目「カテゴリ」の{label}が長すぎます（上限は{NAME_MAX_CHARS}文字です）"
            )

    if "links" in columns:
        links = clean_list(cell("links"))
        for link in links:
            if link_url(link) is None:
                error(
                    "links",
                    f"のURL「{link}」が正しくありません"
                    "（http:// か https:// で始まるURLを1行に1つ書いてください）",
                )
        fields["links"] = links

    if "keywords" in columns:
        fields["keywords"] = split_keywords(cell("keywords"))

    if "published" in columns:
        raw = cell("published")
        status = parse_status(raw)
        if status is None:
            error(
                "published",
                f"の値「{raw}」が分かりません"
                "（公開/非公開、1/0、TRUE/FALSE のいずれかにしてください）",
            )
        else:
            fields["status"] = status.value
    return _Parsed(number, external_id, fields)


def _check_duplicate_ids(parsed: list[_Parsed], report: ImportReport) -> None:
    first_row: dict[str, int] = {}
    for item in parsed:
        if not item.external_id:
            continue
        if item.external_id in first_row:
            report.errors.append(
                f"{item.row}行目「ID」「{item.external_id}」が"
                f"{first_row[item.external_id]}行目と重複しています"
            )
        else:
            first_row[item.external_id] = item.row


def _check_departments(
    parsed: list[_Parsed],
    columns: dict[str, int],
    known: set[str],
    fallback: str,
    strict: bool,
    option: str | None,
    report: ImportReport,
) -> None:
    if not strict:
        return
    if option and fallback not in known:
        report.errors.append(f"--department の部署「{fallback}」は登録されていません（--strict）")
    if "department" not in columns:
        return
    for item in parsed:
        name = item.fields.get("department")
        if name and name not in known:
            report.errors.append(
                f"{item.row}行目「部署」「{name}」は登録されていない部署です（--strict）"
            )


# --- planning and writing -------------------------------------------------------------------


def _load_existing(session: Session, external_ids: Iterable[str]) -> dict[str, QAEntry]:
    wanted = list(dict.fromkeys(external_ids))
    found: dict[str, QAEntry] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for entry in session.scalars(
            select(QAEntry)
            .options(selectinload(QAEntry.department))
            .where(QAEntry.external_id.in_(chunk))
        ):
            found[entry.external_id] = entry
    return found


def _plan(
    parsed: list[_Parsed],
    columns: dict[str, int],
    existing: dict[str, QAEntry],
    fallback: str,
    report: ImportReport,
) -> None:
    for item in parsed:
        fields = dict(item.fields)
        entry = existing.get(item.external_id) if item.external_id else None
        if "department" in fields:
            fields["department"] = fields["department"] or fallback
        elif entry is None:
            fields["department"] = fallback
        planned = Planned(item.row, item.external_id, fields["question"], fields)
        if entry is None:
            report.new.append(planned)
            continue
        before = entry_snapshot(entry)
        planned.changed_fields = [
            name for name in SNAPSHOT_FIELDS if name in fields and fields[name] != before[name]
        ]
        (report.changed if planned.changed_fields else report.unchanged).append(planned)


def _write(
    session: Session, report: ImportReport, existing: dict[str, QAEntry], actor: str
) -> None:
    generated = None
    new_items = []
    for planned in report.new:
        if planned.external_id is None:
            generated = generated or iter(external_id_allocator(session))
            planned.external_id = next(generated)
            while planned.external_id in existing:
                planned.external_id = next(generated)
        new_items.append((planned.external_id, planned.fields))
    create_entries(session, new_items, actor=actor, change="import")
    for planned in report.changed:
        save_entry(
            session,
            entry=existing[planned.external_id],
            fields=planned.fields,
            actor=actor,
            change="import",
            flush=False,
        )
    session.flush()


def _audit(session: Session, report: ImportReport, actor: str) -> None:
    detail = {
        "file": report.source,
        "new": len(report.new),
        "changed": len(report.changed),
        "unchanged": len(report.unchanged),
        "new_departments": report.new_departments,
    }
    record_audit(session, actor=actor, action="import", target=report.source, detail=detail)


def record_audit(session: Session, **values: Any) -> None:
    """The console's audit helper when present, else the audit row itself."""
    try:
        from qa_data.audit import record_audit as console_record_audit
    except ImportError:
        from qa_data.models import AuditLog

        session.add(AuditLog(**values))
        return
    console_record_audit(session, **values)


# --- the report, for staff ------------------------------------------------------------------


def format_report(report: ImportReport, *, limit: int | None = None) -> list[str]:
    """The report as Japanese lines; ``limit`` caps the listed rows per kind."""
    source = f"「{report.source}」" + (f"（シート「{report.sheet}」）" if report.sheet else "")
    if report.encoding:
        source += f"（文字コード {report.encoding}）"
    lines = report_opening(report, source)
    if report.errors:
        return lines
    counts = (
        f"新規 {len(report.new):,} 件、変更 {len(report.changed):,} 件、"
        f"変更なし {len(report.unchanged):,} 件"
    )
    for title, items in (("新規", report.new), ("変更", report.changed)):
        if items and (report.dry_run or limit):
            lines.append(f"{title}:")
            shown = items if limit is None else items[:limit]
            for planned in shown:
                lines.append(_planned_line(planned))
            if len(shown) < len(items):
                lines.append(f"  …ほか {len(items) - len(shown):,} 件")
    if report.new_departments:
        names = "、".join(f"「{name}」" for name in report.new_departments)
        lines.append(f"新しい部署を作成{'します' if report.dry_run else 'しました'}: {names}")
    if report.dry_run:
        lines.append(f"確認のみ（--dry-run）: {counts}。何も書き込んでいません。")
        if not (report.new or report.changed):
            lines.append("変更はありません。")
    elif report.written:
        lines.append(f"取り込みました: {counts}。")
    else:
        lines.append(f"変更はありません（{counts}）。")
    return lines


def _planned_line(planned: Planned) -> str:
    question = planned.question.replace("\n", " ")
    if len(question) > 40:
        question = question[:40] + "…"
    identifier = planned.external_id or "（IDは自動で付けます）"
    line = f"  {planned.row}行目 {identifier}「{question}」"
    if planned.changed_fields:
        labels = "、".join(dict.fromkeys(_field_label(name) for name in planned.changed_fields))
        line += f": {labels}"
    return line


def _field_label(name: str) -> str:
    if name in ("category_major", "category_minor"):
        return "カテゴリ"
    if name == "status":
        return "公開"
    return LABELS.get(name, name)


__all__ = ["COLUMNS", "ImportReport", "format_report", "import_qa"]
