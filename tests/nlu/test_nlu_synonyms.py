"""Staff synonym groups from the store, the synonyms.txt file format, and SynonymSet rules."""

from __future__ import annotations

from pathlib import Path

from nlu_helpers import add_entries

from nlu.synonyms import SynonymGroupDef, SynonymSet, match_text, read_sudachi_synonyms
from qa_data.db import session_scope
from qa_data.models import SynonymGroup

TICKET_QA = [
    ("S-1", "粗大ごみ処理券はどこで買えますか", [], [], "ごみ", "市内の取扱店で販売しています。"),
    ("S-2", "家具を捨てたい", [], [], "ごみ", "家具は大きさによって出し方が違います。"),
    ("S-3", "戸籍謄本がほしい", [], [], "届出", "市民課で発行します。"),
]


def _add_group(url: str, terms: list[str], oneway: bool = False) -> None:
    with session_scope(url) as session:
        session.add(SynonymGroup(terms=terms, oneway=oneway, note="test"))


def test_staff_equivalent_group_makes_a_new_term_match(store_url, make_retriever) -> None:
    add_entries(store_url, TICKET_QA)
    retriever = make_retriever(store_url)
    before = retriever.search("ぽいぽいチケットはどこ？")
    assert not before.hits or before.hits[0].id != "S-1" or before.decision == "no_match"
    _add_group(store_url, ["粗大ごみ処理券", "ぽいぽいチケット"])
    after = retriever.search("ぽいぽいチケットはどこ？")
    assert after.hits[0].id == "S-1"
    assert after.decision != "no_match"


def test_staff_oneway_group_expands_in_one_direction(store_url, make_retriever) -> None:
    add_entries(
        store_url,
        [
            ("O-1", "粗大ごみの申し込み", [], [], "ごみ", "受付センターへ電話してください。"),
            ("O-2", "ソファの修理業者を知りたい", [], [], "消費生活", "市では紹介していません。"),
        ],
    )
    retriever = make_retriever(store_url)

    def score(query: str, entry: str) -> float:
        return next((h.score for h in retriever.search(query).hits if h.id == entry), 0.0)

    before_reverse = score("粗大ごみを申し込みたい", "O-2")
    assert score("タンスを出したい", "O-1") == 0.0
    _add_group(store_url, ["粗大ごみ", "ソファ", "タンス"], oneway=True)
    assert retriever.search("タンスを出したい").hits[0].id == "O-1"
    assert score("タンスを出したい", "O-1") > 0.2
    # The reverse does not hold: 粗大ごみ does not pull in the entry that only says ソファ.
    assert retriever.search("粗大ごみを申し込みたい").hits[0].id == "O-1"
    assert score("粗大ごみを申し込みたい", "O-2") == before_reverse


def test_synonyms_file(store_url, make_retriever, tmp_path: Path) -> None:
    add_entries(store_url, TICKET_QA)
    path = tmp_path / "synonyms.txt"
    path.write_text(
        "# city dictionary\n"
        "000001,1,0,1,0,0,0,(),戸籍謄本,,\n"
        "000001,1,0,1,0,0,0,(),こせきのうつし,,\n"
        "\n"
        "000002,1,0,1,0,0,0,(),家具,,\n"
        "000002,1,2,1,0,0,0,(),ぬいぐるみ,,\n",
        encoding="utf-8",
    )
    groups = read_sudachi_synonyms(path)
    assert [g.terms for g in groups] == [("戸籍謄本", "こせきのうつし")]  # flag 2 never expands
    retriever = make_retriever(store_url, synonyms_file=str(path))
    assert retriever.search("こせきのうつしが必要").hits[0].id == "S-3"
    assert retriever.status()["synonym_groups"] == 1


def test_synonym_set_sides(normalizer) -> None:
    groups = [
        SynonymGroupDef(key="a", terms=("国保", "国民健康保険")),
        SynonymGroupDef(key="b", terms=("粗大ごみ", "ソファ"), oneway=True),
        SynonymGroupDef(key="c", terms=("転入", "引越し"), target_only=frozenset({"転入"})),
    ]
    syn = SynonymSet(groups, normalizer)

    def doc(text: str) -> list[str]:
        return syn.doc_keys(match_text(text), normalizer.analyze(text).words)

    def query(text: str) -> list[str]:
        return syn.query_keys(match_text(text), normalizer.analyze(text).words)

    assert doc("国民健康保険の加入") == ["a"] and query("国保に入る") == ["a"]
    assert doc("粗大ごみの出し方") == ["b"] and doc("ソファの修理") == []
    assert query("ソファを捨てる") == ["b"]
    assert query("転入した") == [] and query("引越しした") == ["c"] and doc("転入届") == ["c"]
    assert doc("ソフアの修理") == []  # no accidental match
