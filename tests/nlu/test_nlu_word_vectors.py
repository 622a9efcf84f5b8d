"""Word vectors (nlu/retrieval/word_vectors.py): the chiVe vectors of the ja_ginza package, read
without spaCy, bring a question to an entry it shares no word with; a missing vector source
gives one warning and search goes on without it."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from nlu_helpers import add_entries

from nlu.retrieval.word_vectors import WordVectors, resolve_vocab_dir

SMALL_FAQ = [
    ("W-1", "婚姻届はどこに提出しますか", [], [], "戸籍", "市民課の窓口に提出してください。"),
    ("W-2", "粗大ごみの出し方を教えてください", [], [], "ごみ", "事前の申込みが必要です。"),
    ("W-3", "図書館の開館時間", [], [], "施設", "午前9時から午後7時まで開館しています。"),
    ("W-4", "犬を飼い始めたときの登録", [], [], "動物", "飼い始めて30日以内に登録してください。"),
    ("W-5", "国民健康保険に加入したい", [], [], "保険", "会社の保険をやめたら届け出てください。"),
]  # fmt: skip


@pytest.fixture(scope="module")
def vectors() -> WordVectors:
    return WordVectors.load("ja_ginza")


def _cos(vectors: WordVectors, a: str, b: str) -> float:
    va, vb = vectors.word_vector(a), vectors.word_vector(b)
    assert va is not None and vb is not None, (a, b)
    return float(va @ vb)


def test_vectors_are_found_by_sudachi_normalized_form(vectors: WordVectors) -> None:
    # A wrong string hash would find no word at all.
    for word in ("引っ越し", "婚姻", "入籍", "市役所", "役場", "粗大塵", "保育所"):
        assert vectors.row(word) >= 0, word
    assert vectors.row("ふにゃもげ装置") == -1
    assert vectors.word_vector("ふにゃもげ装置") is None
    assert np.isclose(float(np.linalg.norm(vectors.word_vector("婚姻"))), 1.0, atol=1e-5)
    # Close in meaning, no shared spelling or SudachiDict synonym group; unrelated words are far.
    assert _cos(vectors, "入籍", "婚姻") > 0.5 > _cos(vectors, "入籍", "粗大塵")
    assert _cos(vectors, "役場", "市役所") > 0.5 > _cos(vectors, "役場", "天気")


def test_a_compound_without_a_vector_takes_the_mean_of_its_parts(vectors: WordVectors) -> None:
    assert vectors.row("マイナンバーカード") == -1
    mean = vectors.word_vector("マイナンバーカード", ("マイナンバー", "カード"))
    assert mean is not None
    assert float(mean @ vectors.word_vector("マイナンバー")) > 0.5
    assert float(mean @ vectors.word_vector("カード")) > 0.5


def test_vocab_folder_is_found_by_package_name_or_path(vectors: WordVectors) -> None:
    folder = resolve_vocab_dir("ja_ginza")
    assert folder is not None and (folder / "key2row").is_file()
    assert resolve_vocab_dir(str(folder)) == folder
    assert resolve_vocab_dir(str(folder.parent)) == folder  # a spaCy pipeline folder
    assert resolve_vocab_dir("no_such_vectors_package") is None


def _score(result, entry_id: str) -> float:
    return next((h.score for h in result.hits if h.id == entry_id), 0.0)


# 結婚/婚姻, 健保/国民健康保険, 蔵書・貸し出し/図書館.
@pytest.mark.parametrize(
    ("question", "expected"),
    [("結婚の書類を出したい", "W-1"), ("健保に入りたい", "W-5"), ("蔵書の貸し出し時間", "W-3")],
)
def test_question_reaches_an_entry_through_words_close_in_meaning(
    sqlite_url: str, make_retriever, question: str, expected: str
) -> None:
    add_entries(sqlite_url, SMALL_FAQ)
    with_vectors = make_retriever(sqlite_url).search(question)
    without = make_retriever(sqlite_url, word_vectors=None).search(question)
    assert with_vectors.hits and with_vectors.hits[0].id == expected, with_vectors
    assert with_vectors.decision != "no_match", with_vectors
    assert _score(with_vectors, expected) > _score(without, expected) + 0.05, without


def test_unrelated_question_still_finds_nothing(sqlite_url: str, make_retriever) -> None:
    add_entries(sqlite_url, SMALL_FAQ)
    result = make_retriever(sqlite_url).search("今日の天気は？")
    assert result.decision == "no_match"


def test_missing_vectors_give_one_warning_and_search_goes_on(
    sqlite_url: str, make_retriever, caplog: pytest.LogCaptureFixture
) -> None:
    add_entries(sqlite_url, SMALL_FAQ)
    retriever = make_retriever(sqlite_url, word_vectors="models/no-such-vectors")
    with caplog.at_level(logging.WARNING, logger="nlu.retrieval"):
        first = retriever.search("粗大ごみの出し方")
        retriever.search("婚姻届の提出先")
    warnings = [r for r in caplog.records if "単語ベクトル" in r.getMessage()]
    assert len(warnings) == 1
    assert first.hits[0].id == "W-2"
    status = retriever.status()
    assert status["word_vectors"] is None
    assert "単語ベクトル「models/no-such-vectors」を読み込めなかった" in status["warning"]
    assert make_retriever(sqlite_url).status()["word_vectors"] is None  # not built yet
