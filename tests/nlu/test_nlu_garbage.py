"""Garbage lookup on Tsu City's real sorting table, imported into the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from nlu_helpers import wait_for

from nlu.garbage import GarbageIndex, base_name
from qa_data.db import session_scope
from qa_data.garbage_io import import_garbage
from qa_data.models import GarbageItem

REPO_ROOT = Path(__file__).resolve().parents[2]
TSU_GARBAGE_CSV = REPO_ROOT.parent / "shared" / "datasets" / "tsu-garbage" / "tsu_gomi_bunbetsu.csv"


@pytest.fixture(scope="module")
def tsu_index(tmp_path_factory) -> GarbageIndex:
    from qa_data import db

    path = tmp_path_factory.mktemp("garbage") / "g.db"
    url = f"sqlite:///{path}"
    db.upgrade(url)
    report = import_garbage(TSU_GARBAGE_CSV, url=url, replace=True, actor="test")
    assert report.ok, report.errors
    return GarbageIndex.from_store(url)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("ｱｲﾛﾝ", "アイロン"),  # half-width katakana
        ("あいろん", "アイロン"),  # hiragana
        ("れいぞうこ", "冷蔵庫・冷凍庫・冷凍冷蔵庫"),  # reading of a kanji name, listed alias
        ("冷蔵庫", "冷蔵庫・冷凍庫・冷凍冷蔵庫"),
        ("ざぶとん", "座布団"),
        ("せんぷうき", "扇風機"),
        ("ソファーを捨てたい", "ソファー（金属スプリングなし）"),  # name inside a sentence
        ("冷臓庫", "冷蔵庫・冷凍庫・冷凍冷蔵庫"),  # typo
    ],
)
def test_match(tsu_index: GarbageIndex, query: str, name: str) -> None:
    result = tsu_index.lookup(query)
    assert result.kind == "match", (query, result.items)
    item = result.items[0]
    assert item["name"] == name
    assert set(item) == {"id", "name", "reading", "category", "how_to", "notes"}
    assert item["category"]


def test_partial_name_and_variants(tsu_index: GarbageIndex) -> None:
    result = tsu_index.lookup("古いテレビ")
    assert result.kind == "ambiguous"
    assert result.items and all(base_name(i["name"]) == "テレビ" for i in result.items)


def test_material_variants_are_ambiguous(tsu_index: GarbageIndex) -> None:
    for query in ("いす", "椅子"):
        result = tsu_index.lookup(query)
        assert result.kind == "ambiguous", query
        names = {i["name"] for i in result.items}
        assert {"いす（木製）", "いす（プラスチック製）"} <= names
        categories = {i["category"] for i in result.items}
        assert len(categories) > 1


def test_unknown(tsu_index: GarbageIndex) -> None:
    for query in ("今日の天気", "", "😀"):
        assert tsu_index.lookup(query).kind == "unknown", query


def test_store_edits_are_picked_up(sqlite_url: str) -> None:
    with session_scope(sqlite_url) as session:
        session.add(GarbageItem(name="アイロン", reading="あいろん", category="金属"))
    index = GarbageIndex.from_store(sqlite_url)
    assert index.lookup("ｼﾞｪｯﾄｽｷｰ").kind == "unknown"
    with session_scope(sqlite_url) as session:
        session.add(GarbageItem(name="ジェットスキー", reading=None, category="処理困難物"))
    assert wait_for(lambda: index.lookup("ｼﾞｪｯﾄｽｷｰ").kind == "match", timeout=3.0)
