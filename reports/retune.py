"""``madoguchi retune``: the monthly re-fit of the decision thresholds and the fusion weight.

The regression set (``reports.regression``) is scored once per query:

- lexical scores from a lexical-only ``Retriever`` (same store, ``embedding_model=None``), and
- fused scores from the configured ``Retriever``; with an embedding model and a current dense
  weight ``w0 > 0`` the calibrated dense scores follow from the linear fusion
  (``nlu.retrieval.fusion``): ``dense = (fused - (1 - w0) * lexical) / w0``.

Any dense weight ``w`` is then ``fuse(lexical, dense, w)`` and any thresholds give the decision
of ``nlu.retrieval.decision.decide``, so the grid search needs no further searches. Each setting
is scored by

- Hit@1 and Hit@5 over in-scope queries,
- 回答の正解率 (answer precision: share of ``answer`` decisions whose first hit is right),
- 判定スコア (the mean over all queries of: right answer +1, wrong answer −1, expected QA among the
  shown candidates +0.5, out-of-scope query ending as no_match +1, else 0).

New values are applied (``AppSetting(key="retrieval")``, which the retriever reads) only when
判定スコア improves and none of Hit@1, Hit@5, answer precision and the share of out-of-scope
queries ending as no_match gets worse (判定スコア alone would trade that share for candidate
lists, which score +0.5 where an honest no_match scores 0). After applying, the
real retriever is evaluated again (``nlu.retrieval.evaluate``); if that shows anything worse than
before, the previous values are restored. Each applied change is recorded in the audit log.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from qa_data.models import AppSetting
from reports.regression import RegressionItem

TUNING_KEY = "retrieval"  # read by nlu.retrieval.documents.tuned_settings
TUNED_KEYS = ("answer_threshold", "answer_margin", "no_match_threshold", "dense_weight")
ANSWER_THRESHOLDS = [round(x, 3) for x in np.arange(0.20, 0.951, 0.05)]
ANSWER_MARGINS = [round(x, 3) for x in np.arange(0.0, 0.301, 0.025)]
NO_MATCH_THRESHOLDS = [round(x, 3) for x in np.arange(0.05, 0.501, 0.025)]
DENSE_WEIGHTS = [round(x, 2) for x in np.arange(0.1, 0.91, 0.1)]
TOP = 10
EPS = 1e-9


def _less(value: float | None, reference: float | None) -> bool:
    return reference is not None and value is not None and value < reference - EPS


@dataclass
class Metrics:
    hit_at_1: float = 0.0
    hit_at_5: float = 0.0
    answer_precision: float | None = None
    answers: int = 0
    utility: float = 0.0
    out_of_scope_no_match: float | None = None

    def not_worse_than(self, other: Metrics) -> bool:
        if self.hit_at_1 < other.hit_at_1 - EPS or self.hit_at_5 < other.hit_at_5 - EPS:
            return False
        if _less(self.out_of_scope_no_match, other.out_of_scope_no_match):
            return False
        if other.answer_precision is not None and (
            self.answer_precision is None or self.answer_precision < other.answer_precision - EPS
        ):
            return other.answers == 0
        return True

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class RetuneResult:
    cases: int
    mode: str  # "hybrid" | "lexical"
    before_values: dict[str, float]
    after_values: dict[str, float]
    before: Metrics
    after: Metrics
    applied: bool = False
    reason: str = ""
    verified_before: dict[str, Any] = field(default_factory=dict)
    verified_after: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(
            abs(self.after_values[k] - self.before_values[k]) > EPS for k in self.after_values
        )


@dataclass
class _Scored:
    expected: frozenset[str]
    lexical: np.ndarray
    dense: np.ndarray | None


def _ranked(scores: np.ndarray, ids: list[str]) -> tuple[list[str], list[float]]:
    order = np.argsort(-scores, kind="stable")[:TOP]
    kept = [int(i) for i in order if scores[i] > 0]
    return [ids[i] for i in kept], [float(scores[i]) for i in kept]


def _evaluate_weight(
    scored: list[_Scored], ids: list[str], weight: float, candidates_k: int
) -> tuple[dict[str, np.ndarray], Metrics]:
    """Per-query arrays for the threshold search at dense weight ``weight``."""
    from nlu.retrieval.fusion import fuse

    s1, s2, right1, in_cands, in_scope = [], [], [], [], []
    hits1 = hits5 = 0
    for item in scored:
        scores = item.lexical if item.dense is None else fuse(item.lexical, item.dense, weight)
        ranked, values = _ranked(np.asarray(scores, dtype=np.float64), ids)
        s1.append(values[0] if values else -1.0)
        s2.append(values[1] if len(values) > 1 else 0.0)
        rank = next((i + 1 for i, x in enumerate(ranked) if x in item.expected), None)
        in_scope.append(bool(item.expected))
        right1.append(rank == 1)
        in_cands.append(rank is not None and rank <= candidates_k)
        if item.expected and rank is not None:
            hits1 += rank <= 1
            hits5 += rank <= 5
    arrays = {
        "s1": np.array(s1),
        "s2": np.array(s2),
        "right1": np.array(right1),
        "in_cands": np.array(in_cands),
        "in_scope": np.array(in_scope),
    }
    n_in = max(1, int(arrays["in_scope"].sum()))
    return arrays, Metrics(hit_at_1=hits1 / n_in, hit_at_5=hits5 / n_in)


def _decision_metrics(
    arrays: dict[str, np.ndarray], base: Metrics, at: float, am: float, nm: float
) -> Metrics:
    s1, s2 = arrays["s1"], arrays["s2"]
    no_match = s1 < nm
    answer = ~no_match & (s1 >= at) & (s1 - s2 >= am)
    candidates = ~no_match & ~answer
    in_scope, right1, in_cands = arrays["in_scope"], arrays["right1"], arrays["in_cands"]
    utility = np.zeros(len(s1))
    utility[in_scope & answer & right1] = 1.0
    utility[answer & ~(in_scope & right1)] = -1.0
    utility[in_scope & candidates & in_cands] = 0.5
    utility[~in_scope & no_match] = 1.0
    answers = int(answer.sum())
    right = int((answer & in_scope & right1).sum())
    out_scope = ~in_scope
    return Metrics(
        hit_at_1=base.hit_at_1,
        hit_at_5=base.hit_at_5,
        answer_precision=right / answers if answers else None,
        answers=answers,
        utility=float(utility.mean()) if len(utility) else 0.0,
        out_of_scope_no_match=(
            float((no_match & out_scope).sum() / out_scope.sum()) if out_scope.any() else None
        ),
    )


def score_cases(items: list[RegressionItem], url: str | None = None):
    """Scores every query once: (scored queries, entry ids, mode, current config)."""
    from nlu.retrieval import Retriever
    from nlu.retrieval.config import RetrievalConfig

    base = RetrievalConfig.from_settings()
    configured = Retriever(base, url=url)
    lexical = Retriever(base.model_copy(update={"embedding_model": None}), url=url)
    scored: list[_Scored] = []
    ids: list[str] | None = None
    config = None
    hybrid = False
    for item in items:
        snap, fused = configured.scores(item.query)
        lex_snap, lex = lexical.scores(item.query)
        snap_ids = [r.external_id for r in snap.records]
        if ids is None:
            ids, config = snap_ids, snap.config
            hybrid = configured.status().get("mode") == "hybrid" and config.dense_weight > 0
        if snap_ids != ids or [r.external_id for r in lex_snap.records] != ids:
            raise RuntimeError(
                "検索対象のQAが調整中に変わりました。しばらくしてから再実行してください。"
            )
        lex = np.asarray(lex, dtype=np.float64)
        dense = None
        if hybrid:
            w0 = config.dense_weight
            dense = (np.asarray(fused, dtype=np.float64) - (1 - w0) * lex) / w0
            dense = np.clip(dense, 0.0, 1.0)
            dense[lex < 0] = -1.0  # unpublished entries stay out
        scored.append(_Scored(frozenset(item.expected), lex, dense))
    return scored, ids or [], ("hybrid" if hybrid else "lexical"), config or base


def current_values(config: Any) -> dict[str, float]:
    return {key: float(getattr(config, key)) for key in TUNED_KEYS}


def fit(
    scored: list[_Scored], ids: list[str], mode: str, current: dict[str, float], candidates_k: int
) -> tuple[Metrics, dict[str, float], Metrics]:
    """(metrics at the current values, best values, metrics at the best values)."""
    weights = DENSE_WEIGHTS if mode == "hybrid" else [current["dense_weight"]]
    if current["dense_weight"] not in weights:
        weights = [current["dense_weight"], *weights]
    cache = {w: _evaluate_weight(scored, ids, w, candidates_k) for w in weights}
    arrays, base = cache[current["dense_weight"]]
    before = _decision_metrics(
        arrays,
        base,
        current["answer_threshold"],
        current["answer_margin"],
        current["no_match_threshold"],
    )
    best_values, best = dict(current), before

    def distance(values: dict[str, float]) -> float:
        return sum(abs(values[k] - current[k]) for k in TUNED_KEYS)

    for weight, (arrays, base) in cache.items():
        for at in ANSWER_THRESHOLDS:
            for nm in NO_MATCH_THRESHOLDS:
                if nm > at:
                    continue
                for am in ANSWER_MARGINS:
                    metrics = _decision_metrics(arrays, base, at, am, nm)
                    if not metrics.not_worse_than(before):
                        continue
                    values = {
                        "answer_threshold": at,
                        "answer_margin": am,
                        "no_match_threshold": nm,
                        "dense_weight": weight,
                    }
                    better = metrics.utility > best.utility + EPS
                    tie = abs(metrics.utility - best.utility) <= EPS and (
                        metrics.hit_at_1 > best.hit_at_1 + EPS
                        or (
                            abs(metrics.hit_at_1 - best.hit_at_1) <= EPS
                            and distance(values) < distance(best_values) - EPS
                            and best_values != current
                        )
                    )
                    if better or tie:
                        best, best_values = metrics, values
    return before, best_values, best


def _real_metrics(items: list[RegressionItem], url: str | None) -> dict[str, Any]:
    from nlu.retrieval import Retriever
    from nlu.retrieval.evaluate import evaluate
    from reports.regression import to_cases

    report = evaluate(Retriever.from_settings(url=url), to_cases(items))
    return {
        "hit_at_1": report.hit_at_1,
        "hit_at_5": report.hit_at_5,
        "answer_precision": report.answer_precision if report.answers else None,
        "answers": report.answers,
        "out_of_scope_no_match": report.out_of_scope_no_match if report.out_of_scope else None,
    }


def _real_worse(after: dict[str, Any], before: dict[str, Any]) -> bool:
    if after["hit_at_1"] < before["hit_at_1"] - EPS or after["hit_at_5"] < before["hit_at_5"] - EPS:
        return True
    if _less(after.get("out_of_scope_no_match"), before.get("out_of_scope_no_match")):
        return True
    if before["answer_precision"] is not None and before["answers"]:
        if after["answer_precision"] is None:
            return False  # no answers at all: nothing wrong is shown
        return after["answer_precision"] < before["answer_precision"] - EPS
    return False


def _write_values(session: Session, values: dict[str, Any] | None, actor: str) -> None:
    row = session.get(AppSetting, TUNING_KEY)
    if values is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(AppSetting(key=TUNING_KEY, value=values, updated_by=actor))
    else:
        row.value = values
        row.updated_by = actor
    session.flush()


def retune(
    session_scope_factory,
    items: list[RegressionItem],
    *,
    url: str | None = None,
    apply: bool = True,
    actor: str = "system",
) -> RetuneResult:
    """Fits, and (``apply``) stores the new values when they are not worse.

    ``session_scope_factory`` is ``qa_data.db.session_scope`` (called with ``url``): the
    retriever reads the stored values through its own sessions, so each write is committed."""
    if not items:
        raise ValueError("回帰セットが空です。開発用評価セットか、解決済みの質問が必要です。")
    scored, ids, mode, config = score_cases(items, url)
    current = current_values(config)
    candidates_k = int(config.candidates_k)
    before, values, after = fit(scored, ids, mode, current, candidates_k)
    result = RetuneResult(len(items), mode, current, values, before, after)
    if not result.changed or after.utility <= before.utility + EPS:
        result.after_values, result.after = dict(current), before
        result.reason = "現在の値より良い値は見つかりませんでした（変更なし）。"
        return result
    if not apply:
        result.reason = "ドライラン: 値は保存していません。"
        return result

    result.verified_before = _real_metrics(items, url)
    with session_scope_factory(url) as session:
        row = session.get(AppSetting, TUNING_KEY)
        previous_row = dict(row.value) if row is not None and isinstance(row.value, dict) else None
        _write_values(session, {**(previous_row or {}), **values}, actor)
    result.verified_after = _real_metrics(items, url)
    if _real_worse(result.verified_after, result.verified_before):
        with session_scope_factory(url) as session:
            _write_values(session, previous_row, actor)
        result.reason = "検証で悪化が見つかったため、元の値に戻しました。"
        return result
    result.applied = True
    result.reason = "新しい値を適用しました。"
    with session_scope_factory(url) as session:
        from qa_data.audit import record_audit

        record_audit(
            session,
            actor=actor,
            action="retune",
            target=TUNING_KEY,
            detail={
                "before": current,
                "after": values,
                "metrics_before": before.as_dict(),
                "metrics_after": after.as_dict(),
                "verified_before": result.verified_before,
                "verified_after": result.verified_after,
                "cases": len(items),
                "mode": mode,
            },
        )
    return result


def format_result(result: RetuneResult) -> str:
    def pct(value: float | None) -> str:
        return "－" if value is None else f"{value * 100:.1f}%"

    lines = [
        f"回帰セット: {result.cases}問　検索方式: "
        + ("語彙＋埋め込み" if result.mode == "hybrid" else "語彙のみ（融合の重みは調整しません）"),
        "",
        "（調整前 → 調整後）",
    ]
    for key, label in (
        ("answer_threshold", "回答しきい値"),
        ("answer_margin", "回答の差"),
        ("no_match_threshold", "該当なししきい値"),
        ("dense_weight", "埋め込みの重み"),
    ):
        lines.append(f"  {label}: {result.before_values[key]:.3f} → {result.after_values[key]:.3f}")
    for key, label in (
        ("hit_at_1", "Hit@1"),
        ("hit_at_5", "Hit@5"),
        ("answer_precision", "回答の正解率"),
        ("out_of_scope_no_match", "対象外→該当なし"),
    ):
        before, after = pct(getattr(result.before, key)), pct(getattr(result.after, key))
        lines.append(f"  {label}: {before} → {after}")
    lines.append(f"  判定スコア: {result.before.utility:.3f} → {result.after.utility:.3f}")
    if result.verified_after:
        old, new = result.verified_before, result.verified_after
        lines.append(
            f"実測（適用後の検索で再評価）: Hit@1 {pct(old['hit_at_1'])} → {pct(new['hit_at_1'])}、"
            f"回答の正解率 {pct(old['answer_precision'])} → {pct(new['answer_precision'])}"
        )
    lines.append(result.reason)
    return "\n".join(lines)
