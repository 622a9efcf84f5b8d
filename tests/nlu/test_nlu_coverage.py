"""Coverage: the idf-weighted share of a question's content words that an entry mentions."""

from __future__ import annotations

import numpy as np
import pytest

from nlu.retrieval.features import analyze


def _coverage(retriever, normalizer, text: str, entry_id: str) -> float:
    snap, _ = retriever.scores(text)
    index = next(i for i, r in enumerate(snap.records) if r.external_id == entry_id)
    units = analyze(normalizer, text, units=1.0).units
    return float(snap.lexical.coverage(units, np.asarray([index]))[0])


def test_coverage_grades_words(fixture_store, make_retriever, normalizer) -> None:
    retriever = make_retriever(fixture_store)
    # Every content word in the entry's question.
    assert _coverage(retriever, normalizer, "印鑑登録をしたい", "MD-T04") == pytest.approx(1.0)
    # A hiragana spelling, and a wrong kanji conversion matched by its reading (保健/保険,
    # both ほけん; the entry never says 保健).
    assert _coverage(retriever, normalizer, "印鑑とうろく", "MD-T04") == pytest.approx(1.0)
    assert _coverage(retriever, normalizer, "国民健康保健", "MD-T10") > 0.95
    assert _coverage(retriever, normalizer, "国民健康保健", "MD-T04") < 0.05
    # A word no entry has weighs like the rarest word: half the question is unknown.
    unknown = _coverage(retriever, normalizer, "印鑑とラーメン", "MD-T04")
    assert unknown < 0.6


def test_answer_only_words_count_less(fixture_store, make_retriever, normalizer) -> None:
    text = "手数料"  # only in MD-T03's answer text
    half = _coverage(make_retriever(fixture_store), normalizer, text, "MD-T03")
    full = _coverage(make_retriever(fixture_store, answer_coverage=1.0), normalizer, text, "MD-T03")
    assert full == pytest.approx(1.0)
    assert half == pytest.approx(0.5)


@pytest.mark.parametrize("text", ["おすすめのラーメン屋を教えて", "新幹線の予約方法"])
def test_unknown_topics_end_as_no_match(fixture_store, make_retriever, text) -> None:
    assert make_retriever(fixture_store).search(text).decision == "no_match"
