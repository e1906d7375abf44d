"""Grouping the responses to one question by misconception.

How (each step measured on real labelled data in ``benchmarks/cluster_quality.py``):

1. When the file has an answer column, responses are first partitioned by their normalised chosen answer: the
   answer is by far the strongest signal of a misconception, and a teacher never wants a wrong answer in the
   on-target group. Partitions are kept whole: splitting them by reasoning lowered agreement with teacher
   labels at every size we measured. The confidence of a member is
   then how typical its reasoning features are of its group, which ranks students who chose an answer with
   unusual reasoning (e.g. the right answer for a wrong reason) lowest, for the teacher to check. One
   correction is available (``reassign``, ``reasoning_match.py``): a student whose text states another option's
   answer and whose reasoning is clearly closer to that option's students joins them (held-out precision of
   these moves 0.74-0.81 on MAP). It is off by default: leave-one-question-out across MAP and our made-up data
   it won on 7 questions and lost on 12 against group-by-answer (``benchmarks/loqo.py``); the teacher's memory
   turns it on for a question where it wins on their own corrections.
2. Without an answer column, each partition is clustered on reasoning features (``features.py``: the numbers a
   student uses, content words, and the sentence embedding) with average-linkage agglomerative clustering
   under a cosine distance threshold. Identical texts (after folding case and white space) are clustered once,
   in a canonical (sorted) order, so the same input always gives the same groups whatever the row order.
3. Groups smaller than ``min_group_size`` (or ``min_group_share`` of the question's responses, whichever is
   larger) are dissolved: their members join the most similar group when similar enough, else stay
   ungrouped, with at most ``max_ungrouped`` of the responses left ungrouped.
4. Above ``reduce_above`` unique texts, features are reduced to 128 dimensions (truncated SVD); above
   ``max_exact`` they are summarised by k-means micro-clusters before the agglomerative step, so no all-pairs
   matrix is ever built on more than ``max_exact`` points.

Groups are numbered by decreasing size (ties: the group whose alphabetically first member text comes first).
"""

from __future__ import annotations

import math

import numpy as np

from .answers import normalise_answer
from .features import reasoning_features
from .features import unit_rows as _unit_rows
from .records import UNGROUPED, Clustering


def _canonical_text(t: str) -> str:
    return " ".join(str(t).lower().split())


class MisconceptionClusterer:
    """Groups the responses to one question by misconception (implements the ``Clusterer`` protocol).

    Args:
        distance_threshold: cosine distance (average linkage, on reasoning features) under which groups merge.
        number_weight: weight of the numbers-used block of the features.
        word_weight: weight of the content-words block; None (default) adapts it to how many responses use
            numbers (0.25 when all do, up to 1.0 for prose).
        semantic_weight: weight of the sentence-embedding block.
        min_group_size: groups smaller than this are dissolved (members join the nearest group or stay
            ungrouped).
        min_group_share: groups smaller than this share of the question's responses are dissolved too (so a
            PLC of 150 or a whole year group gets a handful of groups, not dozens).
        straggler_similarity: cosine similarity a dissolved member needs to join a group without forcing.
        max_ungrouped: the largest share of a question's responses left ungrouped.
        reassign: move a student to another answer's group when their text states that answer and their
            reasoning is closer to that group's (``reasoning_match.reassign_across_answers``). Off by default:
            leave-one-question-out across MAP, Beetle and our made-up data (``benchmarks/loqo.py``) it did not
            beat group-by-answer on questions it was not tuned on; the teacher's memory of a question turns it
            on where it wins on their own corrections (``memory.choose_correction``).
        reduce_above: above this many unique texts in a partition, features are reduced to 128 dimensions
            (truncated SVD) before clustering.
        max_exact: above this many unique texts in a partition, cluster k-means micro-clusters instead of
            texts (no all-pairs distance matrix is built on more than this many points).
        random_state: seed of the randomised steps at scale (SVD, k-means).
    """

    def __init__(
        self,
        distance_threshold: float = 0.7,
        number_weight: float = 1.0,
        word_weight: float | None = None,
        semantic_weight: float = 0.5,
        min_group_size: int = 2,
        min_group_share: float = 0.03,
        straggler_similarity: float = 0.2,
        max_ungrouped: float = 0.1,
        reassign: bool = False,
        reduce_above: int = 1000,
        max_exact: int = 5000,
        random_state: int = 0,
    ):
        self.distance_threshold = distance_threshold
        self.number_weight = number_weight
        self.word_weight = word_weight
        self.semantic_weight = semantic_weight
        self.min_group_size = min_group_size
        self.min_group_share = min_group_share
        self.straggler_similarity = straggler_similarity
        self.max_ungrouped = max_ungrouped
        self.reassign = reassign
        self.reduce_above = reduce_above
        self.max_exact = max_exact
        self.random_state = random_state

    # ------------------------------------------------------------------------------------------- public API
    def cluster(
        self, texts: list[str], embeddings: np.ndarray, answers: list[str | None] | None = None, key: str | None = None
    ) -> Clustering:
        """Group the responses to one question.

        Args:
            texts: n non-blank response texts.
            embeddings: shape (n, dim), one row per text, rows L2-normalised.
            answers: n chosen answers (None entries allowed), or None when the file has no answer column.
            key: the correct answer, if the teacher gave one (the groups never depend on it: the labeller
                uses the key to set statuses).

        Returns:
            a ``Clustering``: labels of shape (n,) (0 = largest group, ``UNGROUPED`` = -1) and confidence of
            shape (n,) in 0..1 (0 when ungrouped).
        """
        texts = [str(t) for t in texts]
        n = len(texts)
        if answers is not None and len(answers) != n:
            raise ValueError(f"got {n} texts but {len(answers)} answers; pass one answer per response")
        emb = np.asarray(embeddings, dtype=np.float64)
        if emb.ndim != 2 or emb.shape[0] != n:
            raise ValueError(f"got {n} texts but embeddings of shape {emb.shape}; pass one embedding row per text")
        if n == 0:
            return Clustering(np.zeros(0, dtype=int), np.zeros(0))
        if answers is not None:
            ans = [normalise_answer(a) if a is not None else "" for a in answers]
        else:
            ans = [""] * n
        raw = np.full(n, UNGROUPED, dtype=int)
        conf = np.zeros(n)
        next_id = 0
        min_size = max(self.min_group_size, math.ceil(self.min_group_share * n - 1e-9))
        for a in sorted(set(ans)):
            idx = np.array([i for i in range(n) if ans[i] == a])
            keep_whole = answers is not None and a != ""
            sub, sub_conf = self._cluster_partition([texts[i] for i in idx], emb[idx], keep_whole, min_size)
            grouped = sub != UNGROUPED
            raw[idx[grouped]] = next_id + sub[grouped]
            conf[idx] = np.where(grouped, sub_conf, 0.0)
            next_id += int(sub.max()) + 1 if grouped.any() else 0
        if answers is not None and self.reassign and len(set(ans) - {""}) > 1:
            # A student whose words state another option's answer, and whose reasoning sits with that option's
            # students, joins them (reasoning_match.py; measured: beats grouping by the chosen answer alone).
            from .reasoning_match import reassign_across_answers

            raw, moved_conf = reassign_across_answers(texts, emb, ans, raw)
            conf = np.where(np.isnan(moved_conf), conf, moved_conf)
        raw = self._cap_ungrouped(raw, conf, texts, emb)
        labels = _renumber(raw, texts)
        conf = np.where(labels == UNGROUPED, 0.0, np.clip(conf, 0.0, 1.0))
        return Clustering(labels, conf)

    # ------------------------------------------------------------------------------------------- steps
    def _cluster_partition(self, texts: list[str], emb: np.ndarray, keep_whole: bool, min_size: int):
        """Labels (>= 0 or UNGROUPED) and confidence for one partition, shape (m,) each."""
        canon = [_canonical_text(t) for t in texts]
        uniq = sorted(set(canon))
        pos = {t: k for k, t in enumerate(uniq)}
        inv = np.array([pos[t] for t in canon])
        u_emb = np.zeros((len(uniq), emb.shape[1]))
        np.add.at(u_emb, inv, emb)
        u_emb = _unit_rows(u_emb)
        weight = np.bincount(inv, minlength=len(uniq))
        if len(uniq) == 1:
            return np.zeros(len(texts), dtype=int), np.ones(len(texts))
        if keep_whole:  # one group; confidence = how typical the reasoning is of the group (flags odd ones)
            if len(uniq) > self.reduce_above:  # at scale the sentence embedding alone is typical enough
                centre = _unit_rows((u_emb.T @ weight)[None, :])[0]
                return np.zeros(len(texts), dtype=int), np.clip(u_emb @ centre, 0.0, 1.0)[inv]
            x = reasoning_features(uniq, u_emb, self.number_weight, self.word_weight, self.semantic_weight, dense=False)
            centre = np.asarray(x.T @ weight, dtype=np.float64).ravel()
            centre /= max(float(np.linalg.norm(centre)), 1e-12)
            return np.zeros(len(texts), dtype=int), np.clip(np.asarray(x @ centre).ravel()[inv], 0.0, 1.0)
        x = reasoning_features(
            uniq,
            u_emb,
            self.number_weight,
            self.word_weight,
            self.semantic_weight,
            dense=len(uniq) <= self.reduce_above,
        )
        if len(uniq) > self.reduce_above:
            from sklearn.decomposition import TruncatedSVD

            dims = min(128, x.shape[1] - 1)
            svd = TruncatedSVD(n_components=dims, n_iter=3, random_state=self.random_state)
            x = _unit_rows(svd.fit_transform(x))
        ulab = self._agglomerate(x)
        ulab, uconf = self._absorb_small(x, ulab, weight, min_size)
        return ulab[inv], uconf[inv]

    def _agglomerate(self, x: np.ndarray) -> np.ndarray:
        """Average-linkage agglomerative labels of the rows of x (unique texts), shape (u,)."""
        from sklearn.cluster import AgglomerativeClustering

        u = len(x)
        if u < 2:
            return np.zeros(u, dtype=int)
        if u <= self.max_exact:
            return AgglomerativeClustering(
                n_clusters=None, distance_threshold=self.distance_threshold, metric="cosine", linkage="average"
            ).fit_predict(x)
        from sklearn.cluster import MiniBatchKMeans

        k = min(1000, u // 5)
        km = MiniBatchKMeans(n_clusters=k, random_state=self.random_state, n_init=1, batch_size=4096).fit(x)
        centres = _unit_rows(km.cluster_centers_)
        used = np.unique(km.labels_)
        clab = AgglomerativeClustering(
            n_clusters=None, distance_threshold=self.distance_threshold, metric="cosine", linkage="average"
        ).fit_predict(centres[used])
        lookup = np.zeros(k, dtype=int)
        lookup[used] = clab
        return lookup[km.labels_]

    def _absorb_small(self, x: np.ndarray, ulab: np.ndarray, weight: np.ndarray, min_size: int):
        """Dissolve groups under ``min_size`` responses; (labels, confidence) per unique text."""
        _, ulab = np.unique(ulab, return_inverse=True)
        sizes = np.bincount(ulab, weights=weight)
        big = np.flatnonzero(sizes >= min_size)
        if len(big) == 0:  # everyone differs from everyone: one group, low confidence
            centre = _unit_rows(x.mean(0, keepdims=True))[0]
            return np.zeros(len(x), dtype=int), 0.5 * np.clip(x @ centre, 0.0, 1.0)
        centres = _unit_rows(np.vstack([(x[ulab == g] * weight[ulab == g, None]).sum(0) for g in big]))
        sims = x @ centres.T
        small = sizes[ulab] < min_size
        out = np.full(len(x), UNGROUPED, dtype=int)
        conf = np.zeros(len(x))
        rank = np.searchsorted(big, ulab[~small])
        out[~small] = rank
        conf[~small] = sims[~small, rank]
        best = sims.argmax(1)
        near = small & (sims.max(1) >= self.straggler_similarity)
        out[near] = best[near]
        conf[near] = 0.5 * sims[near, best[near]]
        return out, conf

    def _cap_ungrouped(self, raw: np.ndarray, conf: np.ndarray, texts: list[str], emb: np.ndarray) -> np.ndarray:
        """Join the most similar ungrouped responses to their nearest group until few enough remain."""
        ung = np.flatnonzero(raw == UNGROUPED)
        allowed = int(np.floor(self.max_ungrouped * len(raw)))
        if len(ung) <= allowed:
            return raw
        groups = sorted(set(raw.tolist()) - {UNGROUPED})
        if not groups:
            raw = np.zeros_like(raw)
            conf[:] = 0.25
            return raw
        centres = _unit_rows(np.vstack([emb[raw == g].mean(0) for g in groups]))
        sims = emb[ung] @ centres.T
        order = sorted(range(len(ung)), key=lambda j: (-sims[j].max(), _canonical_text(texts[ung[j]])))
        for j in order[: len(ung) - allowed]:
            raw[ung[j]] = groups[int(sims[j].argmax())]
            conf[ung[j]] = 0.25 * max(float(sims[j].max()), 0.0)
        return raw


def _renumber(raw: np.ndarray, texts: list[str]) -> np.ndarray:
    """Number groups by decreasing size; ties broken by the alphabetically first canonical member text."""
    labels = np.full(len(raw), UNGROUPED, dtype=int)
    keyed = []
    for g in sorted(set(raw.tolist()) - {UNGROUPED}):
        members = np.flatnonzero(raw == g)
        keyed.append((-len(members), min(_canonical_text(texts[i]) for i in members), g))
    for new, (_, _, g) in enumerate(sorted(keyed)):
        labels[raw == g] = new
    return labels
