"""Every validation error is reported (row, column, Japanese) and nothing is written."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from msoffcrypto.format.ooxml import OOXMLFile

from qa_data.importer import import_qa
from qa_data.settings import Limits, Settings
from tests.store.helpers import HEADER, entries, fingerprint, qa_row, write_csv, write_xlsx


@pytest.fixture
def seeded(store_url: str, tmp_path: Path) -> str:
    """A store with one entry and one department, so "unchanged" means something."""
    source = write_csv(tmp_path / "seed.csv", [HEADER, qa_row("MD-1")])
    assert import_qa(source, url=store_url).ok
    return store_url


def rejected(url: str, path: Path, **options) -> list[str]:
    before = fingerprint(url)
    report = import_qa(path, url=url, **options)
    assert not report.ok
    assert not report.written
    assert fingerprint(url) == before
    return report.errors


def test_every_problem_is_listed_and_nothing_is_written(seeded: str, tmp_path: Path) -> None:
    rows = [
        HEADER,
        qa_row("MD-1", answer="この変更は書き込まれない"),  # row 2: valid on its own
        qa_row("", answer=""),  # row 3
        qa_row("", question=" "),  # row 4
        qa_row("MD-9"),  # row 5
        qa_row("MD-9"),  # row 6
        qa_row("", links="https://www.city.midori.example.jp/ok\nwww.example.jp/no-scheme"),
        qa_row("", links="市のページ htps://bad"),  # row 8
        qa_row("", published="はい"),  # row 9
        qa_row("", question="あ" * 501),  # row 10
        qa_row("", answer="い" * 20_001),  # row 11
        qa_row("", alternates="短い\n" + "う" * 501),  # row 12
        qa_row("x" * 65),  # row 13
    ]
    errors = rejected(seeded, write_csv(tmp_path / "bad.csv", rows))
    assert errors == [
        "3行目「回答」が空です",
        "4行目「質問」が空です",
        "7行目「関連リンク」のURL「www.example.jp/no-scheme」が正しくありません"
        "（http:// か https:// で始まるURLを1行に1つ書いてください）",
        "8行目「関連リンク」のURL「市のページ htps://bad」が正しくありません"
        "（http:// か https:// で始まるURLを1行に1つ書いてください）",
        "9行目「公開」の値「はい」が分かりません"
        "（公開/非公開、1/0、TRUE/FALSE のいずれかにしてください）",
        "10行目「質問」が長すぎます（501文字。上限は500文字です）",
        "11行目「回答」が長すぎます（20,001文字。上限は20,000文字です）",
        "12行目「別の聞き方」の2行目が長すぎます（501文字。上限は500文字です）",
        "13行目「ID」が正しくありません（改行なし・64文字以内）。",
        "6行目「ID」「MD-9」が5行目と重複しています",
    ]
    assert entries(seeded)["MD-1"]["answer"] == "市民課の窓口で取れます。"


def test_row_numbers_count_title_rows_and_blank_rows(seeded: str, tmp_path: Path) -> None:
    rows = [["みどり市 よくある質問"], [], HEADER, qa_row("A"), [], qa_row("B", answer="")]
    for path in (write_csv(tmp_path / "t.csv", rows), write_xlsx(tmp_path / "t.xlsx", rows)):
        assert rejected(seeded, path) == ["6行目「回答」が空です"]


def test_lengths_follow_the_settings(seeded: str, tmp_path: Path) -> None:
    settings = Settings(limits=Limits(question_chars=10, answer_chars=20))
    rows = [HEADER, qa_row("", question="あ" * 11, answer="い" * 21)]
    errors = rejected(seeded, write_csv(tmp_path / "t.csv", rows), settings=settings)
    assert errors == [
        "2行目「質問」が長すぎます（11文字。上限は10文字です）",
        "2行目「回答」が長すぎます（21文字。上限は20文字です）",
    ]


def test_unknown_department_is_an_error_only_when_strict(seeded: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", [HEADER, qa_row("", department="観光課"), qa_row("")])
    assert rejected(seeded, path, strict=True) == [
        "2行目「部署」「観光課」は登録されていない部署です（--strict）"
    ]
    blank = write_csv(tmp_path / "blank.csv", [HEADER, qa_row("", department="")])
    assert rejected(seeded, blank, strict=True, department="広報課") == [
        "--department の部署「広報課」は登録されていません（--strict）"
    ]
    dry = import_qa(path, url=seeded, dry_run=True)
    assert dry.ok
    assert dry.new_departments == ["観光課"]


def test_file_over_the_size_limit(seeded: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", [HEADER, qa_row("", answer="あ" * 400)])
    settings = Settings(limits=Limits(import_file_bytes=1000))
    [error] = rejected(seeded, path, settings=settings)
    assert error.startswith("ファイルが大きすぎます（")
    assert "上限 0.0 MB" in error or "上限" in error


def test_not_a_spreadsheet(seeded: str, tmp_path: Path) -> None:
    pdf = tmp_path / "faq.xlsx"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    [error] = rejected(seeded, pdf)
    assert "Excel ブック（.xlsx）ではありません" in error

    docx = tmp_path / "faq2.xlsx"
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    [error] = rejected(seeded, docx)
    assert "Excel ブック（.xlsx）として読めません" in error

    binary = tmp_path / "faq.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    [error] = rejected(seeded, binary)
    assert "文字コードを判別できません" in error or "CSV）ではありません" in error

    xlsx_named_csv = tmp_path / "really.csv"
    write_xlsx(tmp_path / "real.xlsx", [HEADER, qa_row("")])
    xlsx_named_csv.write_bytes((tmp_path / "real.xlsx").read_bytes())
    [error] = rejected(seeded, xlsx_named_csv)
    assert "CSV ではなく Excel などのファイル" in error

    prose = tmp_path / "memo.csv"
    prose.write_text("これは議事録です。\n表ではありません。\n", encoding="utf-8")
    [error] = rejected(seeded, prose)
    assert "見出し行が見つかりません" in error


def test_password_protected_workbook(seeded: str, tmp_path: Path) -> None:
    plain = write_xlsx(tmp_path / "plain.xlsx", [HEADER, qa_row("")])
    encrypted = tmp_path / "locked.xlsx"
    with plain.open("rb") as source:
        output = io.BytesIO()
        OOXMLFile(source).encrypt("himitsu", output)
    encrypted.write_bytes(output.getvalue())
    [error] = rejected(seeded, encrypted)
    assert error == (
        "「locked.xlsx」はパスワードで保護されています。Excel でパスワードを解除して"
        "保存し直してから取り込んでください。"
    )


def test_missing_required_columns_and_empty_tables(seeded: str, tmp_path: Path) -> None:
    no_answer = write_csv(tmp_path / "t.csv", [["ID", "質問"], ["1", "質問だけ"]])
    [error] = rejected(seeded, no_answer)
    assert "見出し行が見つかりません" in error
    header_only = write_csv(tmp_path / "h.csv", [HEADER])
    assert rejected(seeded, header_only) == [
        "データの行がありません（見出し行の下に1行以上必要です）。"
    ]
    twice = write_csv(tmp_path / "d.csv", [[*HEADER, "answer"], [*qa_row(""), "x"]])
    [error] = rejected(seeded, twice)
    assert "列「回答」が2つあります" in error


def test_unknown_sheet(seeded: str, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "t.xlsx", [HEADER, qa_row("")], title="一覧")
    assert rejected(seeded, path, sheet="QA") == [
        "シート「QA」がありません。このブックのシート: 「一覧」"
    ]
