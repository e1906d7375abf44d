"""PLC comparison: the same question (or standard/topic) across sections, teachers and dates.

``compare(store, question=...)`` reads every saved group of that question (or of every question tagged with
the topic), aligns groups that are the same misconception across classes into one row, and returns the share
of each section's students in each row (``prevalence``), the same by date (``trend``) and a few examples per
row (``examples``).

Alignment, largest groups first: a group joins an existing row when its label is the same (case, spacing and
punctuation aside; the misconception library carries approved labels from class to class, so
library-suggested groups share labels), else when the cosine of its centroid to the row's centroid is at least
``similarity`` and their statuses do not contradict (never "on target" with "misconception"). Otherwise it
starts a new row. Two groups of the same ticket join one row only through the same label.

Privacy: the store decides who is looking (the OS user, the app's teacher, or on a PLC server the database
role: never a free-text viewer). Examples from that teacher's own classes are representative responses with
their students' names; another teacher's classes give only the group: its name, status, number of students and
the stem its teacher approved - never a response's text (a student's words reach only their own teacher). Where
other teachers' students are listed (``GroupRecord.members``) they carry the store's keyed pseudonyms
("Student K7Q2-M4XD-9PRA", see ``storage_records``). Prevalence and trend hold no names.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .records import MISCONCEPTION, NOT_GROUPED, ON_TARGET, UNCLEAR, UNGROUPED, NotFoundError

if TYPE_CHECKING:
    import pandas as pd

    from .storage import Store
    from .storage_records import GroupRecord

DEFAULT_SIMILARITY = 0.8
_STATUS_ORDER = {MISCONCEPTION: 0, UNCLEAR: 1, ON_TARGET: 2, "": 3}


@dataclass(frozen=True, slots=True)
class AlignedMisconception:
    """One row of the comparison: the same misconception (or on-target reasoning) across classes.

    Attributes:
        name: the row's name (the label most students' groups carry).
        status: the status most of its students' groups carry.
        labels: every group label merged into the row.
        sections: the sections where it appears.
        n_students: students in it, over all sections and dates.
    """

    name: str
    status: str
    labels: tuple[str, ...]
    sections: tuple[str, ...]
    n_students: int


@dataclass(frozen=True, slots=True)
class Example:
    """A representative response of the viewer's own class, with the student's name; or, for another teacher's
    class, the group only: no student and no text, its number of students and its approved stem template
    (a student's words reach only their own teacher)."""

    misconception: str
    section: str
    date: str
    student: str
    text: str
    students: int = 1
    stem: str = ""

    def __str__(self) -> str:
        if not self.student:
            return (
                f"{self.section}, {self.date}: {self.students} student(s); feedback: {self.stem or '(none approved)'}"
            )
        return f"{self.student} ({self.section}, {self.date}): {self.text}"


@dataclass(frozen=True, slots=True, eq=False)
class Comparison:
    """The result of ``compare``.

    Attributes:
        question: the question compared, or None when comparing a topic.
        topic: the topic compared, or None.
        viewer: the teacher viewing (the store's teacher: their own sections show real names in ``examples``).
        sections: section names as shown (``"name (teacher)"`` when two teachers use the same name).
        rows: the aligned misconceptions, most widespread first within status (misconceptions, unclear, on
            target), then ``NOT_GROUPED``.
        prevalence: DataFrame, index = row name, columns = ``sections``, values = share of the section's
            responses (0..1); each column sums to 1.
        counts: like ``prevalence`` with student counts; the ``NOT_GROUPED`` row makes columns add up to the
            section's responses.
        trend: DataFrame with columns date, section, misconception, status, students, responses, share
            (one row per date x section x row, zeros included), sorted by date.
        examples: row name -> up to ``n_examples`` representative responses, spread over sections.
    """

    question: str | None
    topic: str | None
    viewer: str | None
    sections: tuple[str, ...]
    rows: tuple[AlignedMisconception, ...]
    prevalence: pd.DataFrame
    counts: pd.DataFrame
    trend: pd.DataFrame
    examples: dict[str, tuple[Example, ...]] = field(default_factory=dict)

    def shared(self) -> list[str]:
        """Names of the rows (not ``NOT_GROUPED``) seen in every section."""
        return [r.name for r in self.rows if r.name != NOT_GROUPED and len(r.sections) == len(self.sections)]


def _label_key(label: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", str(label).casefold()).split())


def _compatible(a: str, b: str) -> bool:
    return {a, b} != {ON_TARGET, MISCONCEPTION}


def resolve_question(store: Store, question: str) -> str:
    """The saved question meant by ``question``: exact text, else the one saved question containing it.

    Raises:
        NotFoundError: none or several match (the message lists the saved questions).
    """
    saved = store.questions()
    if question in saved:
        return question
    needle = " ".join(question.casefold().split())
    hits = [q for q in saved if needle in " ".join(q.casefold().split())]
    if len(hits) == 1:
        return hits[0]
    listed = "; ".join(repr(q) for q in saved) if saved else "(none yet: analyse and save an exit ticket first)"
    if hits:
        raise NotFoundError(
            f"{question!r} matches {len(hits)} saved questions; give more of the text. Saved questions are: {listed}"
        )
    raise NotFoundError(f"no saved exit ticket asks {question!r}. Saved questions are: {listed}")


def resolve_topic(store: Store, topic: str) -> str:
    """The saved topic meant by ``topic``; tags match whatever their case ("5.nf.1" is "5.NF.1").

    Raises:
        NotFoundError: no such topic (the message lists the saved ones).
    """
    saved = store.topics()
    if topic in saved:
        return topic
    hits = [s for s in saved if s.strip().lower() == topic.strip().lower()]
    if hits:
        return hits[0]
    listed = ", ".join(repr(s) for s in saved) if saved else "(none yet: save a ticket with --topic)"
    raise NotFoundError(f"no saved question is tagged with the topic {topic!r}. Saved topics are: {listed}")


class _Row:
    """Groups aligned as one misconception, with their running centroid."""

    def __init__(self) -> None:
        self.groups: list[GroupRecord] = []
        self.label_keys: set[str] = set()
        self.tqs: set[tuple[int, str]] = set()
        self.centroid: np.ndarray | None = None
        self.weight = 0.0

    def add(self, g: GroupRecord) -> None:
        self.groups.append(g)
        self.label_keys.add(_label_key(g.label))
        self.tqs.add((g.ticket_id, g.question))
        c = g.centroid
        if c is not None and (self.centroid is None or len(c) == len(self.centroid)):
            total = self.centroid * self.weight if self.centroid is not None else np.zeros(len(c))
            total = total + np.asarray(c, dtype=np.float64) * len(g.rows)
            self.weight += len(g.rows)
            norm = np.linalg.norm(total)
            self.centroid = total / norm if norm > 0 else total

    def status(self) -> str:
        votes: Counter = Counter()
        for g in self.groups:
            votes[g.status] += len(g.rows)
        return votes.most_common(1)[0][0]

    def name(self) -> str:
        votes: Counter = Counter()
        for g in self.groups:
            votes[g.label] += len(g.rows)
        return votes.most_common(1)[0][0]


def align(groups: list[GroupRecord], similarity: float = DEFAULT_SIMILARITY) -> list[list[GroupRecord]]:
    """Put groups that are the same misconception together (see the module docstring).

    Args:
        groups: ``storage.GroupRecord``s (or anything with ticket_id, question, group_id, label, status, rows and
            centroid: ndarray (dim,) or None), as ``Store.group_records`` returns them.
        similarity: least centroid cosine for two differently labelled groups to be the same row.

    Returns:
        lists of groups, one per aligned row, in order of creation (largest first).
    """
    rows: list[_Row] = []
    for g in sorted(groups, key=lambda g: (-len(g.rows), g.ticket_id, g.group_id)):
        key = _label_key(g.label)
        chosen = next((r for r in rows if key and key in r.label_keys), None)
        c = g.centroid
        if chosen is None and c is not None:
            best = -1.0
            for r in rows:
                if (
                    r.centroid is None
                    or len(r.centroid) != len(c)
                    or (g.ticket_id, g.question) in r.tqs
                    or not _compatible(r.status(), g.status)
                ):
                    continue
                cos = float(np.dot(r.centroid, np.asarray(c, dtype=np.float64)) / (np.linalg.norm(c) or 1.0))
                if cos >= similarity and cos > best:
                    chosen, best = r, cos
        if chosen is None:
            chosen = _Row()
            rows.append(chosen)
        chosen.add(g)
    return [r.groups for r in rows]


def _section_names(records: list[GroupRecord]) -> dict[tuple[str, str], str]:
    """(teacher, section) -> display name; the teacher is added when two teachers share a section name."""
    owners: defaultdict[str, set[str]] = defaultdict(set)
    for r in records:
        owners[r.section].add(r.teacher)
    return {
        (r.teacher, r.section): (r.section if len(owners[r.section]) == 1 else f"{r.section} ({r.teacher})")
        for r in records
    }


def compare(
    store: Store,
    *,
    question: str | None = None,
    topic: str | None = None,
    similarity: float = DEFAULT_SIMILARITY,
    n_examples: int = 3,
) -> Comparison:
    """Compare misconception patterns across sections, teachers and dates.

    Args:
        store: an open ``storage.Store``; its teacher is the viewer.
        question: the question (exact text, or a piece of it that matches one saved question).
        topic: compare every question tagged with this standard/topic instead.
        similarity: least centroid cosine for two differently labelled groups to count as the same row.
        n_examples: representative responses kept per row.

    Returns:
        a ``Comparison``.

    Raises:
        NotFoundError: the question or topic is not in the history, or neither was given and the history
            holds several questions.
    """
    question, topic, records = _records(store, question, topic)
    names = _section_names(records)
    sections = tuple(dict.fromkeys(names[(r.teacher, r.section)] for r in records))
    responses = _Responses.count(records, names)
    named = _named_rows(align([r for r in records if r.group_id != UNGROUPED], similarity=similarity))
    tally = _Tally.of(named, names, sections)
    order = tally.order(responses)
    count_df, prevalence, trend = _tables(order, sections, tally, responses)
    return Comparison(
        question=question,
        topic=topic,
        viewer=store.teacher,
        sections=sections,
        rows=tuple(tally.aligned(n) for n in order),
        prevalence=prevalence,
        counts=count_df,
        trend=trend,
        examples={name: _examples(name, row.groups, names, n_examples) for name, row in named},
    )


def _records(store: Store, question: str | None, topic: str | None) -> tuple[str | None, str | None, list[GroupRecord]]:
    """The question or topic meant (resolved against the history) and every saved group of it."""
    if question is not None and topic is not None:
        raise NotFoundError("compare one question or one topic, not both: drop --question or --topic.")
    if question is None and topic is None:
        saved = store.questions()
        if len(saved) != 1:
            listed = "; ".join(repr(q) for q in saved) if saved else "(none yet)"
            raise NotFoundError(
                f"say which question to compare (--question) or which topic (--topic). Saved questions are: {listed}"
            )
        question = saved[0]
    if question is not None:
        question = resolve_question(store, question)
        records = store.group_records(question=question)
        if len({r.question_id for r in records}) > 1:  # untitled questions of different topics
            raise NotFoundError(
                "these exit tickets each had one untitled question, on different topics; compare them by "
                f"--topic instead. Saved topics are: {', '.join(repr(s) for s in store.topics())}"
            )
        return question, topic, records
    assert topic is not None
    topic = resolve_topic(store, topic)
    return question, topic, store.group_records(topic=topic)


@dataclass(frozen=True, slots=True)
class _Responses:
    """The denominators: responses per section and per (date, section), and those in no group of each."""

    by_section: Counter[str]
    by_day: Counter[tuple[str, str]]
    ungrouped: Counter[str]
    ungrouped_day: Counter[tuple[str, str]]

    @classmethod
    def count(cls, records: list[GroupRecord], names: dict[tuple[str, str], str]) -> _Responses:
        per_tq: dict[tuple[int, str], GroupRecord] = {}
        for r in records:
            per_tq.setdefault((r.ticket_id, r.question), r)
        grouped_by_tq: Counter[tuple[int, str]] = Counter()
        for r in records:
            if r.group_id != UNGROUPED:
                grouped_by_tq[(r.ticket_id, r.question)] += len(r.rows)
        by_section: Counter[str] = Counter()
        by_day: Counter[tuple[str, str]] = Counter()
        ungrouped: Counter[str] = Counter()
        ungrouped_day: Counter[tuple[str, str]] = Counter()
        for key, r in per_tq.items():
            sec = names[(r.teacher, r.section)]
            by_section[sec] += r.n_responses
            by_day[(r.date, sec)] += r.n_responses
            n = max(r.n_responses - grouped_by_tq[key], 0)
            ungrouped[sec] += n
            ungrouped_day[(r.date, sec)] += n
        return cls(by_section, by_day, ungrouped, ungrouped_day)


def _named_rows(aligned: list[list[GroupRecord]]) -> list[tuple[str, _Row]]:
    """Each aligned row with its name (its most common label; a repeated name gets " (2)", " (3)", ...)."""
    out = []
    seen: Counter[str] = Counter()
    for groups in aligned:
        row = _Row()
        for g in groups:
            row.add(g)
        name = row.name()
        seen[name] += 1
        if seen[name] > 1:
            name = f"{name} ({seen[name]})"
        out.append((name, row))
    return out


@dataclass(slots=True)
class _Tally:
    """Students per row and section, and per row, date and section; each row's status, labels and sections."""

    sections: tuple[str, ...]
    counts: dict[str, Counter] = field(default_factory=dict)
    day_counts: dict[str, Counter] = field(default_factory=dict)
    info: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], int]] = field(default_factory=dict)

    @classmethod
    def of(cls, named: list[tuple[str, _Row]], names: dict[tuple[str, str], str], sections: tuple[str, ...]) -> _Tally:
        tally = cls(sections)
        for name, row in named:
            counts: Counter[str] = Counter()
            days: Counter[tuple[str, str]] = Counter()
            for g in row.groups:
                sec = names[(g.teacher, g.section)]
                counts[sec] += len(g.rows)
                days[(g.date, sec)] += len(g.rows)
            tally.counts[name], tally.day_counts[name] = counts, days
            tally.info[name] = (
                row.status(),
                tuple(dict.fromkeys(g.label for g in row.groups)),
                tuple(s for s in sections if counts[s]),
                sum(counts.values()),
            )
        return tally

    def order(self, responses: _Responses) -> list[str]:
        """Misconceptions, then unclear, then on target, most widespread first; ``NOT_GROUPED`` last (added
        here when any response is in no group)."""
        everyone = max(sum(responses.by_section.values()), 1)
        total = {name: self.info[name][3] / everyone for name in self.info}
        order = sorted(self.info, key=lambda n: (_STATUS_ORDER.get(self.info[n][0], 3), -total[n], n))
        if sum(responses.ungrouped.values()):
            order.append(NOT_GROUPED)
            self.counts[NOT_GROUPED], self.day_counts[NOT_GROUPED] = responses.ungrouped, responses.ungrouped_day
            self.info[NOT_GROUPED] = (
                "",
                (),
                tuple(s for s in self.sections if responses.ungrouped[s]),
                sum(responses.ungrouped.values()),
            )
        return order

    def aligned(self, name: str) -> AlignedMisconception:
        status, labels, sections, n = self.info[name]
        return AlignedMisconception(name=name, status=status, labels=labels, sections=sections, n_students=n)


def _tables(
    order: list[str], sections: tuple[str, ...], tally: _Tally, responses: _Responses
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``counts``, ``prevalence`` and ``trend`` of the ``Comparison`` (see its docstring)."""
    import pandas as pd

    count_df = pd.DataFrame(
        [[tally.counts[n][s] for s in sections] for n in order],
        index=pd.Index(order, name="misconception"),
        columns=pd.Index(list(sections), name="section"),
        dtype=int,
    )
    denom = pd.Series({s: responses.by_section[s] for s in sections}, dtype=float).replace(0, np.nan)
    prevalence = (count_df / denom).fillna(0.0) if len(sections) else count_df.astype(float)
    by_day = responses.by_day
    days = sorted(by_day, key=lambda k: (_date_key(k[0]), sections.index(k[1])))
    trend = pd.DataFrame(
        [
            {
                "date": d,
                "section": s,
                "misconception": n,
                "status": tally.info[n][0],
                "students": tally.day_counts[n][(d, s)],
                "responses": by_day[(d, s)],
                "share": tally.day_counts[n][(d, s)] / by_day[(d, s)] if by_day[(d, s)] else 0.0,
            }
            for d, s in days
            for n in order
        ],
        columns=["date", "section", "misconception", "status", "students", "responses", "share"],
    )
    return count_df, prevalence, trend


def _date_key(date: str) -> tuple:
    import pandas as pd

    try:
        return (0, pd.Timestamp(date).isoformat())
    except (ValueError, TypeError):
        return (1, str(date))


def _examples(name: str, groups: list[GroupRecord], names: dict[tuple[str, str], str], n: int) -> tuple[Example, ...]:
    """Up to ``n`` examples, taking one section at a time so several classes are shown: representative responses
    of the viewer's own classes; for another teacher's class, its group (count and approved stem) without text."""
    queues: dict[str, list[Example]] = {}
    for g in sorted(groups, key=lambda g: -len(g.rows)):
        sec = names[(g.teacher, g.section)]
        if not g.own:
            queues.setdefault(sec, []).append(
                Example(
                    misconception=name, section=sec, date=g.date, student="", text="", students=len(g.rows), stem=g.stem
                )
            )
            continue
        members = [g.members[r] for r in g.rows if r in g.members]
        reps = set(g.representatives)
        picked = [m for m in members if m[1] in reps] + [m for m in members if m[1] not in reps]
        for student, text in picked:
            if not str(text).strip():
                continue
            queues.setdefault(sec, []).append(
                Example(misconception=name, section=sec, date=g.date, student=student, text=text)
            )
    out: list[Example] = []
    while len(out) < n and any(queues.values()):
        for sec in list(queues):
            if queues[sec] and len(out) < n:
                out.append(queues[sec].pop(0))
    return tuple(out)
