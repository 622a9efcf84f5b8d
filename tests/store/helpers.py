"""Helpers for the store tests: spreadsheet files and a fingerprint of the whole database."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select

from qa_data import db
from qa_data.models import AuditLog, Department, GarbageItem, QAEntry, QARevision

HEADER = [
    "ID",
    "部署",
    "カテゴリ",
    "質問",
    "別の聞き方",
    "回答",
    "関連リンク",
    "キーワード",
    "公開",
]
# Characters staff really type and a naive pipeline damages: 旧字体, half-width kana, emoji,
# line breaks, full-width space inside a cell, characters that look like formulas.
SPECIAL_QUESTION = "髙橋さんと山﨑さんの住民票 ｼﾞｭｳﾐﾝﾋｮｳ 😀🏠\n二行目　全角スペース"
SPECIAL_ANSWER = "- 窓口: 市民課（本庁舎1階）\n- **持ち物**: 本人確認書類\n\n手数料 300円 ﾃｽｳﾘｮｳ 👍"


def write_csv(path: Path, rows: Sequence[Sequence[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[object]], title: str = "QA") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def qa_row(
    external_id: str = "",
    question: str = "住民票の写しはどこで取れますか",
    answer: str = "市民課の窓口で取れます。",
    department: str = "市民課",
    category: str = "住民票・戸籍/住民票",
    alternates: str = "住民票がほしい\n住民票を取りたい",
    links: str = "https://www.city.midori.example.jp/juminhyo",
    keywords: str = "住民票、写し",
    published: str = "公開",
) -> list[str]:
    return [
        external_id,
        department,
        category,
        question,
        alternates,
        answer,
        links,
        keywords,
        published,
    ]


def fingerprint(url: str) -> dict[str, list[tuple]]:
    """Everything import/export may touch, as plain tuples (to assert "nothing written")."""
    with db.session_scope(url) as session:
        return {
            "departments": [
                (d.id, d.name) for d in session.scalars(select(Department).order_by(Department.id))
            ],
            "entries": [
                (e.id, e.external_id, e.version, e.question, e.answer, e.status.value)
                for e in session.scalars(select(QAEntry).order_by(QAEntry.id))
            ],
            "revisions": [
                (r.id, r.qa_id, r.version)
                for r in session.scalars(select(QARevision).order_by(QARevision.id))
            ],
            "garbage": [
                (g.id, g.name, g.category)
                for g in session.scalars(select(GarbageItem).order_by(GarbageItem.id))
            ],
            "audit": [a.id for a in session.scalars(select(AuditLog).order_by(AuditLog.id))],
        }


def entries(url: str) -> dict[str, dict]:
    from qa_data.qa_store import entry_snapshot

    with db.session_scope(url) as session:
        return {
            e.external_id: entry_snapshot(e)
            for e in session.scalars(select(QAEntry).order_by(QAEntry.id))
        }


def set_cached_values(path: Path, values: dict[str, tuple[str, str]]) -> None:
    """Store cached results for formula cells the way Excel does (``{"E4": ("b", "1")}``:
    type and value); openpyxl writes formulas without results and cannot compute them."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    xml = contents["xl/worksheets/sheet1.xml"].decode()
    for reference, (kind, value) in values.items():
        pattern = rf'<c r="{reference}"[^>]*><f>(.*?)</f><v ?/></c>'
        replacement = rf'<c r="{reference}" t="{kind}"><f>\1</f><v>{value}</v></c>'
        xml, count = re.subn(pattern, replacement, xml)
        assert count == 1, reference
    contents["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
