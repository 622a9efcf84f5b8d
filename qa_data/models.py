"""The store's tables, as SQLAlchemy 2 typed models.

Times are stored as naive UTC (``utcnow()``), which SQLite and PostgreSQL treat alike; reports
convert to Japan time when they group by day or month.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar = {
        dict[str, Any]: JSON,
        list[str]: JSON,
        list[dict[str, Any]]: JSON,
    }


class QAStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Role(enum.StrEnum):
    SYSTEM_ADMIN = "system_admin"  # システム管理者
    DEPARTMENT_ADMIN = "department_admin"  # 部署管理者
    EDITOR = "editor"  # 編集者
    VIEWER = "viewer"  # 閲覧者


def _string_enum(enum_class: type[enum.StrEnum]) -> Enum:
    """Stores an enum's values as plain strings, so adding a member needs no type migration."""
    return Enum(
        enum_class, native_enum=False, length=30, values_callable=lambda e: [m.value for m in e]
    )


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    phone: Mapped[str | None] = mapped_column(String(50))
    opening_hours: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    entries: Mapped[list[QAEntry]] = relationship(back_populates="department")


class QAEntry(Base):
    """One question and its answer. ``answer`` is the raw Markdown source (see ``rich_text``)."""

    __tablename__ = "qa_entries"
    __table_args__ = (Index("ix_qa_entries_status_department", "status", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    category_major: Mapped[str | None] = mapped_column(String(100))
    category_minor: Mapped[str | None] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(Text)
    alternate_questions: Mapped[list[str]] = mapped_column(default=list)
    answer: Mapped[str] = mapped_column(Text)
    links: Mapped[list[str]] = mapped_column(default=list)
    keywords: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[QAStatus] = mapped_column(_string_enum(QAStatus), default=QAStatus.PUBLISHED)
    # The optimistic-locking counter: an UPDATE that saw an older version matches no row.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_by: Mapped[str] = mapped_column(String(100), default="system")

    department: Mapped[Department] = relationship(back_populates="entries")
    revisions: Mapped[list[QARevision]] = relationship(
        back_populates="entry", order_by="QARevision.version", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(back_populates="entry")

    __mapper_args__: ClassVar = {"version_id_col": version}

    @property
    def category(self) -> str:
        return "/".join(part for part in (self.category_major, self.category_minor) if part)


class QARevision(Base):
    """The content of an entry as it was before a change, with who changed it and when."""

    __tablename__ = "qa_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    qa_id: Mapped[int] = mapped_column(ForeignKey("qa_entries.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column()
    change: Mapped[str] = mapped_column(String(30))
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    entry: Mapped[QAEntry] = relationship(back_populates="revisions")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    qa_id: Mapped[int | None] = mapped_column(
        ForeignKey("qa_entries.id", ondelete="SET NULL"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")

    entry: Mapped[QAEntry | None] = relationship(back_populates="attachments")


class SynonymGroup(Base):
    """Staff-managed synonyms. ``equivalent`` groups match each other; a ``oneway`` group
    makes its other terms also match its first term (ソファ → 粗大ごみ), not the reverse."""

    __tablename__ = "synonym_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    terms: Mapped[list[str]] = mapped_column()
    oneway: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class GarbageItem(Base):
    __tablename__ = "garbage_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    reading: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100))
    how_to: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


user_departments = Table(
    "user_departments",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login_id: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_string_enum(Role))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    departments: Mapped[list[Department]] = relationship(secondary=user_departments)


class QueryLog(Base):
    """One resident message and what the bot did with it. ``text`` is already masked."""

    __tablename__ = "query_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(30), default="rest")
    kind: Mapped[str] = mapped_column(String(30), default="message")
    text: Mapped[str] = mapped_column(Text)
    masked_count: Mapped[int] = mapped_column(Integer, default=0)
    intent: Mapped[str | None] = mapped_column(String(50))
    decision: Mapped[str | None] = mapped_column(String(20), index=True)
    top_hits: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    qa_shown: Mapped[str | None] = mapped_column(String(64), index=True)
    qa_selected: Mapped[str | None] = mapped_column(String(64))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    category: Mapped[str | None] = mapped_column(String(200))
    response_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(String(200))


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    query_log_id: Mapped[int | None] = mapped_column(
        ForeignKey("query_logs.id", ondelete="SET NULL")
    )
    qa_external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)


class UnansweredHandling(Base):
    """What staff did with a group of unanswered questions (``action``: new_qa, add_alternate,
    ignored), keyed by the group's normalised representative text."""

    __tablename__ = "unanswered_handlings"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(String(500), index=True)
    action: Mapped[str] = mapped_column(String(30))
    qa_external_id: Mapped[str | None] = mapped_column(String(64))
    query_log_ids: Mapped[list[str]] = mapped_column(default=list)
    handled_by: Mapped[str] = mapped_column(String(100))
    handled_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditLog(Base):
    """Append-only record of staff actions."""

    __tablename__ = "audit_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


class AppSetting(Base):
    """Settings staff change at run time (widget look, tuned thresholds), as JSON by key."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column()
    updated_by: Mapped[str] = mapped_column(String(100), default="system")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
