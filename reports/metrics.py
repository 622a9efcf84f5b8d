"""Log analytics shared by the console's statistics page and the monthly report.

Everything is computed for a naive-UTC window ``[start, end)`` (see ``reports.periods`` for
Japan-time days and months). Definitions (also in ``reports/README.md``):

- 質問数 (questions): ``QueryLog`` rows of kind ``message`` (free text routed to the FAQ).
- 会話数 (conversations): distinct ``session_id`` among all rows of the window.
- 回答率 / 候補提示率 / 該当なし率: share of questions whose decision was ``answer`` /
  ``candidates`` / ``no_match``.
- 候補選択率: share of ``candidates`` questions after which the resident clicked a candidate
  (a ``select`` row in the same conversation before its next question).
- 役に立った率: helpful ``Feedback`` rows / all ``Feedback`` rows.
- 回答到達率: (``answer`` questions + ``candidates`` questions followed by a selection) / questions.
- 推定正答率: 回答到達率 × 役に立った率 (回答到達率 alone when there is no feedback).
- 閲覧されたQA: ``qa_shown`` of rows whose decision is ``answer`` (an answer was displayed:
  typed questions answered directly and candidates or menu questions clicked).
- 稼働率: rows without ``error`` / all rows (the bot answered without a technical failure).
- 応答時間 p50/p95: nearest-rank percentiles of ``response_ms``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_data.models import (
    AuditLog,
    Department,
    Feedback,
    QAEntry,
    QARevision,
    QAStatus,
    QueryLog,
    SynonymGroup,
    User,
)
from reports.periods import utc_to_jst

QUESTION_KIND = "message"
SELECT_KIND = "select"
GARBAGE_KIND = "garbage"
DECISIONS = ("answer", "candidates", "no_match")
DECISION_LABELS = {"answer": "回答", "candidates": "候補提示", "no_match": "該当なし"}
NO_CATEGORY = "（分類なし）"
NO_DEPARTMENT = "（部署なし）"
COMMON_DEPARTMENT = "（共通・部署なし）"
TOP_N = 20


def normalise_text(text: str) -> str:
    """The grouping key for question texts: NFKC, lower case, no spaces or end punctuation."""
    value = unicodedata.normalize("NFKC", text or "").lower()
    value = re.sub(r"\s+", "", value)
    return value.rstrip("?？。.!！")


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least p% of values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


@dataclass
class Window:
    start: datetime
    end: datetime
    label: str = ""


@dataclass
class Stats:
    """All figures for one window. Rates are fractions (0-1) or None when undefined."""

    start: datetime
    end: datetime
    label: str
    rows: int = 0
    questions: int = 0
    conversations: int = 0
    decisions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISIONS, 0))
    candidates_selected: int = 0
    garbage_lookups: int = 0
    feedback_total: int = 0
    feedback_helpful: int = 0
    answer_rate: float | None = None
    candidates_rate: float | None = None
    no_match_rate: float | None = None
    candidate_selection_rate: float | None = None
    helpful_rate: float | None = None
    resolution_rate: float | None = None
    estimated_accuracy: float | None = None
    daily: list[dict[str, Any]] = field(default_factory=list)
    weekly: list[dict[str, Any]] = field(default_factory=list)
    top_questions: list[dict[str, Any]] = field(default_factory=list)
    top_qa: list[dict[str, Any]] = field(default_factory=list)
    top_unanswered: list[dict[str, Any]] = field(default_factory=list)
    by_category: list[dict[str, Any]] = field(default_factory=list)
    by_department: list[dict[str, Any]] = field(default_factory=list)
    qa_feedback: list[dict[str, Any]] = field(default_factory=list)
    response_count: int = 0
    response_p50: float | None = None
    response_p95: float | None = None
    response_mean: float | None = None
    errors: int = 0
    errors_by_type: list[dict[str, Any]] = field(default_factory=list)
    availability: float | None = None
    masked_total: int = 0
    masked_rows: int = 0
    login_failed: int = 0
    account_locked: int = 0
    logins: int = 0

    @property
    def has_data(self) -> bool:
        return self.rows > 0 or self.feedback_total > 0

    def summary(self) -> dict[str, Any]:
        """The headline figures (the report's summary table), as plain values."""
        return {key: getattr(self, key) for key in SUMMARY_FIGURES}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        return data


# Headline figures in display order: key → (Japanese label, kind) ; kind "count"|"rate"|"ms".
SUMMARY_FIGURES: dict[str, tuple[str, str]] = {
    "questions": ("質問数", "count"),
    "conversations": ("会話数", "count"),
    "answer_rate": ("回答率", "rate"),
    "candidate_selection_rate": ("候補選択率", "rate"),
    "no_match_rate": ("該当なし率", "rate"),
    "helpful_rate": ("役に立った率", "rate"),
    "estimated_accuracy": ("推定正答率", "rate"),
}
# Figures where a rise is bad (the report colours them accordingly).
LOWER_IS_BETTER = {"no_match_rate", "response_p95", "errors", "login_failed", "account_locked"}


def compute_stats(
    session: Session,
    start: datetime,
    end: datetime,
    label: str = "",
    *,
    top_n: int = TOP_N,
    with_unanswered: bool = True,
) -> Stats:
    """Every figure for ``[start, end)`` (naive UTC)."""
    stats = Stats(start=start, end=end, label=label)
    rows = session.execute(
        select(
            QueryLog.id,
            QueryLog.created_at,
            QueryLog.session_id,
            QueryLog.kind,
            QueryLog.text,
            QueryLog.masked_count,
            QueryLog.decision,
            QueryLog.qa_shown,
            QueryLog.qa_selected,
            QueryLog.department_id,
            QueryLog.category,
            QueryLog.response_ms,
            QueryLog.error,
        )
        .where(QueryLog.created_at >= start, QueryLog.created_at < end)
        .order_by(QueryLog.created_at, QueryLog.id)
    ).all()
    feedback = session.execute(
        select(Feedback.helpful, Feedback.qa_external_id).where(
            Feedback.created_at >= start, Feedback.created_at < end
        )
    ).all()
    stats.rows = len(rows)
    stats.conversations = len({row.session_id for row in rows})
    questions = [row for row in rows if row.kind == QUESTION_KIND]
    stats.questions = len(questions)
    stats.garbage_lookups = sum(1 for row in rows if row.kind == GARBAGE_KIND)
    for row in questions:
        if row.decision in stats.decisions:
            stats.decisions[row.decision] += 1
    stats.candidates_selected = _count_selected_candidates(rows)

    stats.feedback_total = len(feedback)
    stats.feedback_helpful = sum(1 for row in feedback if row.helpful)
    stats.answer_rate = ratio(stats.decisions["answer"], stats.questions)
    stats.candidates_rate = ratio(stats.decisions["candidates"], stats.questions)
    stats.no_match_rate = ratio(stats.decisions["no_match"], stats.questions)
    stats.candidate_selection_rate = ratio(stats.candidates_selected, stats.decisions["candidates"])
    stats.helpful_rate = ratio(stats.feedback_helpful, stats.feedback_total)
    stats.resolution_rate = ratio(
        stats.decisions["answer"] + stats.candidates_selected, stats.questions
    )
    if stats.resolution_rate is not None:
        factor = 1.0 if stats.helpful_rate is None else stats.helpful_rate
        stats.estimated_accuracy = stats.resolution_rate * factor

    stats.daily = _daily(questions, start, end)
    stats.weekly = _weekly(stats.daily)
    stats.top_questions = _top_questions(questions, top_n)
    stats.top_qa = _top_qa(session, rows, top_n)
    if with_unanswered:
        stats.top_unanswered = top_unanswered(session, start, end, top_n)
    # A no_match question belongs to no category or department (the bot still logs its top hit's).
    stats.by_category = _breakdown(
        questions,
        lambda row: (row.category or NO_CATEGORY) if row.decision != "no_match" else NO_CATEGORY,
    )
    names = dict(session.execute(select(Department.id, Department.name)).all())
    stats.by_department = _breakdown(
        questions,
        lambda row: (
            names.get(row.department_id, NO_DEPARTMENT)
            if row.department_id and row.decision != "no_match"
            else NO_DEPARTMENT
        ),
    )
    stats.qa_feedback = _qa_feedback(session, feedback)

    times = [float(row.response_ms) for row in rows if row.response_ms is not None]
    stats.response_count = len(times)
    stats.response_p50 = percentile(times, 50)
    stats.response_p95 = percentile(times, 95)
    stats.response_mean = sum(times) / len(times) if times else None
    errors = Counter(row.error for row in rows if row.error)
    stats.errors = sum(errors.values())
    stats.errors_by_type = [{"error": key, "count": value} for key, value in errors.most_common()]
    stats.availability = ratio(stats.rows - stats.errors, stats.rows)
    stats.masked_total = sum(int(row.masked_count or 0) for row in rows)
    stats.masked_rows = sum(1 for row in rows if row.masked_count)

    audit = dict(
        session.execute(
            select(AuditLog.action, func.count())
            .where(
                AuditLog.at >= start,
                AuditLog.at < end,
                AuditLog.action.in_(("login", "login_failed", "account_locked")),
            )
            .group_by(AuditLog.action)
        ).all()
    )
    stats.logins = int(audit.get("login", 0))
    stats.login_failed = int(audit.get("login_failed", 0))
    stats.account_locked = int(audit.get("account_locked", 0))
    return stats


def _count_selected_candidates(rows: list[Any]) -> int:
    """``candidates`` questions followed, in the same conversation and before the next question,
    by a ``select`` row."""
    pending: dict[str, bool] = {}
    selected = 0
    for row in rows:  # ordered by time
        if row.kind == QUESTION_KIND:
            pending[row.session_id] = row.decision == "candidates"
        elif row.kind == SELECT_KIND and pending.get(row.session_id):
            selected += 1
            pending[row.session_id] = False
    return selected


def _daily(questions: list[Any], start: datetime, end: datetime) -> list[dict[str, Any]]:
    counts: dict[date, Counter] = defaultdict(Counter)
    for row in questions:
        day = utc_to_jst(row.created_at).date()
        counts[day]["questions"] += 1
        if row.decision in DECISIONS:
            counts[day][row.decision] += 1
    first = utc_to_jst(start).date()
    last = utc_to_jst(end - timedelta(microseconds=1)).date()
    days = []
    day = first
    while day <= last and (last - first).days <= 3700:
        counter = counts.get(day, Counter())
        days.append(
            {
                "date": day,
                "questions": counter["questions"],
                **{decision: counter[decision] for decision in DECISIONS},
            }
        )
        day += timedelta(days=1)
    return days


def _weekly(daily: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Questions per ISO week (Monday first, Japan time); partial weeks at the edges included."""
    weeks: dict[date, Counter] = {}
    for day in daily:
        monday = day["date"] - timedelta(days=day["date"].weekday())
        counter = weeks.setdefault(monday, Counter())
        for key in ("questions", *DECISIONS):
            counter[key] += day[key]
    return [{"week_start": monday, **dict(counter)} for monday, counter in sorted(weeks.items())]


def _top_questions(questions: list[Any], top_n: int) -> list[dict[str, Any]]:
    groups: dict[str, Counter] = defaultdict(Counter)
    decisions: dict[str, Counter] = defaultdict(Counter)
    for row in questions:
        key = normalise_text(row.text)
        if not key:
            continue
        groups[key][row.text.strip()] += 1
        decisions[key][row.decision or ""] += 1
    ranked = sorted(groups.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    result = []
    for key, wordings in ranked[:top_n]:
        total = sum(wordings.values())
        result.append(
            {
                "text": wordings.most_common(1)[0][0],
                "count": total,
                "answered": decisions[key]["answer"],
                "no_match": decisions[key]["no_match"],
            }
        )
    return result


def _top_qa(session: Session, rows: list[Any], top_n: int) -> list[dict[str, Any]]:
    counts = Counter(row.qa_shown for row in rows if row.decision == "answer" and row.qa_shown)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top_n]
    info = _qa_info(session, [qa_id for qa_id, _ in ranked])
    return [
        {
            "qa_id": qa_id,
            "question": info.get(qa_id, {}).get("question", "（削除済み）"),
            "department": info.get(qa_id, {}).get("department", ""),
            "count": count,
        }
        for qa_id, count in ranked
    ]


def _qa_info(session: Session, external_ids: list[str]) -> dict[str, dict[str, str]]:
    if not external_ids:
        return {}
    result = session.execute(
        select(QAEntry.external_id, QAEntry.question, Department.name)
        .join(Department, QAEntry.department_id == Department.id)
        .where(QAEntry.external_id.in_(external_ids))
    ).all()
    return {row[0]: {"question": row[1], "department": row[2]} for row in result}


def _breakdown(questions: list[Any], key) -> list[dict[str, Any]]:
    groups: dict[str, Counter] = defaultdict(Counter)
    for row in questions:
        counter = groups[key(row)]
        counter["questions"] += 1
        if row.decision in DECISIONS:
            counter[row.decision] += 1
    result = []
    for name, counter in sorted(groups.items(), key=lambda item: (-item[1]["questions"], item[0])):
        result.append(
            {
                "name": name,
                "questions": counter["questions"],
                "answer": counter["answer"],
                "candidates": counter["candidates"],
                "no_match": counter["no_match"],
                "answer_rate": ratio(counter["answer"], counter["questions"]),
            }
        )
    return result


def _qa_feedback(session: Session, feedback: list[Any]) -> list[dict[str, Any]]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for row in feedback:
        if row.qa_external_id:
            counts[row.qa_external_id]["helpful" if row.helpful else "not_helpful"] += 1
    info = _qa_info(session, list(counts))
    result = [
        {
            "qa_id": qa_id,
            "question": info.get(qa_id, {}).get("question", "（削除済み）"),
            "department": info.get(qa_id, {}).get("department", ""),
            "helpful": counter["helpful"],
            "not_helpful": counter["not_helpful"],
            "helpful_rate": ratio(counter["helpful"], counter["helpful"] + counter["not_helpful"]),
        }
        for qa_id, counter in counts.items()
    ]
    result.sort(key=lambda item: (-item["not_helpful"], item["qa_id"]))
    return result


def top_unanswered(
    session: Session, start: datetime, end: datetime, top_n: int = TOP_N
) -> list[dict[str, Any]]:
    """Groups of unanswered questions (``qa_data.unanswered.group_unanswered``: no_match and
    「解決しない」), largest first; falls back to exact-text grouping of ``no_match`` questions
    when the grouping module is not installed."""
    try:
        from qa_data.unanswered import group_unanswered
    except ImportError:
        group_unanswered = None
    if group_unanswered is not None:
        groups = group_unanswered(session, since=start, until=end)
        ranked = sorted(groups, key=lambda group: (-group.count, str(group.representative)))
        return [
            {
                "text": group.representative,
                "count": group.count,
                "last_seen": group.last_seen,
                "key": group.key,
                "examples": list(getattr(group, "examples", []) or [])[:3],
                "not_helpful": int((getattr(group, "reasons", None) or {}).get("not_helpful", 0)),
            }
            for group in ranked[:top_n]
        ]
    rows = session.execute(
        select(QueryLog.text, QueryLog.created_at).where(
            QueryLog.created_at >= start,
            QueryLog.created_at < end,
            QueryLog.kind == QUESTION_KIND,
            QueryLog.decision == "no_match",
        )
    ).all()
    groups: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        groups[normalise_text(row.text)].append(row)
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))[:top_n]
    return [
        {
            "text": Counter(row.text for row in members).most_common(1)[0][0],
            "count": len(members),
            "last_seen": max(row.created_at for row in members),
            "key": key,
            "examples": [],
            "not_helpful": 0,
        }
        for key, members in ranked
    ]


# ---------------------------------------------------------------------------------------------
# What staff changed


ARCHIVE_WORDS = ("archive", "アーカイブ")
CREATE_WORDS = ("create", "新規", "import_new")


def staff_changes(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """QA added, edited and archived (from ``QAEntry``/``QARevision``), and synonym groups added or
    changed, per department. ``QARevision`` rows hold the content *before* each change; their
    ``change`` names what happened (``archive`` counts as archiving)."""
    names = dict(session.execute(select(Department.id, Department.name)).all())
    per_department: dict[str, Counter] = defaultdict(Counter)
    created = session.execute(
        select(QAEntry.external_id, QAEntry.department_id).where(
            QAEntry.created_at >= start, QAEntry.created_at < end
        )
    ).all()
    created_ids = {row.external_id for row in created}
    for row in created:
        per_department[names.get(row.department_id, NO_DEPARTMENT)]["added"] += 1
    revisions = session.execute(
        select(QARevision.change, QAEntry.external_id, QAEntry.department_id)
        .join(QAEntry, QARevision.qa_id == QAEntry.id)
        .where(QARevision.changed_at >= start, QARevision.changed_at < end)
    ).all()
    edited: dict[str, set[str]] = defaultdict(set)
    archived: dict[str, set[str]] = defaultdict(set)
    for row in revisions:
        department = names.get(row.department_id, NO_DEPARTMENT)
        change = (row.change or "").lower()
        if any(word in change for word in ARCHIVE_WORDS) and "restore" not in change:
            archived[department].add(row.external_id)
        elif any(word in change for word in CREATE_WORDS):
            continue
        elif row.external_id not in created_ids:
            edited[department].add(row.external_id)
    # An archive saved as a plain status change still shows as an archived, recently changed entry.
    recently_archived = session.execute(
        select(QAEntry.external_id, QAEntry.department_id).where(
            QAEntry.status == QAStatus.ARCHIVED,
            QAEntry.updated_at >= start,
            QAEntry.updated_at < end,
        )
    ).all()
    for row in recently_archived:
        department = names.get(row.department_id, NO_DEPARTMENT)
        archived[department].add(row.external_id)
        edited[department].discard(row.external_id)
    for department, ids in edited.items():
        per_department[department]["edited"] = len(ids)
    for department, ids in archived.items():
        per_department[department]["archived"] = len(ids)

    synonyms = session.execute(
        select(SynonymGroup.terms, SynonymGroup.created_by).where(
            SynonymGroup.updated_at >= start, SynonymGroup.updated_at < end
        )
    ).all()
    user_departments = _user_departments(session)
    for row in synonyms:
        department = user_departments.get(row.created_by, COMMON_DEPARTMENT)
        per_department[department]["synonyms"] += 1
    table = [
        {
            "department": name,
            "added": counter["added"],
            "edited": counter["edited"],
            "archived": counter["archived"],
            "synonyms": counter["synonyms"],
        }
        for name, counter in sorted(per_department.items())
    ]
    totals = {
        key: sum(row[key] for row in table) for key in ("added", "edited", "archived", "synonyms")
    }
    return {"by_department": table, "totals": totals}


def _user_departments(session: Session) -> dict[str, str]:
    result: dict[str, str] = {}
    for user in session.scalars(select(User)).all():
        if user.departments:
            result[user.login_id] = user.departments[0].name
    return result


def daily_table(stats: Stats) -> list[dict[str, Any]]:
    return [
        {
            "日付": row["date"].isoformat(),
            "質問数": row["questions"],
            **{DECISION_LABELS[d]: row[d] for d in DECISIONS},
        }
        for row in stats.daily
    ]
