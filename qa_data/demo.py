"""``madoguchi seed-demo``: load the fictional demo city (みどり市) from ``qa_data/demo/``.

The demo files are ordinary import files: ``departments.csv`` (部署, 電話, 受付時間, メール),
``demo_city_qa.xlsx`` (the QA spreadsheet staff see as the example of the format) and
``demo_garbage.csv`` (the garbage dictionary). Seeding refuses when the store already has QA
entries or garbage items, unless ``force``: then entries with the demo's IDs are overwritten
(with revisions), other entries stay, and the garbage dictionary is replaced.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from qa_data import db
from qa_data.garbage_io import format_garbage_report, import_garbage
from qa_data.importer import format_report, import_qa
from qa_data.models import Department, GarbageItem, QAEntry
from qa_data.qa_store import clean_text
from qa_data.spreadsheet import SpreadsheetError, read_table

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEPARTMENTS_FILE = "departments.csv"
QA_FILE = "demo_city_qa.xlsx"
GARBAGE_FILE = "demo_garbage.csv"
ACTOR = "seed-demo"

_DEPARTMENT_ALIASES = {
    "name": ("部署", "部署名", "name", "department", "課名"),
    "phone": ("電話", "電話番号", "phone", "tel"),
    "opening_hours": ("受付時間", "開庁時間", "窓口時間", "opening_hours", "hours"),
    "email": ("メール", "メールアドレス", "email", "e-mail", "mail"),
}


def _key(text: str) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text or "")).casefold()


_LOOKUP = {_key(alias): name for name, aliases in _DEPARTMENT_ALIASES.items() for alias in aliases}


@dataclass
class SeedReport:
    errors: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def seed_demo(
    url: str | None = None, *, force: bool = False, demo_dir: Path = DEMO_DIR
) -> SeedReport:
    report = SeedReport()
    missing = [n for n in (DEPARTMENTS_FILE, QA_FILE, GARBAGE_FILE) if not (demo_dir / n).is_file()]
    if missing:
        report.errors.append(
            f"デモデータのファイルがありません: {', '.join(missing)}（{demo_dir}）"
        )
        return report
    with db.session_scope(url) as session:
        entries = session.scalar(select(func.count()).select_from(QAEntry))
        items = session.scalar(select(func.count()).select_from(GarbageItem))
    if (entries or items) and not force:
        report.errors.append(
            f"データがすでにあります（QA {entries:,} 件、ごみ分別 {items:,} 件）。"
            "デモデータで上書きしてよい場合は --force を付けて実行してください。"
        )
        return report

    try:
        departments = _read_departments(demo_dir / DEPARTMENTS_FILE)
    except SpreadsheetError as error:
        report.errors.append(str(error))
        return report
    # Validate everything before writing anything.
    qa_check = import_qa(demo_dir / QA_FILE, url=url, dry_run=True)
    garbage_check = import_garbage(demo_dir / GARBAGE_FILE, url=url, replace=True, dry_run=True)
    if not qa_check.ok or not garbage_check.ok:
        report.errors += format_report(qa_check) if not qa_check.ok else []
        report.errors += format_garbage_report(garbage_check) if not garbage_check.ok else []
        return report

    with db.session_scope(url) as session:
        for values in departments:
            department = session.scalar(select(Department).where(Department.name == values["name"]))
            if department is None:
                session.add(Department(**values))
            else:
                for name, value in values.items():
                    setattr(department, name, value)
    report.lines.append(f"部署: {len(departments)} 件")
    qa = import_qa(demo_dir / QA_FILE, url=url, actor=ACTOR)
    report.lines += format_report(qa)
    garbage = import_garbage(demo_dir / GARBAGE_FILE, url=url, replace=True, actor=ACTOR)
    report.lines += format_garbage_report(garbage)
    report.errors += [*([] if qa.ok else qa.errors), *([] if garbage.ok else garbage.errors)]
    return report


def _read_departments(path: Path) -> list[dict[str, str | None]]:
    def is_header(cells: list[str]) -> bool:
        return "name" in {_LOOKUP.get(_key(cell)) for cell in cells}

    table = read_table(path, is_header=is_header)
    columns = {}
    for index, header in enumerate(table.header):
        name = _LOOKUP.get(_key(header))
        if name and name not in columns:
            columns[name] = index
    departments = []
    for row in table.rows:
        values = {name: clean_text(row.get(index)) or None for name, index in columns.items()}
        if values.get("name"):
            departments.append(values)
    return departments
