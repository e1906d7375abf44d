"""The one place that runs the stages in order: read -> embed -> group -> label -> draft -> plan.

Each stage is a small part passed in (``records.py`` holds its ``Protocol``): an ``Embedder`` (texts -> unit
vectors), a ``Clusterer`` (one question's vectors -> group ids), a ``Labeller`` (groups -> named ``Group``s with
a status), a ``StemDrafter`` (a group -> its draft ``FeedbackStem``) and a ``Planner`` (groups -> tomorrow's
``Plan``). ``analyze`` takes any of them (``embedder=``, ``clusterer=``, ``labeller=``, ``drafter=``,
``planner=``); the defaults below wrap ``embedding.MiniLMEmbedder``, ``clustering.MisconceptionClusterer``,
``labelling.describe_groups``, ``feedback.draft_stem`` and ``planning.make_plan``. The result remembers its
labeller, drafter and planner, so the teacher's edits (``review.py``) re-label and re-plan with the same parts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .feedback import checkin_stem, draft_stem
from .fit import check_flags
from .labelling import describe_groups
from .planning import check_in_flagged, make_plan
from .records import (
    DRAFT,
    STATUSES,
    UNGROUPED,
    Analysis,
    Clusterer,
    Embedder,
    FeedbackStem,
    Group,
    Labeller,
    Plan,
    Planner,
    QuestionResult,
    Response,
    RowAccountingError,
    Stages,
    Status,
    StemDrafter,
    StemKind,
)
from .text import MIN_LANGUAGE_GROUP, language_flags

if TYPE_CHECKING:
    from .library import LibraryEntry, MisconceptionLibrary
    from .memory import MemorySource, QuestionMemory, TaughtGroup
    from .tickets import TicketSet

StageProgress = Callable[[int, int, str], None]

EMBED_STAGE = "Reading responses"
GROUP_STAGE = "Grouping responses"

_KIND_OF_STATUS = {
    Status.ON_TARGET: StemKind.EXTENSION,
    Status.MISCONCEPTION: StemKind.MISCONCEPTION,
    Status.UNCLEAR: StemKind.EXPLAIN,
}


# ----------------------------------------------------------------------------------------------------
# The default parts


class PhraseLabeller:
    """Names each group by its students' most distinctive phrase and answer (``labelling.describe_groups``)."""

    def describe(
        self,
        question: str,
        responses: Sequence[Response],
        labels: Sequence[int],
        vectors: np.ndarray | None,
        key: str | None = None,
    ) -> tuple[Group, ...]:
        return describe_groups(question, responses, labels, vectors, key)


class TemplateDrafter:
    """Fills a stem template from the group's own words and answer (``feedback.draft_stem``)."""

    def draft(self, group: Group, key: str | None = None) -> FeedbackStem:
        return draft_stem(group, key)

    def check_in(self, question: str) -> FeedbackStem:
        return checkin_stem(question)


class SmallGroupPlanner:
    """Reteach / extension / check-in groups of at most ``max_group_size`` (``planning.make_plan``)."""

    def plan(
        self,
        question: str,
        responses: Sequence[Response],
        labels: Sequence[int],
        groups: Sequence[Group],
        max_group_size: int,
        vectors: np.ndarray | None = None,
    ) -> Plan:
        return make_plan(question, responses, labels, groups, max_group_size, vectors=vectors)


DEFAULT_STAGES = Stages(labeller=PhraseLabeller(), drafter=TemplateDrafter(), planner=SmallGroupPlanner())


def default_embedder(model: str | Path | None = None) -> Embedder:
    """The bundled all-MiniLM-L6-v2 (or a school's model folder under ``models/``), offline, with the disk cache."""
    from .embedding import MiniLMEmbedder

    return MiniLMEmbedder(model_path=str(model) if model else None)


def default_clusterer() -> Clusterer:
    """The project's answer- and reasoning-aware clusterer."""
    from .clustering import MisconceptionClusterer

    return MisconceptionClusterer()


def stages(
    labeller: Labeller | None = None, drafter: StemDrafter | None = None, planner: Planner | None = None
) -> Stages:
    """The labeller, drafter and planner to use: each given part, else the default."""
    if labeller is None and drafter is None and planner is None:
        return DEFAULT_STAGES
    return Stages(
        labeller=labeller or DEFAULT_STAGES.labeller,
        drafter=drafter or DEFAULT_STAGES.drafter,
        planner=planner or DEFAULT_STAGES.planner,
    )


def stages_of(result: QuestionResult) -> Stages:
    """The parts that built a result (the defaults for a result read back from the history)."""
    return result.stages or DEFAULT_STAGES


# ----------------------------------------------------------------------------------------------------
# Read (the ticket is already a ``TicketSet``), embed, group


def keys_by_question(tickets: TicketSet, questions: list[str], keys: Mapping[str, str] | None) -> dict[str, str | None]:
    """The answer key per question: explicit keys win (``""`` applies to every question), then a key column
    (its most common value per question; the Upload page prefills its answer boxes with these)."""
    given = dict(keys or {})
    found: dict[str, str | None] = {}
    frame, cols = tickets.frame, tickets.columns
    for q in questions:
        key = given.get(q) or given.get("")
        if not key and cols.key:
            rows = frame[cols.key] if not cols.question else frame.loc[frame[cols.question] == q, cols.key]
            values = [v for v in rows.astype(str) if v.strip()]
            if values:
                key = max(sorted(set(values)), key=values.count)
        found[q] = key or None
    return found


def language_blocks(responses: Sequence[Response]) -> list[list[int]]:
    """Positions of the responses to group, one block per language, each grouped on its own (``text.language_flags``).

    The first block is the class's majority language (with the responses too short to tell); then each other
    language with at least ``MIN_LANGUAGE_GROUP`` responses. A Spanish answer is never merged by accident into a
    group of English ones; a language with fewer responses stays "Not grouped" for the teacher to read. Blank
    responses are in no block.
    """
    flags = language_flags([r.text for r in responses])
    main = [i for i, r in enumerate(responses) if not r.is_blank and not flags[i]]
    other: dict[str, list[int]] = {}
    for i, r in enumerate(responses):
        if not r.is_blank and flags[i]:
            other.setdefault(str(flags[i]), []).append(i)
    return [main] + [rows for _, rows in sorted(other.items()) if len(rows) >= MIN_LANGUAGE_GROUP]


def _cluster_block(
    question: str,
    responses: Sequence[Response],
    vectors: np.ndarray,
    clusterer: Clusterer,
    key: str | None,
    filled: list[int],
    labels: np.ndarray,
    confidence: np.ndarray,
) -> None:
    """Group the responses at ``filled`` and write their group ids (after every id already in ``labels``) and
    confidences into ``labels`` and ``confidence``."""
    answers = [responses[i].answer for i in filled]
    has_answers = any(a is not None and str(a).strip() for a in answers)
    clustering = clusterer.cluster(
        [responses[i].text for i in filled],
        vectors[filled],
        answers=answers if has_answers else None,
        key=key,
    )
    if len(clustering.labels) != len(filled) or len(clustering.confidence) != len(filled):
        raise RowAccountingError(
            f"Internal error: grouping returned {len(clustering.labels)} labels for {len(filled)} responses "
            f"to {question or 'the ticket'}. Nothing was written; please report this."
        )
    offset = int(labels.max()) + 1 if len(labels) and labels.max() > UNGROUPED else 0
    block = np.asarray(clustering.labels, dtype=int)
    labels[filled] = np.where(block == UNGROUPED, UNGROUPED, block + offset)
    confidence[filled] = np.asarray(clustering.confidence, dtype=float)


def group_question(
    question: str, responses: Sequence[Response], vectors: np.ndarray, clusterer: Clusterer, key: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Group one question's non-blank responses, each language on its own (``language_blocks``); blank ones, and
    those in a language with too few responses to group, are ``UNGROUPED`` with confidence 0.

    Returns:
        ``(labels, confidence)``, each of shape (len(responses),).
    """
    labels = np.full(len(responses), UNGROUPED, dtype=int)
    confidence = np.zeros(len(responses), dtype=float)
    for filled in language_blocks(responses):
        if filled:
            _cluster_block(question, responses, vectors, clusterer, key, filled, labels, confidence)
    return labels, confidence


def _group_with_memory(
    responses: Sequence[Response], vectors: np.ndarray, taught: QuestionMemory, clusterer: Clusterer, key: str | None
) -> tuple[np.ndarray, np.ndarray, dict[int, TaughtGroup]]:
    """``group_question`` with the teacher's memory first (``memory.carry_over``); also returns group id -> the
    taught group it carries over."""
    from .memory import carry_over

    labels = np.full(len(responses), UNGROUPED, dtype=int)
    confidence = np.zeros(len(responses), dtype=float)
    filled, *other_languages = language_blocks(responses)
    carried: dict[int, TaughtGroup] = {}
    if filled:
        answers = [responses[i].answer for i in filled]
        has_answers = any(a is not None and str(a).strip() for a in answers)
        co = carry_over(
            taught,
            [responses[i].text for i in filled],
            vectors[filled],
            answers if has_answers else None,
            clusterer,
            key=key,
        )
        labels[filled] = co.clustering.labels
        confidence[filled] = co.clustering.confidence
        carried = dict(co.taught)
    for rows in other_languages:  # the memory is of the class's language: other languages are grouped afresh
        _cluster_block("", responses, vectors, clusterer, key, rows, labels, confidence)
    return labels, confidence, carried


# ----------------------------------------------------------------------------------------------------
# Label, draft, plan


def assemble(
    question: str,
    responses: Sequence[Response],
    labels: Sequence[int] | np.ndarray,
    confidence: Sequence[float] | np.ndarray,
    vectors: np.ndarray | None,
    key: str | None = None,
    library: MisconceptionLibrary | None = None,
    max_group_size: int = 6,
    topic: str | None = None,
    *,
    parts: Stages | None = None,
) -> QuestionResult:
    """Label the groups, draft their stems (with library suggestions) and plan tomorrow, for one question.

    Args:
        question: the question.
        responses: its responses, in input order (blank ones included).
        labels: shape (n,), group id per response; ``UNGROUPED`` for blank or not grouped.
        confidence: shape (n,), 0..1 per response.
        vectors: shape (n, dim) embeddings aligned with ``responses``, or None.
        key: the answer key, if given.
        library: a ``MisconceptionLibrary`` whose approved labels and stems are offered as suggestions, or
            None.
        max_group_size: largest next-day group.
        topic: the library topic (default the question).
        parts: the labeller, drafter and planner (default ``DEFAULT_STAGES``).

    Returns:
        the ``QuestionResult``.
    """
    parts = parts or DEFAULT_STAGES
    responses = tuple(responses)
    lab = tuple(int(x) for x in labels)
    conf = tuple(float(x) for x in confidence)
    if not (len(lab) == len(conf) == len(responses)):
        raise ValueError(f"{len(responses)} responses but {len(lab)} labels and {len(conf)} confidences")
    groups = parts.labeller.describe(question, responses, lab, vectors, key)
    stems = draft_all(parts.drafter, question, groups, key, has_ungrouped=UNGROUPED in lab)
    if library is not None:
        suggestions = library.suggest(question, groups, lab, vectors, topic=topic)
        if suggestions:
            groups, stems = _apply_suggestions(groups, stems, suggestions)
    plan = parts.planner.plan(question, responses, lab, groups, max_group_size, vectors=vectors)
    return QuestionResult(
        question=question,
        responses=responses,
        labels=lab,
        confidence=conf,
        groups=groups,
        stems=stems,
        plan=plan,
        key=key,
        max_group_size=max_group_size,
        vectors=vectors,
        stages=None if parts is DEFAULT_STAGES else parts,
    )


def draft_all(
    drafter: StemDrafter, question: str, groups: Sequence[Group], key: str | None, has_ungrouped: bool
) -> tuple[FeedbackStem, ...]:
    """One draft stem per group, in the groups' order, then the check-in stem if any response is ungrouped."""
    stems = [drafter.draft(g, key) for g in groups]
    if has_ungrouped:
        stems.append(drafter.check_in(question))
    return tuple(stems)


def _apply_suggestions(
    groups: tuple[Group, ...], stems: tuple[FeedbackStem, ...], suggestions: Mapping[int, LibraryEntry]
) -> tuple[tuple[Group, ...], tuple[FeedbackStem, ...]]:
    """Library entries replace the drafted label and stem (and the status, unless an answer key set it)."""
    out_groups = []
    for g in groups:
        e = suggestions.get(g.group_id)
        if e is None:
            out_groups.append(g)
            continue
        status = g.status if g.status_confirmed or e.status not in STATUSES else e.status
        out_groups.append(replace(g, label=e.label, status=Status(status)))
    labels_taken: dict[str, int] = {}
    for g in out_groups:
        labels_taken[g.label] = labels_taken.get(g.label, 0) + 1
    out_groups = [
        g if labels_taken[g.label] == 1 or g.group_id in suggestions else replace(g, label=f"{g.label} (new)")
        for g in out_groups
    ]
    status_of = {g.group_id: g.status for g in out_groups}
    out_stems = []
    for s in stems:
        e = suggestions.get(s.group_id)
        if e is not None:
            kind = _KIND_OF_STATUS.get(status_of[s.group_id], s.kind)
            s = replace(s, text=e.text, drafted=e.text, state=DRAFT, kind=kind, from_library=True)
        out_stems.append(s)
    return tuple(out_groups), tuple(out_stems)


def check_rows(question: str, expected: int, result: QuestionResult) -> None:
    """Fail loudly unless every response of the question is accounted for once in the result and its plan."""
    label = f"question '{question}'" if question else "the ticket"
    if len(result.responses) != expected or len(result.labels) != expected:
        raise RowAccountingError(
            f"Internal error: {label} had {expected} responses but the result holds {len(result.responses)}. "
            "Nothing was written; please report this."
        )
    planned = [row for group in result.plan.groups for row in group.rows]
    rows = sorted(r.row for r in result.responses)
    if sorted(planned) != rows:
        raise RowAccountingError(
            f"Internal error: tomorrow's plan for {label} places {len(planned)} responses, not {expected} "
            "(each student must be in exactly one group). Nothing was written; please report this."
        )


def analyze_question(
    question: str,
    responses: list[Response],
    vectors: np.ndarray,
    *,
    clusterer: Clusterer,
    key: str | None = None,
    library: MisconceptionLibrary | None = None,
    max_group_size: int = 6,
    parts: Stages | None = None,
    memory: MemorySource | None = None,
) -> QuestionResult:
    """Group one question's responses and build its groups, stems and plan.

    Args:
        question: the question.
        responses: its responses, in input order (blank ones included).
        vectors: shape (len(responses), dim) embeddings aligned with ``responses``.
        clusterer: groups the non-blank responses.
        key: the answer key, if the teacher gave one.
        library: a ``MisconceptionLibrary`` for suggested labels and stems, or None.
        max_group_size: largest next-day group before it is split.
        parts: the labeller, drafter and planner (default ``DEFAULT_STAGES``).
        memory: the teacher's memory; when it holds this question, responses that match a taught group join it
            with its taught name, status and stem (``Group.carried_over``), the rest are grouped by ``clusterer``.

    Returns:
        the ``QuestionResult``; every response appears once, blank ones as ``UNGROUPED``.
    """
    taught = memory.lookup(question) if memory is not None else None
    if taught is not None and taught.size:
        labels, confidence, carried = _group_with_memory(responses, vectors, taught, clusterer, key)
    else:
        (labels, confidence), carried = group_question(question, responses, vectors, clusterer, key), {}
    result = assemble(
        question,
        responses,
        labels,
        confidence,
        vectors,
        key=key,
        library=library,
        max_group_size=max_group_size,
        parts=parts,
    )
    if taught is not None and taught.size:
        from .memory import apply_taught

        used = parts or DEFAULT_STAGES
        result = apply_taught(result, carried, taught.summary(), used.drafter, used.planner)
    result = settle_plan(result)
    check_rows(question, len(responses), result)
    return result


def settle_plan(result: QuestionResult) -> QuestionResult:
    """The result with students flagged "check" (``fit.check_flags``) moved from extension to check-in in its
    plan: the one place that rule is applied to a plan (after the analysis and after each review edit that
    re-plans)."""
    return replace(
        result, plan=check_in_flagged(result.plan, result.responses, check_flags(result), result.max_group_size)
    )


def analyze(
    tickets: TicketSet,
    *,
    embedder: Embedder | None = None,
    clusterer: Clusterer | None = None,
    labeller: Labeller | None = None,
    drafter: StemDrafter | None = None,
    planner: Planner | None = None,
    keys: Mapping[str, str] | None = None,
    questions: list[str] | None = None,
    library: MisconceptionLibrary | None = None,
    progress: StageProgress | None = None,
    max_group_size: int = 6,
    memory: MemorySource | None = None,
) -> Analysis:
    """Analyse an exit ticket: every question on its own.

    Args:
        tickets: a ``TicketSet`` from ``tickets.read_tickets`` (the read stage).
        embedder: default the bundled MiniLM model.
        clusterer: default ``MisconceptionClusterer``.
        labeller: default ``PhraseLabeller``.
        drafter: default ``TemplateDrafter``.
        planner: default ``SmallGroupPlanner``.
        keys: answer key per question text; the key ``""`` applies to every question.
        questions: analyse only these questions (default all).
        library: a ``MisconceptionLibrary`` for suggestions, or None.
        progress: ``progress(done, total, stage)``, called while responses embed and as questions are grouped.
        max_group_size: largest next-day group before it is split.
        memory: the teacher's memory of earlier classes (``memory.MemorySource``); None analyses from scratch.

    Returns:
        an ``Analysis`` with one ``QuestionResult`` per analysed question.
    """
    embedder = embedder or default_embedder()
    clusterer = clusterer or default_clusterer()
    parts = stages(labeller, drafter, planner)
    all_responses = tickets.responses()
    if len(all_responses) != len(tickets.frame):
        raise RowAccountingError(
            f"Internal error: the file has {len(tickets.frame)} rows but {len(all_responses)} responses were read."
        )
    wanted = questions if questions is not None else tickets.questions()
    by_question: dict[str, list[Response]] = {q: [] for q in wanted}
    for r in all_responses:
        if r.question in by_question:
            by_question[r.question].append(r)
    texts = [r.text for q in wanted for r in by_question[q]]

    def embed_progress(done: int, total: int) -> None:
        if progress:
            progress(done, total, EMBED_STAGE)

    vectors = embedder.encode(texts, progress=embed_progress)
    key_of = keys_by_question(tickets, wanted, keys)
    results = []
    start = 0
    for i, q in enumerate(wanted):
        rs = by_question[q]
        results.append(
            analyze_question(
                q,
                rs,
                vectors[start : start + len(rs)],
                clusterer=clusterer,
                key=key_of[q],
                library=library,
                max_group_size=max_group_size,
                parts=parts,
                memory=memory,
            )
        )
        start += len(rs)
        if progress:
            progress(i + 1, len(wanted), GROUP_STAGE)
    if questions is None and sum(len(r.responses) for r in results) != len(tickets.frame):
        raise RowAccountingError(
            f"Internal error: {len(tickets.frame)} rows were read but {start} were analysed. Nothing was written."
        )
    return Analysis(
        frame=tickets.frame, columns=tickets.columns, results=tuple(results), source_name=tickets.source_name
    )
