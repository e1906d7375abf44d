"""Memory per question in the history database: the teacher's corrected groups as labelled examples.

``MemoryStore`` sits on a ``storage.Store`` (its engine and the ``memory_groups`` / ``memory_examples`` tables of
``storage_schema``, migration 0003) and keeps, per teacher (``owner``) and question key (``memory.question_key``):

- the taught groups: name, status, and the stem the teacher approved or wrote;
- the examples: one per grouped response of a class the teacher worked on (text, chosen answer, embedding), tied
  to the class's section so that forgetting the section deletes them (ON DELETE CASCADE).

Recording a class replaces that class's earlier examples of the question (the latest state of the teacher's
work is what counts), so recording after every edit never piles up duplicates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from . import storage_schema as t
from .feedback import as_template
from .memory import QuestionMemory, TaughtClass, TaughtGroup, question_key
from .records import APPROVED, UNGROUPED, QuestionResult
from .storage_codec import blob, normalise_date, unblob


def _vector(data: bytes) -> np.ndarray:
    """A stored example's vector (memory examples always have one)."""
    v = unblob(data)
    assert v is not None
    return v


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled response to record: its text, chosen answer, embedding (dim,) and taught group label."""

    text: str
    answer: str | None
    vector: np.ndarray
    label: str


@dataclass(frozen=True, slots=True)
class Recorded:
    """What ``MemoryStore.record`` kept: the number of examples, and the groups whose stem was not kept because
    it carried a student's words (``dropped``; the group's name and status were kept)."""

    examples: int
    dropped: tuple[str, ...] = ()

    @property
    def notice(self) -> str | None:
        """One line for the teacher when a stem was not kept, else None."""
        if not self.dropped:
            return None
        names = ", ".join(f"'{d}'" for d in self.dropped)
        return (
            f"The feedback of group(s) {names} was not kept for your next classes: it quotes a student's words. "
            "The group names and statuses were kept; write the feedback with {own_words} and {answer} where a "
            "student's own words and answer go."
        )


def safe_groups(
    examples: Sequence[Example], groups: Sequence[TaughtGroup], texts: Sequence[str] = ()
) -> tuple[list[TaughtGroup], list[str]]:
    """The groups with stems fit to keep (``feedback.as_template``), and the labels whose stem had to be dropped.

    ``texts``: the class's other responses (ungrouped ones too), checked as well as the examples'.
    """
    texts = [e.text for e in examples] + list(texts)
    kept, dropped = [], []
    for g in groups:
        stem = (
            as_template(g.stem, texts, [(e.text, e.answer) for e in examples if e.label == g.label]) if g.stem else ""
        )
        if stem is None:
            dropped.append(g.label)
            g = TaughtGroup(g.label, g.status, "", False)
        elif stem != g.stem:
            g = TaughtGroup(g.label, g.status, stem, g.stem_approved)
        kept.append(g)
    return kept, dropped


def examples_from_result(result: QuestionResult) -> tuple[list[Example], list[TaughtGroup]]:
    """A question's grouped responses as examples, and its groups as the teacher left them.

    Blank and ungrouped responses are not examples (the teacher did not place them). A stem counts as taught when
    the teacher approved it or changed its text; otherwise the next class gets a fresh draft.
    """
    if result.vectors is None:
        return [], []
    label_of = {g.group_id: g.label for g in result.groups}
    examples = [
        Example(r.text, r.answer, np.asarray(result.vectors[i]), label_of[gid])
        for i, (r, gid) in enumerate(zip(result.responses, result.labels, strict=True))
        if gid != UNGROUPED and gid in label_of and not r.is_blank
    ]
    stems = {s.group_id: s for s in result.stems}
    groups = []
    for g in result.groups:
        s = stems.get(g.group_id)
        taught_stem = s is not None and (s.state == APPROVED or s.text != s.drafted)
        groups.append(
            TaughtGroup(
                g.label,
                str(g.status),
                s.text if s is not None and taught_stem else "",
                bool(s is not None and s.state == APPROVED),
            )
        )
    return examples, groups


class MemoryStore:
    """The memory tables of a ``Store``.

    Args:
        store: an open ``storage.Store``.
    """

    def __init__(self, store):
        self.store = store

    # -- writing

    def _section_id(self, conn, teacher: str, section: str) -> int:
        teacher_id = conn.execute(sa.select(t.teachers.c.id).where(t.teachers.c.name == teacher)).scalar()
        if teacher_id is None:
            teacher_id = conn.execute(
                sa.insert(t.teachers).values(name=teacher).returning(t.teachers.c.id)
            ).scalar_one()
        found = conn.execute(
            sa.select(t.sections.c.id).where(t.sections.c.teacher_id == teacher_id, t.sections.c.name == section)
        ).scalar()
        if found is not None:
            return found
        return conn.execute(
            sa.insert(t.sections).values(teacher_id=teacher_id, name=section, owner=teacher).returning(t.sections.c.id)
        ).scalar_one()

    def record(
        self,
        teacher: str,
        question: str,
        section: str,
        date: str,
        examples: Sequence[Example],
        groups: Sequence[TaughtGroup] = (),
        *,
        keep_taught: bool = False,
        texts: Sequence[str] = (),
    ) -> Recorded:
        """Keep one class's labelled examples of a question, replacing what that class left before.

        Args:
            teacher: whose memory (the row owner).
            question: the question text or id (filed under ``question_key``).
            section: the class; date: the ticket's date (YYYY-MM-DD).
            examples: the labelled responses.
            groups: how the teacher left each group (name, status, stem); labels without one are kept as
                groups with an unclear status.
            keep_taught: keep the status and stem already taught for a label (``teach`` from a file, which knows
                names only) instead of replacing them with ``groups``.
            texts: every response of the class (ungrouped and blank ones too), none of whose words a kept stem
                may carry.

        A stem that carries a run of words of any of the class's responses is never kept as it is: it is turned
        back into a template (``feedback.as_template``) or dropped (``Recorded.dropped``), so a later class is
        never sent these students' words.

        Returns:
            the number of examples kept and the groups whose stem was dropped.
        """
        key = question_key(question)
        if not key:  # a file with one unnamed question: nothing to match the next class by
            return Recorded(0)
        date = normalise_date(date)  # the form ``forget --date`` matches
        groups, dropped = safe_groups(examples, groups, texts)
        given = {g.label: g for g in groups}
        with self.store.engine.begin() as conn:
            section_id = self._section_id(conn, teacher, section or "")
            conn.execute(
                sa.delete(t.memory_examples).where(
                    t.memory_examples.c.owner == teacher,
                    t.memory_examples.c.question_key == key,
                    t.memory_examples.c.section_id == section_id,
                    t.memory_examples.c.date == date,
                )
            )
            group_ids: dict[str, int] = {}
            for label in dict.fromkeys([e.label for e in examples] + list(given)):
                group_ids[label] = self._upsert_group(
                    conn,
                    teacher,
                    key,
                    given.get(label) or TaughtGroup(label),
                    replace=label in given and not keep_taught,
                )
            if examples:
                conn.execute(
                    sa.insert(t.memory_examples),
                    [
                        {
                            "owner": teacher,
                            "group_id": group_ids[e.label],
                            "section_id": section_id,
                            "question_key": key,
                            "date": date,
                            "text": e.text,
                            "answer": e.answer,
                            "vector": blob(e.vector),
                        }
                        for e in examples
                    ],
                )
            self._prune(conn, teacher, key)
        return Recorded(len(examples), tuple(dropped))

    def _upsert_group(self, conn, teacher: str, key: str, group: TaughtGroup, replace: bool) -> int:
        mg = t.memory_groups
        where = (mg.c.owner == teacher, mg.c.question_key == key, mg.c.label == group.label)
        found = conn.execute(sa.select(mg.c.id).where(*where)).scalar()
        values = {
            "status": group.status,
            "stem": group.stem,
            "stem_approved": group.stem_approved,
            "updated_at": dt.datetime.now(dt.UTC),
        }
        if found is None:
            return conn.execute(
                sa.insert(mg).values(owner=teacher, question_key=key, label=group.label, **values).returning(mg.c.id)
            ).scalar_one()
        if replace:
            conn.execute(sa.update(mg).where(mg.c.id == found).values(**values))
        return found

    def _prune(self, conn, teacher: str, key: str) -> None:
        """Delete taught groups no example is left in (their class was re-recorded or forgotten)."""
        used = sa.select(t.memory_examples.c.group_id)
        conn.execute(
            sa.delete(t.memory_groups).where(
                t.memory_groups.c.owner == teacher,
                t.memory_groups.c.question_key == key,
                t.memory_groups.c.id.not_in(used),
            )
        )

    def record_result(self, teacher: str, section: str, date: str, result: QuestionResult) -> Recorded:
        """Keep a question's current grouping (after a teacher's action) as that class's examples."""
        examples, groups = examples_from_result(result)
        texts = [r.text for r in result.responses]
        return self.record(teacher, result.question, section, date, examples, groups, texts=texts)

    def rename(self, teacher: str, question: str, old: str, new: str) -> None:
        """A taught group's new name, in every class of the question (merged into ``new`` when it exists)."""
        key = question_key(question)
        mg = t.memory_groups
        with self.store.engine.begin() as conn:
            ids = dict(
                conn.execute(
                    sa.select(mg.c.label, mg.c.id).where(
                        mg.c.owner == teacher, mg.c.question_key == key, mg.c.label.in_([old, new])
                    )
                ).all()
            )
            if old not in ids:
                return
            if new in ids:
                conn.execute(
                    sa.update(t.memory_examples)
                    .where(t.memory_examples.c.group_id == ids[old])
                    .values(group_id=ids[new])
                )
                conn.execute(sa.delete(mg).where(mg.c.id == ids[old]))
            else:
                conn.execute(sa.update(mg).where(mg.c.id == ids[old]).values(label=new))

    def forget_class(self, teacher: str, section: str, date: str | None = None) -> int:
        """Delete a class's examples (every question, or one date's); returns how many were deleted."""
        me = t.memory_examples
        with self.store.engine.begin() as conn:
            sections = (
                sa.select(t.sections.c.id)
                .join(t.teachers, t.teachers.c.id == t.sections.c.teacher_id)
                .where(t.teachers.c.name == teacher, t.sections.c.name == section)
            )
            where = [me.c.owner == teacher, me.c.section_id.in_(sections)]
            if date is not None:
                where.append(me.c.date == date)
            keys = set(conn.execute(sa.select(me.c.question_key).where(*where)).scalars())
            n = conn.execute(sa.delete(me).where(*where)).rowcount or 0
            for key in keys:
                self._prune(conn, teacher, key)
        return n

    # -- reading

    def load(self, teacher: str, question: str) -> QuestionMemory | None:
        """The teacher's memory of a question, or None when nothing was taught."""
        key = question_key(question)
        if not key:
            return None
        me, mg = t.memory_examples, t.memory_groups
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(me.c.text, me.c.answer, me.c.vector, me.c.date, mg.c.label, t.sections.c.name)
                .join(mg, mg.c.id == me.c.group_id)
                .join(t.sections, t.sections.c.id == me.c.section_id)
                .where(me.c.owner == teacher, me.c.question_key == key)
                .order_by(me.c.id)
            ).all()
            groups = conn.execute(
                sa.select(mg.c.label, mg.c.status, mg.c.stem, mg.c.stem_approved)
                .where(mg.c.owner == teacher, mg.c.question_key == key)
                .order_by(mg.c.id)
            ).all()
        if not rows:
            return None
        classes: dict[tuple[str, str], int] = {}
        for r in rows:
            classes[(r.name, r.date)] = classes.get((r.name, r.date), 0) + 1
        vectors = np.vstack([_vector(r.vector) for r in rows])
        # a stem kept before stems were checked (or by an older version) that quotes a taught student is not used
        taught, _ = safe_groups(
            [Example(r.text, r.answer, vectors[i], r.label) for i, r in enumerate(rows)],
            [TaughtGroup(g.label, g.status, g.stem, bool(g.stem_approved)) for g in groups],
        )
        return QuestionMemory(
            question=key,
            texts=tuple(r.text for r in rows),
            answers=tuple(r.answer for r in rows),
            labels=tuple(r.label for r in rows),
            vectors=vectors,
            groups=tuple(taught),
            classes=tuple(TaughtClass(s, d, n) for (s, d), n in classes.items()),
        )

    # -- a PLC

    def share(self, teacher: str, question: str, shared: bool = True) -> int:
        """Share (or stop sharing) the teacher's taught groups of a question with their PLC; returns how many.

        What colleagues then read (``load_shared``) is each group's name, status and stem and its examples' chosen
        answers and vectors - never a response's text, a student's name or the class it came from.
        """
        key = question_key(question)
        mg = t.memory_groups
        with self.store.engine.begin() as conn:
            return (
                conn.execute(
                    sa.update(mg).where(mg.c.owner == teacher, mg.c.question_key == key).values(shared=shared)
                ).rowcount
                or 0
            )

    def load_shared(self, question: str, exclude: str | None = None) -> QuestionMemory | None:
        """What colleagues shared for a question (not ``exclude``'s own): names, stems, answers and vectors."""
        key = question_key(question)
        if not key:
            return None
        me, mg = t.memory_examples, t.memory_groups
        where = [mg.c.question_key == key, mg.c.shared == sa.true()]
        if exclude is not None:
            where.append(mg.c.owner != exclude)
        with self.store.engine.connect() as conn:  # the text, section and date columns are never read
            if conn.dialect.name == "postgresql" and "plc_shared_memory" in sa.inspect(conn).get_view_names():
                # a PLC server: row-level security hides colleagues' rows; the view shows what they shared
                view = sa.table(
                    "plc_shared_memory",
                    *(
                        sa.column(c)
                        for c in (
                            "owner",
                            "question_key",
                            "label",
                            "status",
                            "stem",
                            "stem_approved",
                            "example_id",
                            "answer",
                            "vector",
                        )
                    ),
                )
                shown = [view.c.question_key == key] + ([view.c.owner != exclude] if exclude is not None else [])
                rows = conn.execute(
                    sa.select(view.c.answer, view.c.vector, view.c.label).where(*shown).order_by(view.c.example_id)
                ).all()
                groups = conn.execute(
                    sa.select(view.c.label, view.c.status, view.c.stem, view.c.stem_approved).where(*shown).distinct()
                ).all()
            else:
                rows = conn.execute(
                    sa.select(me.c.answer, me.c.vector, mg.c.label)
                    .join(mg, mg.c.id == me.c.group_id)
                    .where(*where)
                    .order_by(me.c.id)
                ).all()
                groups = conn.execute(
                    sa.select(mg.c.label, mg.c.status, mg.c.stem, mg.c.stem_approved).where(*where).order_by(mg.c.id)
                ).all()
        if not rows:
            return None
        first: dict[str, TaughtGroup] = {}
        for g in groups:
            first.setdefault(g.label, TaughtGroup(g.label, g.status, g.stem, bool(g.stem_approved)))
        return QuestionMemory(
            question=key,
            texts=tuple("" for _ in rows),
            answers=tuple(r.answer for r in rows),
            labels=tuple(r.label for r in rows),
            vectors=np.vstack([_vector(r.vector) for r in rows]),
            groups=tuple(first.values()),
            classes=(TaughtClass("colleagues", "", len(rows)),),
        )

    def count(self, teacher: str | None = None) -> int:
        """Examples kept (for one teacher, or all)."""
        q = sa.select(sa.func.count()).select_from(t.memory_examples)
        if teacher is not None:
            q = q.where(t.memory_examples.c.owner == teacher)
        with self.store.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())


class StoredMemory:
    """What the pipeline asks for: ``memory.lookup(question)`` -> the teacher's ``QuestionMemory`` or None.

    Args:
        store: a ``MemoryStore``.
        teacher: whose memory.
        plc: also use what colleagues shared for the question (their group names win only where the teacher
            taught nothing of that name).
    """

    def __init__(self, store: MemoryStore, teacher: str, plc: bool = False):
        self.store = store
        self.teacher = teacher
        self.plc = plc

    def lookup(self, question: str) -> QuestionMemory | None:
        own = self.store.load(self.teacher, question)
        shared = self.store.load_shared(question, exclude=self.teacher) if self.plc else None
        if own is None or shared is None:
            return own or shared
        taught = {g.label for g in own.groups}
        return QuestionMemory(
            question=own.question,
            texts=own.texts + shared.texts,
            answers=own.answers + shared.answers,
            labels=own.labels + shared.labels,
            vectors=np.vstack([own.vectors, shared.vectors]),
            groups=own.groups + tuple(g for g in shared.groups if g.label not in taught),
            classes=own.classes + shared.classes,
        )
