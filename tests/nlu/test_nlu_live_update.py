"""Store edits show in search within 2 s, with no restart, through the real store."""

from __future__ import annotations

from nlu_helpers import add_entries, wait_for
from sqlalchemy import select

from qa_data.db import session_scope
from qa_data.models import QAEntry, QAStatus


def _edit(url: str, external_id: str, **changes) -> None:
    """Change an entry the way the console does: through qa_store.save_entry."""
    from qa_data import qa_store

    with session_scope(url) as session:
        entry = session.scalars(select(QAEntry).where(QAEntry.external_id == external_id)).one()
        if "status" in changes:
            changes["status"] = QAStatus(changes["status"]).value
        qa_store.save_entry(session, entry=entry, fields=changes, actor="test")


def _top(retriever, text: str) -> str | None:
    result = retriever.search(text)
    return result.hits[0].id if result.hits else None


def test_edit_create_unpublish_are_visible(fixture_store, normalizer) -> None:
    from nlu.retrieval import Retriever
    from nlu.retrieval.config import RetrievalConfig

    retriever = Retriever(RetrievalConfig(refresh_interval_seconds=0.5), fixture_store, normalizer)
    assert _top(retriever, "パスポートの申請") != "MD-T14"

    _edit(fixture_store, "MD-T14", question="パスポートの申請窓口はどこですか",
          answer="パスポートは県の旅券窓口で申請します。")  # fmt: skip
    assert wait_for(lambda: _top(retriever, "パスポートの申請") == "MD-T14")

    add_entries(fixture_store, [("NEW-1", "空き家バンクに登録したい", [], [], "住まい",
                                 "空き家バンクは住宅課が運営しています。")])  # fmt: skip
    assert wait_for(lambda: _top(retriever, "空き家バンク") == "NEW-1")

    _edit(fixture_store, "NEW-1", status=QAStatus.DRAFT)
    assert wait_for(lambda: _top(retriever, "空き家バンク") != "NEW-1")
    assert retriever.search("空き家バンク", include_drafts=True).hits[0].id == "NEW-1"

    _edit(fixture_store, "MD-T14", status=QAStatus.ARCHIVED)
    assert wait_for(lambda: _top(retriever, "パスポートの申請") != "MD-T14")
    assert retriever.status()["entries"] == 16  # 16 fixture entries + 1 new - 1 archived


def test_only_changed_entries_are_reanalysed(fixture_store, make_retriever) -> None:
    retriever = make_retriever(fixture_store)
    retriever.search("住民票")
    assert retriever._snapshot.info["reanalysed"] == 16
    _edit(fixture_store, "MD-T03", keywords=["住民票", "写し"])
    retriever.search("住民票")
    assert retriever._snapshot.info["reanalysed"] == 1
    retriever.search("住民票")
    assert retriever._snapshot.info["reanalysed"] == 1  # nothing changed: no rebuild


def test_status_records_dictionary_and_model(fixture_store, make_retriever) -> None:
    retriever = make_retriever(fixture_store)
    retriever.search("住民票")
    status = retriever.status()
    assert status["mode"] == "lexical"
    assert status["dictionary_version"].startswith("core-")
    assert retriever._snapshot.meta == (status["dictionary_version"], "")


def test_concurrent_searches_during_edits(fixture_store, make_retriever) -> None:
    from concurrent.futures import ThreadPoolExecutor

    retriever = make_retriever(fixture_store)
    expected = retriever.search("住民票がほしい").hits[0].id
    errors: list[BaseException] = []

    def worker(i: int) -> str | None:
        try:
            return retriever.search("住民票がほしい" if i % 2 else "粗大ごみの出し方").hits[0].id
        except BaseException as error:  # collected, asserted below
            errors.append(error)
            return None

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(worker, i) for i in range(120)]
        for n in range(5):
            _edit(fixture_store, "MD-T16", keywords=["ごみ袋", f"販売店{n}"])
        results = [f.result() for f in futures]
    assert not errors
    assert {r for i, r in enumerate(results) if i % 2} == {expected}
    assert {r for i, r in enumerate(results) if not i % 2} == {"MD-T05"}


def test_store_outage_keeps_the_last_index(fixture_store, make_retriever, caplog) -> None:
    import logging

    from sqlalchemy import text

    from qa_data.db import get_engine

    retriever = make_retriever(fixture_store)
    assert retriever.search("住民票がほしい").hits[0].id == "MD-T03"
    with get_engine(fixture_store).begin() as connection:
        connection.execute(text("ALTER TABLE qa_entries RENAME TO qa_entries_away"))
    try:
        with caplog.at_level(logging.WARNING, logger="nlu.retrieval"):
            for _ in range(3):
                assert retriever.search("住民票がほしい").hits[0].id == "MD-T03"
        assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    finally:
        with get_engine(fixture_store).begin() as connection:
            connection.execute(text("ALTER TABLE qa_entries_away RENAME TO qa_entries"))
    assert retriever.search("住民票がほしい").hits[0].id == "MD-T03"
