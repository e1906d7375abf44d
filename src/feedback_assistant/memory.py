"""Memory per question: what a teacher taught on earlier classes, carried to the next class of the same question.

Every teacher action on a question (approve, rename, move, merge, split, status, stem edit) leaves that class's
grouping as labelled examples: each grouped response's text, chosen answer and embedding with the name, status
and stem of its group (``QuestionMemory``; kept by ``storage_memory``). The next analysis of the same question
(matched by ``question_key``: normalised question text, or the file's question id) runs ``carry_over``:

1. ``MemoryLearner`` assigns each new response that matches a taught group to it, with a fit in 0..1:
   - without an answer column, a kNN (``k`` = 3, cosine) and a logistic regression on the sentence embedding plus
     word 1-2-gram, character 2-5-gram and number-token TF-IDF, fitted on the taught examples; their mean
     probability is the fit, and a response is assigned only when the fit reaches ``min_fit`` *and* it is not
     novel: its similarity to the nearest taught example of that group is at least the ``novelty`` quantile of
     the taught examples' own nearest-neighbour similarities within their groups (an open-set check, so a
     misconception nobody taught is not absorbed into a known group);
   - with an answer column, a response whose answer was taught gets the group that answer was corrected to
     (when the taught examples of that answer are split between groups, the text classifier picks among those
     groups); a response with an answer nobody taught is left alone.
2. Without answers, responses that match nothing are grouped by the unsupervised clusterer, as new groups: never
   forced into a known group. With answers, the clusterer groups the whole class (by answer, with its
   reasoning-match step) and each of its groups takes the taught group most of its members matched (one group
   per taught group, the best-matched first; merging two of the clusterer's groups into one taught group lost
   more than it won on MAP); groups most of whose members match nothing stay new groups.

The numbers behind the defaults (leave-question-out on MAP, Beetle and our own made-up data) are printed by
``benchmarks/learning.py``. Student text stays in the teacher's own store; what a PLC shares carries names, stems
and vectors only (``QuestionMemory.shareable``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

import numpy as np

from .answers import answers_match, normalise_answer
from .records import (
    ON_TARGET,
    STATUSES,
    UNCLEAR,
    UNGROUPED,
    Clusterer,
    Clustering,
    Group,
    NotFoundError,
    Planner,
    QuestionResult,
    Status,
    StemDrafter,
    StemState,
)

MIN_FIT = 0.4
NOVELTY = 0.05  # leave-question-out choice on MAP after one taught class (benchmarks/learning.py)
K_NEIGHBOURS = 3


def question_key(question: str) -> str:
    """The key a question's memory is filed under: its text (or id) case-folded, punctuation and spacing removed.

    >>> question_key("  What is 1/2 + 1/3?  ")
    'what is 1 2 1 3'
    """
    return " ".join(re.sub(r"[^\w]+", " ", str(question).casefold()).split())


@dataclass(frozen=True, slots=True)
class TaughtGroup:
    """A group as the teacher left it.

    Attributes:
        label: the group's name.
        status: its status (on target / misconception / unclear).
        stem: the stem text the teacher approved or wrote; ``""`` when they left the draft alone.
        stem_approved: True when the teacher approved the stem.
    """

    label: str
    status: str = UNCLEAR
    stem: str = ""
    stem_approved: bool = False


@dataclass(frozen=True, slots=True)
class TaughtClass:
    """Where a question's examples came from: one class (section) on one date."""

    section: str
    date: str
    examples: int


@dataclass(frozen=True, slots=True)
class QuestionMemory:
    """What a teacher taught on one question, across their classes.

    Attributes:
        question: the question key (``question_key``).
        texts: one response text per example (``""`` for examples shared without student text).
        answers: the chosen answer per example, or None.
        labels: the taught group's label per example.
        vectors: shape (n, dim) embeddings of the examples.
        groups: the taught groups (one per distinct label).
        classes: the classes the examples came from, oldest first.
    """

    question: str
    texts: tuple[str, ...]
    answers: tuple[str | None, ...]
    labels: tuple[str, ...]
    vectors: np.ndarray = field(compare=False, repr=False)
    groups: tuple[TaughtGroup, ...] = ()
    classes: tuple[TaughtClass, ...] = ()

    @property
    def size(self) -> int:
        return len(self.labels)

    def group(self, label: str) -> TaughtGroup:
        return next((g for g in self.groups if g.label == label), TaughtGroup(label))

    def summary(self) -> str:
        """E.g. "Learned from 19 corrected responses (Period 2, 11/19)"."""
        where = "; ".join(
            f"{c.section or 'a class'}, {_short_date(c.date)}" if c.date else (c.section or "a class")
            for c in self.classes[-3:]
        )
        more = f" and {len(self.classes) - 3} more" if len(self.classes) > 3 else ""
        noun = "response" if self.size == 1 else "responses"
        return f"Learned from {self.size} corrected {noun}" + (f" ({where}{more})" if where else "")

    def shareable(self) -> QuestionMemory:
        """The same memory without student text (what a PLC may share: names, stems, vectors)."""
        return QuestionMemory(
            self.question,
            tuple("" for _ in self.texts),
            self.answers,
            self.labels,
            self.vectors,
            self.groups,
            tuple(TaughtClass("", c.date, c.examples) for c in self.classes),
        )


def _short_date(date: str) -> str:
    m = re.fullmatch(r"\d{4}-(\d{2})-(\d{2})", str(date)[:10])
    return f"{int(m.group(1))}/{int(m.group(2))}" if m else str(date)


def _answer_key(a: object) -> str:
    return "" if a is None else normalise_answer(str(a))


class _Features:
    """Embedding + word 1-2-gram + char 2-5-gram + number-token TF-IDF blocks, fitted on the taught texts."""

    def __init__(self, texts: Sequence[str]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        from .features import number_tokens

        self.blocks = []
        usable = [t for t in texts if t.strip()]
        if usable:
            for vec in (
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True),
                TfidfVectorizer(analyzer=number_tokens, sublinear_tf=True),
            ):
                try:
                    vec.fit(usable)
                except ValueError:  # e.g. no number anywhere
                    continue
                self.blocks.append(vec)

    def transform(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        from sklearn.preprocessing import normalize

        parts = [normalize(np.asarray(vectors, dtype=np.float64))]
        parts += [normalize(vec.transform(list(texts))).toarray() for vec in self.blocks]
        return normalize(np.hstack(parts))


class MemoryLearner:
    """Assigns new responses to taught groups, or leaves them unmatched (estimator manners: fit, then predict).

    Args:
        k: neighbours of the kNN vote.
        min_fit: the least mean probability (kNN and logistic regression) to assign a response.
        novelty: quantile of the taught examples' nearest same-group similarities a response must reach to its
            nearest example of the predicted group (None switches the open-set check off).
        use_answers: follow the taught answer -> group mapping when answers are given.
        answer_prior: how strongly a split answer follows its most common taught group (its share to this power
            weighs the text classifier's probabilities; 0 = text alone, large = the answer's majority group).
        C: inverse regularisation of the logistic regression (100: the leave-question-out choice on MAP over
            10 and 100 in ``benchmarks/learning.py``).
        random_state: seed of the logistic regression's solver.
    """

    def __init__(
        self,
        k: int = K_NEIGHBOURS,
        min_fit: float = MIN_FIT,
        novelty: float | None = NOVELTY,
        use_answers: bool = True,
        answer_prior: float = 0.5,
        C: float = 100.0,
        random_state: int = 0,
    ):
        self.k = k
        self.min_fit = min_fit
        self.novelty = novelty
        self.use_answers = use_answers
        self.answer_prior = answer_prior
        self.C = C
        self.random_state = random_state

    def fit(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        labels: Sequence[str],
        answers: Sequence[str | None] | None = None,
    ) -> MemoryLearner:
        """Learn from taught examples.

        Args:
            texts: n example texts.
            vectors: shape (n, dim) their embeddings.
            labels: n taught group labels.
            answers: n chosen answers, or None.

        Returns:
            self, with ``classes_`` (sorted labels), ``features_``, ``x_`` (n, v), ``y_`` (n,),
            ``nearest_same_`` (each example's similarity to its nearest same-group example) and ``by_answer_``
            (answer -> Counter of class indices).
        """
        from threadpoolctl import threadpool_limits

        texts = [str(t) for t in texts]
        if not (len(texts) == len(labels) == len(vectors)):
            raise ValueError(f"{len(texts)} texts, {len(labels)} labels and {len(vectors)} vectors: pass one each")
        self.classes_ = sorted(set(labels))
        index = {c: i for i, c in enumerate(self.classes_)}
        self.y_ = np.array([index[c] for c in labels], dtype=int)
        self.features_ = _Features(texts)
        with threadpool_limits(1):
            self.x_ = self.features_.transform(texts, vectors)
            self.model_ = None
            if len(self.classes_) > 1:
                from sklearn.linear_model import LogisticRegression

                self.model_ = LogisticRegression(C=self.C, max_iter=500, random_state=self.random_state)
                self.model_.fit(self.x_, self.y_)
            self.nearest_same_ = self._nearest_same()
        self.by_answer_: dict[str, Counter] = {}
        if answers is not None:
            for a, y in zip(answers, self.y_, strict=True):
                if _answer_key(a):
                    self.by_answer_.setdefault(_answer_key(a), Counter())[int(y)] += 1
        return self

    def _nearest_same(self) -> np.ndarray:
        """Each example's similarity to its nearest other example of its group (examples alone are left out)."""
        sims = self.x_ @ self.x_.T
        np.fill_diagonal(sims, -np.inf)
        same = self.y_[:, None] == self.y_[None, :]
        nearest = np.where(same, sims, -np.inf).max(axis=1)
        return nearest[np.isfinite(nearest)]

    def novelty_bar(self) -> float:
        """The similarity a response needs to its nearest example of the predicted group (``-inf``: no check)."""
        if self.novelty is None or not len(self.nearest_same_):
            return -np.inf
        return float(np.quantile(self.nearest_same_, self.novelty))

    def _probabilities(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (m, classes), similarity to the nearest example of each class (m, classes))."""
        m, c = len(x), len(self.classes_)
        sims = x @ self.x_.T
        nearest = np.full((m, c), -np.inf)
        for j in range(c):
            nearest[:, j] = sims[:, self.y_ == j].max(axis=1)
        k = min(self.k, len(self.y_))
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        knn = np.zeros((m, c))
        for i in range(m):
            for t in top[i]:
                knn[i, self.y_[t]] += 1.0 / k
        if self.model_ is None:
            return knn, nearest
        return 0.5 * (knn + self.model_.predict_proba(x)), nearest

    def predict(
        self, texts: Sequence[str], vectors: np.ndarray, answers: Sequence[str | None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Taught group per response, or ``UNGROUPED`` when it matches none.

        Returns:
            (labels, fit): labels of shape (m,), an index into ``classes_`` or ``UNGROUPED``; fit of shape (m,)
            in 0..1 (0 when unmatched).
        """
        from threadpoolctl import threadpool_limits

        texts = [str(t) for t in texts]
        m = len(texts)
        out = np.full(m, UNGROUPED, dtype=int)
        fit = np.zeros(m)
        if m == 0:
            return out, fit
        with threadpool_limits(1):
            x = self.features_.transform(texts, vectors)
            prob, nearest = self._probabilities(x)
        tau = self.novelty_bar()
        use_answers = self.use_answers and answers is not None and bool(self.by_answer_)
        for i in range(m):
            if use_answers and answers is not None:
                counts = self.by_answer_.get(_answer_key(answers[i]))
                if not counts:
                    continue  # an answer nobody taught: a new group
                allowed = sorted(counts)
                total = sum(counts.values())
                if len(allowed) == 1:
                    out[i], fit[i] = allowed[0], 1.0
                    continue
                p = prob[i, allowed] * np.array([counts[j] / total for j in allowed]) ** self.answer_prior
                p = p / p.sum() if p.sum() > 0 else np.full(len(allowed), 1 / len(allowed))
                best = int(np.argmax(p))
                out[i], fit[i] = allowed[best], float(p[best])
                continue
            j = int(np.argmax(prob[i]))
            if prob[i, j] >= self.min_fit and nearest[i, j] >= tau:
                out[i], fit[i] = j, float(prob[i, j])
        return out, fit


def _name_groups(texts, vectors, answers, clusterer, key, taught, fit, offset) -> tuple[np.ndarray, np.ndarray]:
    """With answers: the clusterer groups the class (answers and its reasoning-match step), then each of its groups
    takes the taught group most of its members were matched to (at most one group per taught group); the rest
    stay new groups. Returns raw labels (taught index, or ``offset`` + clusterer id) and confidence."""
    c = clusterer.cluster(list(texts), vectors, answers=list(answers), key=key)
    labels = np.asarray(c.labels, dtype=int)
    raw = np.where(labels == UNGROUPED, UNGROUPED, labels + offset)
    conf = np.asarray(c.confidence, dtype=float).copy()
    claims = []
    for g in sorted(set(labels.tolist()) - {UNGROUPED}):
        members = np.flatnonzero(labels == g)
        votes = Counter(int(t) for t in taught[members] if t != UNGROUPED)
        if votes:
            top, count = min(votes.items(), key=lambda kv: (-kv[1], kv[0]))
            if 2 * count >= len(members):
                claims.append((-count / len(members), -count, g, top))
    used: set[int] = set()
    for _share, _count, g, top in sorted(claims):
        if top in used:
            continue  # one group per taught group: the clusterer's split stands, the other part stays new
        used.add(top)
        members = np.flatnonzero(labels == g)
        raw[members] = top
        conf[members] = np.where(taught[members] == top, fit[members], 0.5 * fit[members].max())
    return raw, conf


def choose_correction(memory: QuestionMemory, clusterer: Clusterer) -> Clusterer:
    """The clusterer with its correction step across answers (``reassign``) on or off, whichever groups the
    teacher's own taught examples of this question more like the teacher did (ARI against the taught labels;
    off on a tie). Clusterers without that switch, or memory without texts or answers, are returned unchanged.

    Off by default (``benchmarks/loqo.py``: leave-question-out it did not beat group-by-answer), the step is worth
    trying per question: on some questions it wins clearly, and the teacher's corrections say which.
    """
    import copy

    from sklearn.metrics import adjusted_rand_score

    usable = [i for i, (t, a) in enumerate(zip(memory.texts, memory.answers, strict=True)) if t and _answer_key(a)]
    if (
        not hasattr(clusterer, "reassign")
        or len(usable) < 4
        or len({_answer_key(memory.answers[i]) for i in usable}) < 2
    ):
        return clusterer
    texts = [memory.texts[i] for i in usable]
    answers = [memory.answers[i] for i in usable]
    gold = [memory.labels[i] for i in usable]
    scores = {}
    for on in (False, True):
        candidate = copy.copy(clusterer)
        candidate.reassign = on
        labels = candidate.cluster(texts, memory.vectors[usable], answers=answers).labels
        scores[on] = adjusted_rand_score(gold, labels)
    best = copy.copy(clusterer)
    best.reassign = scores[True] > scores[False] + 1e-9
    return best


@dataclass(frozen=True, slots=True)
class CarryOver:
    """What ``carry_over`` returns for one question.

    Attributes:
        clustering: labels (n,) and confidence (n,) like a clusterer's; carried-over groups are numbered with
            the new ones (0 = largest).
        taught: group id -> the taught group it carries over.
    """

    clustering: Clustering
    taught: dict[int, TaughtGroup]


def carry_over(
    memory: QuestionMemory,
    texts: Sequence[str],
    vectors: np.ndarray,
    answers: Sequence[str | None] | None,
    clusterer: Clusterer,
    key: str | None = None,
    learner: MemoryLearner | None = None,
    refit: bool = True,
) -> CarryOver:
    """Group one question's non-blank responses with the teacher's memory first, the clusterer for the rest.

    Args:
        memory: the question's memory (at least one example).
        texts: n non-blank response texts.
        vectors: shape (n, dim) their embeddings.
        answers: n chosen answers, or None.
        clusterer: groups the responses no taught group matches.
        key: the answer key, if given (passed to the clusterer).
        learner: default ``MemoryLearner()``.
        refit: fit ``learner`` on ``memory`` first (False: it is already fitted on it, e.g. in a benchmark that
            tries several thresholds).

    Returns:
        a ``CarryOver``; every response appears once (``UNGROUPED`` only where the clusterer left it).
    """
    from .clustering import _renumber

    texts = [str(t) for t in texts]
    n = len(texts)
    vectors = np.asarray(vectors)
    learner = learner or MemoryLearner()
    if refit:
        learner.fit(memory.texts, memory.vectors, memory.labels, memory.answers)
    taught, fit = learner.predict(texts, vectors, answers)
    offset = len(learner.classes_)
    if answers is not None and any(_answer_key(a) for a in answers):
        clusterer = choose_correction(memory, clusterer)
        raw, conf = _name_groups(texts, vectors, answers, clusterer, key, taught, fit, offset)
        rest = np.zeros(0, dtype=int)
    else:
        raw = np.full(n, UNGROUPED, dtype=int)
        conf = np.zeros(n)
        raw[taught != UNGROUPED] = taught[taught != UNGROUPED]
        conf[taught != UNGROUPED] = fit[taught != UNGROUPED]
        rest = np.flatnonzero(taught == UNGROUPED)
    if len(rest):
        sub_answers = [answers[i] for i in rest] if answers is not None else None
        c = clusterer.cluster([texts[i] for i in rest], vectors[rest], answers=sub_answers, key=key)
        sub = np.asarray(c.labels, dtype=int)
        raw[rest] = np.where(sub == UNGROUPED, UNGROUPED, sub + offset)
        conf[rest] = np.asarray(c.confidence, dtype=float)
    labels = _renumber(raw, texts)
    mapping = {int(r): int(lab) for r, lab in zip(raw, labels, strict=True) if r != UNGROUPED}
    carried = {mapping[j]: memory.group(learner.classes_[j]) for j in range(offset) if j in mapping}
    conf = np.where(labels == UNGROUPED, 0.0, np.clip(conf, 0.0, 1.0))
    return CarryOver(Clustering(labels, conf), carried)


@runtime_checkable
class MemorySource(Protocol):
    """Where the pipeline finds a question's memory (``storage_memory.StoredMemory``, or a dict-backed fake)."""

    def lookup(self, question: str) -> QuestionMemory | None:
        """The memory of ``question`` (matched by ``question_key``), or None when nothing was taught."""
        ...


def apply_taught(
    result: QuestionResult, taught: Mapping[int, TaughtGroup], learned_from: str, drafter: StemDrafter, planner: Planner
) -> QuestionResult:
    """Give carried-over groups their taught name, status and stem (marked ``carried_over``) and re-plan.

    A new group whose drafted name equals a taught name gets " (new)" so names stay unique. A status set by the
    answer key wins over the taught one (``_carried_status``). A taught stem replaces the draft (still a draft
    until the teacher confirms) when the group keeps its taught status; otherwise the group gets a fresh draft
    for its status.
    """
    taken = {tg.label for gid, tg in taught.items() if any(g.group_id == gid for g in result.groups)}
    groups = []
    for g in result.groups:
        tg = taught.get(g.group_id)
        if tg is None:
            label, n = g.label, 1
            while label in taken:
                label, n = f"{g.label} (new{'' if n == 1 else f' {n}'})", n + 1
            taken.add(label)
            groups.append(replace(g, label=label) if label != g.label else g)
            continue
        status = _carried_status(g, tg, result.key)
        groups.append(replace(g, label=tg.label, status=status, carried_over=True))
    by_id = {g.group_id: g for g in groups}
    stems = []
    for s in result.stems:
        tg = taught.get(s.group_id)
        if tg is None:
            stems.append(s)
            continue
        fresh = drafter.draft(by_id[s.group_id], result.key)
        stems.append(replace(fresh, text=tg.stem) if tg.stem and by_id[s.group_id].status == tg.status else fresh)
    plan = planner.plan(
        result.question, result.responses, result.labels, groups, result.max_group_size, vectors=result.vectors
    )
    return replace(result, groups=tuple(groups), stems=tuple(stems), plan=plan, learned_from=learned_from)


def _carried_status(group: Group, taught: TaughtGroup, key: str | None) -> Status:
    """The status a carried-over group gets: the key's when it decided one (``status_confirmed``); with a key,
    "on target" only when the group's answer is the key's (or the key's own proposal says so); otherwise the
    taught status."""
    if group.status_confirmed or taught.status not in STATUSES:
        return group.status
    if taught.status == ON_TARGET and key is not None and str(key).strip():
        agrees = group.status == ON_TARGET or (group.answer is not None and answers_match(group.answer, str(key)))
        if not agrees:
            return group.status
    return Status(taught.status)


def confirm_carried_over(result: QuestionResult, group_id: int) -> QuestionResult:
    """The teacher's one click on a carried-over group: its name and status are confirmed, its stem approved.

    Raises:
        NotFoundError: no such group.
    """
    group = next((g for g in result.groups if g.group_id == group_id), None)
    if group is None:
        names = ", ".join(f"{g.group_id} ({g.label})" for g in result.groups) or "none"
        raise NotFoundError(f"There is no group {group_id} for this question. Groups are: {names}.")
    groups = tuple(
        replace(g, carried_over=False, status_confirmed=True) if g.group_id == group_id else g for g in result.groups
    )
    stems = tuple(replace(s, state=StemState.APPROVED) if s.group_id == group_id else s for s in result.stems)
    return replace(result, groups=groups, stems=stems)
