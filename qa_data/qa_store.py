"""The one way to create and change QA entries: ``save_entry``.

Every change goes through ``save_entry``, which

- keeps the content as it was before the change in a ``QARevision`` (``version`` = the entry's
  version before the change, ``change``/``changed_by``/``changed_at`` = the change that replaced
  it). Creating an entry records a revision too, with an empty snapshot (nothing existed before),
  so the history also says who created the entry and how (``create``, ``import``, ...);
- stamps ``updated_at``/``updated_by`` and lets SQLAlchemy bump ``version``;
- refuses a stale edit: when ``expected_version`` is not the entry's current version it raises
  ``StaleEntryError`` carrying the current content, so the editor can show what changed.

Stored text is canonical: line breaks are ``\\n``, surrounding whitespace of each field (and of
each list item) is removed, empty list items are dropped. Spreadsheet import/export use the same
rules, which is what makes export → import → export exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from qa_data.models import Department, QAEntry, QARevision, QAStatus, utcnow
from qa_data.settings import get_settings

EXTERNAL_ID_PREFIX = "QA-"
EXTERNAL_ID_DIGITS = 6
_GENERATED_ID = re.compile(rf"^{EXTERNAL_ID_PREFIX}(\d+)$")

#: The editable fields, in display order. ``department`` is the department's name.
SNAPSHOT_FIELDS = (
    "department",
    "category_major",
    "category_minor",
    "question",
    "alternate_questions",
    "answer",
    "links",
    "keywords",
    "status",
)
LIST_FIELDS = ("alternate_questions", "links", "keywords")
OPTIONAL_TEXT_FIELDS = ("category_major", "category_minor")


class StaleEntryError(Exception):
    """Someone else changed the entry since the editor loaded it."""

    def __init__(self, external_id: str, current_version: int | None, current: dict | None):
        self.external_id = external_id
        self.current_version = current_version
        self.current = current
        if current is None:
            message = f"{external_id} は削除されたか、存在しません。"
        else:
            message = (
                f"{external_id} は他の人が更新しました（現在の版: {current_version}）。"
                "最新の内容を確認してから、もう一度保存してください。"
            )
        super().__init__(message)


@dataclass(frozen=True)
class Version:
    """One version of an entry's content and the change that produced it."""

    version: int
    snapshot: dict[str, Any]
    change: str
    changed_by: str
    changed_at: Any


# --- canonical text -------------------------------------------------------------------------


def clean_text(value: Any) -> str:
    """A cell or form value as stored: ``\\n`` line breaks, no surrounding whitespace."""
    if value is None:
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def clean_list(value: Any) -> list[str]:
    """A list field as stored: a list, or text with one item per line."""
    if value is None:
        return []
    items = clean_text(value).split("\n") if isinstance(value, str) else list(value)
    return [item for item in (clean_text(raw) for raw in items) if item]


def clean_status(value: Any) -> QAStatus:
    return value if isinstance(value, QAStatus) else QAStatus(str(value).strip().lower())


def canonical_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The given editable fields in stored form (unknown keys are refused)."""
    unknown = set(fields) - set(SNAPSHOT_FIELDS)
    if unknown:
        raise ValueError(f"unknown QA fields: {sorted(unknown)}")
    result: dict[str, Any] = {}
    for name, value in fields.items():
        if name in LIST_FIELDS:
            result[name] = clean_list(value)
        elif name == "status":
            result[name] = clean_status(value).value
        elif name == "department":
            result[name] = value.name if isinstance(value, Department) else clean_text(value)
        elif name in OPTIONAL_TEXT_FIELDS:
            result[name] = clean_text(value) or None
        else:
            result[name] = clean_text(value)
    return result


# --- look-ups -------------------------------------------------------------------------------


def entry_snapshot(entry: QAEntry) -> dict[str, Any]:
    """All editable fields of an entry, as plain JSON-able values."""
    return {
        "department": entry.department.name if entry.department else None,
        "category_major": entry.category_major,
        "category_minor": entry.category_minor,
        "question": entry.question,
        "alternate_questions": list(entry.alternate_questions or []),
        "answer": entry.answer,
        "links": list(entry.links or []),
        "keywords": list(entry.keywords or []),
        "status": QAStatus(entry.status).value,
    }


def get_entry(session: Session, external_id: str) -> QAEntry | None:
    return session.scalar(select(QAEntry).where(QAEntry.external_id == external_id))


def get_or_create_department(session: Session, name: str) -> Department:
    """The department with this name (blank: the default department), created if missing."""
    name = clean_text(name) or get_settings().default_department
    # Bulk imports look the same few departments up thousands of times: keep them per session.
    cache = session.info.setdefault("qa_store_departments", {})
    department = cache.get(name)
    if department is not None and department in session:
        return department
    department = session.scalar(select(Department).where(Department.name == name))
    if department is None:
        department = Department(name=name)
        session.add(department)
        session.flush()
    cache[name] = department
    return department


def new_external_id(session: Session) -> str:
    """The next free generated ID (``QA-000123``)."""
    return next(external_id_allocator(session))


def external_id_allocator(session: Session) -> Iterable[str]:
    """Generated IDs following the highest existing ``QA-nnnnnn`` (for creating many at once)."""
    highest = 0
    rows = session.scalars(
        select(QAEntry.external_id).where(QAEntry.external_id.like(f"{EXTERNAL_ID_PREFIX}%"))
    )
    for external_id in rows:
        match = _GENERATED_ID.match(external_id)
        if match:
            highest = max(highest, int(match.group(1)))
    while True:
        highest += 1
        yield f"{EXTERNAL_ID_PREFIX}{highest:0{EXTERNAL_ID_DIGITS}d}"


def revisions(session: Session, external_id: str) -> list[QARevision]:
    """The entry's revisions, oldest first (each holds the content before one change)."""
    return list(
        session.scalars(
            select(QARevision)
            .join(QAEntry)
            .where(QAEntry.external_id == external_id)
            .order_by(QARevision.version, QARevision.id)
        )
    )


def history(session: Session, external_id: str) -> list[Version]:
    """Every version of the entry, oldest first, each with the change that produced it.

    Derived from the revisions: version *n*'s content is the snapshot kept when it was replaced
    (or the entry itself for the current version); the change that produced version *n* is the
    one recorded on the revision of version *n - 1* (version 0 = "did not exist").
    """
    entry = session.scalar(
        select(QAEntry)
        .options(selectinload(QAEntry.department))
        .where(QAEntry.external_id == external_id)
    )
    if entry is None:
        return []
    kept = revisions(session, external_id)
    by_version = {revision.version: revision for revision in kept}
    versions = []
    for revision in kept:
        produced = revision.version + 1
        if produced == entry.version:
            snapshot = entry_snapshot(entry)
        elif produced in by_version:
            snapshot = dict(by_version[produced].snapshot)
        else:
            continue
        versions.append(
            Version(
                version=produced,
                snapshot=snapshot,
                change=revision.change,
                changed_by=revision.changed_by,
                changed_at=revision.changed_at,
            )
        )
    return versions


# --- the write path -------------------------------------------------------------------------


def save_entry(
    session: Session,
    *,
    external_id: str | None = None,
    fields: Mapping[str, Any],
    actor: str,
    expected_version: int | None = None,
    change: str = "update",
    flush: bool = True,
    entry: QAEntry | None = None,
    create_only: bool = False,
) -> QAEntry:
    """Create or change one QA entry; the caller commits.

    ``fields`` holds any subset of ``SNAPSHOT_FIELDS`` (``department`` by name; a missing
    department on a new entry means ``settings.default_department``). An entry that does not
    exist is created: with ``external_id`` when given, else with a generated ID; ``question``
    and ``answer`` are then required. A save that changes nothing returns the entry untouched
    (no revision, same version). ``change`` names the change in the revision (``update``,
    ``import``, ``publish``, ``restore``, ...); creating with the default becomes ``create``.
    ``entry`` lets bulk callers pass an entry they already loaded, ``create_only`` skips the
    look-up when they know it does not exist, and ``flush=False`` defers the database round
    trip to the caller.
    """
    new_values = canonical_fields(fields)
    if entry is None and external_id is not None and not create_only:
        entry = get_entry(session, clean_text(external_id))
    if entry is None:
        if expected_version is not None:
            raise StaleEntryError(clean_text(external_id or ""), None, None)
        return _create(session, external_id, new_values, actor, change, flush)

    before = entry_snapshot(entry)
    if expected_version is not None and entry.version != expected_version:
        raise StaleEntryError(entry.external_id, entry.version, before)
    after = {**before, **new_values}
    _require_content(after)
    if after == before:
        return entry

    # Resolve the department before touching the entry: its look-up may flush the session.
    department = _department_for(session, new_values)
    now = utcnow()
    session.add(
        QARevision(
            entry=entry,
            version=entry.version,
            snapshot=before,
            change=change,
            changed_by=actor,
            changed_at=now,
        )
    )
    _apply(entry, new_values, department)
    entry.updated_at = now
    entry.updated_by = actor
    if flush:
        external_id = entry.external_id
        try:
            session.flush()
        except StaleDataError as error:
            raise _stale_from_database(session, external_id) from error
    return entry


def _stale_from_database(session: Session, external_id: str) -> StaleEntryError:
    """The failed flush spoilt ``session``: read the current content with a fresh one."""
    with Session(bind=session.bind) as fresh:
        current = get_entry(fresh, external_id)
        if current is None:
            return StaleEntryError(external_id, None, None)
        return StaleEntryError(external_id, current.version, entry_snapshot(current))


def _department_for(session: Session, values: Mapping[str, Any]) -> Department | None:
    if "department" not in values:
        return None
    return get_or_create_department(session, values["department"])


def _new_entry_defaults() -> dict[str, Any]:
    """The fields a new entry gets when the caller leaves them out."""
    return {
        "department": get_settings().default_department,
        "category_major": None,
        "category_minor": None,
        "alternate_questions": [],
        "links": [],
        "keywords": [],
        "status": QAStatus.PUBLISHED.value,
    }


def _create(
    session: Session,
    external_id: str | None,
    values: dict[str, Any],
    actor: str,
    change: str,
    flush: bool,
) -> QAEntry:
    values = {**_new_entry_defaults(), **values}
    _require_content(values)
    department = _department_for(session, values)
    now = utcnow()
    entry = QAEntry(
        external_id=clean_text(external_id) or new_external_id(session),
        created_at=now,
        created_by=actor,
        updated_at=now,
        updated_by=actor,
    )
    _apply(entry, values, department)
    session.add(entry)
    session.add(
        QARevision(
            entry=entry,
            version=0,
            snapshot={},
            change="create" if change == "update" else change,
            changed_by=actor,
            changed_at=now,
        )
    )
    if flush:
        session.flush()
    return entry


def create_entries(
    session: Session,
    items: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    actor: str,
    change: str = "create",
) -> int:
    """Create many new entries at once (bulk import): ``(external_id, fields)`` pairs.

    The same result as ``save_entry`` for each (canonical text, defaults, a version-0
    revision), in two multi-row INSERTs instead of one ORM unit of work per entry. The caller
    guarantees the IDs are new; the database's unique constraint still refuses duplicates.
    """
    defaults = _new_entry_defaults()
    now = utcnow()
    rows = []
    for external_id, fields in items:
        values = {**defaults, **canonical_fields(fields)}
        _require_content(values)
        department = get_or_create_department(session, values.pop("department"))
        values["status"] = QAStatus(values["status"])
        rows.append(
            {
                **values,
                "external_id": clean_text(external_id),
                "department_id": department.id,
                "version": 1,
                "created_at": now,
                "created_by": actor,
                "updated_at": now,
                "updated_by": actor,
            }
        )
    if not rows:
        return 0
    session.flush()
    created = session.execute(
        insert(QAEntry.__table__).returning(QAEntry.__table__.c.id), rows
    ).scalars()
    session.execute(
        insert(QARevision.__table__),
        [
            {
                "qa_id": qa_id,
                "version": 0,
                "snapshot": {},
                "change": change,
                "changed_by": actor,
                "changed_at": now,
            }
            for qa_id in created
        ],
    )
    return len(rows)


def _require_content(values: Mapping[str, Any]) -> None:
    missing = [name for name in ("question", "answer") if not values.get(name)]
    if missing:
        raise ValueError(f"QA entry needs {' and '.join(missing)}")


def _apply(entry: QAEntry, values: Mapping[str, Any], department: Department | None) -> None:
    for name, value in values.items():
        if name == "department":
            if entry.department is not department:
                entry.department = department
        elif name == "status":
            entry.status = QAStatus(value)
        else:
            setattr(entry, name, list(value) if name in LIST_FIELDS else value)
