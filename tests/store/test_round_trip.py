"""Export → import → export is exact, in .xlsx and in CSV in each encoding."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from qa_data import db
from qa_data.exporter import export_qa
from qa_data.importer import import_qa
from tests.store.helpers import (
    HEADER,
    SPECIAL_ANSWER,
    SPECIAL_QUESTION,
    entries,
    fingerprint,
    qa_row,
    write_csv,
)

FORMULA_LIKE = ["=1+1", "+81-3-0000-0000", "-リスト項目", "@SUM(A1)", "'=既に引用符", "'引用符"]


def source_rows(with_emoji: bool = True) -> list[list[str]]:
    question = SPECIAL_QUESTION if with_emoji else SPECIAL_QUESTION.replace("😀🏠", "")
    answer = SPECIAL_ANSWER if with_emoji else SPECIAL_ANSWER.replace(" 👍", "")
    rows = [
        HEADER,
        qa_row("MD-0001", question=question, answer=answer, department="髙﨑出張所"),
        qa_row(
            "MD-0002", question="児童手当の申請", answer="子育て支援課へ。①②③ ～ ㈱", published="0"
        ),
        qa_row(
            "", question="税の証明書", answer="税務課です。", category="税", published="アーカイブ"
        ),
        qa_row(
            "",
            question="部署なし",
            answer="未設定に入ります。",
            department="",
            category="",
            alternates="",
            links="",
            keywords="",
        ),
    ]
    for index, stored in enumerate(FORMULA_LIKE, start=1):
        # A CSV cell's leading apostrophe before = + - @ is the neutralisation: it is dropped.
        value = "'" + stored if stored.startswith("'=") else stored
        rows.append(
            qa_row(
                f"F-{index}",
                question=value,
                answer=value,
                alternates=value,
                keywords=value,
                category=f"{value}/中分類",
            )
        )
    return rows


def second_store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'second.db'}"
    db.upgrade(url)
    return url


def cells(path: Path, encoding: str | None = None) -> list[list[str]]:
    if path.suffix == ".xlsx":
        sheet = load_workbook(path).active
        return [[c.value or "" for c in row] for row in sheet.iter_rows()]
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize(
    ("suffix", "encoding"),
    [(".xlsx", None), (".csv", None), (".csv", "utf-8"), (".csv", "utf-8-sig"), (".csv", "cp932")],
)
def test_export_import_export_is_exact(
    store_url: str, tmp_path: Path, suffix: str, encoding: str | None
) -> None:
    with_emoji = encoding != "cp932"
    source = write_csv(tmp_path / "source.csv", source_rows(with_emoji))
    assert import_qa(source, url=store_url).ok
    original = entries(store_url)
    assert original["MD-0001"]["question"] == (
        SPECIAL_QUESTION if with_emoji else SPECIAL_QUESTION.replace("😀🏠", "")
    )
    assert original["MD-0001"]["department"] == "髙﨑出張所"
    assert original["MD-0002"]["status"] == "draft"
    assert original["F-5"]["question"] == "'=既に引用符"

    first = tmp_path / f"first{suffix}"
    report = export_qa(first, url=store_url, encoding=encoding)
    assert report.ok, report.errors
    assert report.count == len(original)

    # A dry run of a fresh export reports no changes, and a real import writes nothing.
    dry = import_qa(first, url=store_url, dry_run=True, encoding=encoding)
    assert dry.ok, dry.errors
    assert (len(dry.new), len(dry.changed), len(dry.unchanged)) == (0, 0, len(original))
    before = fingerprint(store_url)
    assert not import_qa(first, url=store_url, encoding=encoding).written
    assert fingerprint(store_url) == before

    # Into another, empty database: the same entries, and the same file again.
    other = second_store(tmp_path)
    assert import_qa(first, url=other, encoding=encoding).ok
    assert entries(other) == original
    second = tmp_path / f"second{suffix}"
    assert export_qa(second, url=other, encoding=encoding).ok
    if suffix == ".csv":
        assert second.read_bytes() == first.read_bytes()
    assert cells(second, encoding or "utf-8-sig") == cells(first, encoding or "utf-8-sig")


def test_csv_export_defaults_to_utf8_with_bom_and_neutralises_formulas(
    store_url: str, tmp_path: Path
) -> None:
    import_qa(write_csv(tmp_path / "source.csv", source_rows()), url=store_url)
    target = tmp_path / "out.csv"
    export_qa(target, url=store_url)
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    for value in ("'=1+1", "'+81-3-0000-0000", "'-リスト項目", "'@SUM(A1)", "''=既に引用符"):
        assert f"\r\n{value[:0]}" in text  # file uses CRLF between records
        assert value in text
    rows = list(csv.reader(text.splitlines()))
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_xlsx_export_never_writes_formulas(store_url: str, tmp_path: Path) -> None:
    import_qa(write_csv(tmp_path / "source.csv", source_rows()), url=store_url)
    target = tmp_path / "out.xlsx"
    export_qa(target, url=store_url)
    sheet = load_workbook(target).active
    formula_like = [
        c
        for row in sheet.iter_rows(min_row=2)
        for c in row
        if isinstance(c.value, str) and c.value[:1] in "=+-@"
    ]
    assert len(formula_like) >= 4 * 5
    for cell in formula_like:
        assert cell.data_type == "s"
        assert cell.quotePrefix
    assert sheet["A1"].value == "ID"
    assert sheet.freeze_panes == "A2"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_csv_source_encodings_are_detected(store_url: str, tmp_path: Path, encoding: str) -> None:
    rows = source_rows(with_emoji=encoding != "cp932")
    source = write_csv(tmp_path / "source.csv", rows, encoding=encoding)
    report = import_qa(source, url=store_url)
    assert report.ok, report.errors
    assert report.encoding == encoding
    stored = entries(store_url)
    assert stored["MD-0001"]["question"] == rows[1][3].strip()
    assert stored["MD-0002"]["answer"] == "子育て支援課へ。①②③ ～ ㈱"
    half_width = [e for e in stored.values() if "ｼﾞｭｳﾐﾝﾋｮｳ" in e["question"]]
    assert len(half_width) == 1


def test_encoding_option_overrides_detection(store_url: str, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "source.csv", source_rows(False), encoding="cp932")
    report = import_qa(source, url=store_url, encoding="Shift_JIS")
    assert report.ok, report.errors
    assert entries(store_url)["MD-0001"]["department"] == "髙﨑出張所"
    wrong = import_qa(source, url=store_url, encoding="utf-8", dry_run=True)
    assert not wrong.ok
    assert "utf-8 として読めません" in wrong.errors[0]


def test_cp932_export_names_every_unwritable_character(store_url: str, tmp_path: Path) -> None:
    rows = source_rows()
    rows.append(qa_row("WAVE", question="受付 9時〜17時", answer="ハイフン−マイナス"))
    import_qa(write_csv(tmp_path / "source.csv", rows), url=store_url)
    target = tmp_path / "out.csv"
    before = fingerprint(store_url)
    report = export_qa(target, url=store_url, encoding="cp932")
    assert not report.ok
    assert not target.exists()
    text = "\n".join(report.errors)
    assert (
        "MD-0001「質問」: 「😀」(U+1F600)、「🏠」(U+1F3E0) は文字コード cp932 では書き出せません"
        in text
    )
    assert "MD-0001「回答」: 「👍」(U+1F44D)" in text
    assert "WAVE「質問」: 「〜」(U+301C)" in text
    assert "WAVE「回答」: 「−」(U+2212)" in text
    assert "UTF-8（既定）または .xlsx" in text
    assert fingerprint(store_url) == before


def test_export_filters(store_url: str, tmp_path: Path) -> None:
    import_qa(write_csv(tmp_path / "source.csv", source_rows()), url=store_url)

    def exported(**filters: str) -> list[str]:
        target = tmp_path / "filtered.csv"
        report = export_qa(target, url=store_url, **filters)
        assert report.ok, report.errors
        return [row[0] for row in cells(target, "utf-8-sig")[1:]]

    assert exported(department="髙﨑出張所") == ["MD-0001"]
    assert exported(status="draft") == ["MD-0002"]
    assert exported(status="非公開") == ["MD-0002"]
    assert len(exported(status="archived")) == 1
    assert len(exported(category="税")) == 1
    assert exported(category="住民票・戸籍/住民票") == ["MD-0001", "MD-0002"]
    assert exported(category="住民票・戸籍") == ["MD-0001", "MD-0002"]
    assert not export_qa(tmp_path / "x.csv", url=store_url, department="ない課").ok
    assert not export_qa(tmp_path / "x.csv", url=store_url, status="たぶん").ok
