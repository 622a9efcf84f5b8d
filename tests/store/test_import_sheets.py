"""Real-world spreadsheets: merged cells, formulas, blank rows, sheets, aliases, upserts."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from qa_data import db
from qa_data.importer import format_report, import_qa
from qa_data.qa_store import history, revisions
from tests.store.helpers import HEADER, entries, qa_row, set_cached_values, write_csv, write_xlsx


def test_merged_cells_formulas_blank_rows_and_title(store_url: str, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["みどり市 よくある質問一覧"])  # 1: title, merged across
    sheet.merge_cells("A1:F1")
    sheet.append([])  # 2
    sheet.append(["部署", "カテゴリ", "質問", "回答", "公開", "メモ"])  # 3
    sheet.append(["市民課", "住民票・戸籍", "住民票の写し", "市民課で取れます。", "=1=1", "x"])  # 4
    sheet.append([None, None, "印鑑登録証明書", "同じ窓口です。", "=TRUE()", None])  # 5
    sheet.merge_cells("A4:A5")  # the department covers both rows
    sheet.merge_cells("B4:B5")
    sheet.append([])  # 6: blank
    sheet.append([None, None, "戸籍の附票", "本籍地の市区町村へ。", 1, None])  # 7
    sheet.append([None, None, "二行分の質問", "二行分の回答", None, None])  # 8
    sheet.merge_cells("C8:C9")  # cells two rows tall: row 9 has nothing of its own
    sheet.merge_cells("D8:D9")
    path = tmp_path / "merged.xlsx"
    workbook.save(path)
    # Cached formula values, as Excel saves them (openpyxl itself cannot compute formulas).
    set_cached_values(path, {"E4": ("b", "1"), "E5": ("b", "1")})

    report = import_qa(path, url=store_url, dry_run=True)
    assert report.ok, report.errors
    assert report.warnings == ["列「メモ」は取り込みの対象外のため、無視します。"]
    assert [p.row for p in report.new] == [4, 5, 7, 8]
    assert all(p.fields["status"] == "published" for p in report.new)
    assert report.new[1].fields["department"] == "市民課"
    assert report.new[1].fields["category_major"] == "住民票・戸籍"
    assert report.new[2].fields["department"] == "未設定"
    errors = import_qa(path, url=store_url, dry_run=True, sheet=None)
    assert errors.ok


def test_formula_cells_give_their_cached_values(store_url: str, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(["MD-1", "市民課", "税", '=C3&"の質問"', "", "回答", "", "", "公開"])
    path = tmp_path / "formula.xlsx"
    workbook.save(path)
    set_cached_values(path, {"D2": ("str", "税の質問")})
    assert import_qa(path, url=store_url).ok
    assert entries(store_url)["MD-1"]["question"] == "税の質問"


def test_sheet_option_and_english_aliases(store_url: str, tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.title = "表紙"
    workbook.active.append(["この表紙は取り込みません"])
    data = workbook.create_sheet("FAQ")
    data.append(
        [
            "id",
            "Department",
            "CATEGORY",
            "question",
            "alternate_questions",
            "answer",
            "links",
            "keywords",
            "published",
        ]
    )
    data.append(
        ["EN-1", "市民課", "税/住民税", "住民税はいつ", "", "6月です", "", "税, 住民税", "false"]
    )
    data.append(["EN-2", "市民課", "", "番号は", "", "123", "", "", True])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    first = import_qa(path, url=store_url, dry_run=True)
    assert not first.ok and "見出し行が見つかりません" in first.errors[0]
    assert import_qa(path, url=store_url, sheet="FAQ").ok
    stored = entries(store_url)
    assert stored["EN-1"]["status"] == "draft"
    assert stored["EN-1"]["category_minor"] == "住民税"
    assert stored["EN-1"]["keywords"] == ["税", "住民税"]
    assert stored["EN-2"]["status"] == "published"
    assert stored["EN-2"]["answer"] == "123"


def test_status_values(store_url: str, tmp_path: Path) -> None:
    values = ["公開", "非公開", "1", "0", "TRUE", "false", "True", "", "ＴＲＵＥ"]
    rows = [HEADER] + [qa_row(f"S-{i}", published=v) for i, v in enumerate(values)]
    assert import_qa(write_csv(tmp_path / "s.csv", rows), url=store_url).ok
    stored = entries(store_url)
    assert [stored[f"S-{i}"]["status"] for i in range(len(values))] == [
        "published", "draft", "published", "draft", "published", "draft", "published",
        "published", "published",
    ]  # fmt: skip


def test_upsert_by_id_records_revisions_readable_back(store_url: str, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "1.csv", [HEADER, qa_row("MD-1"), qa_row("")])
    assert import_qa(first, url=store_url, actor="alice").ok
    second = write_csv(
        tmp_path / "2.csv",
        [HEADER, qa_row("MD-1", answer="窓口は2階に移りました。"), qa_row("QA-000001")],
    )
    report = import_qa(second, url=store_url, dry_run=True)
    assert [p.changed_fields for p in report.changed] == [["answer"]]
    assert len(report.unchanged) == 1
    assert "  2行目 MD-1「住民票の写しはどこで取れますか」: 回答" in format_report(report)
    assert import_qa(second, url=store_url, actor="bob").written
    with db.session_scope(store_url) as session:
        kept = revisions(session, "MD-1")
        assert [(r.version, r.change, r.changed_by) for r in kept] == [
            (0, "import", "alice"),
            (1, "import", "bob"),
        ]
        assert kept[1].snapshot["answer"] == "市民課の窓口で取れます。"
        versions = history(session, "MD-1")
        assert [(v.version, v.changed_by, v.snapshot["answer"]) for v in versions] == [
            (1, "alice", "市民課の窓口で取れます。"),
            (2, "bob", "窓口は2階に移りました。"),
        ]
        assert len(revisions(session, "QA-000001")) == 1


def test_missing_columns_leave_existing_fields_alone(store_url: str, tmp_path: Path) -> None:
    assert import_qa(
        write_csv(tmp_path / "1.csv", [HEADER, qa_row("MD-1", published="0")]), url=store_url
    ).ok
    narrow = write_csv(
        tmp_path / "2.csv",
        [
            ["ID", "質問", "回答"],
            ["MD-1", "住民票の写しはどこで取れますか", "新しい回答"],
            ["", "新しい質問", "新しい回答"],
        ],
    )
    assert import_qa(narrow, url=store_url, department="広報課").ok
    stored = entries(store_url)
    assert stored["MD-1"]["department"] == "市民課"
    assert stored["MD-1"]["status"] == "draft"
    assert stored["MD-1"]["keywords"] == ["住民票", "写し"]
    assert stored["MD-1"]["answer"] == "新しい回答"
    new = next(e for e in stored.values() if e["question"] == "新しい質問")
    assert new["department"] == "広報課"
    assert new["status"] == "published"


def test_blank_department_uses_option_or_default(store_url: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [HEADER, qa_row("A", department=""), qa_row("B")])
    report = import_qa(path, url=store_url, department="総務課")
    assert report.ok
    assert report.new_departments == ["市民課", "総務課"]
    assert entries(store_url)["A"]["department"] == "総務課"
    other = write_csv(tmp_path / "e.csv", [HEADER, qa_row("C", department="")])
    assert import_qa(other, url=store_url).ok
    assert entries(store_url)["C"]["department"] == "未設定"
    assert write_xlsx  # (xlsx variants are covered in the round-trip tests)
