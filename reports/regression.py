"""The regression set and its monthly run (Hit@1 / Hit@5), stored per month.

The regression set is made of curated ``query → expected QA`` pairs:

- the development set ``tests/eval/dev_queries.csv`` (``query,expected_ids``; an empty
  ``expected_ids`` is an out-of-scope query that should end as ``no_match``), and
- resident questions staff resolved in the console: ``UnansweredHandling`` rows with action
  ``add_alternate`` or ``new_qa`` map the texts of their ``query_log_ids`` to ``qa_external_id``.

Scoring reuses the retrieval helper's ``nlu.retrieval.evaluate`` (the same Hit@k as
``madoguchi eval``). Each month's result is stored in ``AppSetting(key="regression:YYYY-MM")``
with each query's rank, so the report can list the queries that got worse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_data.models import AppSetting, QueryLog, UnansweredHandling, utcnow
from reports.metrics import normalise_text

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEV_SET = PROJECT_ROOT / "tests" / "eval" / "dev_queries.csv"
RESOLVED_ACTIONS = ("add_alternate", "new_qa")
KEY_PREFIX = "regression:"
MISS_RANK = 99  # "not in the top 10" when comparing ranks


@dataclass
class RegressionItem:
    query: str
    expected: list[str]
    source: str  # "dev" | "resolved"
    rank: int | None = None  # 1-based rank of the first expected QA (None: not in the top 10)
    ok: bool = False  # in scope: rank 1; out of scope: ended as no_match

    @property
    def in_scope(self) -> bool:
        return bool(self.expected)


@dataclass
class RegressionRun:
    month: str
    items: list[RegressionItem] = field(default_factory=list)
    hit_at_1: float | None = None
    hit_at_5: float | None = None
    in_scope: int = 0
    out_of_scope: int = 0
    out_of_scope_no_match: float | None = None
    run_at: str = ""

    def to_value(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "run_at": self.run_at,
            "hit_at_1": self.hit_at_1,
            "hit_at_5": self.hit_at_5,
            "in_scope": self.in_scope,
            "out_of_scope": self.out_of_scope,
            "out_of_scope_no_match": self.out_of_scope_no_match,
            "items": [
                {
                    "query": item.query,
                    "expected": item.expected,
                    "source": item.source,
                    "rank": item.rank,
                    "ok": item.ok,
                }
                for item in self.items
            ],
        }

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> RegressionRun:
        run = cls(
            month=value.get("month", ""),
            hit_at_1=value.get("hit_at_1"),
            hit_at_5=value.get("hit_at_5"),
            in_scope=int(value.get("in_scope") or 0),
            out_of_scope=int(value.get("out_of_scope") or 0),
            out_of_scope_no_match=value.get("out_of_scope_no_match"),
            run_at=value.get("run_at", ""),
        )
        for item in value.get("items") or []:
            run.items.append(
                RegressionItem(
                    query=item["query"],
                    expected=list(item.get("expected") or []),
                    source=item.get("source", "dev"),
                    rank=item.get("rank"),
                    ok=bool(item.get("ok")),
                )
            )
        return run


def resolved_pairs(session: Session) -> list[tuple[str, str]]:
    """``(query text, QA external id)`` for questions staff resolved in the console."""
    handlings = session.scalars(
        select(UnansweredHandling).where(
            UnansweredHandling.action.in_(RESOLVED_ACTIONS),
            UnansweredHandling.qa_external_id.is_not(None),
        )
    ).all()
    pairs: list[tuple[str, str]] = []
    for handling in handlings:
        ids = []
        for raw in handling.query_log_ids or []:
            try:
                ids.append(int(raw))
            except (TypeError, ValueError):
                continue
        if not ids:
            continue
        texts = session.scalars(select(QueryLog.text).where(QueryLog.id.in_(ids))).all()
        pairs.extend((text, handling.qa_external_id) for text in texts if text and text.strip())
    return pairs


def build_regression_set(session: Session, dev_set: Path | None = None) -> list[RegressionItem]:
    """The development set plus the resolved questions, one item per distinct query text."""
    items: dict[str, RegressionItem] = {}
    path = Path(dev_set) if dev_set else DEFAULT_DEV_SET
    if path.is_file():
        from nlu.retrieval.evaluate import read_cases

        for case in read_cases(path):
            key = normalise_text(case.query)
            if key and key not in items:
                items[key] = RegressionItem(case.query, sorted(case.expected), "dev")
    for text, qa_id in resolved_pairs(session):
        key = normalise_text(text)
        if not key:
            continue
        if key in items:
            if items[key].source == "resolved" and qa_id not in items[key].expected:
                items[key].expected.append(qa_id)
            continue
        items[key] = RegressionItem(text.strip(), [qa_id], "resolved")
    return list(items.values())


def to_cases(items: list[RegressionItem]):
    from nlu.retrieval.evaluate import EvalCase

    return [EvalCase(item.query, frozenset(item.expected)) for item in items]


def run_regression(retriever: Any, items: list[RegressionItem], month: str) -> RegressionRun:
    """Scores ``items`` with ``nlu.retrieval.evaluate`` and fills each item's rank."""
    from nlu.retrieval.evaluate import evaluate

    run = RegressionRun(month=month, items=items, run_at=utcnow().isoformat(timespec="seconds"))
    if not items:
        return run
    report = evaluate(retriever, to_cases(items))
    failures = {failure["query"]: failure for failure in report.failures}
    for item in items:
        failure = failures.get(item.query)
        if item.in_scope:
            item.rank = failure.get("rank") if failure else 1
            item.ok = item.rank == 1
        else:
            item.rank = None
            item.ok = failure is None
    run.in_scope = report.in_scope
    run.out_of_scope = report.out_of_scope
    if report.in_scope:
        run.hit_at_1 = report.hit_at_1
        run.hit_at_5 = report.hit_at_5
    if report.out_of_scope:
        run.out_of_scope_no_match = report.out_of_scope_no_match
    return run


def store_run(session: Session, run: RegressionRun, actor: str = "system") -> None:
    key = KEY_PREFIX + run.month
    row = session.get(AppSetting, key)
    if row is None:
        session.add(AppSetting(key=key, value=run.to_value(), updated_by=actor))
    else:
        row.value = run.to_value()
        row.updated_by = actor
    session.flush()


def load_run(session: Session, month: str) -> RegressionRun | None:
    row = session.get(AppSetting, KEY_PREFIX + month)
    if row is None or not isinstance(row.value, dict):
        return None
    return RegressionRun.from_value(row.value)


def worsened(current: RegressionRun, previous: RegressionRun | None) -> list[dict[str, Any]]:
    """Queries whose result got worse since ``previous``: a lower rank for the expected QA, or an
    out-of-scope query that no longer ends as 該当なし."""
    if previous is None:
        return []
    before = {normalise_text(item.query): item for item in previous.items}
    result = []
    for item in current.items:
        old = before.get(normalise_text(item.query))
        if old is None or bool(old.expected) != item.in_scope:
            continue
        if item.in_scope:
            old_rank = old.rank or MISS_RANK
            new_rank = item.rank or MISS_RANK
            if new_rank > old_rank:
                result.append(
                    {
                        "query": item.query,
                        "expected": "|".join(item.expected),
                        "before": old.rank,
                        "after": item.rank,
                        "source": item.source,
                    }
                )
        elif old.ok and not item.ok:
            result.append(
                {
                    "query": item.query,
                    "expected": "（対象外）",
                    "before": "該当なし",
                    "after": "回答・候補",
                    "source": item.source,
                }
            )
    return result
