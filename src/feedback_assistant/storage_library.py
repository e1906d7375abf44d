"""The misconception library kept in the history database (``library.LibraryStore`` over SQL)."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from . import storage_schema as t
from .storage_codec import blob, text_hash, unblob


class SqlLibraryStore:
    """The misconception library kept in the history database (implements ``library.LibraryStore``).

    Entries hold the teacher's approved label and stem, the group's status and answer and its centre vector:
    no student names or response texts. Forgetting a section therefore keeps them (only their link to the
    section goes).

    Args:
        store: the open ``Store``.
        section: when given (with ``teacher``), entries saved through this object are linked to that section.
        teacher: the section's owner.
    """

    def __init__(self, store, *, section: str | None = None, teacher: str | None = None):
        self.store = store
        self.section = section
        self.teacher = teacher

    @staticmethod
    def _key(topic: str, label: str) -> str:
        return hashlib.sha256(f"{topic}\x00{label}".encode()).hexdigest()

    def load(self, topic: str) -> list:
        """All entries filed under ``topic`` (exact match), oldest approval first."""
        from .library import LibraryEntry

        e = t.library_entries
        with self.store._read() as conn:
            rows = conn.execute(
                sa.select(e)
                .where(e.c.topic_hash == text_hash(topic), e.c.topic == topic)
                .order_by(e.c.approved_at, e.c.id)
            ).all()
        return [
            LibraryEntry(
                topic=r.topic,
                question=r.question,
                label=r.label,
                text=r.text,
                status=r.status,
                answer=r.answer,
                centroid=tuple(float(x) for x in (unblob(r.centroid) if r.centroid else ())),
                approved_at=r.approved_at,
            )
            for r in rows
        ]

    def save(self, entries) -> None:
        """Keep entries (one transaction); each replaces a stored entry with the same topic and label."""
        if not entries:
            return
        e = t.library_entries
        with self.store._write() as conn:
            section_id = None
            if self.section is not None:
                q = sa.select(t.sections.c.id).where(t.sections.c.name == self.section)
                if self.teacher is not None:
                    q = q.join(t.teachers, t.teachers.c.id == t.sections.c.teacher_id).where(
                        t.teachers.c.name == self.teacher
                    )
                section_id = conn.execute(q).scalars().first()
            for entry in entries:
                key = self._key(entry.topic, entry.label)
                values = {
                    "topic": entry.topic,
                    "topic_hash": text_hash(entry.topic),
                    "question": entry.question,
                    "label": entry.label,
                    "text": entry.text,
                    "status": entry.status,
                    "answer": entry.answer,
                    "centroid": blob(entry.centroid) if len(entry.centroid) else None,
                    "approved_at": entry.approved_at,
                    "updated_at": sa.func.now(),
                }
                conn.execute(
                    self.store._insert(e)
                    .values(key_hash=key, **values)
                    .on_conflict_do_update(index_elements=["owner", "key_hash"], set_=values)
                )
                if section_id is not None:
                    entry_id = conn.execute(sa.select(e.c.id).where(e.c.key_hash == key)).scalar_one()
                    conn.execute(
                        self.store._insert(t.library_sources)
                        .values(entry_id=entry_id, section_id=section_id)
                        .on_conflict_do_nothing()
                    )
