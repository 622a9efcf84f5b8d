"""The development set (``dev_queries.csv``) against the demo city's FAQ, imported into a fresh
store with the real importer.

Two levels:

- the issue's targets (Hit@1 ≥ 0.85, Hit@5 ≥ 0.97, out of scope → no_match ≥ 0.90, answer
  precision ≥ 0.90). 114 of the 475 in-scope queries share no content word with their answer
  (see tests/eval/README.md); word vectors bring part of them, the rest need a Japanese sentence
  model: this test runs when ``retrieval.embedding_model`` names a model that loads, and is
  skipped (with the figures without it in the reason) when none is configured;
- the floors without a sentence model, always run: the figures of lexical + latent + word
  vectors today, minus a small margin, so that a regression fails CI; once on the demo FAQ as
  shipped and once with the FAQ stripped to ID/質問/回答 (no alternates, keywords or
  categories), the shape of the hidden 1,800-entry FAQ.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.retrieval import Retriever
from nlu.retrieval.evaluate import EvalReport, evaluate, read_cases
from qa_data import db
from qa_data.settings import get_settings

EVAL_DIR = Path(__file__).resolve().parent
DEV_SET = EVAL_DIR / "dev_queries.csv"

TARGETS = {
    "hit_at_1": 0.85,
    "hit_at_5": 0.97,
    "out_of_scope_no_match": 0.90,
    "answer_precision": 0.90,
}
# Lexical + latent (LSA) + word vectors (chiVe, ja_ginza) + kana spelling, no embedding model.
# Measured: Hit@1 0.811, Hit@5 0.935, MRR 0.864, OOS → no_match 0.694, precision 0.984.
LEXICAL_FLOOR = {
    "hit_at_1": 0.80,
    "hit_at_5": 0.92,
    "mrr_at_10": 0.85,
    "out_of_scope_no_match": 0.65,
    "answer_precision": 0.96,
}
# Measured: Hit@1 0.735, Hit@5 0.918, MRR 0.811, OOS → no_match 0.796, precision 0.966.
STRIPPED_FLOOR = {
    "hit_at_1": 0.72,
    "hit_at_5": 0.895,
    "mrr_at_10": 0.78,
    "out_of_scope_no_match": 0.75,
    "answer_precision": 0.95,
}


def _seeded_demo(tmp_path_factory: pytest.TempPathFactory, name: str) -> str:
    from qa_data.demo import seed_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('eval') / name}"
    db.upgrade(url)
    report = seed_demo(url)
    assert report.ok, report.errors
    return url


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _seeded_demo(tmp_path_factory, "demo.db")
    yield url
    db.get_engine(url).dispose()


@pytest.fixture(scope="module")
def stripped_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo FAQ with only ID/質問/回答, like a city's FAQ imported from those columns."""
    from sqlalchemy import select

    from qa_data.models import QAEntry

    url = _seeded_demo(tmp_path_factory, "stripped.db")
    with db.session_scope(url) as session:
        for entry in session.scalars(select(QAEntry)):
            entry.alternate_questions = []
            entry.keywords = []
            entry.category_major = None
            entry.category_minor = None
    yield url
    db.get_engine(url).dispose()


def _figures(report: EvalReport) -> str:
    return ", ".join(
        f"{k} {getattr(report, k):.3f}"
        for k in ("hit_at_1", "hit_at_3", "hit_at_5", "mrr_at_10", "answer_precision",
                  "out_of_scope_no_match", "in_scope_no_match")
    )  # fmt: skip


def _run(url: str, **overrides) -> tuple[Retriever, EvalReport]:
    settings = get_settings()
    if overrides:
        retrieval = settings.retrieval.model_copy(update=overrides)
        settings = settings.model_copy(update={"retrieval": retrieval})
    retriever = Retriever.from_settings(settings, url=url)
    return retriever, evaluate(retriever, read_cases(DEV_SET))


def _shortfalls(report: EvalReport, levels: dict[str, float]) -> list[str]:
    return [
        f"{name} {getattr(report, name):.3f} < {level}"
        for name, level in levels.items()
        if getattr(report, name) < level
    ]


def test_dev_set_covers_the_demo_faq(demo_store: str) -> None:
    cases = read_cases(DEV_SET)
    assert len(cases) >= 300
    assert sum(not c.in_scope for c in cases) >= 40


def test_lexical_floor(demo_store: str) -> None:
    retriever, report = _run(demo_store, embedding_model=None)
    status = retriever.status()
    assert status["mode"] == "lexical"
    assert status["word_vectors"] == "ja_ginza", status["warning"]
    assert report.queries >= 300
    missing = _shortfalls(report, LEXICAL_FLOOR)
    assert not missing, f"{missing} ({_figures(report)})"


def test_lexical_floor_id_question_answer_only(stripped_store: str) -> None:
    retriever, report = _run(stripped_store, embedding_model=None)
    snap, _ = retriever.scores("住民票")
    assert not any(r.alternates or r.keywords or r.category for r in snap.records)
    missing = _shortfalls(report, STRIPPED_FLOOR)
    assert not missing, f"{missing} ({_figures(report)})"


def test_issue_targets(demo_store: str) -> None:
    if not get_settings().retrieval.embedding_model:
        _, lexical = _run(demo_store, embedding_model=None)
        pytest.skip(
            "no retrieval.embedding_model configured: the targets need the dense ranker "
            f"(lexical only: {_figures(lexical)})"
        )
    retriever, report = _run(demo_store)
    status = retriever.status()
    assert status["mode"] == "hybrid", status["warning"]
    missing = _shortfalls(report, TARGETS)
    assert not missing, f"{missing} ({_figures(report)})"
