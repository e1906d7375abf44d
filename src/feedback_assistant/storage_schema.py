"""The history database's tables (SQLAlchemy Core), as the latest migration leaves them.

The migrations under ``migrations/versions/`` create and change the real tables; this module describes the
result so ``storage`` can query it. ``tests/test_storage.py`` checks that the two agree.

Layout: a teacher owns sections; a section has exit tickets (one per day saved); a ticket asks questions
(``ticket_questions``, with the answer key); each ticket question has its responses (with group label,
confidence and embedding), groups (with centroid), stems, one plan (plan groups and their members) and
overrides. Every child row cascades from its ticket question, so deleting a section deletes everything under
it.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _fk(name: str, target: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer, sa.ForeignKey(f"{target}.id", ondelete="CASCADE"), nullable=nullable, index=True)


def _owner() -> sa.Column:
    """The teacher the row belongs to (their database role on a PLC server; see migration 0002)."""
    return sa.Column("owner", sa.Text, nullable=False, server_default="", index=True)


def _created() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


teachers = sa.Table(
    "teachers",
    metadata,
    _id(),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    _created(),
)

sections = sa.Table(
    "sections",
    metadata,
    _id(),
    _owner(),
    _fk("teacher_id", "teachers"),
    sa.Column("name", sa.Text, nullable=False),
    _created(),
    sa.UniqueConstraint("teacher_id", "name", name="uq_sections_teacher_id_name"),
)

questions = sa.Table(
    "questions",
    metadata,
    _id(),
    sa.Column("text_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("topic", sa.Text, nullable=True, index=True),
    _created(),
)

tickets = sa.Table(
    "tickets",
    metadata,
    _id(),
    _owner(),
    _fk("section_id", "sections"),
    sa.Column("date", sa.Text, nullable=False, index=True),
    sa.Column("source_name", sa.Text, nullable=False, server_default=""),
    sa.Column("columns", sa.JSON, nullable=False),
    sa.Column("frame", sa.Text, nullable=True),
    _created(),
)

ticket_questions = sa.Table(
    "ticket_questions",
    metadata,
    _id(),
    _owner(),
    _fk("ticket_id", "tickets"),
    sa.Column(
        "question_id",
        sa.Integer,
        sa.ForeignKey("questions.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    ),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("answer_key", sa.Text, nullable=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("ticket_id", "question_id", name="uq_ticket_questions_ticket_id_question_id"),
)

responses = sa.Table(
    "responses",
    metadata,
    _id(),
    _owner(),
    _fk("ticket_question_id", "ticket_questions"),
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
    sa.UniqueConstraint("ticket_question_id", "row", name="uq_responses_ticket_question_id_row"),
)

groups = sa.Table(
    "response_groups",
    metadata,
    _id(),
    _owner(),
    _fk("ticket_question_id", "ticket_questions"),
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
    sa.Column("carried_over", sa.Boolean, nullable=False, server_default=sa.false()),  # migration 0003
    sa.UniqueConstraint("ticket_question_id", "group_id", name="uq_response_groups_ticket_question_id_group_id"),
)

stems = sa.Table(
    "feedback_stems",
    metadata,
    _id(),
    _owner(),
    _fk("ticket_question_id", "ticket_questions"),
    sa.Column("group_id", sa.Integer, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("drafted", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("from_library", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("ticket_question_id", "group_id", name="uq_feedback_stems_ticket_question_id_group_id"),
)

plans = sa.Table(
    "plans",
    metadata,
    _id(),
    _owner(),
    sa.Column(
        "ticket_question_id",
        sa.Integer,
        sa.ForeignKey("ticket_questions.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    sa.Column("top_misconceptions", sa.JSON, nullable=False),
    sa.Column("whole_class_reteach", sa.Text, nullable=True),
)

plan_groups = sa.Table(
    "plan_groups",
    metadata,
    _id(),
    _owner(),
    _fk("plan_id", "plans"),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("focus", sa.Text, nullable=False),
    sa.Column("source_groups", sa.JSON, nullable=False),
)

plan_members = sa.Table(
    "plan_members",
    metadata,
    _id(),
    _owner(),
    _fk("plan_group_id", "plan_groups"),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("student", sa.Text, nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
)

overrides = sa.Table(
    "overrides",
    metadata,
    _id(),
    _owner(),
    _fk("ticket_question_id", "ticket_questions"),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)

library_entries = sa.Table(
    "library_entries",
    metadata,
    _id(),
    _owner(),
    sa.Column("key_hash", sa.String(64), nullable=False),  # sha256 of topic + label
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("topic_hash", sa.String(64), nullable=False, index=True),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=True),
    sa.Column("centroid", sa.LargeBinary, nullable=True),
    sa.Column("approved_at", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("owner", "key_hash", name="uq_library_entries_owner_key_hash"),
)

library_sources = sa.Table(
    "library_sources",
    metadata,
    _id(),
    _owner(),
    _fk("entry_id", "library_entries"),
    _fk("section_id", "sections"),
    sa.UniqueConstraint("entry_id", "section_id", name="uq_library_sources_entry_id_section_id"),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# -- Memory per question (``storage_memory.py``, migration 0003): what a teacher taught on a question, carried
# to the next class. A group is one taught name (with status and stem) per owner and question key; its examples
# come from one class each (``section_id``: forgetting the section deletes them).

memory_groups = sa.Table(
    "memory_groups",
    metadata,
    _id(),
    _owner(),
    sa.Column("question_key", sa.Text, nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("stem", sa.Text, nullable=False, server_default=""),
    sa.Column("stem_approved", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("owner", "question_key", "label", name="uq_memory_groups_owner_question_key_label"),
)

memory_examples = sa.Table(
    "memory_examples",
    metadata,
    _id(),
    _owner(),
    _fk("group_id", "memory_groups"),
    _fk("section_id", "sections"),
    sa.Column("question_key", sa.Text, nullable=False, index=True),
    sa.Column("date", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=True),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    _created(),
)

# Every table holding a class's data carries ``owner``; on a PLC server row-level security keys on it.
OWNED_TABLES = tuple(tbl for tbl in metadata.sorted_tables if "owner" in tbl.c)

# Deletion order for forgetting a section: children first (also enforced by ON DELETE CASCADE).
CHILD_TABLES = (plan_members, plan_groups, plans, overrides, stems, groups, responses)
