"""Fit: which students should the teacher look at before their feedback goes out ("check these")?

A group marked on target holds students who gave the right answer, but not all of them for the right reason
("3/5 because 5 is smaller and smaller numbers are always bigger"). Praise ("that reasoning works") must go only
to members whose own response fits the group; the others are flagged ``check`` and get a neutral "explain your
thinking" text until the teacher decides (``review.feedback_for``).

Signals, all from what the pipeline already holds for one question:

* ``states_other``: the response's text states a final answer that is not its group's answer (or the key);
* ``dont_know``: the response says the student does not know / guessed;
* ``margin``: cosine of the response's sentence embedding to its own group's centroid (itself left out) minus
  its best cosine to the centroid of a group of the other kind — a student whose words sit with a misconception
  group's scores low (``nan`` when the question has no group of the other kind);
* ``reasoning_margin``: the same on the reasoning vectors (sentence embedding joined with word and character
  TF-IDF, ``reasoning_match.reasoning_vectors``), as mean similarities;
* ``other_share``: the share of the response's ``N_NEIGHBOURS`` nearest classmates (same vectors) who sit in
  groups of the other kind
  (misconception groups for an on-target member, on-target groups for a misconception member);
* ``confidence``: the clusterer's confidence (how typical the response's reasoning is of its group).

A member of an on-target group is flagged when it says it does not know, (with ``CHECK_STATES_OTHER``) states
another answer, its margin is below ``CHECK_MARGIN``, its reasoning margin below ``CHECK_REASONING_MARGIN``,
its confidence is below ``CHECK_CONFIDENCE`` or its
``other_share`` is at least ``CHECK_SHARE``. A member of a misconception group is flagged when its
``other_share`` is at least ``RESCUE_SHARE`` ("wrong answer, right reasoning"). At most ``CHECK_CAP`` of a
class is flagged (``cap_flags``): when the rule flags more, only those that look most misplaced (``check_score``)
stay flagged, so a class whose on-target group is clean is barely flagged; students who say they do not know stay
flagged whatever the cap. The thresholds were chosen
leave-question-out on MAP (``benchmarks/check_flag.py``, also ``benchmarks/cluster_quality.py --check-flag``;
numbers in ``benchmarks/RESULTS.md``): the signals are weak (held-out precision far below the 0.5 goal), so the
default flags few students.

A teacher's decision clears the flag: moving the student (or confirming them with ``review.confirm_response``)
sets their confidence to exactly 1, and a personal override is the teacher's own text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .answers import answers_match, extract_final_answer
from .labelling import _is_dont_know
from .reasoning_match import _neighbours, reasoning_vectors
from .records import MISCONCEPTION, ON_TARGET, UNGROUPED, QuestionResult

N_NEIGHBOURS = 5
MAX_NEIGHBOUR_ROWS = 2000
"""Above this many on-target + misconception members (PLC scale) ``other_share`` and ``reasoning_margin`` are not
computed (nan): the neighbour search is quadratic; the embedding margin carries the evidence from centroids."""
CHECK_SHARE = 0.8
"""On-target members with at least this share of nearest classmates in misconception groups are flagged."""
RESCUE_SHARE = 0.8
"""Misconception members with at least this share of nearest classmates in on-target groups are flagged."""
CHECK_STATES_OTHER = False
"""Whether stating another final answer in the text flags an on-target member."""

CHECK_MARGIN = -0.02
"""On-target members whose margin (own centroid minus best misconception centroid) is below this are flagged
(-inf = signal off)."""
CHECK_REASONING_MARGIN = -np.inf
"""On-target members whose reasoning margin is below this are flagged (-inf = signal off)."""
CHECK_CONFIDENCE = 0.0
"""On-target members whose clusterer confidence is below this are flagged (0 = signal off)."""
CHECK_CAP = 0.15
"""At most this share of a class (rounded down, counting every response of the question) is flagged by the rule;
the cap (and the ranking, ``check_score``) were chosen looking at MAP and the synthetic set together, so they are
in-sample (``benchmarks/check_flag.py``, 30 draws per question): false alarms per class of 30 fall by about 30 %
(MAP 4.9 -> 3.4, synthetic 4.0 -> 3.0), precision rises (MAP 0.039 -> 0.050, synthetic 0.089 -> 0.094), recall
falls (0.52 -> 0.46, 0.40 -> 0.32). Classes under 7 responses get no flag but "I don't know"."""
CAP_MARGIN_WEIGHT = 0.5
"""Weight of the (negated) centroid margin beside ``other_share`` in ``check_score``, set a priori (not tuned)."""
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
        margin: (n,) cosine of the sentence embedding to the own group's centroid (self left out) minus the best
            cosine to the centroid of a group of the other kind (misconception groups for on-target members,
            on-target groups for misconception members); nan when there is no such group or no vectors.
        reasoning_margin: (n,) the same on the reasoning vectors, as mean similarities.
        other_share: (n,) share of the nearest classmates in groups of the other kind; nan as for margin.
        confidence: (n,) the clusterer's confidence.
    """

    on_target: np.ndarray
    misconception: np.ndarray
    states_other: np.ndarray
    dont_know: np.ndarray
    margin: np.ndarray
    reasoning_margin: np.ndarray
    other_share: np.ndarray
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
    margin = _centroid_margin(result, labels, on, mis)
    reasoning_margin, other_share = _reasoning_evidence(result, labels, on, mis)
    return FitSignals(
        on_target=on,
        misconception=mis,
        states_other=states_other,
        dont_know=dont_know,
        margin=margin,
        reasoning_margin=reasoning_margin,
        other_share=other_share,
        confidence=np.asarray(result.confidence, dtype=float),
    )


def _centroid_margin(result: QuestionResult, labels: np.ndarray, on: np.ndarray, mis: np.ndarray) -> np.ndarray:
    """(n,) embedding-centroid margin of every on-target / misconception member (see ``FitSignals``)."""
    n = len(result.responses)
    margin = np.full(n, np.nan)
    if result.vectors is None or len(result.vectors) != n or not on.any() or not mis.any():
        return margin
    x = np.asarray(result.vectors, dtype=float)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    ids = sorted(set(labels[on | mis].tolist()))
    sums = {g: x[labels == g].sum(axis=0) for g in ids}
    sizes = {g: int((labels == g).sum()) for g in ids}
    group_on = {g: bool(on[labels == g][0]) for g in ids}

    def unit(v: np.ndarray) -> np.ndarray:
        return v / max(float(np.linalg.norm(v)), 1e-12)

    centres = {g: unit(sums[g]) for g in ids}
    for i in np.flatnonzero(on | mis):
        g = int(labels[i])
        others = [o for o in ids if group_on[o] != on[i]]
        if sizes[g] < 2 or not others:
            continue
        margin[i] = float(x[i] @ unit(sums[g] - x[i])) - max(float(x[i] @ centres[o]) for o in others)
    return margin


def _reasoning_evidence(
    result: QuestionResult, labels: np.ndarray, on: np.ndarray, mis: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(reasoning_margin, other_share), each (n,), on the reasoning vectors of the on-target and misconception
    members.

    margin: mean similarity to the rest of the own group minus the best mean similarity to a group of the other
    kind (a centroid product, so O(n * features), never n x n); other_share: share of the ``N_NEIGHBOURS``
    nearest members in groups of the other kind. Both nan outside those groups, without vectors, or when
    the question has no group of one of the kinds.
    """
    n = len(result.responses)
    margin = np.full(n, np.nan)
    share = np.full(n, np.nan)
    kept = np.flatnonzero(on | mis)
    if result.vectors is None or len(result.vectors) != n or not on.any() or not mis.any() or len(kept) < 3:
        return margin, share
    if len(kept) > MAX_NEIGHBOUR_ROWS:  # PLC scale: the embedding margin alone (see MAX_NEIGHBOUR_ROWS)
        return margin, share
    vectors = np.asarray(result.vectors, dtype=float)[kept]
    x = reasoning_vectors([result.responses[i].text for i in kept], vectors)
    lab, on_k = labels[kept], on[kept]
    ids = sorted(set(lab.tolist()))
    sums = {g: np.asarray(x[lab == g].sum(axis=0)).ravel() for g in ids}
    sizes = {g: int((lab == g).sum()) for g in ids}
    group_on = {g: bool(on_k[lab == g][0]) for g in ids}
    sim = np.column_stack([np.asarray(x @ sums[g]).ravel() for g in ids])  # (m, groups): summed similarity
    self_sim = np.asarray(x.multiply(x).sum(axis=1)).ravel()
    col = {g: j for j, g in enumerate(ids)}
    for j in range(len(kept)):
        g = int(lab[j])
        others = [o for o in ids if group_on[o] != on_k[j]]
        if sizes[g] < 2 or not others:
            continue
        own = (sim[j, col[g]] - self_sim[j]) / (sizes[g] - 1)
        margin[kept[j]] = own - max(sim[j, col[o]] / sizes[o] for o in others)
    if N_NEIGHBOURS < len(kept) <= MAX_NEIGHBOUR_ROWS:
        mis_k = mis[kept]
        for j, nb in _neighbours(x, N_NEIGHBOURS, vectors.shape[1]).items():
            other = mis_k if on_k[j] else on_k
            share[kept[j]] = float(other[nb].mean()) if len(nb) else np.nan
    return margin, share


def flags_from(
    signals: FitSignals,
    check_margin: float = CHECK_MARGIN,
    check_reasoning_margin: float = CHECK_REASONING_MARGIN,
    check_confidence: float = CHECK_CONFIDENCE,
    check_share: float = CHECK_SHARE,
    rescue_share: float = RESCUE_SHARE,
    check_states_other: bool = CHECK_STATES_OTHER,
    placed: bool = False,
) -> np.ndarray:
    """(n,) bool: the rule of the module docstring over precomputed signals (benchmarks tune it here).

    Students the teacher placed or confirmed are left out unless ``placed`` (``check_flags`` caps the flags
    before leaving them out, so a teacher's decision never brings up another student's flag)."""
    m = np.nan_to_num(signals.margin, nan=np.inf)
    rm = np.nan_to_num(signals.reasoning_margin, nan=np.inf)
    share = np.nan_to_num(signals.other_share, nan=-1.0)
    on_flag = signals.on_target & (
        (signals.states_other & check_states_other)
        | signals.dont_know
        | (m < check_margin)
        | (rm < check_reasoning_margin)
        | (signals.confidence < check_confidence)
        | (share >= check_share)
    )
    rescue = signals.misconception & (share >= rescue_share)
    if placed:
        return on_flag | rescue
    return (on_flag | rescue) & (signals.confidence < TEACHER_PLACED)


def check_score(signals: FitSignals) -> np.ndarray:
    """(n,) how misplaced each response looks, for ranking flags inside one class: the share of its nearest
    classmates in groups of the other kind minus ``CAP_MARGIN_WEIGHT`` x its centroid margin (nan as 0)."""
    return np.nan_to_num(signals.other_share, nan=0.0) - CAP_MARGIN_WEIGHT * np.nan_to_num(signals.margin, nan=0.0)


def cap_flags(flags: np.ndarray, signals: FitSignals, cap: float = CHECK_CAP) -> np.ndarray:
    """(n,) ``flags`` of one class kept to at most ``floor(cap * n)``: the highest ``check_score`` first (ties:
    the earlier row); on-target members who say they do not know are always kept."""
    flags = np.asarray(flags, dtype=bool)
    keep_always = flags & signals.dont_know & signals.on_target
    budget = max(int(np.floor(cap * len(flags))) - int(keep_always.sum()), 0)
    rest = np.flatnonzero(flags & ~keep_always)
    if len(rest) <= budget:
        return flags
    score = check_score(signals)
    kept = rest[np.argsort(-score[rest], kind="stable")][:budget]
    out = keep_always.copy()
    out[kept] = True
    return out


def check_flags(result: QuestionResult) -> tuple[bool, ...]:
    """``check`` per response (aligned with ``result.responses``): True = the teacher should look at this student.

    The rule's flags capped at ``CHECK_CAP`` of the class (``cap_flags``); students the teacher placed or
    confirmed and students with a personal override are never flagged (the teacher wrote their feedback).
    """
    signals = fit_signals(result)
    flags = cap_flags(flags_from(signals, placed=True), signals) & (signals.confidence < TEACHER_PLACED)
    overridden = {row for row, _ in result.overrides}
    return tuple(bool(f) and r.row not in overridden for f, r in zip(flags, result.responses, strict=True))
