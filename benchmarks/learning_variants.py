"""Learner variants tried against the shipped ``MemoryLearner`` (issue 16, item 4), text only, leave-question-out.

Each variant changes only how the new class's responses are matched to taught groups; everything else is
``benchmarks/learning.py`` (disjoint classes per ordering, k = 1, 2, 4 taught classes, the rest grouped by the
unsupervised clusterer, ``absorbed`` with the class's most common taught misconception hidden from memory).
Printed: ARI / absorbed per k for every variant (in-sample), then the leave-question-out choice among all variants
(for each question, the variant with the best mean ARI on the other questions, scored on it).

Variants:
    base        the shipped learner (kNN 3 + logistic regression, min_fit 0.4, novelty 0.05)
    w(e,w,c,n)  block weights of MiniLM, word, char and number TF-IDF before the final normalisation
    conf a      per-group conformal novelty: p = share of the group's taught examples whose nearest same-group
                similarity is <= the response's similarity to that group's nearest example; assign when p >= a
    share K g   transductive novelty: among a response's K nearest of taught + new responses, the share that are
                new; unmatched when it exceeds expected + g * (1 - expected) (expected = new / (new + taught))
    self t      self-training once: confident new responses (fit >= t) join the taught examples, refit, predict
    seeded t    seeded agglomerative clustering of taught + new responses (average linkage, each taught group one
                starting cluster, two taught groups never merged, stop below similarity t); a response keeps the
                shipped learner's group only where it ended in that taught group's cluster (no novelty quantile)
    spread K a  label spreading (scikit-learn, kNN graph of K, clamping alpha a) over taught + new responses; its
                distribution averaged with the shipped probabilities, then the shipped min_fit and novelty checks

Usage:
    python benchmarks/learning_variants.py [--dataset map|beetle|synthetic] [--seeds 4] [--first-seed 5]
        [--variants all|weights|open-set|knn]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _datasets import load_beetle, load_map, load_synthetic, with_embeddings  # noqa: E402
from cluster_quality import score  # noqa: E402
from learning import SIZES, _hide_one, _memory, _orderings  # noqa: E402

from feedback_assistant.clustering import MisconceptionClusterer  # noqa: E402
from feedback_assistant.memory import MemoryLearner, carry_over  # noqa: E402
from feedback_assistant.records import UNGROUPED  # noqa: E402

KS = (1, 2, 4)


class _Weighted:
    """A fitted ``memory._Features`` with its blocks weighted (embedding, word, char, number)."""

    def __init__(self, features, weights):
        self.features, self.weights = features, weights

    def transform(self, texts, vectors):
        from sklearn.preprocessing import normalize

        w = self.weights
        parts = [w[0] * normalize(np.asarray(vectors, dtype=np.float64))]
        parts += [w[i + 1] * normalize(v.transform(list(texts))).toarray() for i, v in enumerate(self.features.blocks)]
        return normalize(np.hstack(parts))


class Variant(MemoryLearner):
    """The shipped learner with one change (``mode``: base, weights, conf, share, self)."""

    def __init__(self, mode="base", a=None, b=None, **kw):
        super().__init__(**kw)
        self.mode, self.a, self.b = mode, a, b

    def fit(self, texts, vectors, labels, answers=None):
        super().fit(texts, vectors, labels, answers)
        if self.mode == "weights":
            from sklearn.linear_model import LogisticRegression
            from threadpoolctl import threadpool_limits

            self.features_ = _Weighted(self.features_, self.a)
            with threadpool_limits(1):
                self.x_ = self.features_.transform([str(t) for t in texts], vectors)
                if self.model_ is not None:
                    self.model_ = LogisticRegression(C=self.C, max_iter=500, random_state=0).fit(self.x_, self.y_)
                self.nearest_same_ = self._nearest_same()
        return self

    def _seeded(self, x: np.ndarray) -> np.ndarray:
        """Taught group per new response from seeded agglomerative clustering (``UNGROUPED``: a cluster of new
        responses only)."""
        n_taught, m = len(self.y_), len(x)
        everything = np.vstack([self.x_, x])
        sims = everything @ everything.T
        members = [np.flatnonzero(self.y_ == j) for j in range(len(self.classes_))]
        members += [np.array([n_taught + i]) for i in range(m)]
        taught = np.array([True] * len(self.classes_) + [False] * m)
        group = list(range(len(self.classes_))) + [UNGROUPED] * m
        link = np.array([[sims[np.ix_(a, b)].mean() for b in members] for a in members])
        np.fill_diagonal(link, -np.inf)
        alive = np.ones(len(members), dtype=bool)
        size = np.array([len(a) for a in members], dtype=float)
        while True:
            allowed = link.copy()
            allowed[~alive] = -np.inf
            allowed[:, ~alive] = -np.inf
            allowed[np.ix_(taught, taught)] = -np.inf
            i, j = np.unravel_index(np.argmax(allowed), allowed.shape)
            if allowed[i, j] < self.a:
                break
            if taught[j]:
                i, j = j, i
            link[i, :] = (size[i] * link[i, :] + size[j] * link[j, :]) / (size[i] + size[j])
            link[:, i] = link[i, :]
            link[i, i] = -np.inf
            members[i] = np.r_[members[i], members[j]]
            size[i] += size[j]
            alive[j] = False
        out = np.full(m, UNGROUPED)
        for c in np.flatnonzero(alive & taught):
            new = members[c][members[c] >= n_taught] - n_taught
            out[new] = group[c]
        return out

    def predict(self, texts, vectors, answers=None):
        out, fit = super().predict(texts, vectors, answers)
        if self.mode in ("base", "weights") or answers is not None or not len(texts):
            return out, fit
        from threadpoolctl import threadpool_limits

        texts = [str(t) for t in texts]
        m = len(texts)
        with threadpool_limits(1):
            x = self.features_.transform(texts, vectors)
            prob, nearest = self._probabilities(x)
        if self.mode == "seeded":
            agree = self._seeded(x) == out
            return np.where(agree, out, UNGROUPED), np.where(agree, fit, 0.0)
        if self.mode == "share":
            st, sn = x @ self.x_.T, x @ x.T
            np.fill_diagonal(sn, -np.inf)
            is_new = np.r_[np.zeros(st.shape[1]), np.ones(m)]
            share = is_new[np.argsort(-np.hstack([st, sn]), axis=1)[:, : self.a]].mean(axis=1)
            expected = m / (m + st.shape[1])
            novel = share > expected + self.b * (1 - expected)
            return np.where(novel, UNGROUPED, out), np.where(novel, 0.0, fit)
        if self.mode == "conf":
            sims = self.x_ @ self.x_.T
            np.fill_diagonal(sims, -np.inf)
            out, fit = np.full(m, UNGROUPED), np.zeros(m)
            for i in range(m):
                j = int(np.argmax(prob[i]))
                g = self.y_ == j
                loo = sims[np.ix_(g, g)].max(axis=1) if g.sum() > 1 else np.array([-np.inf])
                p = (1 + (loo <= nearest[i, j]).sum()) / (len(loo) + 1)
                if prob[i, j] >= self.min_fit and p >= self.a:
                    out[i], fit[i] = j, prob[i, j]
            return out, fit
        if self.mode == "self":
            keep = (out != UNGROUPED) & (fit >= self.a)
            if not keep.any():
                return out, fit
            from sklearn.linear_model import LogisticRegression

            saved = (self.x_, self.y_, self.model_)
            self.x_, self.y_ = np.vstack([self.x_, x[keep]]), np.r_[self.y_, out[keep]]
            if len(set(self.y_.tolist())) > 1:
                with threadpool_limits(1):
                    self.model_ = LogisticRegression(C=self.C, max_iter=500, random_state=0).fit(self.x_, self.y_)
            self.mode = "base"
            try:
                return self.predict(texts, vectors, answers)
            finally:
                self.mode = "self"
                self.x_, self.y_, self.model_ = saved
        if self.mode == "spread":
            from sklearn.semi_supervised import LabelSpreading

            with threadpool_limits(1):
                spreading = LabelSpreading(kernel="knn", n_neighbors=self.a, alpha=self.b, max_iter=100)
                spreading.fit(np.vstack([self.x_, x]), np.r_[self.y_, -np.ones(m, dtype=int)])
            spread = np.zeros_like(prob)
            spread[:, spreading.classes_] = spreading.label_distributions_[len(self.y_) :]
            p = 0.5 * prob + 0.5 * spread
            tau = self.novelty_bar()
            out, fit = np.full(m, UNGROUPED), np.zeros(m)
            for i in range(m):
                j = int(np.argmax(p[i]))
                if p[i, j] >= self.min_fit and nearest[i, j] >= tau:
                    out[i], fit[i] = j, p[i, j]
            return out, fit
        raise ValueError(f"unknown mode {self.mode!r}")


def variants(which: str) -> dict:
    out = {"base": lambda: Variant()}
    if which in ("all", "weights"):
        for w in [(0.5, 1, 1, 1), (2, 1, 1, 1), (1, 0.5, 0.5, 1), (1, 1, 0.5, 1), (1, 1, 1, 1.5), (1, 1, 1, 2)]:
            out[f"w{w}"] = lambda w=w: Variant("weights", w)
    if which in ("all", "open-set"):
        for a in (0.05, 0.1, 0.2):
            out[f"conf {a}"] = lambda a=a: Variant("conf", a, novelty=None)
        for k_, g in ((5, 0.4), (10, 0.4), (10, 0.6)):
            out[f"share {k_} {g}"] = lambda k_=k_, g=g: Variant("share", k_, g, novelty=None)
        for t in (0.6, 0.8):
            out[f"self {t}"] = lambda t=t: Variant("self", t)
        for nv in (0.2, 0.3, 0.5):
            out[f"novelty {nv}"] = lambda nv=nv: Variant(novelty=nv)
        for t in (0.2, 0.25, 0.3):
            out[f"seeded {t}"] = lambda t=t: Variant("seeded", t, novelty=None)
        for k_, a in ((5, 0.2), (10, 0.2)):
            out[f"spread {k_} {a}"] = lambda k_=k_, a=a: Variant("spread", k_, a)
    if which in ("all", "knn"):
        for k_ in (1, 5, 7):
            out[f"knn {k_}"] = lambda k_=k_: Variant(k=k_)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="map", choices=["map", "beetle", "synthetic"])
    ap.add_argument("--seeds", type=int, default=4, help="orderings per question")
    ap.add_argument("--first-seed", type=int, default=5)
    ap.add_argument("--variants", default="all", choices=["all", "weights", "open-set", "knn"])
    args = ap.parse_args(argv)
    df = {"map": load_map, "beetle": load_beetle, "synthetic": load_synthetic}[args.dataset]()
    if df is None:
        print(f"{args.dataset}: dataset not found (see benchmarks/_datasets.py)")
        return 0
    df, emb = with_embeddings(df, args.dataset)
    todo = variants(args.variants)
    clusterer = MisconceptionClusterer()
    res: dict = defaultdict(lambda: defaultdict(list))
    times: dict = defaultdict(list)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    for q, _seed, classes in _orderings(df, SIZES[args.dataset], seeds):
        test = classes[-1]
        texts, gold = df.loc[test, "text"].tolist(), df.loc[test, "gold"].to_numpy()
        scored, e = df.loc[test, "scored"].to_numpy(), emb[test]
        for k in KS:
            mem = _memory(df, emb, np.concatenate(classes[:k]), False)
            hidden, hide = _hide_one(mem, gold, scored)
            for name, make in todo.items():
                learner = make()
                t0 = time.process_time()
                learner.fit(mem.texts, mem.vectors, mem.labels, mem.answers)
                learner.predict(texts, e, None)
                times[name].append(time.process_time() - t0)
                co = carry_over(mem, texts, e, None, clusterer, learner=learner, refit=False)
                absorbed = np.nan
                if hidden is not None:
                    ch = carry_over(hidden, texts, e, None, clusterer, learner=make())
                    absorbed = float(np.isin(ch.clustering.labels, list(ch.taught))[scored & (gold == hide)].mean())
                res[(name, k)][q].append((score(co.clustering.labels, gold, scored)["ari"], absorbed))
    questions = sorted({q for (_n, _k), per in res.items() for q in per})
    mean = {key: {q: np.nanmean(np.array(per[q]), axis=0) for q in questions} for key, per in res.items()}
    print(f"\n{args.dataset}, text only, seeds {seeds[0]}-{seeds[-1]}, {len(questions)} questions: ARI / absorbed")
    print(f"{'variant':26} " + "  ".join(f"{'k=' + str(k):>11}" for k in KS) + "  CPU s mean/max")
    for name in todo:
        cells = []
        for k in KS:
            arr = np.array([mean[(name, k)][q] for q in questions])
            cells.append(f"{arr[:, 0].mean():.3f} / {100 * np.nanmean(arr[:, 1]):3.0f}%")
        print(f"{name:26} " + "  ".join(cells) + f"  {np.mean(times[name]):.3f} / {np.max(times[name]):.3f}")
    for k in KS:
        held, absorbed, chosen = [], [], []
        for q in questions:
            others = [o for o in questions if o != q]
            best = max(todo, key=lambda n: (np.mean([mean[(n, k)][o][0] for o in others]), n == "base"))
            held.append(mean[(best, k)][q][0])
            absorbed.append(mean[(best, k)][q][1])
            chosen.append(best)
        print(
            f"leave-question-out k={k}: held-out ARI {np.mean(held):.3f}, absorbed {100 * np.nanmean(absorbed):.0f}%;"
            f" chosen {Counter(chosen).most_common(2)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
