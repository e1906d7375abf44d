"""The teacher's edits to one question's result (``pipeline.assemble`` builds the result first).

Every function is pure: it takes a ``QuestionResult`` and returns a new one.

What an edit keeps:
    * Groups an edit does not touch keep everything (label, status, stem, representatives).
    * ``move_response`` and ``merge_groups`` keep the label, status and stem of the groups that gain or lose
      students (the teacher named them); their representatives, answer and terms are recomputed.
    * ``split_group`` re-labels and re-drafts the parts (their content is new).
    * Any edit that changes membership or a status rebuilds tomorrow's plan, so earlier
      ``move_student_in_plan`` moves are replaced by the new plan; ``rename_group`` renames plan groups in
      place.
    * ``set_status`` to a new status re-drafts the group's stem and takes its approval back (the old text
      may praise or correct the wrong thing); setting the status it already has only confirms it.

What each student gets is rendered by one function, ``feedback_for`` (``feedback_rows`` for a whole
question; exports and the app use these): the teacher's override when set; a flagged student (``check``) gets
the neutral "explain your thinking" text until the teacher decides; everyone else gets their group's stem
with its placeholders filled from their own answer and words (``feedback.fill``), so no student ever reads a
classmate's words.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .feedback import CHECK_TEXT, LANGUAGE_TEXT, fill, other_language
from .fit import TEACHER_PLACED, check_flags
from .labelling import label_phrase, response_answer
from .pipeline import settle_plan, stages_of
from .planning import move_in_plan
from .records import (
    APPROVED,
    CHECK_IN,
    DRAFT,
    EXTENSION,
    RETEACH,
    STATUSES,
    UNGROUPED,
    FeedbackAssistantError,
    FeedbackStem,
    Group,
    NotFoundError,
    QuestionResult,
    Response,
    Status,
)

CHECK = "check"
"""State of a student's feedback while the tool asks the teacher to look at them first (see ``fit.py``)."""


class EditError(FeedbackAssistantError):
    """An edit the teacher asked for cannot be done as asked."""


@dataclass(frozen=True, slots=True)
class StudentFeedback:
    """What one student gets for one question.

    Attributes:
        response: the student's response.
        text: the rendered feedback (draft or approved); "" only when no stem applies.
        state: ``APPROVED`` (the teacher's override, or an approved stem), ``DRAFT`` (the stem is a draft) or
            ``CHECK`` (flagged: the neutral text until the teacher decides).
        check: the ``check`` flag (True = look at this student).
        group_id: the student's group (``UNGROUPED`` for none).
    """

    response: Response
    text: str
    state: str
    check: bool
    group_id: int

    @property
    def approved(self) -> bool:
        return self.state == APPROVED


# ----------------------------------------------------------------------------------------------------
# Lookups


def _group(result: QuestionResult, group_id: int) -> Group:
    for g in result.groups:
        if g.group_id == group_id:
            return g
    names = ", ".join(f"{g.group_id} ({g.label})" for g in result.groups) or "none"
    raise NotFoundError(f"There is no group {group_id} for this question. Groups are: {names}.")


def _index(result: QuestionResult, row: int) -> int:
    for i, r in enumerate(result.responses):
        if r.row == row:
            return i
    raise NotFoundError(f"There is no response on row {row} for this question. Pick a student from the list.")


def _stem(result: QuestionResult, group_id: int) -> FeedbackStem:
    for s in result.stems:
        if s.group_id == group_id:
            return s
    if group_id == UNGROUPED:
        raise NotFoundError("Every response is in a group, so there is no check-in feedback to edit.")
    _group(result, group_id)
    raise NotFoundError(f"Group {group_id} has no feedback yet.")  # pragma: no cover - stems follow groups


def _replace_stem(result: QuestionResult, stem: FeedbackStem) -> QuestionResult:
    return replace(result, stems=tuple(stem if s.group_id == stem.group_id else s for s in result.stems))


def _replan(result: QuestionResult, groups=None, labels=None) -> QuestionResult:
    groups = result.groups if groups is None else groups
    labels = result.labels if labels is None else labels
    plan = stages_of(result).planner.plan(
        result.question, result.responses, labels, groups, result.max_group_size, vectors=result.vectors
    )
    return settle_plan(replace(result, groups=tuple(groups), labels=tuple(labels), plan=plan))


def _rebuild(
    result: QuestionResult,
    labels: tuple[int, ...],
    relabel: frozenset[int] | set[int] = frozenset(),
    confidence: tuple[float, ...] | None = None,
) -> QuestionResult:
    """Recompute groups after a membership change (see the module docstring for what is kept)."""
    fresh = {
        g.group_id: g
        for g in stages_of(result).labeller.describe(
            result.question, result.responses, labels, result.vectors, result.key
        )
    }
    old = {g.group_id: g for g in result.groups}
    order = [g.group_id for g in result.groups if g.group_id in fresh]
    order += sorted(set(fresh) - set(order))
    groups = []
    for gid in order:
        f = fresh[gid]
        o = old.get(gid)
        if o is not None and gid not in relabel:
            groups.append(
                o
                if o.rows == f.rows
                else replace(o, rows=f.rows, representatives=f.representatives, answer=f.answer, terms=f.terms)
            )
        else:
            groups.append(f)
    taken = [g.label for g in groups if g.group_id not in relabel]
    for i, g in enumerate(groups):
        if g.group_id in relabel:
            label, n = g.label, 2
            while label in taken:
                label, n = f"{g.label} ({n})", n + 1
            taken.append(label)
            groups[i] = replace(g, label=label) if label != g.label else g
    old_stems = {s.group_id: s for s in result.stems}
    stems = [
        old_stems[g.group_id]
        if g.group_id in old_stems and g.group_id not in relabel
        else stages_of(result).drafter.draft(g, result.key)
        for g in groups
    ]
    if UNGROUPED in labels:
        stems.append(old_stems.get(UNGROUPED) or stages_of(result).drafter.check_in(result.question))
    updated = replace(result, stems=tuple(stems), confidence=result.confidence if confidence is None else confidence)
    return _replan(updated, groups=tuple(groups), labels=labels)


# ----------------------------------------------------------------------------------------------------
# Edits to groups


def rename_group(result: QuestionResult, group_id: int, label: str) -> QuestionResult:
    """Give a group the teacher's name; tomorrow's plan groups formed from it are renamed too.

    Raises:
        EditError: the name is empty or another group already has it.
        NotFoundError: no such group.
    """
    g = _group(result, group_id)
    label = " ".join(str(label).split())
    if not label:
        raise EditError("A group name cannot be empty. Type a short name, e.g. 'added tops and bottoms'.")
    if any(o.label == label for o in result.groups if o.group_id != group_id):
        raise EditError(f"Another group is already called '{label}'. Choose a different name, or merge the groups.")
    groups = tuple(replace(o, label=label) if o.group_id == group_id else o for o in result.groups)
    old = g.label
    plan_groups = []
    for pg in result.plan.groups:
        if group_id in pg.source_groups and pg.kind != CHECK_IN:
            pg = replace(pg, name=pg.name.replace(old, label, 1), focus=pg.focus.replace(old, label, 1))
        plan_groups.append(pg)
    top = tuple((label if name == old else name, n) for name, n in result.plan.top_misconceptions)
    whole = label if result.plan.whole_class_reteach == old else result.plan.whole_class_reteach
    plan = replace(result.plan, groups=tuple(plan_groups), top_misconceptions=top, whole_class_reteach=whole)
    return replace(result, groups=groups, plan=plan)


def set_status(result: QuestionResult, group_id: int, status: str) -> QuestionResult:
    """Set a group's status (the teacher's word: ``status_confirmed=True``) and rebuild the plan.

    A new status re-drafts the group's stem and takes its approval back (an approved "that reasoning works"
    must not go to a group now called a misconception). Confirming the status it already has keeps the stem,
    except an untouched draft, which is re-drafted (a confirmed on-target group's draft affirms the reasoning).

    Raises:
        EditError: the status is not one of "on target", "misconception", "unclear".
        NotFoundError: no such group.
    """
    g = _group(result, group_id)
    if status not in STATUSES:
        raise EditError(f"'{status}' is not a status. Choose one of: {', '.join(STATUSES)}.")
    new = replace(g, status=Status(status), status_confirmed=True)
    groups = tuple(new if o.group_id == group_id else o for o in result.groups)
    stem = next((x for x in result.stems if x.group_id == group_id), None)
    untouched = stem is not None and stem.state == DRAFT and stem.text == stem.drafted and not stem.from_library
    if status != g.status or (not g.status_confirmed and untouched):  # a confirmed status may now praise
        result = _replace_stem(result, stages_of(result).drafter.draft(new, result.key))
    return _replan(result, groups=groups)


def merge_groups(result: QuestionResult, keep_id: int, other_id: int) -> QuestionResult:
    """Move every student of ``other_id`` into ``keep_id``; ``keep_id`` keeps its label, status and stem.

    Raises:
        EditError: both ids are the same group.
        NotFoundError: either group does not exist.
    """
    _group(result, keep_id)
    _group(result, other_id)
    if keep_id == other_id:
        raise EditError("A group cannot be merged with itself. Pick two different groups.")
    labels = tuple(keep_id if x == other_id else x for x in result.labels)
    return _rebuild(result, labels)


def move_response(result: QuestionResult, row: int, to_group_id: int) -> QuestionResult:
    """Move one response to another group, or to ``UNGROUPED`` (then it gets the check-in stem).

    The teacher's placement is certain: the moved response's confidence becomes 1 (0 when ungrouped). A group
    left empty disappears with its stem.

    Raises:
        NotFoundError: no such response or group.
    """
    i = _index(result, row)
    if to_group_id != UNGROUPED:
        _group(result, to_group_id)
    labels = list(result.labels)
    labels[i] = int(to_group_id)
    conf = list(result.confidence)
    conf[i] = 0.0 if to_group_id == UNGROUPED else 1.0
    return _rebuild(result, tuple(labels), confidence=tuple(conf))


def confirm_response(result: QuestionResult, row: int) -> QuestionResult:
    """The teacher looked at a flagged student and keeps them in their group: the ``check`` flag clears
    (their confidence becomes 1, as for any placement by the teacher), they get their group's feedback and
    tomorrow's plan is made again (a student of an on-target group goes back to extension).

    Raises:
        NotFoundError: no such response.
    """
    i = _index(result, row)
    conf = list(result.confidence)
    conf[i] = TEACHER_PLACED
    return _replan(replace(result, confidence=tuple(conf)))


def _two_means(x: np.ndarray, n: int, iterations: int = 50) -> np.ndarray:
    """Deterministic k-means: farthest-first start (from the point farthest from the mean), then Lloyd steps.

    Args:
        x: shape (m, dim).
        n: number of parts.

    Returns:
        shape (m,), part index per row.
    """
    centre = x.mean(axis=0)
    seeds = [int(np.argmax(((x - centre) ** 2).sum(axis=1)))]
    while len(seeds) < n:
        d = np.min([((x - x[s]) ** 2).sum(axis=1) for s in seeds], axis=0)
        seeds.append(int(np.argmax(d)))
    centres = x[seeds].copy()
    assign = np.zeros(len(x), dtype=int)
    for it in range(iterations):
        d = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        new = np.argmin(d, axis=1)
        if it and np.array_equal(new, assign):
            break
        assign = new
        for k in range(n):
            if np.any(assign == k):
                centres[k] = x[assign == k].mean(axis=0)
    return assign


def split_group(result: QuestionResult, group_id: int, n: int = 2) -> QuestionResult:
    """Split a group into ``n`` parts by k-means on its response vectors (deterministic).

    The largest part keeps the group id; the others get new ids. Every part is re-labelled and gets a fresh
    draft stem.

    Raises:
        EditError: fewer members than parts, no vectors, or the responses are too alike to split.
        NotFoundError: no such group.
    """
    g = _group(result, group_id)
    if n < 2:
        raise EditError("Split a group into at least 2 parts.")
    if g.size < n:
        raise EditError(
            f"Group '{g.label}' has {g.size} student(s); it cannot be split into {n} parts. "
            "Move students one by one instead."
        )
    if result.vectors is None:
        raise EditError(
            "This result has no response vectors, so groups cannot be split automatically. "
            "Move students one by one instead."
        )
    idx = [i for i, x in enumerate(result.labels) if x == group_id]
    x = np.asarray(result.vectors, dtype=float)[idx]
    parts = _two_means(x, n)
    sizes = np.bincount(parts, minlength=n)
    if np.count_nonzero(sizes) < 2:
        raise EditError(
            f"The responses in '{g.label}' are too alike to split automatically. Move students one by one instead."
        )
    order = sorted(
        range(n),
        key=lambda k: (
            -sizes[k],
            min(i for i, p in zip(idx, parts, strict=True) if p == k) if sizes[k] else len(result.labels),
        ),
    )
    next_id = max(result.labels + tuple(o.group_id for o in result.groups)) + 1
    new_id = {order[0]: group_id}
    for k in order[1:]:
        if sizes[k]:
            new_id[k] = next_id
            next_id += 1
    labels = list(result.labels)
    for i, p in zip(idx, parts, strict=True):
        labels[i] = new_id[int(p)]
    return _rebuild(result, tuple(labels), relabel=set(new_id.values()))


# ----------------------------------------------------------------------------------------------------
# Edits to feedback and the plan


def edit_stem(result: QuestionResult, group_id: int, text: str, approve: bool = False) -> QuestionResult:
    """Replace a stem's text with the teacher's words (``drafted`` keeps the tool's text).

    The stem is a draft again unless ``approve`` is True. ``group_id=UNGROUPED`` edits the check-in stem.

    Raises:
        EditError: the text is empty.
        NotFoundError: no such group or stem.
    """
    stem = _stem(result, group_id)
    text = str(text).strip()
    if not text:
        raise EditError("Feedback cannot be empty. Type what the students should read, or keep the draft.")
    return _replace_stem(result, replace(stem, text=text, state=APPROVED if approve else DRAFT))


def approve_stem(result: QuestionResult, group_id: int, approved: bool = True) -> QuestionResult:
    """Approve a stem (or take the approval back with ``approved=False``).

    Raises:
        NotFoundError: no such group or stem.
    """
    stem = _stem(result, group_id)
    return _replace_stem(result, replace(stem, state=APPROVED if approved else DRAFT))


def set_override(result: QuestionResult, row: int, text: str | None) -> QuestionResult:
    """Personalise one student's feedback (``None`` or blank text removes the override).

    Raises:
        NotFoundError: no such response.
    """
    _index(result, row)
    kept = tuple((r, t) for r, t in result.overrides if r != row)
    if text is not None and str(text).strip():
        kept = kept + ((row, str(text).strip()),)
    return replace(result, overrides=kept)


def move_student_in_plan(result: QuestionResult, row: int, plan_group_name: str) -> QuestionResult:
    """Move one student to another of tomorrow's groups (by the plan group's name).

    Raises:
        NotFoundError: no such response or plan group.
    """
    i = _index(result, row)
    return replace(result, plan=move_in_plan(result.plan, result.responses[i], plan_group_name))


# ----------------------------------------------------------------------------------------------------
# What each student gets


def stem_for(result: QuestionResult, row: int) -> FeedbackStem | None:
    """The stem that applies to a response: its group's, or the check-in stem when ungrouped."""
    gid = result.labels[_index(result, row)]
    return next((s for s in result.stems if s.group_id == gid), None)


_RENDERED: dict[int, tuple[QuestionResult, tuple[StudentFeedback, ...]]] = {}
"""The last few rendered results (by identity: exports render the same result several times)."""
_RENDERED_KEEP = 8


def feedback_rows(result: QuestionResult) -> tuple[StudentFeedback, ...]:
    """What every student of the question gets, in response order (see ``feedback_for``)."""
    hit = _RENDERED.get(id(result))
    if hit is not None and hit[0] is result:
        return hit[1]
    rows = _render(result)
    try:
        while len(_RENDERED) >= _RENDERED_KEEP:
            _RENDERED.pop(next(iter(_RENDERED)), None)
    except (RuntimeError, StopIteration):  # another thread (the app) changed it meanwhile
        _RENDERED.clear()
    _RENDERED[id(result)] = (result, rows)
    return rows


def _render(result: QuestionResult) -> tuple[StudentFeedback, ...]:
    overrides = dict(result.overrides)
    stems = {s.group_id: s for s in result.stems}
    around = {g.group_id: label_phrase(g.label).lower() for g in result.groups}
    from_text = not any(r.answer is not None and str(r.answer).strip() for r in result.responses)
    flags = check_flags(result)
    elsewhere = other_language(result.responses, result.labels)
    out = []
    for r, gid, flag, foreign in zip(result.responses, result.labels, flags, elsewhere, strict=True):
        if r.row in overrides:
            out.append(StudentFeedback(r, overrides[r.row], APPROVED, False, gid))
            continue
        if foreign:  # in no group because of its language: the teacher reads and answers it
            out.append(StudentFeedback(r, LANGUAGE_TEXT, CHECK, True, gid))
            continue
        answer = response_answer(r, from_text)
        if flag:
            text = fill(CHECK_TEXT, r.text, answer, around.get(gid, ""))
            out.append(StudentFeedback(r, text, CHECK, True, gid))
            continue
        s = stems.get(gid)
        if s is None:
            out.append(StudentFeedback(r, "", DRAFT, False, gid))
            continue
        text = fill(s.text, r.text, answer, around.get(gid, ""))
        out.append(StudentFeedback(r, text, APPROVED if s.state == APPROVED else DRAFT, False, gid))
    return tuple(out)


def feedback_for(result: QuestionResult, row: int, approved_only: bool = False) -> str | None:
    """The feedback one student reads: the one place a student's feedback is rendered.

    The teacher's override when set; a student flagged ``check`` gets ``feedback.CHECK_TEXT`` until the
    teacher decides (moves, confirms or overrides them), and one left in no group because of its language
    ``feedback.LANGUAGE_TEXT`` (also flagged); otherwise their group's stem (the check-in stem when ungrouped)
    with ``{answer}`` and ``{own_words}`` filled from this student's own response only.

    Args:
        result: the question's result.
        row: the response's ``Response.row``.
        approved_only: give None unless the text is approved (an approved stem, not flagged, or an override).

    Raises:
        NotFoundError: no such response.
    """
    fb = feedback_rows(result)[_index(result, row)]
    if approved_only and not fb.approved:
        return None
    return fb.text or None


def student_feedback(result: QuestionResult, approved_only: bool = False) -> list[tuple[Response, str | None]]:
    """``feedback_for`` of every student, in response order: (response, text or None).

    By default drafts count, so the teacher sees the full draft; with ``approved_only=True`` only approved
    text is given (None otherwise).
    """
    return [
        (fb.response, (fb.text or None) if fb.approved or not approved_only else None) for fb in feedback_rows(result)
    ]


def next_step(result: QuestionResult, row: int) -> str:
    """``"reteach: <label>"``, ``"extension"`` or ``"check-in"``: the student's group in tomorrow's plan.

    For reteach, the label is the student's own group's when that group formed the plan group, else the plan
    group's focus.

    Raises:
        NotFoundError: no such response.
    """
    return next_steps(result)[_index(result, row)]


def next_steps(result: QuestionResult) -> list[str]:
    """``next_step`` of every response, aligned with ``result.responses`` (one pass, for exports at scale)."""
    plan_of = {row: pg for pg in result.plan.groups for row in pg.rows}
    label_of = {g.group_id: g.label for g in result.groups}
    steps: list[str] = []
    for r, gid in zip(result.responses, result.labels, strict=True):
        pg = plan_of.get(r.row)
        if pg is None:  # pragma: no cover - make_plan places everyone
            steps.append(CHECK_IN)
        elif pg.kind == RETEACH:
            own = label_of.get(gid)
            steps.append(f"{RETEACH}: {own if own is not None and gid in pg.source_groups else pg.focus}")
        else:
            steps.append(EXTENSION if pg.kind == EXTENSION else CHECK_IN)
    return steps
