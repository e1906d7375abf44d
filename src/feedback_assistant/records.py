"""Typed records that cross module boundaries, and the small interfaces between pipeline stages.

Everything the UI, storage and export read is one of these frozen dataclasses; no module hands another a
raw numpy array or a positional tuple except through the ``Embedder`` / ``Clusterer`` protocols below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

UNGROUPED = -1
"""Group id of a response that was not placed in any group (blank, or too unlike the rest)."""

NOT_GROUPED = "Not grouped"
"""How the teacher sees ``UNGROUPED`` in the app, charts and exports."""


class Status(StrEnum):
    """A group's status."""

    ON_TARGET = "on target"
    MISCONCEPTION = "misconception"
    UNCLEAR = "unclear"


class PlanKind(StrEnum):
    """The kind of a next-day plan group, also the next step written to responses.csv."""

    RETEACH = "reteach"
    EXTENSION = "extension"
    CHECK_IN = "check-in"


class StemState(StrEnum):
    """Whether the teacher has approved a feedback stem."""

    DRAFT = "draft"
    APPROVED = "approved"


class StemKind(StrEnum):
    """Which kind of feedback stem was drafted (from the group's status; ``EXPLAIN`` for the check-in stem)."""

    EXTENSION = "extension"
    MISCONCEPTION = "misconception"
    EXPLAIN = "explain"


# The members under their short names (the values are plain strings: "on target" == Status.ON_TARGET).
ON_TARGET = Status.ON_TARGET
MISCONCEPTION = Status.MISCONCEPTION
UNCLEAR = Status.UNCLEAR
STATUSES = tuple(Status)
RETEACH = PlanKind.RETEACH
EXTENSION = PlanKind.EXTENSION
CHECK_IN = PlanKind.CHECK_IN
DRAFT = StemState.DRAFT
APPROVED = StemState.APPROVED


class FeedbackAssistantError(Exception):
    """Base class for errors a teacher may meet; the message says what went wrong and what to do."""


class TicketFormatError(FeedbackAssistantError):
    """The exit-ticket file cannot be read as responses (wrong type, no usable columns, ...)."""


class NotFoundError(FeedbackAssistantError):
    """A section, question, group or student that was asked for does not exist."""


class RowAccountingError(FeedbackAssistantError):
    """A pipeline stage lost or invented rows: rows in must equal rows out."""


class OutputError(FeedbackAssistantError):
    """Results cannot be written where asked (a file, read-only, full disk, or over the input); nothing changed."""


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which input column plays which role. ``None`` means the role is absent from the file."""

    response: str
    student: str | None = None
    question: str | None = None
    section: str | None = None
    date: str | None = None
    answer: str | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """One student's answer to one question.

    Attributes:
        row: 0-based position of this response in the long (one row per student per question) table.
        source_row: 0-based data row of the input file this response came from.
        student: student name or id as written in the file ("" when the file has none).
        question: question text or id ("" when the file holds one question).
        text: the response exactly as typed (never stripped of formula-like prefixes).
        answer: the chosen or final answer when the file has an answer column, else None.
        section: class period / section, or None.
        date: the date of the ticket as written, or None.
        is_blank: True when the response is empty or whitespace only.
    """

    row: int
    source_row: int
    student: str
    question: str
    text: str
    answer: str | None = None
    section: str | None = None
    date: str | None = None
    is_blank: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    """A group of responses to one question that share a misconception (or the on-target reasoning).

    Attributes:
        question: the question this group belongs to.
        group_id: integer id, unique within the question; ``UNGROUPED`` for the not-grouped bucket.
        label: a short name a teacher would use ("added tops and bottoms").
        rows: ``Response.row`` of each member, in input order.
        representatives: 2-3 member texts closest to the group's centre.
        status: one of ``STATUSES``.
        status_confirmed: True when the status came from an answer key or the teacher, False when proposed.
        answer: the group's most common answer (chosen or extracted), if any.
        terms: distinctive terms behind the label.
        carried_over: True when the name, status and stem came from the teacher's memory of this question
            (an earlier class) and the teacher has not confirmed them yet ("carried over - confirm").
    """

    question: str
    group_id: int
    label: str
    rows: tuple[int, ...]
    representatives: tuple[str, ...] = ()
    status: Status = Status.UNCLEAR
    status_confirmed: bool = False
    answer: str | None = None
    terms: tuple[str, ...] = ()
    carried_over: bool = False

    @property
    def size(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, slots=True)
class FeedbackStem:
    """The feedback a group's students will see, once the teacher approves it.

    Attributes:
        question: the question.
        group_id: the group this stem is for.
        text: the current text (the teacher's edit when edited).
        state: ``DRAFT`` or ``APPROVED``.
        drafted: the text as the tool first drafted it (kept when the teacher edits).
        kind: "extension", "misconception" or "explain" - which kind of stem was drafted.
        from_library: True when the text was suggested by the misconception library.
    """

    question: str
    group_id: int
    text: str
    state: StemState = StemState.DRAFT
    drafted: str = ""
    kind: StemKind | str = ""
    from_library: bool = False


@dataclass(frozen=True, slots=True)
class PlanGroup:
    """One next-day small group for one question.

    Attributes:
        question: the question.
        name: e.g. "Reteach: added tops and bottoms (1)", "Extension", "Check-in".
        kind: ``RETEACH``, ``EXTENSION`` or ``CHECK_IN``.
        students: the students in the group.
        rows: the ``Response.row`` of each student's response.
        source_groups: the analysis groups this plan group was formed from.
        focus: what the group works on (the misconception label, or the extension prompt).
    """

    question: str
    name: str
    kind: PlanKind
    students: tuple[str, ...]
    rows: tuple[int, ...]
    source_groups: tuple[int, ...] = ()
    focus: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """Tomorrow's plan for one question."""

    question: str
    groups: tuple[PlanGroup, ...]
    top_misconceptions: tuple[tuple[str, int], ...] = ()
    whole_class_reteach: str | None = None


@dataclass(frozen=True, slots=True)
class Clustering:
    """What a clusterer returns for one question.

    Attributes:
        labels: shape (n,), group id per response, ``UNGROUPED`` for not grouped.
        confidence: shape (n,), 0..1 confidence that the response belongs to its group (0 when ungrouped).
    """

    labels: np.ndarray
    confidence: np.ndarray


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors."""

    name: str

    def encode(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Embed texts.

        Args:
            texts: n strings.
            progress: optional callable ``progress(done: int, total: int)``.

        Returns:
            array of shape (n, dim), float32, L2-normalised rows.
        """
        ...


@runtime_checkable
class Clusterer(Protocol):
    """Groups the responses to one question."""

    def cluster(
        self,
        texts: list[str],
        embeddings: np.ndarray,
        answers: list[str | None] | None = None,
        key: str | None = None,
    ) -> Clustering:
        """Group responses.

        Args:
            texts: n non-blank response texts.
            embeddings: shape (n, dim), rows L2-normalised.
            answers: n chosen answers when the file has an answer column, else None.
            key: the correct answer when the teacher gave one.

        Returns:
            a ``Clustering`` with labels of shape (n,).
        """
        ...


@runtime_checkable
class Labeller(Protocol):
    """Names the groups of one question and proposes their status (default ``labelling.describe_groups``)."""

    def describe(
        self,
        question: str,
        responses: Sequence[Response],
        labels: Sequence[int],
        vectors: np.ndarray | None,
        key: str | None = None,
    ) -> tuple[Group, ...]:
        """Describe every group.

        Args:
            question: the question.
            responses: its n responses, in input order (blank ones included).
            labels: shape (n,), group id per response; ``UNGROUPED`` for blank or not grouped.
            vectors: shape (n, dim) embeddings aligned with ``responses`` (unit rows), or None.
            key: the correct answer, if the teacher gave one.

        Returns:
            one ``Group`` per id >= 0 in display order, labels unique within the question.
        """
        ...


@runtime_checkable
class StemDrafter(Protocol):
    """Drafts the feedback a group's students will read (default ``feedback.draft_stem`` / ``checkin_stem``)."""

    def draft(self, group: Group, key: str | None = None) -> FeedbackStem:
        """A ``DRAFT`` stem for one group (``drafted`` holds the same text)."""
        ...

    def check_in(self, question: str) -> FeedbackStem:
        """The stem for the responses in no group (``group_id=UNGROUPED``)."""
        ...


@runtime_checkable
class Planner(Protocol):
    """Makes tomorrow's small groups for one question (default ``planning.make_plan``)."""

    def plan(
        self,
        question: str,
        responses: Sequence[Response],
        labels: Sequence[int],
        groups: Sequence[Group],
        max_group_size: int,
        vectors: np.ndarray | None = None,
    ) -> Plan:
        """Plan tomorrow.

        Args:
            question: the question.
            responses: its n responses, in input order.
            labels: shape (n,), group id per response.
            groups: the question's groups, with statuses.
            max_group_size: largest next-day group.
            vectors: shape (n, dim) embeddings aligned with ``responses``, or None.

        Returns:
            a ``Plan`` placing every response in exactly one plan group.
        """
        ...


@dataclass(frozen=True, slots=True)
class Stages:
    """The parts that label, draft and plan one question; the teacher's edits re-use them (``review.py``)."""

    labeller: Labeller
    drafter: StemDrafter
    planner: Planner


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """Everything the tool knows about one question of one exit ticket, after analysis and the teacher's edits.

    Immutable: every edit (rename, merge, move, approve, ...) returns a new ``QuestionResult``.

    Attributes:
        question: the question.
        responses: this question's responses, in input order.
        labels: group id per response (aligned with ``responses``); ``UNGROUPED`` for blank or not grouped.
        confidence: 0..1 per response, how surely it belongs to its group (0 for ungrouped).
        groups: the groups (ids >= 0) in display order; responses with ``UNGROUPED`` are not in any.
        stems: one ``FeedbackStem`` per group in ``groups``, then, when any response is ``UNGROUPED``, the
            check-in stem for those responses (``group_id=UNGROUPED``).
        plan: tomorrow's plan for this question.
        key: the answer key the teacher gave, if any.
        overrides: per-student feedback overrides as (response row, text).
        max_group_size: largest next-day group; edits that rebuild the plan use it again.
        vectors: shape (n, dim) embeddings aligned with ``responses`` (for edits that need them; not for display).
        stages: the labeller, drafter and planner that built this result (None: the defaults); edits that
            re-label, re-draft or re-plan call them again.
        learned_from: what the teacher's memory of this question held when it was analysed, e.g. "Learned from
            19 corrected responses (Period 2, 11/19)"; "" when no memory was used.
    """

    question: str
    responses: tuple[Response, ...]
    labels: tuple[int, ...]
    confidence: tuple[float, ...]
    groups: tuple[Group, ...]
    stems: tuple[FeedbackStem, ...]
    plan: Plan
    key: str | None = None
    overrides: tuple[tuple[int, str], ...] = ()
    max_group_size: int = 6
    vectors: np.ndarray | None = field(default=None, compare=False, repr=False)
    stages: Stages | None = field(default=None, compare=False, repr=False)
    learned_from: str = ""


@dataclass(frozen=True, slots=True)
class Analysis:
    """One analysed exit ticket: the long table as read, its column roles, and a result per question.

    Attributes:
        frame: the long table (one row per student per question, ``Response.row`` = position), all original columns.
        columns: which frame column plays which role.
        results: one per question, in order of first appearance.
        source_name: file name the ticket came from.
    """

    frame: pd.DataFrame
    columns: ColumnMap
    results: tuple[QuestionResult, ...]
    source_name: str = ""
