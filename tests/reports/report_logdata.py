"""Test data for the report tests: a store with QA entries and a month of conversation logs
written through the real logging functions (``qa_data.chat_log.record_query`` /
``record_feedback``, which the action server calls), with the decisions of the real retriever.

The target month is October 2026 (Japan time); September gets a smaller volume so that the
report has a previous month to compare with. Rows at 00:30 JST on 1 October (still 30 September
in UTC) and on 1 November (still 31 October in UTC) check the Japan-time month bounds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from qa_data.db import session_scope
from qa_data.models import AuditLog, QAEntry, QARevision, SynonymGroup, UnansweredHandling

OCTOBER_START_UTC = datetime(2026, 9, 30, 15, 0)  # 2026-10-01 00:00 JST
OCTOBER_END_UTC = datetime(2026, 10, 31, 15, 0)  # 2026-11-01 00:00 JST
SEPTEMBER_START_UTC = datetime(2026, 8, 31, 15, 0)

QA_ENTRIES = [
    (
        "MD-0001",
        "市民課",
        "戸籍・住民票",
        "住民票",
        "住民票の写しを取りたい",
        ["住民票がほしい", "住民票の発行"],
        "市民課の窓口かコンビニで取れます。",
    ),
    (
        "MD-0002",
        "市民課",
        "戸籍・住民票",
        "マイナンバー",
        "マイナンバーカードを申請したい",
        ["マイナンバーカードを作りたい"],
        "申請書を郵送するか、スマートフォンで申請できます。",
    ),
    (
        "MD-0003",
        "子育て支援課",
        "子育て・保育",
        "手当",
        "児童手当の申請方法を知りたい",
        ["児童手当をもらいたい"],
        "出生届のあと15日以内に申請してください。",
    ),
    (
        "MD-0004",
        "子育て支援課",
        "子育て・保育",
        "保育園",
        "保育園の入園を申し込みたい",
        ["保育所に入りたい"],
        "入園の申し込みは毎年11月に受け付けます。",
    ),
    (
        "MD-0005",
        "環境課",
        "ごみ・リサイクル",
        "粗大ごみ",
        "粗大ごみの出し方を知りたい",
        ["大きなごみを捨てたい"],
        "粗大ごみ受付センターに電話で申し込んでください。",
    ),
    (
        "MD-0006",
        "環境課",
        "ごみ・リサイクル",
        "収集日",
        "ごみの収集日を知りたい",
        ["ごみはいつ出せますか"],
        "地区ごとの収集カレンダーをご覧ください。",
    ),
    (
        "MD-0007",
        "税務課",
        "税金",
        "住民税",
        "住民税の納付方法を知りたい",
        ["住民税を払いたい"],
        "納付書で金融機関・コンビニで納付できます。",
    ),
]

# (text, weight): typed questions; the retriever decides what happens to them.
QUESTIONS = [
    ("住民票の写しを取りたい", 8),
    ("住民票がほしいです", 5),
    ("マイナンバーカードを申請したい", 6),
    ("児童手当の申請方法を知りたい", 5),
    ("保育園の入園を申し込みたい", 4),
    ("粗大ごみの出し方を知りたい", 6),
    ("ごみの収集日を知りたい", 5),
    ("住民税の納付方法を知りたい", 3),
    ("申請したい", 3),
    ("知りたい", 2),
    ("パスポートを更新したい", 6),
    ("犬の登録をしたい", 3),
    ("宇宙旅行の補助金はありますか", 2),
]
PERSONAL = "（電話は090-1234-5678です）"


@dataclass
class LogData:
    url: str
    dev_set: Path
    october_logs: int = 0
    september_logs: int = 0
    handled_log_ids: list[int] = field(default_factory=list)


def seed_entries(url: str) -> None:
    from qa_data.qa_store import save_entry

    with session_scope(url) as session:
        for ext, dept, major, minor, question, alternates, answer in QA_ENTRIES:
            save_entry(
                session,
                external_id=ext,
                fields={
                    "department": dept,
                    "category_major": major,
                    "category_minor": minor,
                    "question": question,
                    "alternate_questions": alternates,
                    "answer": answer,
                    "status": "published",
                },
                actor="seed",
            )


def _log_month(
    url: str, rng: random.Random, start: datetime, days: int, sessions_per_day: tuple[int, int]
) -> tuple[int, list[int]]:
    """Conversations as the action server logs them; returns (rows, ids of 犬 questions)."""
    from nlu.retrieval import Retriever
    from qa_data.chat_log import record_feedback, record_query

    retriever = Retriever.from_settings(url=url)
    texts, weights = zip(*QUESTIONS, strict=True)
    rows = 0
    dog_ids: list[int] = []
    with session_scope(url) as session:
        for day in range(days):
            for n in range(rng.randint(*sessions_per_day)):
                sender = f"web-{start:%m}-{day}-{n}"
                moment = start + timedelta(
                    days=day, hours=rng.randint(0, 23), minutes=rng.randint(0, 50)
                )
                for _turn in range(rng.choice((1, 1, 2))):
                    text = rng.choices(texts, weights)[0]
                    if rng.random() < 0.08:
                        text += PERSONAL
                    moment += timedelta(seconds=rng.randint(5, 60))
                    ms = rng.choice((120.0, 250.5, 400.0, 800.0, 1500.0, 2600.0))
                    if rng.random() < 0.03:
                        record_query(
                            session,
                            session_id=sender,
                            kind="error",
                            text=text,
                            decision="error",
                            response_ms=ms,
                            error="TimeoutError",
                            created_at=moment,
                        )
                        rows += 1
                        continue
                    result = retriever.search(text)
                    best = result.hits[0] if result.hits else None
                    common = {
                        "session_id": sender,
                        "text": text,
                        "intent": "faq",
                        "top_hits": [{"id": h.id, "score": h.score} for h in result.hits],
                        "department_id": best.department_id if best else None,
                        "category": best.category if best else None,
                        "response_ms": ms,
                    }
                    shown = None
                    if result.decision == "answer":
                        row = record_query(
                            session,
                            kind="message",
                            decision="answer",
                            qa_shown=best.id,
                            created_at=moment,
                            **common,
                        )
                        shown, log_id = best.id, row.id
                    else:
                        row = record_query(
                            session,
                            kind="message",
                            decision=result.decision,
                            created_at=moment,
                            **common,
                        )
                        log_id = row.id
                        if text.startswith("犬"):
                            dog_ids.append(row.id)
                    rows += 1
                    if result.decision == "candidates" and rng.random() < 0.6:
                        moment += timedelta(seconds=8)
                        pick = result.hits[0]
                        row = record_query(
                            session,
                            session_id=sender,
                            kind="select",
                            text=f'/select_qa{{"qa_id":"{pick.id}"}}',
                            decision="answer",
                            qa_shown=pick.id,
                            qa_selected=pick.id,
                            department_id=pick.department_id,
                            category=pick.category,
                            response_ms=90.0,
                            created_at=moment,
                        )
                        rows += 1
                        shown, log_id = pick.id, row.id
                    if shown and rng.random() < 0.5:
                        moment += timedelta(seconds=10)
                        helpful = rng.random() < (0.3 if shown == "MD-0007" else 0.8)
                        record_feedback(
                            session,
                            session_id=sender,
                            helpful=helpful,
                            qa_external_id=shown,
                            query_log_id=log_id,
                            created_at=moment,
                        )
                        record_query(
                            session,
                            session_id=sender,
                            kind="feedback",
                            text="/feedback",
                            decision="helpful" if helpful else "not_helpful",
                            qa_shown=shown,
                            response_ms=30.0,
                            created_at=moment,
                        )
                        rows += 1
    return rows, dog_ids


def write_dev_set(path: Path) -> Path:
    path.write_text(
        "query,expected_ids\n"
        "住民票の写しが必要です,MD-0001\n"
        "マイナンバーカードの申請,MD-0002\n"
        "児童手当を申請したい,MD-0003\n"
        "保育園に入園したい,MD-0004\n"
        "粗大ごみを出したい,MD-0005\n"
        "ごみの収集日はいつ,MD-0006\n"
        "住民税を納付したい,MD-0007\n"
        "宇宙旅行の補助金,\n",
        encoding="utf-8",
    )
    return path


def generate(url: str, tmp_path: Path) -> LogData:
    rng = random.Random(20261031)
    seed_entries(url)
    data = LogData(url=url, dev_set=write_dev_set(tmp_path / "dev_queries.csv"))
    data.september_logs, _ = _log_month(
        url, rng, SEPTEMBER_START_UTC + timedelta(hours=1), 30, (1, 3)
    )
    data.october_logs, data.handled_log_ids = _log_month(
        url, rng, OCTOBER_START_UTC + timedelta(hours=1), 31, (3, 6)
    )
    from qa_data.chat_log import record_query

    with session_scope(url) as session:
        # Month edges in Japan time: the first belongs to October, the second to November.
        record_query(
            session,
            session_id="edge-1",
            text="住民票の写しを取りたい",
            kind="message",
            decision="no_match",
            response_ms=50.0,
            created_at=OCTOBER_START_UTC + timedelta(minutes=30),
        )
        record_query(
            session,
            session_id="edge-2",
            text="住民票の写しを取りたい",
            kind="message",
            decision="no_match",
            response_ms=99999.0,
            created_at=OCTOBER_END_UTC + timedelta(minutes=30),
        )
        record_query(
            session,
            session_id="edge-3",
            text="住民票の写しを取りたい",
            kind="message",
            decision="no_match",
            response_ms=99999.0,
            created_at=OCTOBER_START_UTC - timedelta(minutes=30),
        )
        # Staff security events of October (the audit log only accepts inserts).
        for minutes, action in (
            (10, "login"),
            (20, "login_failed"),
            (21, "login_failed"),
            (22, "login_failed"),
            (23, "account_locked"),
            (60, "login"),
        ):
            session.add(
                AuditLog(
                    at=datetime(2026, 10, 15, 1, minutes % 60),
                    actor="suzuki",
                    action=action,
                    target="suzuki",
                    detail={},
                )
            )
        session.add(
            AuditLog(
                at=datetime(2026, 11, 2, 1, 0),
                actor="x",
                action="login_failed",
                target="x",
                detail={},
            )
        )
    data.october_logs += 1
    return data


def staff_october_changes(url: str) -> None:
    """QA work of October: a new entry (from the 犬 questions), an edit, an archive, a synonym.
    ``save_entry`` stamps the current time; the fixture moves the stamps into October."""
    from qa_data.qa_store import save_entry

    with session_scope(url) as session:
        save_entry(
            session,
            external_id="MD-0010",
            actor="tanaka",
            fields={
                "department": "環境課",
                "category_major": "ペット",
                "question": "犬の登録をしたい",
                "answer": "環境課で登録してください。",
                "status": "published",
            },
        )
        save_entry(
            session,
            external_id="MD-0006",
            actor="tanaka",
            fields={"answer": "地区ごとの収集カレンダー（毎年4月配布）をご覧ください。"},
        )
        save_entry(
            session,
            external_id="MD-0007",
            actor="sato",
            change="archive",
            fields={"status": "archived"},
        )
        session.add(SynonymGroup(terms=["マイナンバーカード", "個人番号カード"], created_by="sato"))
    october = datetime(2026, 10, 20, 3, 0)
    with session_scope(url) as session:
        session.execute(
            update(QARevision).where(QARevision.changed_by != "seed").values(changed_at=october)
        )
        session.execute(
            update(QAEntry)
            .where(QAEntry.external_id.in_(["MD-0006", "MD-0007"]))
            .values(updated_at=october)
        )
        session.execute(
            update(QAEntry)
            .where(QAEntry.external_id == "MD-0010")
            .values(created_at=october, updated_at=october)
        )
        session.execute(update(SynonymGroup).values(updated_at=october))


def handle_dog_questions(url: str, log_ids: list[int]) -> None:
    with session_scope(url) as session:
        session.add(
            UnansweredHandling(
                group_key="犬の登録",
                action="new_qa",
                qa_external_id="MD-0010",
                query_log_ids=[str(i) for i in log_ids],
                handled_by="tanaka",
                handled_at=datetime(2026, 10, 20, 3, 0),
            )
        )
