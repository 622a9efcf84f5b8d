"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-20 19:49:16.436596
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_settings")),
    )
    op.create_table(
        "audit_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_logs")),
    )
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_logs_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_logs_at"), ["at"], unique=False)

    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("opening_hours", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("name", name=op.f("uq_departments_name")),
    )
    op.create_table(
        "garbage_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("reading", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("how_to", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_garbage_items")),
    )
    with op.batch_alter_table("garbage_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_garbage_items_name"), ["name"], unique=False)

    op.create_table(
        "synonym_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("oneway", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_synonym_groups")),
    )
    op.create_table(
        "unanswered_handlings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=500), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("qa_external_id", sa.String(length=64), nullable=True),
        sa.Column("query_log_ids", sa.JSON(), nullable=False),
        sa.Column("handled_by", sa.String(length=100), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unanswered_handlings")),
    )
    with op.batch_alter_table("unanswered_handlings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unanswered_handlings_group_key"), ["group_key"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login_id", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "system_admin",
                "department_admin",
                "editor",
                "viewer",
                name="role",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("login_id", name=op.f("uq_users_login_id")),
    )
    op.create_table(
        "qa_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("category_major", sa.String(length=100), nullable=True),
        sa.Column("category_minor", sa.String(length=100), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("alternate_questions", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft", "published", "archived", name="qastatus", native_enum=False, length=30
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_qa_entries_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_entries")),
        sa.UniqueConstraint("external_id", name=op.f("uq_qa_entries_external_id")),
    )
    with op.batch_alter_table("qa_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_qa_entries_status_department", ["status", "department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_qa_entries_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "query_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("masked_count", sa.Integer(), nullable=False),
        sa.Column("intent", sa.String(length=50), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("top_hits", sa.JSON(), nullable=False),
        sa.Column("qa_shown", sa.String(length=64), nullable=True),
        sa.Column("qa_selected", sa.String(length=64), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.Column("response_ms", sa.Float(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_query_logs_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_logs")),
    )
    with op.batch_alter_table("query_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_query_logs_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_query_logs_decision"), ["decision"], unique=False)
        batch_op.create_index(batch_op.f("ix_query_logs_qa_shown"), ["qa_shown"], unique=False)
        batch_op.create_index(batch_op.f("ix_query_logs_session_id"), ["session_id"], unique=False)

    op.create_table(
        "user_departments",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_user_departments_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_departments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "department_id", name=op.f("pk_user_departments")),
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("qa_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["qa_id"],
            ["qa_entries.id"],
            name=op.f("fk_attachments_qa_id_qa_entries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_qa_id"), ["qa_id"], unique=False)

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("query_log_id", sa.Integer(), nullable=True),
        sa.Column("qa_external_id", sa.String(length=64), nullable=True),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["query_log_id"],
            ["query_logs.id"],
            name=op.f("fk_feedback_query_log_id_query_logs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_feedback_qa_external_id"), ["qa_external_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_feedback_session_id"), ["session_id"], unique=False)

    op.create_table(
        "qa_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("qa_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("change", sa.String(length=30), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["qa_id"],
            ["qa_entries.id"],
            name=op.f("fk_qa_revisions_qa_id_qa_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_revisions")),
    )
    with op.batch_alter_table("qa_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qa_revisions_qa_id"), ["qa_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("qa_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_revisions_qa_id"))

    op.drop_table("qa_revisions")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_session_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_qa_external_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_created_at"))

    op.drop_table("feedback")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_qa_id"))

    op.drop_table("attachments")
    op.drop_table("user_departments")
    with op.batch_alter_table("query_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_query_logs_session_id"))
        batch_op.drop_index(batch_op.f("ix_query_logs_qa_shown"))
        batch_op.drop_index(batch_op.f("ix_query_logs_decision"))
        batch_op.drop_index(batch_op.f("ix_query_logs_created_at"))

    op.drop_table("query_logs")
    with op.batch_alter_table("qa_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_entries_updated_at"))
        batch_op.drop_index("ix_qa_entries_status_department")

    op.drop_table("qa_entries")
    op.drop_table("users")
    with op.batch_alter_table("unanswered_handlings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unanswered_handlings_group_key"))

    op.drop_table("unanswered_handlings")
    op.drop_table("synonym_groups")
    with op.batch_alter_table("garbage_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_garbage_items_name"))

    op.drop_table("garbage_items")
    op.drop_table("departments")
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_logs_at"))
        batch_op.drop_index(batch_op.f("ix_audit_logs_action"))

    op.drop_table("audit_logs")
    op.drop_table("app_settings")
