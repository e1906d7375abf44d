"""Memory per question: the groups a teacher taught on a question and their labelled examples.

- ``memory_groups``: one taught group per (owner, question key, label) with its status and the stem the teacher
  approved or wrote; ``shared`` marks a group its owner shares with their PLC (names, stems and vectors only).
- ``memory_examples``: one row per corrected response (text, chosen answer, embedding) of one class
  (``section_id``, ON DELETE CASCADE, so forgetting a class deletes its examples), with its taught group.
- ``response_groups.carried_over``: the group's name, status and stem came from memory and wait for the
  teacher's confirmation (kept when a class is reopened from the history).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _owner() -> sa.Column:
    return sa.Column("owner", sa.Text, nullable=False, server_default="")


def _fk(name: str, target: str, table: str) -> sa.Column:
    return sa.Column(
        name,
        sa.Integer,
        sa.ForeignKey(f"{target}.id", ondelete="CASCADE", name=f"fk_{table}_{name}_{target}"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "memory_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _owner(),
        sa.Column("question_key", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("stem", sa.Text, nullable=False, server_default=""),
        sa.Column("stem_approved", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_memory_groups"),
        sa.UniqueConstraint("owner", "question_key", "label", name="uq_memory_groups_owner_question_key_label"),
    )
    op.create_index("ix_memory_groups_owner", "memory_groups", ["owner"])
    op.create_table(
        "memory_examples",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _owner(),
        _fk("group_id", "memory_groups", "memory_examples"),
        _fk("section_id", "sections", "memory_examples"),
        sa.Column("question_key", sa.Text, nullable=False),
        sa.Column("date", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_memory_examples"),
    )
    for col in ("owner", "group_id", "section_id", "question_key"):
        op.create_index(f"ix_memory_examples_{col}", "memory_examples", [col])
    with op.batch_alter_table("response_groups") as batch:
        batch.add_column(sa.Column("carried_over", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("response_groups") as batch:
        batch.drop_column("carried_over")
    op.drop_table("memory_examples")
    op.drop_table("memory_groups")
