"""The misconception library kept in the history database (``library.LibraryStore`` over SQL)."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from . import storage_schema as t
from .storage_codec import blob, text_hash, unblob


def _floats(data: bytes | None) -> list[float]:
    v = unblob(data) if data else None
    return [] if v is None else [float(x) for x in v]


def entry_key(topic: str, label: str) -> str:
    return hashlib.sha256(f"{topic}\x00{label}".encode()).hexdigest()


def load_entries(conn, topic: str) -> list:
    """All entries filed under ``topic`` (exact match), every owner's, oldest approval first."""
    from .library import LibraryEntry

    e = t.library_entries
    rows = conn.execute(
        sa.select(e).where(e.c.topic_hash == text_hash(topic), e.c.topic == topic).order_by(e.c.approved_at, e.c.id)
    ).all()
    return [
        LibraryEntry(
            topic=r.topic,
            question=r.question,
            label=r.label,
            text=r.text,
            status=r.status,
            answer=r.answer,
            centroid=tuple(float(x) for x in _floats(r.centroid)),
            approved_at=r.approved_at,
        )
        for r in rows
    ]


def save_entries(conn, insert, entries, *, owner: str, section_id: int | None) -> None:
    """Upsert ``owner``'s entries (one per topic and label) and link them to ``section_id`` when given."""
    e = t.library_entries
    for entry in entries:
        key = entry_key(entry.topic, entry.label)
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
            insert(e)
            .values(key_hash=key, owner=owner, **values)
            .on_conflict_do_update(index_elements=["owner", "key_hash"], set_=values)
        )
        if section_id is not None:
            entry_id = conn.execute(sa.select(e.c.id).where(e.c.key_hash == key, e.c.owner == owner)).scalar_one()
            conn.execute(
                insert(t.library_sources)
                .values(entry_id=entry_id, section_id=section_id, owner=owner)
                .on_conflict_do_nothing()
            )


class SqlLibraryStore:
    """The misconception library kept in the history database (implements ``library.LibraryStore``).

    Entries hold the teacher's approved label and stem, the group's status and answer and its centre vector.
    Every teacher's entries are offered (approved wording, no student names); entries are saved under the
    store's teacher. ``Store.forget`` removes a teacher's entries that quote the forgotten class's students.

    Args:
        store: the open ``Store`` (its teacher owns what is saved).
        section: when given, entries saved through this object are linked to that class of the teacher.
    """

    def __init__(self, store, *, section: str | None = None):
        self.store = store
        self.section = section

    def load(self, topic: str) -> list:
        """All entries filed under ``topic`` (exact match), oldest approval first."""
        return self.store.load_library(topic)

    def save(self, entries) -> None:
        """Keep entries (one transaction); each replaces the teacher's stored entry with the same topic and label."""
        self.store.save_library(list(entries), section=self.section)
