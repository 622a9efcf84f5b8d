"""Ranking on the small fixture FAQ, field handling, drafts and the result format."""

from __future__ import annotations

import pytest
from nlu_helpers import add_entries

from nlu.retrieval import Hit, SearchResult
from qa_data.models import QAStatus

RANKING_CASES = [
    ("引越ししたら何の手続きがいる？", "MD-T01"),  # shares no word with the question
    ("住民票がほしい", "MD-T03"),
    ("じゅうみんひょう", "MD-T03"),  # hiragana only
    ("いんかんとうろく したい", "MD-T04"),  # hiragana only, cut into nonsense by Sudachi
    ("まいなんばーかーど しんせい", "MD-T13"),  # katakana word written in hiragana
    ("ｼﾞｭｳﾐﾝﾋｮｳがほしい", "MD-T03"),  # half-width katakana
    ("住民表を取りたい", "MD-T03"),  # typo
    ("保育所に入りたい", "MD-T07"),  # SudachiDict synonym 保育所 = 保育園
    ("児童手当はいつ振り込まれる？", "MD-T09"),
    ("会社を辞めたら健康保険はどうなる？", "MD-T10"),  # answer text only
    ("図書館の本を夜に返したい", "MD-T14"),
    ("マイナンバーカードを作りたい", "MD-T13"),
    ("ゴミ袋の販売店", "MD-T16"),  # kana/kanji variant ゴミ/ごみ
    ("市役所は何時まで開いてる？", "MD-T12"),
]


@pytest.mark.parametrize(("query", "expected"), RANKING_CASES)
def test_ranking_on_fixture(fixture_store, make_retriever, query, expected) -> None:
    result = make_retriever(fixture_store).search(query)
    assert result.hits, query
    assert result.hits[0].id == expected, [h.id for h in result.hits]


def test_hits_are_sorted_and_formatted(fixture_store, make_retriever) -> None:
    result = make_retriever(fixture_store).search("児童手当", top_k=3)
    assert isinstance(result, SearchResult)
    assert 1 <= len(result.hits) <= 3
    assert all(isinstance(h, Hit) for h in result.hits)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert {h.id for h in result.hits[:2]} == {"MD-T08", "MD-T09"}
    assert result.hits[0].department_id is not None
    assert result.hits[0].category == "子育て"
    data = result.to_dict()
    assert set(data) == {"query", "decision", "hits"}
    assert data["query"] == "児童手当"
    assert set(data["hits"][0]) == {"id", "question", "score"}


def test_entry_scores_by_its_best_phrasing(store_url, make_retriever) -> None:
    add_entries(
        store_url,
        [
            ("P-1", "自転車の防犯登録", ["放置自転車を引き取りたい"], [], "", "交通安全課へ。"),
            (
                "P-2",
                "駐輪場の定期利用",
                [],
                ["自転車"],
                "",
                "自転車の定期利用は駐輪場で申し込みます。",
            ),
        ],
    )
    result = make_retriever(store_url).search("放置自転車を引き取りたい")
    assert result.hits[0].id == "P-1"


def test_drafts_and_archived_entries(store_url, make_retriever) -> None:
    add_entries(store_url, [("D-1", "下水道の使用料の支払い方法", [], [], "", "口座振替です。")],
                status=QAStatus.DRAFT)  # fmt: skip
    add_entries(store_url, [("A-1", "下水道の使用料の減免", [], [], "", "申請が必要です。")],
                status=QAStatus.ARCHIVED)  # fmt: skip
    retriever = make_retriever(store_url)
    assert retriever.search("下水道の使用料").hits == []
    with_drafts = retriever.search("下水道の使用料", include_drafts=True)
    assert [h.id for h in with_drafts.hits] == ["D-1"]


def test_top_k_and_empty_queries(fixture_store, make_retriever) -> None:
    retriever = make_retriever(fixture_store, top_k=2)
    assert len(retriever.search("ごみ").hits) == 2
    assert len(retriever.search("ごみ", top_k=1).hits) == 1
    for text in ("", "   ", "😀🎉"):
        result = retriever.search(text)
        assert result.decision == "no_match"
        assert result.hits == []


def test_context_reranks_a_follow_up(fixture_store, make_retriever) -> None:
    retriever = make_retriever(fixture_store)
    plain = retriever.search("いつですか")
    follow_up = retriever.search("いつですか", context="児童手当をもらいたい")
    assert follow_up.hits and follow_up.hits[0].id == "MD-T09"
    assert [h.id for h in plain.hits[:1]] != ["MD-T09"] or plain.decision != "answer"


def test_empty_store(store_url, make_retriever) -> None:
    result = make_retriever(store_url).search("住民票")
    assert result.decision == "no_match"
    assert result.hits == []
