"""未回答の質問: resident questions that found no answer, grouped by similarity.

A question is "unanswered" when its ``QueryLog.decision`` is ``no_match``, or when the resident
pressed 「解決しない」 (``Feedback.helpful == False``) on the answer it led to. Questions are
normalised (``nlu.normalizer.normalize_text``: width, kana, case), polite endings such as
「を教えてください」 are dropped, and the remaining text is compared as TF-IDF weighted character
bigrams (hiragana and katakana unified). Leader clustering against each group's centroid with a
cosine threshold puts 30 wordings of one question into one group with a count.

Handled groups are stored as ``UnansweredHandling`` rows listing the query-log ids they covered;
those logs leave the open list, and new wordings that arrive later form a new group.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_data.audit import record_audit
from qa_data.models import Feedback, QueryLog, UnansweredHandling, utcnow
from qa_data.permissions import CurrentUser, PermissionDenied, Role

ACTION_NEW_QA = "new_qa"
ACTION_ADD_ALTERNATE = "add_alternate"
ACTION_IGNORED = "ignored"
ACTION_LABELS = {
    ACTION_NEW_QA: "新しいQAとして登録",
    ACTION_ADD_ALTERNATE: "既存のQAの別の聞き方に追加",
    ACTION_IGNORED: "対応不要",
}
SIMILARITY_THRESHOLD = 0.4
MAX_LOGS = 20_000

# Endings and fillers that carry no topic; removed (longest first) before comparing.
_FILLERS = sorted(
    [
        "を教えてください",
        "について教えてください",
        "教えてください",
        "おしえてください",
        "を知りたいです",
        "を知りたい",
        "知りたいです",
        "知りたい",
        "はどうすればいいですか",
        "はどうすればよいですか",
        "どうすればいいですか",
        "どうすればいい",
        "どうしたらいいですか",
        "どうしたらいい",
        "したいのですが",
        "したいです",
        "したい",
        "ありますか",
        "できますか",
        "ですか",
        "ますか",
        "ください",
        "について",
        "ってどうやって",
        "どうやって",
        "方法",
        "すみません",
        "お願いします",
        "のですが",
        "なんですが",
        "ですが",
        "って",
        "です",
        "ます",
    ],
    key=len,
    reverse=True,
)
_PUNCT_RE = re.compile(r"[\s、。,.!?！？「」『』（）()・…〜~ー]+$")


@dataclass
class UnansweredGroup:
    key: str
    representative: str
    count: int
    last_seen: datetime
    query_log_ids: list[int]
    examples: list[str] = field(default_factory=list)
    first_seen: datetime | None = None
    reasons: dict[str, int] = field(default_factory=dict)  # no_match / not_helpful counts


@dataclass
class _Item:
    log_id: int
    text: str
    created_at: datetime
    reason: str


def _normalize(text: str) -> str:
    try:
        from nlu.normalizer import normalize_text

        return normalize_text(text)
    except ImportError:  # pragma: no cover - nlu is part of the project
        return unicodedata.normalize("NFKC", text or "").casefold().strip()


def _to_katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def topic_text(text: str) -> str:
    """The normalised text without polite endings and punctuation (used as the group key)."""
    text = _normalize(text)
    for filler in _FILLERS:
        text = text.replace(filler, " ")
    text = re.sub(r"\s+", " ", text).strip()
    return _PUNCT_RE.sub("", text) or _normalize(text)


_PARTICLES = set("のをはがにでともへや")


def _bigrams(text: str, drop_particles: bool = True) -> list[str]:
    cleaned = "".join(
        c
        for c in text
        if not c.isspace()
        and unicodedata.category(c)[0] in "LN"
        and c != "ー"
        and not (drop_particles and c in _PARTICLES)
    )
    cleaned = _to_katakana(cleaned)
    if len(cleaned) < 2:
        return [cleaned] if cleaned else []
    return [cleaned[i : i + 2] for i in range(len(cleaned) - 1)]


def _features(topic: str) -> list[str]:
    """Surface bigrams, plus Sudachi content words and their reading bigrams when available
    (so そだいごみ meets 粗大ごみ and ソファー meets ソファ)."""
    features = _bigrams(topic)
    try:
        from nlu.normalizer import get_normalizer

        tokens = get_normalizer().tokenize(topic, "C")
    except Exception:  # pragma: no cover - Sudachi missing: surface bigrams only
        return features
    for token in tokens:
        if token.is_stop:
            continue
        features.extend([f"w:{token.normalized}"] * 2)
        features.extend(f"r:{gram}" for gram in _bigrams(token.reading, drop_particles=False))
    return features


def _vector(grams: list[str], idf: dict[str, float]) -> dict[str, float]:
    counts = Counter(grams)
    vector = {g: (1 + math.log(n)) * idf.get(g, 1.0) for g, n in counts.items()}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {g: v / norm for g, v in vector.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(g, 0.0) for g, v in a.items())


def group_texts(texts: list[str], threshold: float = SIMILARITY_THRESHOLD) -> list[list[int]]:
    """Indices of ``texts`` grouped by similarity (leader clustering on TF-IDF bigram cosine)."""
    topics = [topic_text(t) for t in texts]
    grams = [_features(t) for t in topics]
    document_frequency: Counter[str] = Counter()
    for g in grams:
        document_frequency.update(set(g))
    total = max(1, len(texts))
    idf = {g: math.log((1 + total) / (1 + n)) + 1.0 for g, n in document_frequency.items()}
    vectors = [_vector(g, idf) for g in grams]
    # The most frequent wording leads its group: identical topics are counted first.
    topic_counts = Counter(topics)
    order = sorted(range(len(texts)), key=lambda i: (-topic_counts[topics[i]], topics[i], i))
    groups: list[list[int]] = []
    centroids: list[dict[str, float]] = []
    for i in order:
        if not vectors[i]:
            groups.append([i])
            centroids.append({})
            continue
        best, best_score = -1, 0.0
        for g, centroid in enumerate(centroids):
            if not centroid:
                continue
            score = _cosine(vectors[i], centroid)
            if score > best_score:
                best, best_score = g, score
        if best >= 0 and best_score >= threshold:
            groups[best].append(i)
            size = len(groups[best])
            merged = dict(centroids[best])
            for gram in merged:
                merged[gram] *= (size - 1) / size
            for gram, value in vectors[i].items():
                merged[gram] = merged.get(gram, 0.0) + value / size
            norm = math.sqrt(sum(v * v for v in merged.values())) or 1.0
            centroids[best] = {k: v / norm for k, v in merged.items()}
        else:
            groups.append([i])
            centroids.append(dict(vectors[i]))
    return _merge_by_topic_noun(groups, topics)


# Nouns too general to name a topic on their own.
_GENERIC_NOUNS = {
    "方法", "仕方", "手続き", "手続", "こと", "事", "もの", "物", "時間", "場所", "場合", "とき",
    "時", "今日", "明日", "いつ", "どこ", "何", "なに", "ため", "為", "件", "質問", "相談", "市",
}  # fmt: skip


def topic_noun(topic: str) -> str | None:
    """The first specific noun of a question (its topic: 粗大ごみ, 住民票, 児童手当), or None."""
    try:
        from nlu.normalizer import get_normalizer

        tokens = get_normalizer().tokenize(topic, "C")
    except Exception:  # pragma: no cover - Sudachi missing
        return None
    for token in tokens:
        pos = token.pos
        if not pos or pos[0] != "名詞" or (len(pos) > 1 and pos[1] in ("数詞", "代名詞")):
            continue
        word = _to_katakana(token.normalized)
        if token.normalized in _GENERIC_NOUNS or token.surface in _GENERIC_NOUNS:
            continue
        return word if len(word) >= 2 else None
    return None


def _merge_by_topic_noun(groups: list[list[int]], topics: list[str]) -> list[list[int]]:
    """Second pass: groups whose leading wording has the same topic noun become one group, so
    「粗大ごみの予約」 and 「粗大ごみを捨てたい」 are counted together (staff see the wordings)."""
    merged: list[list[int]] = []
    by_noun: dict[str, int] = {}
    for members in groups:
        noun = topic_noun(topics[members[0]])
        if noun is not None and noun in by_noun:
            merged[by_noun[noun]].extend(members)
            continue
        if noun is not None:
            by_noun[noun] = len(merged)
        merged.append(list(members))
    return merged


def handled_log_ids(session: Session) -> set[int]:
    handled: set[int] = set()
    for ids in session.scalars(select(UnansweredHandling.query_log_ids)):
        for value in ids or []:
            try:
                handled.add(int(value))
            except (TypeError, ValueError):
                continue
    return handled


def _is_question(log: QueryLog) -> bool:
    text = (log.text or "").strip()
    return bool(text) and not text.startswith("/") and (log.kind or "message") == "message"


def unanswered_items(
    session: Session, since: datetime | None = None, until: datetime | None = None
) -> list[_Item]:
    """The open (not yet handled) unanswered questions in [since, until)."""
    query = select(QueryLog).where(QueryLog.decision == "no_match")
    if since is not None:
        query = query.where(QueryLog.created_at >= since)
    if until is not None:
        query = query.where(QueryLog.created_at < until)
    logs = list(session.scalars(query.order_by(QueryLog.created_at.desc()).limit(MAX_LOGS)))
    items: dict[int, _Item] = {
        log.id: _Item(log.id, log.text, log.created_at, "no_match")
        for log in logs
        if _is_question(log)
    }
    feedback_query = select(Feedback).where(Feedback.helpful.is_(False))
    if since is not None:
        feedback_query = feedback_query.where(Feedback.created_at >= since)
    if until is not None:
        feedback_query = feedback_query.where(Feedback.created_at < until)
    for feedback in session.scalars(feedback_query.limit(MAX_LOGS)):
        log = _question_for_feedback(session, feedback)
        if log is not None and log.id not in items:
            items[log.id] = _Item(log.id, log.text, log.created_at, "not_helpful")
    handled = handled_log_ids(session)
    return [item for log_id, item in items.items() if log_id not in handled]


def _question_for_feedback(session: Session, feedback: Feedback) -> QueryLog | None:
    """The resident's typed question behind a 「解決しない」: the linked log when it is a question,
    else the latest question of the same session before the feedback."""
    if feedback.query_log_id is not None:
        log = session.get(QueryLog, feedback.query_log_id)
        if log is not None and _is_question(log):
            return log
        before = log.created_at if log is not None else feedback.created_at
    else:
        before = feedback.created_at
    candidates = session.scalars(
        select(QueryLog)
        .where(QueryLog.session_id == feedback.session_id, QueryLog.created_at <= before)
        .order_by(QueryLog.created_at.desc(), QueryLog.id.desc())
        .limit(20)
    )
    for log in candidates:
        if _is_question(log):
            return log
    return None


def group_unanswered(
    session: Session,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    sort: str = "count",
    threshold: float = SIMILARITY_THRESHOLD,
) -> list[UnansweredGroup]:
    """Open unanswered questions grouped by similarity; ``sort`` is ``count`` or ``recent``."""
    items = unanswered_items(session, since, until)
    groups: list[UnansweredGroup] = []
    for members in group_texts([item.text for item in items], threshold):
        member_items = [items[i] for i in members]
        wordings = Counter(item.text.strip() for item in member_items)
        representative = wordings.most_common(1)[0][0]
        member_items.sort(key=lambda item: item.created_at, reverse=True)
        groups.append(
            UnansweredGroup(
                key=topic_text(representative)[:500] or representative[:500],
                representative=representative,
                count=len(member_items),
                last_seen=member_items[0].created_at,
                first_seen=member_items[-1].created_at,
                query_log_ids=sorted(item.log_id for item in member_items),
                examples=[text for text, _ in wordings.most_common(10)],
                reasons=dict(Counter(item.reason for item in member_items)),
            )
        )
    if sort == "recent":
        groups.sort(key=lambda g: (g.last_seen, g.count), reverse=True)
    else:
        groups.sort(key=lambda g: (g.count, g.last_seen), reverse=True)
    return groups


def record_handling(
    session: Session,
    actor: CurrentUser,
    group: UnansweredGroup,
    action: str,
    *,
    qa_external_id: str | None = None,
) -> UnansweredHandling:
    """Mark a group handled (who, when, what). The QA change itself goes through
    ``qa_data.editing`` (``handle_group`` does both)."""
    if action not in ACTION_LABELS:
        raise ValueError(f"unknown action {action!r}")
    if actor is None or not actor.at_least(Role.EDITOR):
        raise PermissionDenied("未回答の質問の対応には編集者以上の権限が必要です。")
    row = UnansweredHandling(
        group_key=group.key,
        action=action,
        qa_external_id=qa_external_id,
        query_log_ids=[str(i) for i in group.query_log_ids],
        handled_by=actor.login_id,
        handled_at=utcnow(),
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor=actor.login_id,
        action="unanswered_handle",
        target=group.representative[:200],
        detail={
            "action": action,
            "qa_external_id": qa_external_id,
            "count": group.count,
            "query_log_ids": group.query_log_ids[:200],
        },
        ip=actor.ip,
    )
    return row


def handle_group(
    session: Session,
    actor: CurrentUser,
    group: UnansweredGroup,
    action: str,
    *,
    qa_external_id: str | None = None,
    alternates: Iterable[str] | None = None,
) -> UnansweredHandling:
    """Carry out an action on a group.

    - ``add_alternate``: appends ``alternates`` (default: the group's wordings) to the QA's
      別の聞き方 through the permission-checked editing layer, so retrieval improves at once.
    - ``new_qa``: the caller has created the draft (``editing.create_entry``) and passes its id.
    - ``ignored``: 対応不要.
    """
    if action == ACTION_ADD_ALTERNATE:
        if not qa_external_id:
            raise ValueError("qa_external_id is required")
        from qa_data import editing

        editing.add_alternate_questions(
            session, actor, qa_external_id, list(alternates or group.examples)
        )
    return record_handling(session, actor, group, action, qa_external_id=qa_external_id)


def handling_history(session: Session, limit: int = 200) -> list[UnansweredHandling]:
    return list(
        session.scalars(
            select(UnansweredHandling).order_by(UnansweredHandling.handled_at.desc()).limit(limit)
        )
    )
