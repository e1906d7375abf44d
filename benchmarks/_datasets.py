"""Loading and sampling the real labelled datasets used by the benchmarks (never shipped, never in tests).

The data live in ``../shared/datasets/`` relative to the repository (``/work/shared/datasets``). Every loader
returns ``None`` when its file is absent, so a benchmark can print a message and skip.

Each loader returns a DataFrame with the same working columns:

- ``question``: question id (str)
- ``text``: the student's free-text explanation
- ``answer``: the chosen answer (MAP's ``MC_Answer``) or ``None`` when the dataset has none (Beetle)
- ``gold``: the gold group (MAP: the misconception, "Correct" for ``*_Correct``; Beetle: ``label_5way``)
- ``scored``: False for rows left out of ARI / F1 (MAP's ``*_Neither``); they are still clustered
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
EMB_CACHE = Path(os.environ.get("FA_BENCH_EMB_CACHE", "/tmp/fa_emb"))


def load_map(path: Path | None = None) -> pd.DataFrame | None:
    """MAP explanations (map_dev.csv) with the working columns, or None when the file is absent."""
    path = path or DATASETS / "map_dev.csv"
    if not path.exists():
        return None
    raw = pd.read_csv(path, keep_default_na=False, dtype=str)
    cat = raw["Category"].astype(str)
    gold = np.where(cat.str.endswith("_Correct"), "Correct", raw["Misconception"].astype(str))
    return pd.DataFrame(
        {
            "question": raw["QuestionId"].astype(str),
            "text": raw["StudentExplanation"].astype(str),
            "answer": raw["MC_Answer"].astype(str),
            "gold": gold,
            "scored": ~cat.str.endswith("_Neither").to_numpy(),
            "category": cat,
        }
    )


def load_beetle(path: Path | None = None) -> pd.DataFrame | None:
    """Beetle answers (beetle.csv) with the working columns, or None when the file is absent."""
    path = path or DATASETS / "beetle.csv"
    if not path.exists():
        return None
    raw = pd.read_csv(path, keep_default_na=False, dtype=str)
    return pd.DataFrame(
        {
            "question": raw["question"].astype(str),
            "text": raw["student_answer"].astype(str),
            "answer": [None] * len(raw),
            "gold": raw["label_5way"].astype(str),
            "scored": np.ones(len(raw), dtype=bool),
            "category": raw["label_5way"].astype(str),
        }
    )


def load_synthetic(folder: Path | None = None) -> pd.DataFrame | None:
    """The project's own made-up explanations (``research/training_data/*.csv``, written for this project, grouped by
    the reasoning they show): 112 questions in maths and science, never used to tune the pipeline."""
    folder = folder or REPO / "research" / "training_data"
    paths = sorted(folder.glob("*.csv"))
    if not paths:
        return None
    raw = pd.concat([pd.read_csv(p, keep_default_na=False, dtype=str) for p in paths], ignore_index=True)
    return pd.DataFrame(
        {
            "question": raw["question_id"].astype(str),
            "text": raw["explanation"].astype(str),
            "answer": raw["answer"].astype(str),
            "gold": raw["group"].astype(str),
            "scored": np.ones(len(raw), dtype=bool),
            "category": raw["group"].astype(str),
        }
    )


def class_samples(df: pd.DataFrame, size: int | None, seeds: list[int] | tuple[int, ...]):
    """Yield ``(question, seed, sub_df)`` samples of ``size`` non-blank rows per question.

    Args:
        df: a loader's DataFrame.
        size: rows per sample; ``None`` for the whole question (yielded once, seed -1).
        seeds: seeds for the samples (one sample per seed per question).

    Questions with fewer than ``size`` rows are yielded whole, once.
    """
    df = df[df["text"].str.strip() != ""]
    for question in sorted(df["question"].unique()):
        sub = df[df["question"] == question]
        if size is None or len(sub) <= size:
            yield question, -1, sub
            continue
        for seed in seeds:
            yield question, seed, sub.sample(n=size, random_state=seed)


def cached_embeddings(texts: list[str], tag: str) -> np.ndarray:
    """MiniLM embeddings of ``texts`` (float32, (n, 384)), cached as .npy under ``EMB_CACHE`` by hash."""
    h = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    EMB_CACHE.mkdir(parents=True, exist_ok=True)
    path = EMB_CACHE / f"{tag}-{h}.npy"
    if path.exists():
        return np.load(path)
    from feedback_assistant.embedding import MiniLMEmbedder

    emb = MiniLMEmbedder(cache=False).encode(texts)
    np.save(path, emb)
    return emb


def with_embeddings(df: pd.DataFrame, tag: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The DataFrame (index reset) and the embeddings of its texts, one row each."""
    df = df.reset_index(drop=True)
    return df, cached_embeddings(df["text"].tolist(), tag)
