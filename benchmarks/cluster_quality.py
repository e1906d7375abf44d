"""Cluster quality on real labelled student data: does grouping recover the misconceptions?

One run prints, per dataset and class size, a table comparing this project's clusterer with simple baselines:

- ``pipeline``: ``MisconceptionClusterer`` (answers passed in the "answer" variant only)
- ``by-answer``: one group per chosen answer ("answer" variant) or per answer extracted from the text ("text";
  responses with no evident answer form one group)
- ``minilm-agglo``: generic MiniLM embeddings + agglomerative clustering (Ward, threshold 1.0)
- ``umap-hdbscan``: BERTopic-style defaults, UMAP to 5-d (15 neighbours, cosine) +
  HDBSCAN(min_cluster_size=10)
- ``oracle``: the gold grouping itself (its teacher-action saving is the ceiling)

Datasets: MAP and Beetle (real students, ``../shared/datasets/``), and ``synthetic``: the project's own made-up
explanations in ``research/training_data/`` (112 maths and science questions, gold = the reasoning group we wrote), a
check on questions the pipeline was never tuned on.

In the "answer" variant the baselines see the answer as a one-hot block appended to the embedding.

Metrics, on rows with a gold label (MAP's ``*_Neither`` rows are clustered but left out of ARI / NMI / F1):
ARI and NMI (each ungrouped response counts as its own singleton), best-match F1 per gold group weighted by
group size, share ungrouped, and teacher actions: each group costs 1 (read and approve), plus 1 per member
whose gold differs from the group's majority (moved by hand); each ungrouped response costs 1; each unlabelled
(Neither) row costs 1 (one look). ``saving`` = responses / actions.

Usage:
    python benchmarks/cluster_quality.py [--quick] [--dataset map|beetle|all] [--sizes 30,150,all]
        [--seeds 5] [--methods pipeline,by-answer,...] [--variants text,answer] [--loqo]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _datasets import class_samples, load_beetle, load_map, load_synthetic, with_embeddings  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402

from feedback_assistant.answers import extract_final_answer, normalise_answer  # noqa: E402
from feedback_assistant.clustering import MisconceptionClusterer  # noqa: E402
from feedback_assistant.records import UNGROUPED  # noqa: E402

METHODS = ("pipeline", "by-answer", "minilm-agglo", "umap-hdbscan", "oracle")


# ----------------------------------------------------------------------------------------------- methods
def _group_by(keys: list) -> np.ndarray:
    order = {k: i for i, k in enumerate(sorted(set(keys), key=str))}
    return np.array([order[k] for k in keys], dtype=int)


def _with_answer_block(emb: np.ndarray, answers: list[str] | None) -> np.ndarray:
    if answers is None:
        return emb
    codes = _group_by(answers)
    onehot = np.eye(codes.max() + 1)[codes]
    x = np.hstack([emb, onehot])
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def run_method(method: str, texts: list[str], emb: np.ndarray, answers: list[str] | None,
               gold: np.ndarray) -> np.ndarray:
    n = len(texts)
    if method == "pipeline":
        return MisconceptionClusterer().cluster(texts, emb, answers=answers).labels
    if method == "oracle":
        return _group_by(list(gold))
    if method == "by-answer":
        keys = [normalise_answer(a) for a in answers] if answers is not None else \
            [extract_final_answer(t) or "" for t in texts]
        return _group_by(keys)
    x = _with_answer_block(emb, answers)
    if n < 3:
        return np.zeros(n, dtype=int)
    if method == "minilm-agglo":
        from sklearn.cluster import AgglomerativeClustering

        return AgglomerativeClustering(n_clusters=None, distance_threshold=1.0, linkage="ward").fit_predict(x)
    if method == "umap-hdbscan":
        import hdbscan
        import umap

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            k = min(15, n - 1)
            red = umap.UMAP(n_neighbors=k, n_components=min(5, n - 2), min_dist=0.0, metric="cosine",
                            n_epochs=200, random_state=42,
                            init="random" if n < 50 else "spectral").fit_transform(x)
            return hdbscan.HDBSCAN(min_cluster_size=10, metric="euclidean",
                                   cluster_selection_method="eom").fit_predict(red)
    raise ValueError(f"unknown method {method!r}")


# ----------------------------------------------------------------------------------------------- metrics
def score(labels: np.ndarray, gold: np.ndarray, scored: np.ndarray) -> dict[str, float]:
    n = len(labels)
    ung = labels == UNGROUPED
    # singletons for ungrouped responses in ARI / NMI
    lab = labels.copy()
    lab[ung] = labels.max(initial=0) + 1 + np.arange(ung.sum())
    g, p = gold[scored], lab[scored]
    out = {"ari": adjusted_rand_score(g, p) if len(g) > 1 else 1.0,
           "nmi": normalized_mutual_info_score(g, p) if len(g) > 1 else 1.0,
           "ungrouped": ung.mean()}
    # best-match F1 per gold group, weighted by the group's size
    f1s, weights = [], []
    pred_sizes = Counter(labels[scored & ~ung].tolist())
    for gg in sorted(set(g.tolist())):
        in_g = scored & (gold == gg)
        best = 0.0
        for c, cnt in Counter(labels[in_g & ~ung].tolist()).items():
            prec, rec = cnt / pred_sizes[c], cnt / in_g.sum()
            best = max(best, 2 * prec * rec / (prec + rec))
        f1s.append(best)
        weights.append(in_g.sum())
    out["f1"] = float(np.average(f1s, weights=weights)) if weights else 1.0
    # teacher actions
    actions = 0
    for c in set(labels[~ung].tolist()):
        members = (labels == c) & scored
        actions += 1
        if members.any():
            actions += members.sum() - Counter(gold[members].tolist()).most_common(1)[0][1]
    actions += (ung & scored).sum() + (~scored).sum()
    out["groups"] = len(set(labels[~ung].tolist()))
    out["saving"] = n / max(actions, 1)
    return out


# ----------------------------------------------------------------------------------------------- driver
def evaluate(name: str, df, emb, sizes, seeds, methods, variants) -> None:
    has_answer = df["answer"].notna().all()
    for size in sizes:
        rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
        times: dict[tuple[str, str], float] = defaultdict(float)
        oracle: list[float] = []
        nsamples = 0
        for _q, _seed, sub in class_samples(df, size, seeds):
            nsamples += 1
            idx = sub.index.to_numpy()
            texts = sub["text"].tolist()
            gold = sub["gold"].to_numpy()
            scored = sub["scored"].to_numpy()
            e = emb[idx]
            oracle_labels = np.where(scored, _group_by(list(gold)), UNGROUPED)
            oracle.append(score(oracle_labels, gold, scored)["saving"])
            for variant in variants:
                if variant == "answer" and not has_answer:
                    continue
                answers = sub["answer"].tolist() if variant == "answer" else None
                for m in methods:
                    if m == "oracle":
                        continue
                    t0 = time.perf_counter()
                    labels = run_method(m, texts, e, answers, gold)
                    times[(variant, m)] += time.perf_counter() - t0
                    rows[(variant, m)].append(score(np.asarray(labels), gold, scored))
        label = "whole question" if size is None else f"class of {size}"
        print(f"\n## {name}: {label} ({nsamples} samples; oracle saving {np.mean(oracle):.2f}x)")
        print(f"{'variant':8} {'method':13} {'ARI':>6} {'NMI':>6} {'F1':>6} {'ungr%':>6} {'groups':>7} "
              f"{'saving':>7} {'min ARI':>8} {'all-ungr':>8} {'sec':>7}")
        for (variant, m), rs in rows.items():
            a = {k: np.mean([r[k] for r in rs]) for k in rs[0]}
            all_ung = sum(r["ungrouped"] == 1.0 for r in rs)
            print(f"{variant:8} {m:13} {a['ari']:6.3f} {a['nmi']:6.3f} {a['f1']:6.3f} "
                  f"{100 * a['ungrouped']:6.1f} "
                  f"{a['groups']:7.1f} {a['saving']:6.2f}x {min(r['ari'] for r in rs):8.3f} {all_ung:8d} "
                  f"{times[(variant, m)]:7.1f}")
        sys.stdout.flush()


def loqo(name: str, df, emb, seeds, size: int = 30,
         thresholds: tuple[float, ...] = (0.6, 0.65, 0.7, 0.75, 0.8)) -> None:
    """Leave-one-question-out check of the pipeline's text-only distance threshold.

    For each question, the threshold is chosen on the other questions (mean ARI) and scored on the held-out
    one; compare the held-out mean with the default threshold's mean and the in-sample best.
    """
    per: dict[float, dict[str, list[float]]] = {t: defaultdict(list) for t in thresholds}
    for q, _seed, sub in class_samples(df, size, seeds):
        texts, gold, scored = sub["text"].tolist(), sub["gold"].to_numpy(), sub["scored"].to_numpy()
        for t in thresholds:
            clusterer = MisconceptionClusterer(distance_threshold=t)
            labels = clusterer.cluster(texts, emb[sub.index.to_numpy()]).labels
            per[t][q].append(score(labels, gold, scored)["ari"])
    questions = sorted(per[thresholds[0]])
    mean = {t: {q: float(np.mean(per[t][q])) for q in questions} for t in thresholds}
    default = MisconceptionClusterer().distance_threshold
    print(f"\n## {name}: leave-one-question-out check of the text-only distance threshold (class of {size})")
    print(f"{'held-out question':20} {'chosen':>7} {'held-out ARI':>13} {'default ARI':>12} {'best ARI':>9}")
    held = []
    for q in questions:
        others = [o for o in questions if o != q]
        chosen = max(thresholds, key=lambda t: (np.mean([mean[t][o] for o in others]), -abs(t - default)))
        held.append(mean[chosen][q])
        print(f"{q[:20]:20} {chosen:7.2f} {mean[chosen][q]:13.3f} {mean.get(default, mean[chosen])[q]:12.3f} "
              f"{max(mean[t][q] for t in thresholds):9.3f}")
    in_sample = max(np.mean(list(mean[t].values())) for t in thresholds)
    print(f"mean held-out ARI {np.mean(held):.3f}; in-sample best {in_sample:.3f}; "
          f"default ({default}) {np.mean(list(mean.get(default, mean[thresholds[0]]).values())):.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 seeds, class size 30 only, no whole questions")
    ap.add_argument("--dataset", default="all", choices=["map", "beetle", "synthetic", "all"],
                    help="synthetic: the project's own made-up explanations (research/training_data/), a check on data "
                         "that was never used for tuning")
    ap.add_argument("--sizes", default="30,150,all", help="comma list of class sizes; 'all' = whole question")
    ap.add_argument("--seeds", type=int, default=5, help="samples per question and size")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--variants", default="text,answer")
    ap.add_argument("--loqo", action="store_true", help="also run the leave-one-question-out threshold check")
    args = ap.parse_args(argv)
    sizes_arg = "30" if args.quick and args.sizes == "30,150,all" else args.sizes
    sizes = [None if s == "all" else int(s) for s in sizes_arg.split(",")]
    seeds = list(range(2 if args.quick else args.seeds))
    methods = args.methods.split(",")
    variants = args.variants.split(",")
    loaders = {"map": load_map, "beetle": load_beetle, "synthetic": load_synthetic}
    for name in (["map", "beetle", "synthetic"] if args.dataset == "all" else [args.dataset]):
        df = loaders[name]()
        if df is None:
            print(f"\n## {name}: skipped - dataset not found (see benchmarks/_datasets.py for where it is read)")
            continue
        t0 = time.perf_counter()
        df, emb = with_embeddings(df, name)
        print(f"\n# {name}: {len(df)} rows, {df['question'].nunique()} questions "
              f"(embeddings ready in {time.perf_counter() - t0:.1f}s)")
        evaluate(name, df, emb, sizes, seeds, methods, variants)
        if args.loqo:
            loqo(name, df, emb, seeds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
