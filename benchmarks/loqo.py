"""Does the unsupervised grouping generalise? Every clustering setting, leave-one-question-out, on three datasets.

Questions of MAP, Beetle and our own made-up data (``research/training_data``) are pooled. For each question, the
setting with the best mean ARI on all the *other* questions (of every dataset) is chosen and scored on the held-out
question; the table prints, per dataset, the held-out ARI of that choice beside every fixed setting and the
group-by-answer baseline. A correction step earns its place only where its held-out ARI beats group-by-answer.

Settings:
- answer variant (MAP, made-up data; Beetle has no answer column): the reasoning-match move across answers on
  (``reassign=True``, the shipped default until this benchmark) or off; ``by-answer`` (one group per normalised
  answer) is a candidate too.
- text variant (all three): the distance threshold of the agglomerative step.

Classes: 30 responses (Beetle 20; a made-up question has ~62 rows, so classes of 30 too), ``--seeds`` samples per
question.

Usage:
    python benchmarks/loqo.py [--seeds 3] [--variants answer,text]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _datasets import class_samples, load_beetle, load_map, load_synthetic, with_embeddings  # noqa: E402
from cluster_quality import score  # noqa: E402

from feedback_assistant.answers import normalise_answer  # noqa: E402
from feedback_assistant.clustering import MisconceptionClusterer  # noqa: E402

SIZES = {"map": 30, "beetle": 20, "synthetic": 30}
THRESHOLDS = (0.6, 0.65, 0.7, 0.75, 0.8)


def _settings(variant: str) -> dict[str, object]:
    if variant == "answer":
        return {
            "reassign on": MisconceptionClusterer(reassign=True),
            "reassign off": MisconceptionClusterer(reassign=False),
            "by-answer": None,
        }
    return {f"threshold {t}": MisconceptionClusterer(distance_threshold=t) for t in THRESHOLDS}


def collect(variant: str, seeds) -> dict[str, dict[tuple[str, str], float]]:
    """setting -> (dataset, question) -> mean ARI over the question's class samples."""
    loaders = {"map": load_map, "beetle": load_beetle, "synthetic": load_synthetic}
    settings = _settings(variant)
    per: dict[str, dict[tuple[str, str], list[float]]] = {s: defaultdict(list) for s in settings}
    for name, load in loaders.items():
        df = load()
        if df is None:
            print(f"{name}: skipped - dataset not found")
            continue
        if variant == "answer" and df["answer"].isna().all():
            continue
        df, emb = with_embeddings(df, name)
        for q, _seed, sub in class_samples(df, SIZES[name], list(seeds)):
            texts, gold, scored = sub["text"].tolist(), sub["gold"].to_numpy(), sub["scored"].to_numpy()
            answers = sub["answer"].tolist() if variant == "answer" else None
            e = emb[sub.index.to_numpy()]
            for s, clusterer in settings.items():
                if clusterer is None:
                    labels = np.unique([normalise_answer(a) for a in answers], return_inverse=True)[1]
                else:
                    labels = clusterer.cluster(texts, e, answers=answers).labels
                per[s][(name, q)].append(score(labels, gold, scored)["ari"])
    return {s: {k: float(np.mean(v)) for k, v in d.items()} for s, d in per.items()}


def report(variant: str, mean: dict[str, dict[tuple[str, str], float]]) -> None:
    settings = list(mean)
    keys = sorted(next(iter(mean.values())))
    chosen, held = {}, {}
    for k in keys:
        others = [o for o in keys if o != k]
        best = max(settings, key=lambda s: (np.mean([mean[s][o] for o in others]), -settings.index(s)))
        chosen[k], held[k] = best, mean[best][k]
    datasets = sorted({d for d, _ in keys})
    print(f"\n## leave-one-question-out, {variant} variant ({len(keys)} questions pooled)")
    print(f"{'dataset':10} {'questions':>9} {'held-out':>9} " + " ".join(f"{s:>14}" for s in settings) + "   chosen")
    for d in datasets + ["all"]:
        ks = [k for k in keys if d in ("all", k[0])]
        picks = sorted({chosen[k] for k in ks})
        print(
            f"{d:10} {len(ks):9d} {np.mean([held[k] for k in ks]):9.3f} "
            + " ".join(f"{np.mean([mean[s][k] for k in ks]):14.3f}" for s in settings)
            + "   "
            + ", ".join(f"{p} ({sum(chosen[k] == p for k in ks)})" for p in picks)
        )
    if variant == "answer":
        for d in datasets:
            ks = [k for k in keys if k[0] == d]
            on = np.array([mean["reassign on"][k] for k in ks])
            by = np.array([mean["by-answer"][k] for k in ks])
            print(
                f"{d}: reassign on beats by-answer on {int((on > by + 1e-9).sum())} questions, loses on "
                f"{int((on < by - 1e-9).sum())}, ties {int((np.abs(on - by) <= 1e-9).sum())}"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--variants", default="answer,text")
    args = ap.parse_args(argv)
    for variant in args.variants.split(","):
        report(variant, collect(variant, range(args.seeds)))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
