"""Fit: which students should the teacher look at before their feedback goes out ("check these")?

A group marked on target holds students who gave the right answer, but not all of them for the right reason
("3/5 because 5 is smaller and smaller numbers are always bigger"). Praise ("that reasoning works") must go only
to members whose own response fits the group; the others are flagged ``check`` and get a neutral "explain your
thinking" text until the teacher decides (``review.feedback_for``).

Signals, all from what the pipeline already holds for one question:

* ``states_other``: the response's text states a final answer that is not its group's answer (or the key);
* ``dont_know``: the response says the student does not know / guessed;
* ``margin``: cosine of the response's embedding to its own group's centroid (itself left out) minus its best
  cosine to a misconception group's centroid — a student whose words sit with a misconception group's scores
  low (``nan`` when the question has no misconception group);
* ``confidence``: the clusterer's confidence (how typical the response's reasoning is of its group).

A member of an on-target group is flagged when it states another answer, says it does not know, or its margin
is below ``CHECK_MARGIN``, or its confidence is below ``CHECK_CONFIDENCE``. A member of a misconception group is
flagged when its words sit clearly closer to the on-target students than to its own group (margin to the
on-target centroid above ``RESCUE_MARGIN``: "wrong answer, right reasoning"). The thresholds were chosen
leave-question-out on MAP (see ``benchmarks/cluster_quality.py --check-flag`` and ``benchmarks/RESULTS.md``).

A teacher's decision clears the flag: moving the student (or confirming them with ``review.confirm_response``)
sets their confidence to exactly 1, and a personal override is the teacher's own text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .answers import answers_match, extract_final_answer
from .labelling import _is_dont_know
from .records import MISCONCEPTION, ON_TARGET, UNGROUPED, QuestionResult

CHECK_MARGIN = 0.0
"""On-target members whose margin (own centroid minus best misconception centroid) is below this are flagged."""
CHECK_CONFIDENCE = 0.0
"""On-target members whose clusterer confidence is below this are flagged (0 = signal off)."""
RESCUE_MARGIN = 1.0
"""Misconception members closer to the on-target centroid than their own by more than this are flagged
(1 = signal off)."""
TEACHER_PLACED = 1.0
"""Confidence of a response the teacher placed or confirmed (``review.move_response``/``confirm_response``)."""


@dataclass(frozen=True, slots=True)
class FitSignals:
    """Per-response evidence of fit, aligned with ``QuestionResult.responses``.

    Attributes:
        on_target: (n,) the response's group is on target.
        misconception: (n,) the response's group is a misconception.
        states_other: (n,) its text states a final answer other than its group's answer / the key.
        dont_know: (n,) it says the student does not know.
        margin: (n,) own-centroid cosine (self left out) minus best cosine to a group of the other kind
            (misconception groups for on-target members, on-target groups for misconception members); nan when
            there is no such group or no vectors.
        confidence: (n,) the clusterer's confidence.
    """

    on_target: np.ndarray
    misconception: np.ndarray
    states_other: np.ndarray
    dont_know: np.ndarray
    margin: np.ndarray
    confidence: np.ndarray


def fit_signals(result: QuestionResult) -> FitSignals:
    """The fit evidence of every response of one question (see the module docstring)."""
    n = len(result.responses)
    labels = np.asarray(result.labels, dtype=int)
    status = {g.group_id: g.status for g in result.groups}
    answer = {g.group_id: g.answer for g in result.groups}
    on = np.array([status.get(int(x)) == ON_TARGET for x in labels], dtype=bool)
    mis = np.array([status.get(int(x)) == MISCONCEPTION for x in labels], dtype=bool)
    states_other = np.zeros(n, dtype=bool)
    dont_know = np.zeros(n, dtype=bool)
    for i, (r, gid) in enumerate(zip(result.responses, labels, strict=True)):
        if gid == UNGROUPED or r.is_blank:
            continue
        dont_know[i] = _is_dont_know(r.text)
        said = extract_final_answer(r.text)
        expected = [a for a in (answer.get(int(gid)), result.key if on[i] else None) if a]
        states_other[i] = bool(said and expected and not any(answers_match(said, a) for a in expected))
    margin = np.full(n, np.nan)
    if result.vectors is not None and n and len(result.vectors) == n:
        x = np.asarray(result.vectors, dtype=float)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        sums = {g: x[labels == g].sum(axis=0) for g in status}
        counts = {g: int((labels == g).sum()) for g in status}

        def centre(vec: np.ndarray) -> np.ndarray:
            return vec / max(float(np.linalg.norm(vec)), 1e-12)

        kinds = {ON_TARGET: [g for g in status if status[g] == ON_TARGET],
                 MISCONCEPTION: [g for g in status if status[g] == MISCONCEPTION]}
        fixed = {g: centre(sums[g]) for g in status if counts[g]}
        for i in np.flatnonzero(on | mis):
            g = int(labels[i])
            others = kinds[MISCONCEPTION] if on[i] else kinds[ON_TARGET]
            others = [o for o in others if o != g and counts[o]]
            if not others or counts[g] < 2:
                continue
            own = float(x[i] @ centre(sums[g] - x[i]))
            margin[i] = own - max(float(x[i] @ fixed[o]) for o in others)
    return FitSignals(
        on_target=on,
        misconception=mis,
        states_other=states_other,
        dont_know=dont_know,
        margin=margin,
        confidence=np.asarray(result.confidence, dtype=float),
    )


def flags_from(
    signals: FitSignals,
    check_margin: float = CHECK_MARGIN,
    check_confidence: float = CHECK_CONFIDENCE,
    rescue_margin: float = RESCUE_MARGIN,
) -> np.ndarray:
    """(n,) bool: the rule of the module docstring over precomputed signals (benchmarks tune it here)."""
    m = signals.margin
    low_margin = ~np.isnan(m) & (np.nan_to_num(m, nan=np.inf) < check_margin)
    on_flag = signals.on_target & (
        signals.states_other | signals.dont_know | low_margin | (signals.confidence < check_confidence)
    )
    rescue = signals.misconception & ~np.isnan(m) & (-np.nan_to_num(m, nan=np.inf) > rescue_margin)
    placed = signals.confidence >= TEACHER_PLACED
    return (on_flag | rescue) & ~placed


def check_flags(result: QuestionResult) -> tuple[bool, ...]:
    """``check`` per response (aligned with ``result.responses``): True = the teacher should look at this student.

    Students with a personal override are never flagged (the teacher wrote their feedback).
    """
    flags = flags_from(fit_signals(result))
    overridden = {row for row, _ in result.overrides}
    return tuple(bool(f) and r.row not in overridden for f, r in zip(flags, result.responses, strict=True))
