"""Typed records the history store hands out, and the pseudonyms other teachers see.

Pseudonyms: ``Student K7Q2-M4XD-9PRA`` = the first 60 bits of HMAC-SHA256(secret, owner, section, student) in
base32. The secret is generated once per store and kept in its ``settings`` table (on a PLC server only the
administrator's role can read it), so a class roster cannot be hashed to reverse them. With 60 bits, the chance
that any two of 100,000 students share a pseudonym is about n^2 / 2^61 = 4.3e-9 (birthday bound).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

import numpy as np

PSEUDONYM_BITS = 60
SEPARATOR = "\x1f"  # between owner, section and student in the HMAC message (PostgreSQL text has no NUL)


def pseudonym_key(secret: str, owner: str, section: str, student: str) -> str:
    """HMAC-SHA256 hex digest of a student within a teacher's section (the PLC views compute the same in SQL)."""
    message = SEPARATOR.join((str(owner), str(section), str(student))).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def pseudonym(key_hex: str) -> str:
    """The shown stand-in for a student, from ``pseudonym_key``: ``"Student K7Q2-M4XD-9PRA"`` (60 bits)."""
    code = base64.b32encode(bytes.fromhex(key_hex)[:10]).decode()[: PSEUDONYM_BITS // 5]
    return "Student " + "-".join(code[i : i + 4] for i in range(0, len(code), 4))


@dataclass(frozen=True, slots=True)
class TicketSummary:
    """One saved exit ticket, for the history list.

    Attributes:
        id: ticket id to pass to ``Store.load_analysis``.
        teacher: the teacher who owns the section.
        section: the section (class period).
        date: the ticket's date, ISO ``YYYY-MM-DD`` when it could be read as a date.
        source_name: the file it came from.
        questions: the questions, in ticket order.
        n_responses: responses over all questions (blank ones included).
        n_approved: approved feedback stems over all questions.
    """

    id: int
    teacher: str
    section: str
    date: str
    source_name: str
    questions: tuple[str, ...]
    n_responses: int
    n_approved: int


@dataclass(frozen=True, slots=True, eq=False)
class GroupRecord:
    """One saved group of one class, as the PLC comparison reads it.

    Attributes:
        ticket_id: the ticket it belongs to.
        teacher: the class's teacher.
        section: the class.
        date: the ticket's date.
        question: the question text.
        question_id: the question's id (untitled questions of different topics differ).
        group_id: the group's id, or ``UNGROUPED`` for a ticket with the question but no group (so its
            responses still count in the denominators).
        label: the group's label.
        status: its status.
        rows: its responses' rows.
        representatives: representative response texts.
        centroid: unit mean vector, shape (dim,), or None.
        n_responses: responses to that question on that ticket.
        members: row -> (student as the viewer may see them, response text).
        own: True when the class is the viewing teacher's (real names), False (pseudonyms) otherwise.
        stem: the group's feedback stem when its teacher approved it (a template), else "".

    Another teacher's class comes with no response text: its ``members`` hold ("<pseudonym>", "") and its
    ``representatives`` are empty; only names, statuses, counts and approved stems cross between teachers.
    """

    ticket_id: int
    teacher: str
    section: str
    date: str
    question: str
    question_id: int
    group_id: int
    label: str
    status: str
    rows: tuple[int, ...]
    representatives: tuple[str, ...]
    centroid: np.ndarray | None
    n_responses: int
    members: dict = field(default_factory=dict)
    own: bool = False
    stem: str = ""


def _one(plural: str) -> str:
    """The singular of a ``ForgetReport.counts`` name ("classes" -> "class", "library entries quoting
    students" -> "library entry quoting students")."""
    head, sep, tail = plural.partition(" quoting ")
    head = head[:-3] + "y" if head.endswith("ies") else head[:-2] if head.endswith("sses") else head.removesuffix("s")
    return head + sep + tail


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """What ``Store.forget`` deleted (or, with ``dry_run``, would delete).

    Attributes:
        teacher: whose class.
        section: the class.
        date: only that day's tickets, or None for every day.
        counts: what -> rows, e.g. ``{"exit tickets": 2, "responses": 58, ...}`` (zeros left out).
        done: False for a dry run (nothing was deleted).
    """

    teacher: str
    section: str
    date: str | None
    counts: dict = field(default_factory=dict)
    done: bool = True

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        """``"2 exit tickets, 58 responses, 1 class, ..."`` in the order deleted."""
        from .text import counted

        return ", ".join(counted(n, _one(name), name) for name, n in self.counts.items()) or "nothing"
