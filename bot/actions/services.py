"""What the actions need from the rest of madoguchi: texts, retrieval, garbage lookup, the store.

Everything heavy (the retriever and its models, the garbage index, database engines) is created
lazily on first use inside the action server's worker process: rasa-sdk 3.21 runs Sanic with the
"spawn" start method, and anything that fixes the multiprocessing start method at import time
makes the server die at start. ``madoguchi run`` and the test fixtures call ``action_warmup`` once
after start so the first resident does not pay for the loading.

All functions here are synchronous; actions call them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

logger = logging.getLogger(__name__)

TEXTS_FILE = Path(__file__).resolve().parent.parent / "texts.yml"

_lock = threading.Lock()
_retriever: Any = None
_garbage: dict[str, Any] = {"index": None}


def settings() -> Any:
    from qa_data.settings import get_settings

    return get_settings()


@lru_cache(maxsize=1)
def texts() -> dict[str, str]:
    return yaml.safe_load(TEXTS_FILE.read_text(encoding="utf-8")) or {}


def text(key: str, **values: Any) -> str:
    template = texts().get(key, "")
    return template.format(**values) if values else template


def retriever() -> Any:
    global _retriever
    if _retriever is None:
        with _lock:
            if _retriever is None:
                from nlu.retrieval import Retriever

                _retriever = Retriever.from_settings()
    return _retriever


def search(query: str, *, context: str | None = None, top_k: int | None = None) -> Any:
    return retriever().search(query, top_k=top_k, context=context)


def garbage_index() -> Any:
    """The garbage dictionary index (it re-reads the store's table by itself when it changes)."""
    if _garbage["index"] is None:
        with _lock:
            if _garbage["index"] is None:
                from nlu.garbage import GarbageIndex

                _garbage["index"] = GarbageIndex.from_store()
    return _garbage["index"]


def _item_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    return {
        key: getattr(item, key, None)
        for key in ("id", "name", "reading", "category", "how_to", "notes")
    }


def garbage_lookup(query: str) -> tuple[str, list[dict[str, Any]]]:
    result = garbage_index().lookup(query)
    kind = getattr(result, "kind", None) or result["kind"]
    items = getattr(result, "items", None)
    if items is None:
        items = result["items"]
    return kind, [_item_dict(item) for item in items]


def garbage_item(item_id: int) -> dict[str, Any] | None:
    from qa_data.db import session_scope
    from qa_data.models import GarbageItem

    with session_scope() as session:
        row = session.get(GarbageItem, int(item_id))
        return _item_dict(row) if row is not None else None


# ---- QA entries and departments ---------------------------------------------------------------

_MD_LINK = re.compile(r"^\s*\[(?P<title>[^\]]+)\]\((?P<url>[^)\s]+)\)\s*$")
_URL = re.compile(r"(?P<url>(?:https?://|/)\S+)\s*$")


def parse_link(raw: Any) -> dict[str, str] | None:
    """A stored link (``https://…``, ``タイトル https://…``, ``タイトル|https://…``,
    ``[タイトル](https://…)`` or a ``{"title", "url"}`` dict) → ``{"title", "url"}``."""
    if isinstance(raw, dict):
        url = str(raw.get("url") or "").strip()
        return {"title": str(raw.get("title") or url), "url": url} if url else None
    value = str(raw or "").strip()
    if not value:
        return None
    match = _MD_LINK.match(value)
    if match:
        return {"title": match["title"].strip(), "url": match["url"]}
    if "|" in value:
        title, _, url = value.rpartition("|")
        return {"title": title.strip() or url.strip(), "url": url.strip()}
    match = _URL.search(value)
    if match:
        title = value[: match.start()].strip().rstrip(":：") or match["url"]
        return {"title": title, "url": match["url"]}
    return None


def _department_dict(department: Any) -> dict[str, Any] | None:
    if department is None:
        return None
    return {
        "id": department.id,
        "name": department.name,
        "phone": department.phone or "",
        "hours": department.opening_hours or "",
        "email": department.email or "",
    }


def answer_payload(qa_id: str, include_drafts: bool = False) -> dict[str, Any] | None:
    """The ``custom`` answer payload of the message contract, or None if not published."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from qa_data.db import session_scope
    from qa_data.models import QAEntry, QAStatus
    from qa_data.rich_text import render_answer_html

    with session_scope() as session:
        entry = session.scalars(
            select(QAEntry)
            .where(QAEntry.external_id == str(qa_id))
            .options(selectinload(QAEntry.attachments), selectinload(QAEntry.department))
        ).one_or_none()
        if entry is None or (entry.status != QAStatus.PUBLISHED and not include_drafts):
            return None
        links = [link for link in (parse_link(raw) for raw in entry.links or []) if link]
        attachments = [
            {
                "name": attachment.filename,
                "url": f"/attachments/{attachment.id}/{quote(attachment.filename)}",
                "size": attachment.size,
                "content_type": attachment.content_type,
            }
            for attachment in sorted(entry.attachments, key=lambda a: a.id)
        ]
        return {
            "payload": {
                "type": "answer",
                "qa_id": entry.external_id,
                "question": entry.question,
                "html": render_answer_html(entry.answer),
                "links": links,
                "attachments": attachments,
            },
            "department": _department_dict(entry.department),
            "category": entry.category or None,
        }


def department(department_id: int | None) -> dict[str, Any] | None:
    if department_id is None:
        return None
    from qa_data.db import session_scope
    from qa_data.models import Department

    with session_scope() as session:
        return _department_dict(session.get(Department, int(department_id)))


def general_contact() -> dict[str, Any]:
    contact = settings().contact
    return {
        "name": contact.name,
        "phone": contact.phone,
        "hours": contact.hours,
        "url": contact.url,
    }


def contact_payload(dept: dict[str, Any] | None) -> dict[str, Any]:
    """The ``custom`` contact payload: a department's when it has a phone, else the general one."""
    general = general_contact()
    if dept and dept.get("phone"):
        return {
            "type": "contact",
            "name": dept["name"],
            "phone": dept["phone"],
            "hours": dept.get("hours") or general["hours"],
            "email": dept.get("email") or "",
            "url": general["url"],
        }
    return {"type": "contact", "email": "", **general}


def contact_text(contact: dict[str, Any]) -> str:
    return text(
        "contact_general", name=contact["name"], phone=contact["phone"], hours=contact["hours"]
    )


# ---- menu ------------------------------------------------------------------------------------


def menu_categories() -> list[str]:
    from sqlalchemy import func, select

    from qa_data.db import session_scope
    from qa_data.models import QAEntry, QAStatus

    with session_scope() as session:
        rows = session.execute(
            select(QAEntry.category_major, func.count(QAEntry.id), func.min(QAEntry.id))
            .where(QAEntry.status == QAStatus.PUBLISHED, QAEntry.category_major.is_not(None))
            .group_by(QAEntry.category_major)
        ).all()
    rows = [row for row in rows if (row[0] or "").strip()]
    rows.sort(key=lambda row: row[2])  # the order staff imported them in
    return [row[0] for row in rows]


def menu_subcategories(category: str) -> list[str]:
    from sqlalchemy import func, select

    from qa_data.db import session_scope
    from qa_data.models import QAEntry, QAStatus

    with session_scope() as session:
        rows = session.execute(
            select(QAEntry.category_minor, func.min(QAEntry.id))
            .where(
                QAEntry.status == QAStatus.PUBLISHED,
                QAEntry.category_major == category,
                QAEntry.category_minor.is_not(None),
            )
            .group_by(QAEntry.category_minor)
        ).all()
    rows = [row for row in rows if (row[0] or "").strip()]
    rows.sort(key=lambda row: row[1])
    return [row[0] for row in rows]


def menu_questions(category: str, subcategory: str | None, limit: int) -> list[dict[str, str]]:
    from sqlalchemy import select

    from qa_data.db import session_scope
    from qa_data.models import QAEntry, QAStatus

    query = select(QAEntry.external_id, QAEntry.question).where(
        QAEntry.status == QAStatus.PUBLISHED, QAEntry.category_major == category
    )
    if subcategory:
        query = query.where(QAEntry.category_minor == subcategory)
    with session_scope() as session:
        rows = session.execute(query.order_by(QAEntry.id).limit(limit)).all()
    return [{"id": row[0], "question": row[1]} for row in rows]


# ---- logs --------------------------------------------------------------------------------------


def log_query(**fields: Any) -> int | None:
    """Store one QueryLog row; logging problems never break the conversation."""
    try:
        from qa_data.chat_log import record_query
        from qa_data.db import session_scope

        with session_scope() as session:
            return record_query(session, **fields).id
    except Exception:
        logger.exception("Could not store the query log")
        return None


def log_feedback(**fields: Any) -> None:
    try:
        from qa_data.chat_log import record_feedback
        from qa_data.db import session_scope

        with session_scope() as session:
            record_feedback(session, **fields)
    except Exception:
        logger.exception("Could not store the feedback")


def warm_up() -> dict[str, Any]:
    """Load the retriever, its index and the garbage index; run one search of each."""
    started = time.perf_counter()
    status: dict[str, Any] = {}
    texts()
    try:
        search("住民票の写しを取りたい")
        status["retrieval"] = retriever().status()
    except Exception as error:
        logger.exception("Retrieval warm-up failed")
        status["retrieval_error"] = repr(error)
    try:
        garbage_lookup("アイロン")
        status["garbage"] = "ok"
    except Exception as error:
        logger.exception("Garbage warm-up failed")
        status["garbage_error"] = repr(error)
    status["seconds"] = round(time.perf_counter() - started, 2)
    return status
