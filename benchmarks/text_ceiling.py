"""How far can text alone go on MAP? Two measurements behind the text-only clustering numbers.

1. Neighbour purity: in a class of 30, the share of each labelled response's 5 nearest labelled neighbours that
   share its gold group, for the features the pipeline could cluster on (random vectors give the chance level).
   Clustering cannot recover groups the features do not separate.
2. A supervised ceiling: a classifier trained per question on ~80% of that question's labelled responses (5-fold,
   word + character TF-IDF + MiniLM, logistic regression) and scored like a class: ARI of its predictions on random
   sets of 22 labelled responses (a class of 30 has ~22 labelled ones). The product cannot have these labels for a
   new question; the number says how separable the groups are in these features at best.

Usage:
    python benchmarks/text_ceiling.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _datasets import class_samples, load_map, with_embeddings  # noqa: E402

from feedback_assistant.features import number_block, reasoning_features, word_block  # noqa: E402


def neighbour_purity(df, emb, features, size: int = 30, seeds=range(5), k: int = 5) -> dict[str, float]:
    """Mean share of same-gold neighbours among each labelled response's k nearest labelled ones, per question."""
    from sklearn.preprocessing import normalize

    per: dict[str, list[float]] = {}
    for q, _seed, sub in class_samples(df, size, list(seeds)):
        x = normalize(np.asarray(features(sub["text"].tolist(), emb[sub.index.to_numpy()])))
        sim = x @ x.T
        np.fill_diagonal(sim, -np.inf)
        scored, gold = sub["scored"].to_numpy(), sub["gold"].to_numpy()
        sim[:, ~scored] = -np.inf
        shares = [np.mean(gold[np.argsort(-sim[i])[:k]] == gold[i]) for i in np.flatnonzero(scored)]
        per.setdefault(q, []).append(float(np.mean(shares)))
    return {q: float(np.mean(v)) for q, v in per.items()}


def supervised_ceiling(df, emb, class_labelled: int = 22, draws: int = 50) -> dict[str, tuple[float, float]]:
    """Per question: (accuracy, mean ARI over random sets of ``class_labelled``) of 5-fold predictions."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import adjusted_rand_score
    from sklearn.model_selection import cross_val_predict

    out = {}
    for q, sub in df[df["scored"]].groupby("question"):
        texts, gold = sub["text"].tolist(), sub["gold"].to_numpy()
        x = sp.hstack(
            [
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit_transform(texts),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=3).fit_transform(
                    texts
                ),
                sp.csr_matrix(emb[sub.index.to_numpy()]),
            ]
        ).tocsr()
        pred = cross_val_predict(LogisticRegression(C=5, max_iter=2000), x, gold, cv=5)
        rng = np.random.RandomState(0)
        aris = []
        for _ in range(draws):
            i = rng.choice(len(gold), class_labelled, replace=False)
            aris.append(adjusted_rand_score(gold[i], pred[i]))
        out[q] = (float((pred == gold).mean()), float(np.mean(aris)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args(argv)
    df = load_map()
    if df is None:
        print("map: skipped - dataset not found (see benchmarks/_datasets.py)")
        return 0
    df, emb = with_embeddings(df, "map")
    seeds = range(args.seeds)
    rng = np.random.RandomState(0)
    features = {
        "random vectors (chance)": lambda t, e: rng.randn(len(t), 8),
        "MiniLM embedding": lambda t, e: e,
        "content-word TF-IDF": lambda t, e: np.hstack([word_block(t).toarray(), 1e-3 * e]),
        "number tokens": lambda t, e: np.hstack([number_block(t).toarray(), 1e-3 * e]),
        "pipeline features": lambda t, e: reasoning_features(t, e),
    }
    print("## map: 5-nearest-neighbour purity in a class of 30 (labelled responses only)")
    rows = {name: neighbour_purity(df, emb, f, seeds=seeds) for name, f in features.items()}
    questions = sorted(next(iter(rows.values())))
    print(f"{'features':26} " + " ".join(f"{q[-6:]:>6}" for q in questions) + "    mean")
    for name, per in rows.items():
        print(f"{name:26} " + " ".join(f"{per[q]:6.2f}" for q in questions) + f"  {np.mean(list(per.values())):6.3f}")
    print("\n## map: supervised per-question ceiling (5-fold, labels of the same question), scored on classes of 22")
    ceiling = supervised_ceiling(df, emb)
    print(f"{'question':10} {'accuracy':>9} {'ARI':>6}")
    for q, (acc, ari) in ceiling.items():
        print(f"{q:10} {acc:9.3f} {ari:6.3f}")
    accs, aris = zip(*ceiling.values(), strict=True)
    print(f"{'mean':10} {np.mean(accs):9.3f} {np.mean(aris):6.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
