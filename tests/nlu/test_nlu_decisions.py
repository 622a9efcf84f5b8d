"""The three decisions, and thresholds read from the configuration."""

from __future__ import annotations

from nlu.retrieval.decision import Thresholds, decide


def test_answer_for_a_clear_question(fixture_store, make_retriever) -> None:
    result = make_retriever(fixture_store).search("図書館の本の返却はどうすればいい？")
    assert result.decision == "answer"
    assert result.hits[0].id == "MD-T14"


def test_candidates_for_an_ambiguous_question(fixture_store, make_retriever) -> None:
    result = make_retriever(fixture_store).search("児童手当について")
    assert result.decision == "candidates"
    assert {h.id for h in result.hits[:2]} == {"MD-T08", "MD-T09"}
    assert len(result.hits) >= 2  # hits hold the top k whatever the decision


def test_no_match_for_out_of_scope_questions(fixture_store, make_retriever) -> None:
    retriever = make_retriever(fixture_store)
    for text in ("今日の天気は？", "おすすめのラーメン屋", "東京タワーの高さは？", "asdfghjkl"):
        assert retriever.search(text).decision == "no_match", text


def test_thresholds_come_from_config(fixture_store, make_retriever) -> None:
    strict = make_retriever(fixture_store, answer_threshold=0.999, no_match_threshold=0.0)
    assert strict.search("図書館の本の返却はどうすればいい？").decision == "candidates"
    never = make_retriever(fixture_store, no_match_threshold=0.9999)
    result = never.search("図書館の本の返却はどうすればいい？")
    assert result.decision == "no_match"
    assert result.hits and result.hits[0].id == "MD-T14"


def test_decide_rules() -> None:
    t = Thresholds(answer_threshold=0.5, answer_margin=0.1, no_match_threshold=0.2)
    assert decide([], t) == "no_match"
    assert decide([0.19, 0.1], t) == "no_match"
    assert decide([0.6, 0.3], t) == "answer"
    assert decide([0.6, 0.55], t) == "candidates"  # too close to the runner-up
    assert decide([0.4], t) == "candidates"
