"""Garbage dictionary: Tsu City's file, the 5374 layout in Shift_JIS, our own layout."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select

from qa_data import db
from qa_data.garbage_io import export_garbage, import_garbage
from qa_data.models import GarbageItem
from tests.conftest import TSU_GARBAGE_CSV
from tests.store.helpers import fingerprint, write_csv


def items(url: str) -> list[tuple]:
    with db.session_scope(url) as session:
        return [
            (g.name, g.reading, g.category, g.how_to, g.notes)
            for g in session.scalars(select(GarbageItem).order_by(GarbageItem.id))
        ]


def test_tsu_city_file_imports_every_item(store_url: str) -> None:
    report = import_garbage(TSU_GARBAGE_CSV, url=store_url)
    assert report.ok, report.errors
    assert report.new == report.rows == 3984
    stored = items(store_url)
    assert len(stored) == 3984
    with TSU_GARBAGE_CSV.open(encoding="utf-8-sig", newline="") as handle:
        source = list(csv.DictReader(handle))
    assert [(s[0], s[2], s[3] or "") for s in stored] == [
        (r["品目"], r["分別区分"], r["出し方のポイント"].replace("\r\n", "\n").strip())
        for r in source
    ]  # line breaks inside cells are stored as \n
    assert len({s[2] for s in stored}) == 18
    # Importing the same file again (a merge) changes nothing and adds nothing.
    again = import_garbage(TSU_GARBAGE_CSV, url=store_url)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 3984)
    assert items(store_url) == stored


def test_5374_layout_in_shift_jis(store_url: str, tmp_path: Path) -> None:
    rows = [
        ["type", "name", "notice", "furigana"],
        ["燃やすごみ", "生ごみ", "水をよく切ってください", "なまごみ"],
        ["燃やさないごみ", "ｶｾｯﾄﾎﾞﾝﾍﾞ", "中身を使い切って穴をあけずに", "かせっとぼんべ"],
        ["資源ごみ", "空き缶", "", "あきかん"],
    ]
    path = write_csv(tmp_path / "target.csv", rows, encoding="shift_jis")
    report = import_garbage(path, url=store_url)
    assert report.ok, report.errors
    assert report.encoding == "cp932"
    assert items(store_url) == [
        ("生ごみ", "なまごみ", "燃やすごみ", "水をよく切ってください", None),
        ("ｶｾｯﾄﾎﾞﾝﾍﾞ", "かせっとぼんべ", "燃やさないごみ", "中身を使い切って穴をあけずに", None),
        ("空き缶", "あきかん", "資源ごみ", None, None),
    ]


def test_own_layout_round_trip_and_replace(store_url: str, tmp_path: Path) -> None:
    import_garbage(TSU_GARBAGE_CSV, url=store_url)
    own = [
        ["品目", "読み", "分別区分", "出し方", "備考"],
        ["髙﨑だるま 🎎", "たかさきだるま", "燃やせるゴミ", "=小さく切って\n袋へ", "@注意"],
        ["アイロン", "あいろん", "燃やせないごみ", "", ""],
    ]
    source = write_csv(tmp_path / "own.csv", own)
    report = import_garbage(source, url=store_url, replace=True)
    assert (report.new, report.removed) == (2, 3984)
    stored = items(store_url)
    assert stored[0] == (
        "髙﨑だるま 🎎",
        "たかさきだるま",
        "燃やせるゴミ",
        "=小さく切って\n袋へ",
        "@注意",
    )
    for suffix in (".xlsx", ".csv"):
        exported = tmp_path / f"garbage{suffix}"
        assert export_garbage(exported, url=store_url).count == 2
        again = import_garbage(exported, url=store_url)
        assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
        assert items(store_url) == stored
    raw = (tmp_path / "garbage.csv").read_bytes().decode("utf-8-sig")
    assert "'=小さく切って" in raw and "'@注意" in raw
    failed = export_garbage(tmp_path / "g.csv", url=store_url, encoding="cp932")
    assert failed.errors == [
        "2行目（髙﨑だるま 🎎）「品目」: 「🎎」(U+1F38E) は文字コード cp932 では書き出せません"
    ]
    assert not (tmp_path / "g.csv").exists()


def test_invalid_rows_write_nothing(store_url: str, tmp_path: Path) -> None:
    import_garbage(TSU_GARBAGE_CSV, url=store_url)
    before = fingerprint(store_url)
    rows = [["品目", "分別区分"], ["", "燃やせるゴミ"], ["電池", ""], ["あ" * 201, "金属"]]
    report = import_garbage(write_csv(tmp_path / "bad.csv", rows), url=store_url, replace=True)
    assert report.errors == [
        "2行目「品目」が空です",
        "3行目「分別区分」が空です",
        "4行目「品目」が長すぎます（上限は200文字です）",
    ]
    assert fingerprint(store_url) == before
    with db.session_scope(store_url) as session:
        assert session.scalar(select(func.count()).select_from(GarbageItem)) == 3984
