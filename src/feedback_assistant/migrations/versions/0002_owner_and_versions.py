"""Owner on every row, a version per ticket question, the store's settings.

- ``owner`` (text) on every table that holds a class's data (sections, tickets, ticket questions, responses,
  groups, stems, plans, plan groups and members, overrides, library entries and links): the teacher the row
  belongs to. On a PLC's PostgreSQL server it is the teacher's database role, which the row-level security
  policies (``plc-setup``) compare with ``current_user``. Existing rows get their section's teacher.
- ``ticket_questions.version``: raised by every saved edit of the question; a save that read an older version
  is refused (optimistic concurrency: two windows never silently overwrite each other).
- ``settings``: small key/value pairs the store keeps (the secret that keys student pseudonyms).
- ``library_entries``: one entry per (owner, topic, label) instead of per (topic, label), so teachers sharing a
  server never overwrite each other's approved wording.

Later migrations that keep class data (e.g. a learner's memory) should carry ``owner`` too and reference
``sections.id`` (or ``ticket_questions.id``) with ON DELETE CASCADE, so ``Store.forget`` reaches them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> SQL giving each row's owner from its parent (already filled, parents first)
OWNED = {
    "sections": "(SELECT name FROM teachers WHERE teachers.id = sections.teacher_id)",
    "tickets": "(SELECT owner FROM sections WHERE sections.id = tickets.section_id)",
    "ticket_questions": "(SELECT owner FROM tickets WHERE tickets.id = ticket_questions.ticket_id)",
    "responses": "(SELECT owner FROM ticket_questions tq WHERE tq.id = responses.ticket_question_id)",
    "response_groups": "(SELECT owner FROM ticket_questions tq WHERE tq.id = response_groups.ticket_question_id)",
    "feedback_stems": "(SELECT owner FROM ticket_questions tq WHERE tq.id = feedback_stems.ticket_question_id)",
    "plans": "(SELECT owner FROM ticket_questions tq WHERE tq.id = plans.ticket_question_id)",
    "plan_groups": "(SELECT owner FROM plans WHERE plans.id = plan_groups.plan_id)",
    "plan_members": "(SELECT owner FROM plan_groups pg WHERE pg.id = plan_members.plan_group_id)",
    "overrides": "(SELECT owner FROM ticket_questions tq WHERE tq.id = overrides.ticket_question_id)",
    "library_sources": "(SELECT owner FROM sections WHERE sections.id = library_sources.section_id)",
    "library_entries": None,  # no owner known for entries saved before owners: '' (anyone's)
}


def upgrade() -> None:
    for table, parent in OWNED.items():
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("owner", sa.Text, nullable=False, server_default=""))
        if parent is not None:
            op.execute(f"UPDATE {table} SET owner = COALESCE({parent}, '')")
        op.create_index(f"ix_{table}_owner", table, ["owner"])
    with op.batch_alter_table("ticket_questions") as batch:
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("library_entries") as batch:
        batch.drop_constraint("uq_library_entries_key_hash", type_="unique")
        batch.create_unique_constraint("uq_library_entries_owner_key_hash", ["owner", "key_hash"])
    op.create_table(
        "settings",
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
    )


def downgrade() -> None:
    op.drop_table("settings")
    with op.batch_alter_table("library_entries") as batch:
        batch.drop_constraint("uq_library_entries_owner_key_hash", type_="unique")
        batch.create_unique_constraint("uq_library_entries_key_hash", ["key_hash"])
    with op.batch_alter_table("ticket_questions") as batch:
        batch.drop_column("version")
    for table in reversed(list(OWNED)):
        op.drop_index(f"ix_{table}_owner", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("owner")
