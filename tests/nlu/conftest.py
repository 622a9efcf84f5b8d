"""Fixtures for the retrieval tests: stores filled with the small fixture FAQ."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from nlu_fixture_qa import FIXTURE_QA
from nlu_helpers import add_entries

from nlu.normalizer import JapaneseNormalizer
from nlu.retrieval import Retriever
from nlu.retrieval.config import RetrievalConfig


@pytest.fixture(scope="session")
def normalizer() -> JapaneseNormalizer:
    return JapaneseNormalizer()


@pytest.fixture
def fixture_store(store_url: str) -> str:
    add_entries(store_url, FIXTURE_QA)
    return store_url


@pytest.fixture
def make_retriever(normalizer: JapaneseNormalizer) -> Callable[..., Retriever]:
    def make(url: str, **overrides) -> Retriever:
        overrides.setdefault("refresh_interval_seconds", 0.0)
        return Retriever(RetrievalConfig(**overrides), url=url, normalizer=normalizer)

    return make
