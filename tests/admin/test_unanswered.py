"""Grouping of unanswered questions on fixture logs, and handling a group."""

from __future__ import annotations

from datetime import timedelta

from qa_data import qa_store, unanswered
from qa_data.chat_log import record_feedback, record_query
from qa_data.db import session_scope
from qa_data.models import UnansweredHandling, utcnow

SODAI = [
    f"{noun}{tail}"
    for noun in ("粗大ごみ", "粗大ゴミ")
    for tail in (
        "の出し方を教えてください",
        "の出し方",
        "はどうやって出すの",
        "を出したいです",
        "の収集日はいつ？",
        "を捨てたい",
        "の回収方法を知りたい",
        "って何曜日に出せますか",
        "の申し込み方法",
        "を出す方法",
        "はどこに出せばいいですか",
        "の出し方がわからない",
        "を処分したい",
        "の予約はどうすればいいですか",
        "を出したいのですが",
    )
]
JUUMINHYOU = ["住民票の写しがほしい", "住民票を取りたい", "住民票はどこで取れますか"]
OTHERS = ["図書館の開館時間", "犬の登録はどこでしますか"]


def _log(session, text, *, decision="no_match", minutes_ago=0, session_id="s"):
    return record_query(
        session,
        session_id=session_id,
        text=text,
        decision=decision,
        created_at=utcnow() - timedelta(minutes=minutes_ago),
    )


def test_thirty_wordings_form_one_group(seeded_sqlite):
    url = seeded_sqlite.url
    with session_scope(url) as session:
        for i, text in enumerate(SODAI):
            _log(session, text, minutes_ago=100 + i, session_id=f"sodai-{i}")
        for i, text in enumerate(JUUMINHYOU):
            _log(session, text, minutes_ago=i, session_id=f"jumin-{i}")
        for text in OTHERS:
            _log(session, text, minutes_ago=50)
        # Answered questions are not listed; a 「解決しない」 answer is.
        _log(session, "保育園の入園申込", decision="answer", session_id="ok")
        asked = _log(session, "児童手当はいつ振り込まれますか", decision="answer", session_id="fb")
        record_feedback(session, session_id="fb", helpful=False, query_log_id=asked.id)
        _log(session, "保育園の空き状況", decision="answer", session_id="fine")
        record_feedback(session, session_id="fine", helpful=True)
    with session_scope(url) as session:
        groups = unanswered.group_unanswered(session)
    by_count = [g.count for g in groups]
    assert by_count[0] == 30, [(g.representative, g.count) for g in groups]
    top = groups[0]
    assert "粗大" in top.representative
    assert len(top.query_log_ids) == 30
    assert sum(by_count) == 30 + len(JUUMINHYOU) + len(OTHERS) + 1
    texts = {g.representative for g in groups}
    assert "児童手当はいつ振り込まれますか" in texts
    assert not any("保育園" in t for t in texts)
    juuminhyou = [g for g in groups if "住民票" in g.representative]
    assert len(juuminhyou) == 1 and juuminhyou[0].count == 3
    # Sorting by recency puts the 住民票 group (asked minutes ago) before the 粗大ごみ group.
    with session_scope(url) as session:
        recent = unanswered.group_unanswered(session, sort="recent")
    assert recent.index(next(g for g in recent if "住民票" in g.representative)) < next(
        i for i, g in enumerate(recent) if "粗大" in g.representative
    )


def test_handled_groups_leave_the_list_and_improve_the_qa(seeded_sqlite):
    url = seeded_sqlite.url
    admin = seeded_sqlite.users["shimin_admin"]
    with session_scope(url) as session:
        for text in JUUMINHYOU:
            _log(session, text)
        _log(session, "図書館の開館時間")
    with session_scope(url) as session:
        groups = unanswered.group_unanswered(session)
        group = next(g for g in groups if "住民票" in g.representative)
        unanswered.handle_group(
            session, admin, group, unanswered.ACTION_ADD_ALTERNATE, qa_external_id="MD-0001"
        )
        library = next(g for g in groups if "図書館" in g.representative)
        unanswered.handle_group(session, admin, library, unanswered.ACTION_IGNORED)
    with session_scope(url) as session:
        assert unanswered.group_unanswered(session) == []
        entry = qa_store.get_entry(session, "MD-0001")
        assert set(JUUMINHYOU) - {entry.question} <= set(entry.alternate_questions)
        handled = session.query(UnansweredHandling).order_by(UnansweredHandling.id).all()
        assert [(h.action, h.handled_by) for h in handled] == [
            ("add_alternate", "shimin_admin"),
            ("ignored", "shimin_admin"),
        ]
        assert handled[0].qa_external_id == "MD-0001" and handled[0].handled_at is not None
