"""Kana typed without conversion, spelled with the FAQ's own words (nlu/retrieval/spelling.py)."""

from __future__ import annotations

from collections import Counter

import pytest
from nlu_helpers import add_entries

from nlu.retrieval.spelling import KanaSpeller
from qa_data.db import session_scope
from qa_data.models import QAEntry

LEXICON = Counter(
    {
        ("いんかん", "印鑑"): 2,
        ("とうろく", "登録"): 3,
        ("したい", "死体"): 1,
        ("いたい", "遺体"): 1,
        ("すいどう", "水道"): 1,
        ("じゅうみんひょう", "住民票"): 1,
        ("てすうりょう", "手数料"): 1,
        ("しやくしょ", "市役所"): 1,
        ("しょうめいしょ", "証明書"): 3,
        ("しょうめいしょ", "証明所"): 1,
        ("まいなんばーかーど", "マイナンバーカード"): 1,
    }
)


@pytest.mark.parametrize(
    ("typed", "spelled"),
    [
        ("いんかんとうろく したい", "印鑑登録 したい"),  # する + たい, not 死体
        ("いんかんとうろくしたい", "印鑑登録したい"),
        ("すいどう とめたい", "水道 とめたい"),
        ("しやくしょ なんじまで", "市役所 なんじまで"),
        ("まいなんばーかーどのしょうめいしょ", "マイナンバーカードの証明書"),  # most used
        ("ｼﾞｭｳﾐﾝﾋｮｳ ﾃｽｳﾘｮｳ", "住民票 手数料"),  # half-width katakana Sudachi does not know
        ("ｼﾞｭｳﾐﾝﾋｮｳ ﾓﾗｲﾀｲ", "住民票 モライタイ"),  # モライタイ is not all FAQ words
        ("水道を使いたい", "水道を使いたい"),  # okurigana: not 使遺体
        ("登録したい", "登録したい"),
        ("ソファーの捨て方", "ソファーの捨て方"),
    ],
)
def test_kana_runs_take_the_faq_spelling_only_where_sudachi_prefers_it(
    normalizer, typed: str, spelled: str
) -> None:
    assert KanaSpeller(LEXICON).respell(normalizer, typed) == spelled


def test_an_empty_faq_spells_nothing(normalizer) -> None:
    assert KanaSpeller(Counter()).respell(normalizer, "いんかんとうろく") == "いんかんとうろく"


def test_a_spelled_question_scores_like_the_converted_one(fixture_store, make_retriever) -> None:
    retriever = make_retriever(fixture_store)
    typed = retriever.search("いんかんとうろく したい")
    converted = retriever.search("印鑑登録 したい")
    assert typed.hits[0].id == converted.hits[0].id == "MD-T04"
    assert typed.hits[0].score == pytest.approx(converted.hits[0].score)
    assert typed.decision == converted.decision == "answer"


def test_the_spellings_follow_the_store(store_url, make_retriever) -> None:
    retriever = make_retriever(store_url)
    add_entries(store_url, [("MD-S01", "犬の登録をしたい", [], [], "", "市役所で登録します。")])
    speller = retriever.scores("犬")[0].speller
    assert speller.respell(retriever.normalizer, "きょうけんびょう") == "きょうけんびょう"

    add_entries(
        store_url,
        [("MD-S02", "狂犬病の予防注射", [], [], "", "毎年4月に集合注射を行います。")],
    )
    speller = retriever.scores("犬")[0].speller
    assert speller.respell(retriever.normalizer, "きょうけんびょう") == "狂犬病"
    assert retriever.search("きょうけんびょう ちゅうしゃ").hits[0].id == "MD-S02"

    with session_scope(store_url) as session:
        session.delete(session.query(QAEntry).filter_by(external_id="MD-S02").one())
    speller = retriever.scores("犬")[0].speller
    assert speller.respell(retriever.normalizer, "きょうけんびょう") == "きょうけんびょう"
