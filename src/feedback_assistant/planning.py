"""Tomorrow's plan: next-day small groups for one question, with every student in exactly one.

* one reteach group per misconception group; a misconception group smaller than ``min_group_size`` joins the
  nearest larger misconception group when their centres are alike (cosine >= ``merge_similarity``, needs
  vectors), otherwise a "Reteach: mixed" group gathers the small ones;
* extension groups for every on-target student;
* a check-in group for blank, unclear and ungrouped responses, and for members of on-target groups flagged
  "check" (``check_in_flagged``: their feedback asks them to explain, so they do not go to extension);
* any group above ``max_group_size`` is split into near-equal parts in input order ("(1)", "(2)", ...);
* when the responses come from several sections (class periods), each plan group is formed within one section
  ("P3 · Reteach: ..."), since students meet with their own class.

``top_misconceptions`` lists the misconception groups by size; ``whole_class_reteach`` names the misconception
when one group holds more than half of the question's responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .labelling import group_centroids
from .records import (
    CHECK_IN,
    EXTENSION,
    MISCONCEPTION,
    ON_TARGET,
    RETEACH,
    Group,
    NotFoundError,
    Plan,
    PlanGroup,
    PlanKind,
    Response,
)

DEFAULT_MAX_GROUP_SIZE = 6
DEFAULT_MIN_GROUP_SIZE = 3
MERGE_SIMILARITY = 0.5
N_TOP_MISCONCEPTIONS = 5
WHOLE_CLASS_SHARE = 0.5
MIXED = "mixed"
CHECK_IN_FOCUS = "show your thinking: blank, unclear or not grouped"
CHECK_IN_FLAGGED_FOCUS = "show your thinking: blank, unclear, not grouped or flagged to check"


def student_name(response: Response) -> str:
    """The student's name, or "row N" (the row in the teacher's file) when the file names no students."""
    return response.student.strip() or f"row {response.source_row + 2}"


def _chunks(rows: list[int], max_size: int) -> list[list[int]]:
    """Split rows into ceil(n / max_size) near-equal consecutive parts."""
    if not rows:
        return []
    k = -(-len(rows) // max_size)
    base, extra = divmod(len(rows), k)
    out, start = [], 0
    for i in range(k):
        size = base + (1 if i < extra else 0)
        out.append(rows[start : start + size])
        start += size
    return out


def _named(prefix: str, parts: list[list[int]]) -> list[tuple[str, list[int]]]:
    if len(parts) == 1:
        return [(prefix, parts[0])]
    return [(f"{prefix} ({i + 1})", p) for i, p in enumerate(parts)]


def make_plan(
    question: str,
    responses: Sequence[Response],
    labels: Sequence[int],
    groups: Sequence[Group],
    max_group_size: int = DEFAULT_MAX_GROUP_SIZE,
    *,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    vectors: np.ndarray | None = None,
    merge_similarity: float = MERGE_SIMILARITY,
) -> Plan:
    """Build tomorrow's groups for one question.

    Args:
        question: the question.
        responses: its responses, in input order (blank ones included).
        labels: shape (n,), group id per response; ``UNGROUPED`` for blank or not grouped.
        groups: the question's groups with their statuses and labels.
        max_group_size: largest next-day group; bigger ones are split.
        min_group_size: misconception groups smaller than this are merged (see the module docstring).
        vectors: shape (n, dim) embeddings aligned with ``responses``, used to find the nearest group;
            optional.
        merge_similarity: least centroid cosine for a small group to join a larger one.

    Returns:
        the ``Plan``; every response is in exactly one plan group.
    """
    if max_group_size < 1:
        raise ValueError("max_group_size must be at least 1")
    lab = [int(x) for x in labels]
    if len(lab) != len(responses):
        raise ValueError(f"labels has {len(lab)} entries but there are {len(responses)} responses")
    rows_of = _rows_by_group(responses, lab)
    known = {g.group_id: g for g in groups if rows_of.get(g.group_id)}
    misconceptions = sorted(
        (g for g in known.values() if g.status == MISCONCEPTION),
        key=lambda g: (-len(rows_of[g.group_id]), g.group_id),
    )
    on_target = [g for g in groups if g.group_id in known and g.status == ON_TARGET]
    reteach, mixed = _reteach_groups(misconceptions, rows_of, lab, vectors, min_group_size, merge_similarity)

    placer = _Placer(question, responses, max_group_size)
    for sources in reteach:
        placer.add(RETEACH, f"Reteach: {sources[0].label}", "; ".join(g.label for g in sources), sources, rows_of)
    if len(mixed) == 1:
        placer.add(RETEACH, f"Reteach: {mixed[0].label}", mixed[0].label, mixed, rows_of)
    elif mixed:
        placer.add(RETEACH, f"Reteach: {MIXED}", "; ".join(g.label for g in mixed), mixed, rows_of)
    if on_target:
        placer.add(EXTENSION, "Extension", "; ".join(g.label for g in on_target), on_target, rows_of)
    placer.add_check_in([g for g in groups if g.group_id in known])
    top, whole = _headline(misconceptions, rows_of, len(responses))
    return Plan(question=question, groups=tuple(placer.groups), top_misconceptions=top, whole_class_reteach=whole)


def _rows_by_group(responses: Sequence[Response], labels: list[int]) -> dict[int, list[int]]:
    """``Response.row`` of each group's members (``UNGROUPED`` included), in input order."""
    rows_of: dict[int, list[int]] = {}
    for r, g in zip(responses, labels, strict=True):
        rows_of.setdefault(g, []).append(r.row)
    return rows_of


def _reteach_groups(
    misconceptions: list[Group],
    rows_of: dict[int, list[int]],
    labels: list[int],
    vectors: np.ndarray | None,
    min_group_size: int,
    merge_similarity: float,
) -> tuple[list[list[Group]], list[Group]]:
    """One list of source groups per reteach group (a big group first, then the small ones that join it), and
    the small groups that join none (they share a "mixed" group)."""
    big = [g for g in misconceptions if len(rows_of[g.group_id]) >= min_group_size]
    small = [g for g in misconceptions if len(rows_of[g.group_id]) < min_group_size]
    joined: dict[int, list[Group]] = {g.group_id: [g] for g in big}
    mixed: list[Group] = []
    centroids = group_centroids(labels, vectors) if vectors is not None and big else {}
    for g in small:
        best: Group | None = None
        best_sim = merge_similarity
        for b in big:
            if g.group_id in centroids and b.group_id in centroids:
                sim = float(centroids[g.group_id] @ centroids[b.group_id])
                if sim >= best_sim:
                    best, best_sim = b, sim
        (joined[best.group_id] if best is not None else mixed).append(g)
    return [joined[b.group_id] for b in big], mixed


class _Placer:
    """Collects plan groups: per section when the ticket has several, each split to ``max_group_size``."""

    def __init__(self, question: str, responses: Sequence[Response], max_group_size: int):
        self.question = question
        self.responses = responses
        self.by_row = {r.row: r for r in responses}
        self.sections = list(dict.fromkeys(r.section or "" for r in responses))
        self.max_group_size = max_group_size
        self.groups: list[PlanGroup] = []

    def by_section(self, rows: list[int]) -> list[tuple[str, list[int]]]:
        """Students meet with their own class: a ticket from several periods gets groups per period."""
        if len(self.sections) <= 1:
            return [("", sorted(rows))]
        return [
            (sec, part)
            for sec in self.sections
            if (part := sorted(r for r in rows if (self.by_row[r].section or "") == sec))
        ]

    def add(self, kind: PlanKind, prefix: str, focus: str, sources: list[Group], rows_of: dict[int, list[int]]) -> None:
        """Plan groups of ``kind`` for the members of ``sources``."""
        ids = tuple(s.group_id for s in sources)
        self._add(kind, prefix, focus, ids, [r for s in sources for r in rows_of[s.group_id]])

    def add_check_in(self, known: list[Group]) -> None:
        """Everyone not placed yet (blank, unclear, not grouped) meets in the check-in group."""
        placed = {r for pg in self.groups for r in pg.rows}
        used = {s for pg in self.groups for s in pg.source_groups}
        rest = [r.row for r in self.responses if r.row not in placed]
        self._add(
            CHECK_IN, "Check-in", CHECK_IN_FOCUS, tuple(g.group_id for g in known if g.group_id not in used), rest
        )

    def _add(self, kind: PlanKind, prefix: str, focus: str, sources: tuple[int, ...], rows: list[int]) -> None:
        per_section = len(self.sections) > 1
        named = []
        for sec, sec_rows in self.by_section(rows):
            head = f"{sec or 'No section'} · {prefix}" if per_section else prefix
            named.extend(_named(head, _chunks(sec_rows, self.max_group_size)))
        for name, part in named:
            self.groups.append(
                PlanGroup(
                    question=self.question,
                    name=name,
                    kind=kind,
                    students=tuple(student_name(self.by_row[r]) for r in part),
                    rows=tuple(part),
                    source_groups=sources,
                    focus=focus,
                )
            )


def check_in_flagged(
    plan: Plan, responses: Sequence[Response], flags: Sequence[bool], max_group_size: int = DEFAULT_MAX_GROUP_SIZE
) -> Plan:
    """The plan with students flagged "check" moved from extension to the check-in group.

    A flagged student's feedback asks them to explain their thinking until the teacher decides, so they meet
    in the check-in group, not extension. Other groups keep their members and names; the check-in groups are
    formed again (per section, split to ``max_group_size``) with everyone they held plus the flagged students.

    Args:
        plan: the planner's plan for the question.
        responses: the question's n responses.
        flags: shape (n,), True = flagged "check" (``fit.check_flags``), aligned with ``responses``.
        max_group_size: largest next-day group.

    Returns:
        the plan (the same object when no flagged student is in an extension group); every response still in
        exactly one plan group.
    """
    flagged = {r.row for r, f in zip(responses, flags, strict=True) if f}
    moving = {row for pg in plan.groups if pg.kind == EXTENSION for row in pg.rows if row in flagged}
    if not moving:
        return plan
    placer = _Placer(plan.question, responses, max(1, max_group_size))
    checks = [pg for pg in plan.groups if pg.kind == CHECK_IN]
    for pg in plan.groups:
        if pg.kind == CHECK_IN:
            continue
        keep = [(name, row) for name, row in zip(pg.students, pg.rows, strict=True) if row not in moving]
        if keep:
            placer.groups.append(replace(pg, students=tuple(n for n, _ in keep), rows=tuple(r for _, r in keep)))
    rows = sorted({row for pg in checks for row in pg.rows} | moving)
    sources = tuple(dict.fromkeys(s for pg in checks for s in pg.source_groups))
    placer._add(CHECK_IN, "Check-in", CHECK_IN_FLAGGED_FOCUS, sources, rows)
    return replace(plan, groups=tuple(placer.groups))


def _headline(
    misconceptions: list[Group], rows_of: dict[int, list[int]], n: int
) -> tuple[tuple[tuple[str, int], ...], str | None]:
    """The largest misconceptions (label, size), and the one to reteach to the whole class when it holds more
    than ``WHOLE_CLASS_SHARE`` of the responses."""
    top = tuple((g.label, len(rows_of[g.group_id])) for g in misconceptions[:N_TOP_MISCONCEPTIONS])
    whole = None
    if misconceptions and len(rows_of[misconceptions[0].group_id]) > WHOLE_CLASS_SHARE * n:
        whole = misconceptions[0].label
    return top, whole


def move_in_plan(plan: Plan, response: Response, name: str) -> Plan:
    """Move one student to another plan group (the teacher's choice); a group left empty is dropped.

    Args:
        plan: the plan.
        response: the student's response.
        name: the name of the plan group to move them to.

    Returns:
        a new ``Plan``.

    Raises:
        NotFoundError: no plan group has that name, or the response is not in the plan.
    """
    names = [pg.name for pg in plan.groups]
    if name not in names:
        raise NotFoundError(f"There is no group called '{name}' in tomorrow's plan. Groups are: {', '.join(names)}.")
    if not any(response.row in pg.rows for pg in plan.groups):
        raise NotFoundError(f"{student_name(response)} is not in tomorrow's plan for this question.")
    out = []
    for pg in plan.groups:
        keep = [(s, r) for s, r in zip(pg.students, pg.rows, strict=True) if r != response.row]
        if pg.name == name:
            keep.append((student_name(response), response.row))
        if keep:
            out.append(replace(pg, students=tuple(s for s, _ in keep), rows=tuple(r for _, r in keep)))
    return replace(plan, groups=tuple(out))
