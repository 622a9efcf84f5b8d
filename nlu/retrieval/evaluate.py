"""Evaluation of a retriever on a CSV of ``query,expected_ids`` (ids separated by ``|``; an empty
``expected_ids`` marks an out-of-scope query that should end as ``no_match``)."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class EvalCase:
    query: str
    expected: frozenset[str]

    @property
    def in_scope(self) -> bool:
        return bool(self.expected)


@dataclass
class EvalReport:
    queries: int = 0
    in_scope: int = 0
    out_of_scope: int = 0
    hit_at_1: float = 0.0
    hit_at_3: float = 0.0
    hit_at_5: float = 0.0
    mrr_at_10: float = 0.0
    answer_precision: float = 0.0
    answers: int = 0
    answer_rate: float = 0.0
    out_of_scope_no_match: float = 0.0
    in_scope_no_match: float = 0.0
    decisions: dict[str, int] = field(default_factory=dict)
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, with_failures: bool = False) -> dict[str, Any]:
        out = asdict(self)
        if not with_failures:
            out.pop("failures")
        return out


def read_cases(path: str | Path) -> list[EvalCase]:
    cases = []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "query" not in reader.fieldnames:
            raise ValueError("the CSV needs the columns query,expected_ids")
        for row in reader:
            query = (row.get("query") or "").strip()
            if not query:
                continue
            ids = frozenset(
                i.strip() for i in (row.get("expected_ids") or "").split("|") if i.strip()
            )
            cases.append(EvalCase(query, ids))
    return cases


def evaluate(retriever: Any, cases: Iterable[EvalCase]) -> EvalReport:
    cases = list(cases)
    report = EvalReport(queries=len(cases))
    latencies = []
    hits1 = hits3 = hits5 = 0
    rr = 0.0
    answers = answers_right = 0
    oos_no_match = in_no_match = 0
    decisions: dict[str, int] = {}
    retriever.search("warm-up")  # the first call builds the index; do not time it
    for case in cases:
        started = time.perf_counter()
        result = retriever.search(case.query, top_k=10)
        latencies.append((time.perf_counter() - started) * 1000)
        ids = [h.id for h in result.hits]
        decisions[result.decision] = decisions.get(result.decision, 0) + 1
        if result.decision == "answer":
            answers += 1
            if ids and ids[0] in case.expected:
                answers_right += 1
        if not case.in_scope:
            report.out_of_scope += 1
            if result.decision == "no_match":
                oos_no_match += 1
            else:
                report.failures.append(
                    {
                        "query": case.query,
                        "expected": [],
                        "got": ids[:3],
                        "decision": result.decision,
                    }
                )
            continue
        report.in_scope += 1
        if result.decision == "no_match":
            in_no_match += 1
        rank = next((i + 1 for i, x in enumerate(ids) if x in case.expected), None)
        if rank is not None:
            hits1 += rank <= 1
            hits3 += rank <= 3
            hits5 += rank <= 5
            rr += 1.0 / rank
        if rank != 1 or (result.decision == "answer" and ids[0] not in case.expected):
            report.failures.append(
                {
                    "query": case.query,
                    "expected": sorted(case.expected),
                    "got": ids[:3],
                    "rank": rank,
                    "decision": result.decision,
                }
            )
    n_in = max(1, report.in_scope)
    report.hit_at_1 = hits1 / n_in
    report.hit_at_3 = hits3 / n_in
    report.hit_at_5 = hits5 / n_in
    report.mrr_at_10 = rr / n_in
    report.answers = answers
    report.answer_precision = answers_right / answers if answers else 0.0
    report.answer_rate = answers / max(1, report.queries)
    report.out_of_scope_no_match = (
        oos_no_match / report.out_of_scope if report.out_of_scope else 0.0
    )
    report.in_scope_no_match = in_no_match / n_in
    report.decisions = decisions
    if latencies:
        report.latency_ms_p50 = float(np.percentile(latencies, 50))
        report.latency_ms_p95 = float(np.percentile(latencies, 95))
    return report


def format_report(report: EvalReport) -> str:
    lines = [
        f"クエリ数: {report.queries}（対象内 {report.in_scope} / 対象外 {report.out_of_scope}）",
        f"Hit@1: {report.hit_at_1:.3f}",
        f"Hit@3: {report.hit_at_3:.3f}",
        f"Hit@5: {report.hit_at_5:.3f}",
        f"MRR@10: {report.mrr_at_10:.3f}",
        f"回答の正解率 (answer precision): {report.answer_precision:.3f}"
        f"（回答 {report.answers} 件）",
        f"対象外 → no_match: {report.out_of_scope_no_match:.3f}",
        f"対象内 → no_match: {report.in_scope_no_match:.3f}",
        f"判定の内訳: {report.decisions}",
        f"応答時間: p50 {report.latency_ms_p50:.1f} ms / p95 {report.latency_ms_p95:.1f} ms",
    ]
    return "\n".join(lines)
