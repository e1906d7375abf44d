"""Grouping the responses to one question by misconception.

First version: responses are partitioned by their (normalised) answer when answers are given; within a
partition, unique texts are clustered with average-linkage agglomerative clustering on cosine distance.
"""

from __future__ import annotations

import numpy as np

from .answers import normalise_answer
from .records import UNGROUPED, Clustering


def _canonical_text(t: str) -> str:
    return " ".join(str(t).lower().split())


class MisconceptionClusterer:
    """Groups responses by misconception.

    Args:
        distance_threshold: cosine distance under which two unique texts may share a group (average linkage).
        min_group_size: groups smaller than this are dissolved and their members reassigned or left ungrouped.
        max_ungrouped: the largest share of responses that may be left ungrouped.
        random_state: seed for any randomised step.
    """

    def __init__(self, distance_threshold: float = 0.6, min_group_size: int = 2, max_ungrouped: float = 0.1,
                 random_state: int = 0):
        self.distance_threshold = distance_threshold
        self.min_group_size = min_group_size
        self.max_ungrouped = max_ungrouped
        self.random_state = random_state

    def fit(self, texts: list[str], embeddings: np.ndarray, answers: list[str | None] | None = None):
        """Group the responses; sets ``labels_`` (n,), ``confidence_`` (n,) and ``info_``. Returns self."""
        result = self.cluster(texts, embeddings, answers)
        self.labels_ = result.labels
        self.confidence_ = result.confidence
        self.info_ = result.info
        return self

    def cluster(self, texts: list[str], embeddings: np.ndarray, answers: list[str | None] | None = None,
                key: str | None = None) -> Clustering:
        """Group the responses to one question.

        Args:
            texts: n non-blank response texts.
            embeddings: shape (n, dim), rows L2-normalised.
            answers: n chosen answers, or None.
            key: the correct answer, if known (not used for grouping).

        Returns:
            a ``Clustering``: labels (n,) numbered by decreasing group size, confidence (n,) in 0..1.
        """
        texts = [str(t) for t in texts]
        n = len(texts)
        emb = np.asarray(embeddings, dtype=np.float64).reshape(n, -1) if n else np.zeros((0, 1))
        if answers is not None and len(answers) != n:
            raise ValueError(f"got {n} texts but {len(answers)} answers; pass one answer per response")
        if n == 0:
            return Clustering(np.zeros(0, dtype=int), np.zeros(0), {"groups": {}})
        ans = [normalise_answer(a) if a is not None else "" for a in answers] if answers is not None else [""] * n
        raw = np.full(n, UNGROUPED, dtype=int)
        conf = np.zeros(n)
        next_id = 0
        for a in sorted(set(ans)):
            idx = np.array([i for i in range(n) if ans[i] == a])
            sub, sconf = self._cluster_partition([texts[i] for i in idx], emb[idx])
            for i, lab, c in zip(idx, sub, sconf, strict=True):
                if lab != UNGROUPED:
                    raw[i] = next_id + lab
                    conf[i] = c
            next_id += int(sub.max()) + 1 if (sub >= 0).any() else 0
        labels = _renumber(raw, texts)
        groups = {}
        for g in sorted(set(labels.tolist()) - {UNGROUPED}):
            members = [ans[i] for i in np.flatnonzero(labels == g)]
            vals, counts = np.unique(members, return_counts=True)
            groups[g] = {"answer": str(vals[np.argmax(counts)]) or None, "size": len(members)}
        return Clustering(labels, conf, {"groups": groups})

    def _cluster_partition(self, texts: list[str], emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(texts)
        canon = [_canonical_text(t) for t in texts]
        uniq = sorted(set(canon))
        pos = {t: k for k, t in enumerate(uniq)}
        inv = np.array([pos[t] for t in canon])
        u_emb = np.zeros((len(uniq), emb.shape[1]))
        np.add.at(u_emb, inv, emb)
        u_emb /= np.maximum(np.linalg.norm(u_emb, axis=1, keepdims=True), 1e-12)
        weight = np.bincount(inv, minlength=len(uniq))
        if len(uniq) == 1:
            return np.zeros(n, dtype=int), np.ones(n)
        from sklearn.cluster import AgglomerativeClustering

        ulab = AgglomerativeClustering(n_clusters=None, distance_threshold=self.distance_threshold,
                                       metric="cosine", linkage="average").fit_predict(u_emb)
        labels = ulab[inv]
        sizes = np.bincount(labels)
        small = sizes[labels] < self.min_group_size
        big = np.flatnonzero(sizes >= self.min_group_size)
        cent = np.vstack([emb[labels == g].mean(0) for g in big]) if len(big) else np.zeros((0, emb.shape[1]))
        if len(big):
            cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
        sims = emb @ cent.T if len(big) else np.zeros((n, 0))
        conf = np.clip(sims[np.arange(n), np.searchsorted(big, labels).clip(0, max(len(big) - 1, 0))], 0, 1) \
            if len(big) else np.ones(n)
        out = labels.copy()
        if small.any():
            if len(big):
                best = sims.argmax(1)
                out[small] = big[best[small]]
                conf[small] = np.clip(sims[small, best[small]], 0, 1) * 0.5
            else:
                out[:] = 0
                conf[:] = 0.5
        _, out = np.unique(out, return_inverse=True)
        del weight
        return out, conf


def _renumber(raw: np.ndarray, texts: list[str]) -> np.ndarray:
    """Number groups by decreasing size; ties broken by the smallest canonical member text."""
    labels = np.full(len(raw), UNGROUPED, dtype=int)
    ids = sorted(set(raw.tolist()) - {UNGROUPED})
    keyed = []
    for g in ids:
        members = np.flatnonzero(raw == g)
        keyed.append((-len(members), min(_canonical_text(texts[i]) for i in members), g))
    for new, (_, _, g) in enumerate(sorted(keyed)):
        labels[raw == g] = new
    return labels
