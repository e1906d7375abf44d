"""Clustering mechanics on synthetic data: shapes, small and degenerate inputs, determinism, order invariance,
answers splitting groups, and a large question. Quality on real data lives in
benchmarks/cluster_quality.py."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from feedback_assistant.clustering import MisconceptionClusterer
from feedback_assistant.records import UNGROUPED, Clusterer, Clustering

# Three "misconceptions", each with its own vocabulary, written several ways.
THEMES = {
    "added": ["added", "tops", "bottoms", "together", "sum", "numerators", "plus"],
    "flip": ["flipped", "reciprocal", "multiplied", "inverted", "upside", "across", "times"],
    "common": ["common", "denominator", "lowest", "multiple", "twelfths", "equivalent", "converted"],
}


def _class(n_per: int = 8, seed: int = 0):
    """n_per responses per theme, each a short sentence of 3 of the theme's words; gold theme ids."""
    rng = np.random.default_rng(seed)
    texts, gold = [], []
    for g, words in enumerate(THEMES.values()):
        for _ in range(n_per):
            w = rng.choice(words, size=3, replace=False)
            texts.append(f"I {w[0]} the {w[1]} and the {w[2]}")
            gold.append(g)
    return texts, np.array(gold)


def _code(i: int) -> str:
    """A short letters-only tag, unique per i (no digits: numbers are features)."""
    letters = "bcdfghjklmnpqrstvwxz"
    out = ""
    while True:
        out += letters[i % 20]
        i //= 20
        if i == 0:
            return out


def _blobs(n: int, centers: int = 4, dim: int = 32, seed: int = 0):
    """make_blobs embeddings (rows normalised) with unique, uninformative texts; gold blob ids."""
    x, y = make_blobs(n_samples=n, centers=centers, n_features=dim, cluster_std=1.0, random_state=seed)
    x = x.astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    texts = [f"response {_code(i)}" for i in range(n)]
    return texts, x, y


def test_implements_protocol_and_shapes(fake_embedder):
    texts, _ = _class()
    out = MisconceptionClusterer().cluster(texts, fake_embedder.encode(texts))
    assert isinstance(MisconceptionClusterer(), Clusterer)
    assert isinstance(out, Clustering)
    assert out.labels.shape == (len(texts),) and out.confidence.shape == (len(texts),)
    assert np.issubdtype(out.labels.dtype, np.integer)
    assert ((out.labels >= 0) | (out.labels == UNGROUPED)).all()
    assert ((out.confidence >= 0) & (out.confidence <= 1)).all()
    assert (out.confidence[out.labels == UNGROUPED] == 0).all()


def test_groups_numbered_by_decreasing_size(fake_embedder):
    texts, _ = _class()
    texts = texts + ["I added the tops and the bottoms"] * 6
    labels = MisconceptionClusterer().cluster(texts, fake_embedder.encode(texts)).labels
    ids = sorted(set(labels.tolist()) - {UNGROUPED})
    assert ids == list(range(len(ids)))
    sizes = [int((labels == g).sum()) for g in ids]
    assert sizes == sorted(sizes, reverse=True)


def test_recovers_themes(fake_embedder):
    texts, gold = _class()
    labels = MisconceptionClusterer().cluster(texts, fake_embedder.encode(texts)).labels
    assert adjusted_rand_score(gold, labels) > 0.5


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_classes(fake_embedder, n):
    texts = ["add the tops", "flip and multiply", "common denominator"][:n]
    out = MisconceptionClusterer().cluster(texts, fake_embedder.encode(texts))
    assert out.labels.shape == (n,)
    assert (out.labels != UNGROUPED).any()


def test_empty_input():
    out = MisconceptionClusterer().cluster([], np.zeros((0, 8), dtype=np.float32))
    assert out.labels.shape == (0,) and out.confidence.shape == (0,)


def test_identical_responses_form_one_group(fake_embedder):
    texts = ["I added the tops and the bottoms"] * 12
    out = MisconceptionClusterer().cluster(texts, fake_embedder.encode(texts))
    assert (out.labels == 0).all()
    assert (out.confidence > 0).all()


def test_same_text_same_group(fake_embedder):
    texts, _ = _class()
    texts = texts + texts[:5]
    labels = MisconceptionClusterer().cluster(texts, fake_embedder.encode(texts)).labels
    for i in range(5):
        assert labels[i] == labels[len(texts) - 5 + i]


def test_deterministic(fake_embedder):
    texts, _ = _class()
    emb = fake_embedder.encode(texts)
    a = MisconceptionClusterer().cluster(texts, emb)
    b = MisconceptionClusterer().cluster(texts, emb)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(a.confidence, b.confidence)


@pytest.mark.parametrize("with_answers", [False, True])
def test_row_order_does_not_change_groups(fake_embedder, with_answers):
    texts, gold = _class(n_per=10)
    answers = [["3/7", "1/2", "5/12"][g] for g in gold] if with_answers else None
    emb = fake_embedder.encode(texts)
    base = MisconceptionClusterer().cluster(texts, emb, answers=answers)
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(len(texts))
        shuffled = MisconceptionClusterer().cluster(
            [texts[i] for i in perm], emb[perm], answers=[answers[i] for i in perm] if answers else None
        )
        np.testing.assert_array_equal(shuffled.labels, base.labels[perm])
        np.testing.assert_allclose(shuffled.confidence, base.confidence[perm], atol=1e-9)


def test_answers_split_groups(fake_embedder):
    # the same words, but two different chosen answers: the answer separates them
    texts = ["I added the tops and the bottoms"] * 10 + ["I added the tops and the bottoms"] * 10
    answers = ["3/7"] * 10 + ["5/12"] * 10
    labels = MisconceptionClusterer().cluster(texts, fake_embedder.encode(texts), answers=answers).labels
    assert len(set(labels[:10].tolist())) == 1 and len(set(labels[10:].tolist())) == 1
    assert labels[0] != labels[10]


def test_mismatched_answers_raise(fake_embedder):
    texts, _ = _class()
    with pytest.raises(ValueError, match="one answer per response"):
        MisconceptionClusterer().cluster(texts, fake_embedder.encode(texts), answers=["1"])


def test_blobs_mostly_grouped():
    texts, x, y = _blobs(120)
    out = MisconceptionClusterer().cluster(texts, x)
    assert (out.labels == UNGROUPED).mean() <= 0.1
    assert adjusted_rand_score(y, out.labels) > 0.8


@pytest.mark.parametrize("max_exact", [5000, 1000])  # all-pairs path, and k-means micro-clusters path
def test_large_question_runs(max_exact):
    texts, x, y = _blobs(5000, centers=6, dim=48, seed=1)
    out = MisconceptionClusterer(max_exact=max_exact).cluster(texts, x)
    assert out.labels.shape == (5000,)
    assert (out.labels == UNGROUPED).mean() <= 0.1
    assert adjusted_rand_score(y, out.labels) > 0.8


def test_unrelated_response_is_ungrouped_but_themes_are_not(fake_embedder):
    texts, _ = _class()
    texts = texts + ["zzqx wvvk pplm"]
    out = MisconceptionClusterer().cluster(texts, fake_embedder.encode(texts))
    assert out.labels[-1] == UNGROUPED
    assert out.confidence[-1] == 0
    assert (out.labels[:-1] != UNGROUPED).mean() >= 0.9


def test_ungrouped_share_is_capped(fake_embedder):
    texts = [f"qq{i}x zz{i}y ww{i}k" for i in range(20)]  # twenty responses sharing nothing
    out = MisconceptionClusterer(max_ungrouped=0.1).cluster(texts, fake_embedder.encode(texts))
    assert (out.labels == UNGROUPED).mean() <= 0.1


def test_a_key_never_changes_the_groups(fake_embedder):
    texts, gold = _class()
    answers = [["3/7", "1/2", "5/12"][g] for g in gold]
    emb = fake_embedder.encode(texts)
    out = MisconceptionClusterer().cluster(texts, emb, answers=answers, key="\\( \\frac{5}{12} \\)")
    no_key = MisconceptionClusterer().cluster(texts, emb, answers=answers)
    np.testing.assert_array_equal(no_key.labels, out.labels)
    np.testing.assert_array_equal(no_key.confidence, out.confidence)


def test_missing_answers_are_grouped_by_text(fake_embedder):
    texts, gold = _class()
    answers = [None if i % 4 == 0 else ["3/7", "1/2", "5/12"][g] for i, g in enumerate(gold)]
    out = MisconceptionClusterer().cluster(texts, fake_embedder.encode(texts), answers=answers)
    assert out.labels.shape == (len(texts),)
    chosen = [i for i, a in enumerate(answers) if a is not None]
    for i in chosen:
        for j in chosen:
            if answers[i] != answers[j]:
                assert out.labels[i] != out.labels[j] or out.labels[i] == UNGROUPED


def test_number_tokens_read_words_fractions_and_out_of():
    from feedback_assistant.features import number_tokens

    assert number_tokens(r"three out of nine, so \( \frac{1}{3} \)") == ["3/9", "1/3"]
    assert number_tokens("I added 0.50 and 2") == ["0.5", "2"]
    assert number_tokens("no numbers here") == []


def test_reasoning_features_separate_different_numbers(fake_embedder):
    from feedback_assistant.features import reasoning_features

    texts = [
        "3 out of 9 are not shaded",
        "3 out of 9 are not shaded at all",
        "3 out of 6 are not shaded",
        "3 out of 6 are not shaded at all",
    ]
    x = reasoning_features(texts, fake_embedder.encode(texts))
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0)
    sims = x @ x.T
    assert sims[0, 1] > sims[0, 2] and sims[2, 3] > sims[1, 3]


def test_adaptive_word_weight_rises_for_prose():
    from feedback_assistant.features import adaptive_word_weight

    assert adaptive_word_weight(1.0) < adaptive_word_weight(0.5) < adaptive_word_weight(0.0)


def test_tiny_groups_in_a_large_question_are_dissolved(fake_embedder):
    texts, _ = _class(n_per=60)
    texts = texts + [f"I rounded the decimal {w}" for w in ("upward", "downward", "sideways", "backward")]
    emb = fake_embedder.encode(texts)
    kept = MisconceptionClusterer(min_group_share=0.0).cluster(texts, emb).labels
    tiny = kept[-4:]
    assert len(set(tiny.tolist())) == 1 and tiny[0] != UNGROUPED and (kept == tiny[0]).sum() == 4
    labels = MisconceptionClusterer(min_group_share=0.03).cluster(texts, emb).labels
    assert all(lab == UNGROUPED or (labels == lab).sum() > 4 for lab in labels[-4:])
