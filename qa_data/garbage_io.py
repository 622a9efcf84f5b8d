"""Garbage-sorting dictionary import and export.

Accepted layouts (recognised by their headers, in ``.csv`` or ``.xlsx``):

- Tsu City's open data: ``ID,並び順,50音,品目,分別区分,分別区分（略称）,出し方のポイント``
- the "5374" app's ``target.csv``: ``type,name,notice,furigana`` (often Shift_JIS)
- our own export: ``品目,読み,分別区分,出し方,備考``

Without ``replace``, the file is merged into the dictionary: a row updates an item with the same
品目 and 分別区分 (each existing item matches at most one row, so a file that lists an item twice
keeps both), other rows are added. With ``replace``, the dictionary becomes exactly the file.
Every problem is reported with its row number; when there is any, nothing is written.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, select

from qa_data import db
from qa_data.exporter import ExportReport
from qa_data.importer import default_actor, read_import_table, record_audit, report_opening
from qa_data.models import GarbageItem
from qa_data.qa_store import clean_text
from qa_data.settings import Settings
from qa_data.spreadsheet import output_format, unwritable_messages, write_table

FIELDS = ("name", "reading", "category", "how_to", "notes")
HEADER = ["品目", "読み", "分別区分", "出し方", "備考"]
LABELS = dict(zip(FIELDS, HEADER, strict=True))
LIMITS = {"name": 200, "reading": 200, "category": 100}
_ALIASES = {
    "name": ("品目", "name", "品名", "品目名", "ごみの名前"),
    "reading": ("読み", "furigana", "よみ", "読み仮名", "ふりがな", "reading", "カナ"),
    "category": ("分別区分", "type", "区分", "分別", "category", "出し方区分"),
    "how_to": ("出し方", "出し方のポイント", "notice", "how_to", "出し方のポイント・注意"),
    "notes": ("備考", "notes", "note", "注意"),
}


def _key(text: str) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text or "")).casefold()


_LOOKUP = {_key(alias): name for name, aliases in _ALIASES.items() for alias in aliases}


def _is_header(cells: list[str]) -> bool:
    keys = {_LOOKUP.get(_key(cell)) for cell in cells}
    return "name" in keys and "category" in keys


@dataclass
class GarbageReport:
    source: str
    encoding: str | None = None
    sheet: str | None = None
    rows: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    dry_run: bool = False
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def import_garbage(
    path: str | Path,
    *,
    url: str | None = None,
    replace: bool = False,
    dry_run: bool = False,
    format: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    actor: str | None = None,
    settings: Settings | None = None,
) -> GarbageReport:
    report = GarbageReport(source=Path(path).name, dry_run=dry_run)
    table = read_import_table(
        path, report, _is_header, settings, format=format, sheet=sheet, encoding=encoding
    )
    if table is None:
        return report

    columns: dict[str, int] = {}
    ignored = []
    for index, header in enumerate(table.header):
        name = _LOOKUP.get(_key(header))
        if name is None or name in columns:
            if header:
                ignored.append(f"「{header}」")
        else:
            columns[name] = index
    if ignored:
        report.warnings.append(f"列{'、'.join(ignored)}は使わないため無視します。")

    items: list[dict[str, str | None]] = []
    for row in table.rows:
        values = {name: clean_text(row.get(columns.get(name))) for name in FIELDS}
        for name in ("name", "category"):
            if not values[name]:
                report.errors.append(f"{row.number}行目「{LABELS[name]}」が空です")
        for name, limit in LIMITS.items():
            if len(values[name]) > limit:
                report.errors.append(
                    f"{row.number}行目「{LABELS[name]}」が長すぎます（上限は{limit}文字です）"
                )
        items.append({name: (values[name] or None) for name in FIELDS})
    if not table.rows:
        report.errors.append("データの行がありません（見出し行の下に1行以上必要です）。")
    if report.errors:
        return report

    with db.session_scope(url) as session:
        existing = list(session.scalars(select(GarbageItem).order_by(GarbageItem.id)))
        if replace:
            report.removed = len(existing)
            report.new = len(items)
            if not dry_run:
                session.execute(delete(GarbageItem))
                session.add_all(GarbageItem(**item) for item in items)
        else:
            _merge(session, existing, items, report, write=not dry_run)
        if dry_run:
            session.rollback()
            return report
        record_audit(
            session,
            actor=actor or default_actor(),
            action="garbage_update",
            target=report.source,
            detail={
                "replace": replace,
                "new": report.new,
                "updated": report.updated,
                "removed": report.removed,
            },
        )
    report.written = True
    return report


def _merge(session, existing, items, report: GarbageReport, *, write: bool) -> None:
    by_key: dict[tuple[str, str], list[GarbageItem]] = defaultdict(list)
    for item in existing:
        by_key[item.name, item.category].append(item)
    for values in items:
        candidates = by_key.get((values["name"], values["category"]))
        if not candidates:
            report.new += 1
            if write:
                session.add(GarbageItem(**values))
            continue
        item = candidates.pop(0)
        if all(getattr(item, name) == values[name] for name in FIELDS):
            report.unchanged += 1
            continue
        report.updated += 1
        if write:
            for name in FIELDS:
                setattr(item, name, values[name])


def format_garbage_report(report: GarbageReport) -> list[str]:
    source = f"「{report.source}」" + (
        f"（文字コード {report.encoding}）" if report.encoding else ""
    )
    lines = report_opening(report, source)
    if report.errors:
        return lines
    counts = f"新規 {report.new:,} 件、更新 {report.updated:,} 件、変更なし {report.unchanged:,} 件"
    if report.removed:
        counts += f"、置き換えで削除 {report.removed:,} 件"
    if report.dry_run:
        lines.append(f"確認のみ（--dry-run）: {counts}。何も書き込んでいません。")
    else:
        lines.append(f"ごみ分別辞書を取り込みました: {counts}。")
    return lines


def export_garbage(
    path: str | Path,
    *,
    url: str | None = None,
    format: str | None = None,
    encoding: str | None = None,
) -> ExportReport:
    """Write the dictionary in our own layout (``品目,読み,分別区分,出し方,備考``)."""
    report = ExportReport(str(path), *output_format(path, format, encoding))
    with db.session_scope(url) as session:
        items = list(session.scalars(select(GarbageItem).order_by(GarbageItem.id)))
        rows = [[getattr(item, name) or "" for name in FIELDS] for item in items]
    report.errors.extend(
        unwritable_messages(
            rows,
            HEADER,
            report.format,
            report.encoding,
            lambda row: f"{row + 2}行目（{rows[row][0]}）",
        )
    )
    if report.errors:
        return report
    write_table(
        path,
        HEADER,
        rows,
        format=report.format,
        encoding=report.encoding,
        sheet_title="ごみ分別",
        column_widths=[30, 24, 18, 50, 30],
        wrap_columns=[3, 4],
    )
    report.count = len(rows)
    report.written = True
    return report
