"""The monthly report: every figure of one Japan-time month, with the previous month and a
12-month trend, the regression-set accuracy, what staff changed and suggested actions.

``build_report(session, month)`` collects the data (``MonthlyReport``); ``reports.xlsx`` and
``reports.html`` render it; ``write_report(...)`` does all three for the CLI and the console.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from qa_data.models import utcnow
from reports.metrics import (
    LOWER_IS_BETTER,
    SUMMARY_FIGURES,
    Stats,
    compute_stats,
    staff_changes,
)
from reports.periods import Month, utc_to_jst
from reports.regression import (
    RegressionRun,
    build_regression_set,
    load_run,
    run_regression,
    store_run,
    worsened,
)

log = logging.getLogger("reports")

# Thresholds of the suggested actions (documented in reports/README.md).
UNANSWERED_MIN = 3
NOT_HELPFUL_MIN = 3
NO_MATCH_RISE = 0.05
P95_SLOW_MS = 3000.0


@dataclass
class MonthlyReport:
    month: Month
    city: str
    generated_at: datetime
    stats: Stats
    previous: Stats
    trend: list[Stats]
    changes: dict[str, Any]
    regression: RegressionRun | None = None
    regression_previous: RegressionRun | None = None
    regression_note: str = ""
    worsened: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return self.stats.has_data

    @property
    def title(self) -> str:
        return f"{self.city} FAQチャットボット 月次レポート（{self.month.label}）"

    def comparison(self) -> list[dict[str, Any]]:
        """The summary table: figure, this month, previous month, change and arrow."""
        rows = []
        for key, (label, kind) in SUMMARY_FIGURES.items():
            now, before = getattr(self.stats, key), getattr(self.previous, key)
            rows.append(
                {
                    "key": key,
                    "label": label,
                    "kind": kind,
                    "value": now,
                    "previous": before,
                    "change": None if now is None or before is None else now - before,
                    "arrow": arrow(now, before),
                    "good": direction_is_good(key, now, before),
                }
            )
        return rows

    def accuracy_rows(self) -> list[dict[str, Any]]:
        now, before = self.regression, self.regression_previous
        rows = []
        for key, label in (("hit_at_1", "Hit@1"), ("hit_at_5", "Hit@5")):
            value = getattr(now, key) if now else None
            old = getattr(before, key) if before else None
            rows.append(
                {
                    "key": key,
                    "label": label,
                    "kind": "rate",
                    "value": value,
                    "previous": old,
                    "change": None if value is None or old is None else value - old,
                    "arrow": arrow(value, old),
                    "good": direction_is_good(key, value, old),
                }
            )
        return rows


def arrow(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "－"
    if abs(now - before) < 1e-9:
        return "→"
    return "↑" if now > before else "↓"


def direction_is_good(key: str, now: float | None, before: float | None) -> bool | None:
    if now is None or before is None or abs(now - before) < 1e-9:
        return None
    rising = now > before
    return not rising if key in LOWER_IS_BETTER else rising


def build_report(
    session: Session,
    month: Month,
    *,
    retriever: Any = None,
    with_regression: bool = True,
    dev_set: Path | None = None,
    city: str | None = None,
    actor: str = "system",
) -> MonthlyReport:
    """Collects the report for ``month``. The regression set runs against the current index
    (``retriever``, default ``Retriever.from_settings()``) and is stored for next month."""
    if city is None:
        from qa_data.settings import get_settings

        city = get_settings().city_name
    start, end = month.bounds()
    stats = compute_stats(session, start, end, month.label)
    previous_month = month.previous()
    p_start, p_end = previous_month.bounds()
    previous = compute_stats(session, p_start, p_end, previous_month.label, with_unanswered=False)
    trend = []
    for item in month.trailing(12):
        if item == month:
            trend.append(stats)
        elif item == previous_month:
            trend.append(previous)
        else:
            t_start, t_end = item.bounds()
            trend.append(compute_stats(session, t_start, t_end, item.label, with_unanswered=False))
    report = MonthlyReport(
        month=month,
        city=city,
        generated_at=utcnow(),
        stats=stats,
        previous=previous,
        trend=trend,
        changes=staff_changes(session, start, end),
    )
    report.regression_previous = load_run(session, str(previous_month))
    if with_regression:
        items = build_regression_set(session, dev_set)
        if not items:
            report.regression_note = (
                "回帰セット（開発用評価セットと、職員が解決した住民の質問）がまだありません。"
            )
        else:
            try:
                if retriever is None:
                    from nlu.retrieval import Retriever

                    retriever = Retriever.from_settings(url=_session_url(session))
                report.regression = run_regression(retriever, items, str(month))
                store_run(session, report.regression, actor)
            except Exception as error:  # the rest of the report is still useful
                log.exception("regression run failed")
                report.regression_note = f"回帰セットを実行できませんでした（{error}）。"
    else:
        report.regression = load_run(session, str(month))
    if report.regression is not None:
        report.worsened = worsened(report.regression, report.regression_previous)
        if report.regression_previous is None:
            report.regression_note = (
                report.regression_note or "前月の回帰セットの記録がないため、比較できません。"
            )
    report.suggestions = suggest_actions(report)
    return report


def _session_url(session: Session) -> str | None:
    bind = session.get_bind()
    url = getattr(bind, "url", None)
    return url.render_as_string(hide_password=False) if url is not None else None


def suggest_actions(report: MonthlyReport) -> list[str]:
    """Concrete, data-driven suggestions, most important first."""
    stats, previous = report.stats, report.previous
    out: list[str] = []
    if not stats.has_data:
        return [
            "この月の利用記録がありません。チャットボットの公開状況と掲載場所をご確認ください。"
        ]
    for group in stats.top_unanswered[:5]:
        if group["count"] < UNANSWERED_MIN:
            continue
        if group.get("not_helpful", 0) * 2 > group["count"]:
            out.append(
                f"『{group['text']}』に「解決しない」が{group['count']}件：既存QAの回答の見直しか、"
                "より具体的なQAの追加を推奨"
            )
        else:
            out.append(
                f"『{group['text']}』に関する未回答が{group['count']}件：QAの追加を推奨"
                "（コンソールの「未回答の質問」から登録できます）"
            )
    for qa in stats.qa_feedback[:5]:
        if qa["not_helpful"] >= NOT_HELPFUL_MIN and (qa["helpful_rate"] or 0) < 0.5:
            out.append(
                f"QA『{qa['question']}』（{qa['qa_id']}）に「解決しない」が{qa['not_helpful']}件："
                "回答内容の見直しを推奨"
            )
    if report.worsened:
        out.append(
            f"回帰セットで結果が悪化した質問が{len(report.worsened)}件："
            "同義語・別の聞き方の追加と `madoguchi retune` の実行を推奨"
        )
    if (
        stats.no_match_rate is not None
        and previous.no_match_rate is not None
        and stats.no_match_rate - previous.no_match_rate >= NO_MATCH_RISE
    ):
        out.append(
            f"該当なし率が前月より{(stats.no_match_rate - previous.no_match_rate) * 100:.1f}"
            "ポイント上昇：新しい話題（制度改正・季節の手続き）のQA追加を推奨"
        )
    if (
        stats.candidate_selection_rate is not None
        and stats.decisions["candidates"] >= 10
        and stats.candidate_selection_rate < 0.3
    ):
        out.append(
            f"候補選択率が{stats.candidate_selection_rate * 100:.1f}%と低い："
            "候補の質問文を住民の言葉に近づけることを推奨"
        )
    if stats.errors:
        kinds = "、".join(f"{row['error']}（{row['count']}件）" for row in stats.errors_by_type[:3])
        out.append(f"応答エラーが{stats.errors}件（{kinds}）：サーバーのログ確認を推奨")
    if stats.response_p95 is not None and stats.response_p95 >= P95_SLOW_MS:
        out.append(f"応答時間p95が{stats.response_p95 / 1000:.1f}秒：サーバー資源の確認を推奨")
    if stats.account_locked:
        out.append(
            f"アカウントロックが{stats.account_locked}件：不正なログイン試行がないか確認を推奨"
        )
    if not out:
        out.append("特に対応が必要な項目はありません。")
    return out


def report_filenames(month: Month) -> tuple[str, str]:
    return f"madoguchi-report-{month}.xlsx", f"madoguchi-report-{month}.html"


def write_report(report: MonthlyReport, out_dir: Path) -> tuple[Path, Path]:
    """Writes the xlsx and the HTML into ``out_dir`` and returns their paths."""
    from reports.html import render_html
    from reports.xlsx import write_xlsx

    out_dir.mkdir(parents=True, exist_ok=True)
    xlsx_name, html_name = report_filenames(report.month)
    xlsx_path, html_path = out_dir / xlsx_name, out_dir / html_name
    write_xlsx(report, xlsx_path)
    html_path.write_text(render_html(report), encoding="utf-8")
    return xlsx_path, html_path


def generated_label(report: MonthlyReport) -> str:
    return utc_to_jst(report.generated_at).strftime("%Y年%m月%d日 %H:%M")
