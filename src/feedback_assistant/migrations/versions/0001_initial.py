"""Initial schema: teachers, sections, questions, tickets, responses, groups, stems, plans, library.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _fk(name: str, target: str, table: str) -> sa.Column:
    return sa.Column(
        name,
        sa.Integer,
        sa.ForeignKey(f"{target}.id", ondelete="CASCADE", name=f"fk_{table}_{name}_{target}"),
        nullable=False,
    )


def _now(name: str = "created_at") -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _index(table: str, *cols: str) -> None:
    for col in cols:
        op.create_index(f"ix_{table}_{col}", table, [col])


def upgrade() -> None:
    op.create_table(
        "teachers",
        _id(),
        sa.Column("name", sa.Text, nullable=False),
        _now(),
        _pk("teachers"),
        sa.UniqueConstraint("name", name="uq_teachers_name"),
    )
    op.create_table(
        "sections",
        _id(),
        _fk("teacher_id", "teachers", "sections"),
        sa.Column("name", sa.Text, nullable=False),
        _now(),
        _pk("sections"),
        sa.UniqueConstraint("teacher_id", "name", name="uq_sections_teacher_id_name"),
    )
    _index("sections", "teacher_id")
    op.create_table(
        "questions",
        _id(),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=True),
        _now(),
        _pk("questions"),
        sa.UniqueConstraint("text_hash", name="uq_questions_text_hash"),
    )
    _index("questions", "topic")
    op.create_table(
        "tickets",
        _id(),
        _fk("section_id", "sections", "tickets"),
        sa.Column("date", sa.Text, nullable=False),
        sa.Column("source_name", sa.Text, nullable=False, server_default=""),
        sa.Column("columns", sa.JSON, nullable=False),
        sa.Column("frame", sa.Text, nullable=True),
        _now(),
        _pk("tickets"),
    )
    _index("tickets", "section_id", "date")
    op.create_table(
        "ticket_questions",
        _id(),
        _fk("ticket_id", "tickets", "ticket_questions"),
        sa.Column(
            "question_id",
            sa.Integer,
            sa.ForeignKey("questions.id", ondelete="RESTRICT", name="fk_ticket_questions_question_id_questions"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("answer_key", sa.Text, nullable=True),
        _pk("ticket_questions"),
        sa.UniqueConstraint("ticket_id", "question_id", name="uq_ticket_questions_ticket_id_question_id"),
    )
    _index("ticket_questions", "ticket_id", "question_id")
    op.create_table(
        "responses",
        _id(),
        _fk("ticket_question_id", "ticket_questions", "responses"),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("source_row", sa.Integer, nullable=False),
        sa.Column("student", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("section", sa.Text, nullable=True),
        sa.Column("date", sa.Text, nullable=True),
        sa.Column("is_blank", sa.Boolean, nullable=False),
        sa.Column("label", sa.Integer, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=True),
        _pk("responses"),
        sa.UniqueConstraint("ticket_question_id", "row", name="uq_responses_ticket_question_id_row"),
    )
    _index("responses", "ticket_question_id")
    op.create_table(
        "response_groups",
        _id(),
        _fk("ticket_question_id", "ticket_questions", "response_groups"),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("rows", sa.JSON, nullable=False),
        sa.Column("representatives", sa.JSON, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("status_confirmed", sa.Boolean, nullable=False),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("terms", sa.JSON, nullable=False),
        sa.Column("centroid", sa.LargeBinary, nullable=True),
        _pk("response_groups"),
        sa.UniqueConstraint("ticket_question_id", "group_id", name="uq_response_groups_ticket_question_id_group_id"),
    )
    _index("response_groups", "ticket_question_id")
    op.create_table(
        "feedback_stems",
        _id(),
        _fk("ticket_question_id", "ticket_questions", "feedback_stems"),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("drafted", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("from_library", sa.Boolean, nullable=False),
        _now("updated_at"),
        _pk("feedback_stems"),
        sa.UniqueConstraint("ticket_question_id", "group_id", name="uq_feedback_stems_ticket_question_id_group_id"),
    )
    _index("feedback_stems", "ticket_question_id")
    op.create_table(
        "plans",
        _id(),
        _fk("ticket_question_id", "ticket_questions", "plans"),
        sa.Column("top_misconceptions", sa.JSON, nullable=False),
        sa.Column("whole_class_reteach", sa.Text, nullable=True),
        _pk("plans"),
        sa.UniqueConstraint("ticket_question_id", name="uq_plans_ticket_question_id"),
    )
    op.create_table(
        "plan_groups",
        _id(),
        _fk("plan_id", "plans", "plan_groups"),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("focus", sa.Text, nullable=False),
        sa.Column("source_groups", sa.JSON, nullable=False),
        _pk("plan_groups"),
    )
    _index("plan_groups", "plan_id")
    op.create_table(
        "plan_members",
        _id(),
        _fk("plan_group_id", "plan_groups", "plan_members"),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("student", sa.Text, nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        _pk("plan_members"),
    )
    _index("plan_members", "plan_group_id")
    op.create_table(
        "overrides",
        _id(),
        _fk("ticket_question_id", "ticket_questions", "overrides"),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        _pk("overrides"),
    )
    _index("overrides", "ticket_question_id")
    op.create_table(
        "library_entries",
        _id(),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("topic_hash", sa.String(64), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("centroid", sa.LargeBinary, nullable=True),
        sa.Column("approved_at", sa.Text, nullable=False),
        _now("updated_at"),
        _pk("library_entries"),
        sa.UniqueConstraint("key_hash", name="uq_library_entries_key_hash"),
    )
    _index("library_entries", "topic_hash")
    op.create_table(
        "library_sources",
        _id(),
        _fk("entry_id", "library_entries", "library_sources"),
        _fk("section_id", "sections", "library_sources"),
        _pk("library_sources"),
        sa.UniqueConstraint("entry_id", "section_id", name="uq_library_sources_entry_id_section_id"),
    )
    _index("library_sources", "entry_id", "section_id")


def downgrade() -> None:
    for table in (
        "library_sources",
        "library_entries",
        "overrides",
        "plan_members",
        "plan_groups",
        "plans",
        "feedback_stems",
        "response_groups",
        "responses",
        "ticket_questions",
        "tickets",
        "questions",
        "sections",
        "teachers",
    ):
        op.drop_table(table)
