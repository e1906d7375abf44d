"""Features that carry a student's reasoning, for grouping responses by misconception.

Generic sentence embeddings place "3 out of 9 are not shaded" and "3 out of 6 are not shaded" side by side:
the wording is the same, the misconception is not. The numbers a student uses (and the last one, usually the
answer they arrived at) carry much of the reasoning in short maths explanations, and the content words
(operations named, "flip", "tops", "denominator") carry the rest. The feature matrix is three row-normalised
blocks side by side:

- numbers: which number tokens (integers, decimals, fractions, mixed numbers; number words become digits) a
  response uses, the last one weighted up, IDF-weighted within the class (a number every response uses weighs
  0). The block is weighted by the share of responses that use any number, so it fades away on prose.
- words: TF-IDF of lightly stemmed content words of any script (3+ letters, stop words removed; see
  ``text.tokens``), fitted on the class
  (a word every response uses weighs 0). Weighted up as the share of responses using numbers goes down.
- semantics: the sentence embedding.

Everything is fitted on the texts given, in the order given: pass unique texts in a canonical order for
results that do not depend on row order.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

from .answers import _ANSWER_TOKEN, _INLINE_WORD_NUMBER, _UNITS, normalise_answer
from .text import OTHER_STOP_WORDS, for_analysis, is_no_space, stem, tokens


def content_words(text: str) -> list[str]:
    """Stemmed content words of a normalised text, in any script: words of 3+ letters (Chinese and Japanese
    character bigrams) that are not English (or other known languages') stop words."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = (part for t in tokens(text) for part in t.split("'"))  # "earth's" -> "earth", "s"
    return [
        stem(w)
        for w in words
        if w[:1].isalpha()
        and (len(w) >= 3 or is_no_space(w))
        and w not in ENGLISH_STOP_WORDS
        and w not in OTHER_STOP_WORDS
    ]


def number_tokens(text: str) -> list[str]:
    """Number tokens of a text in order, normalised ("three" -> "3", "\\frac{1}{3}" -> "1/3", "0.50" -> "0.5",
    "3 out of 9" -> "3/9")."""
    s = normalise_answer(for_analysis(text))
    s = _INLINE_WORD_NUMBER.sub(lambda m: str(_UNITS[m.group(1)]), s)
    s = re.sub(r"(?<=\d)\s*(?:out of|over)\s*(?=\d)", "/", s)
    return _ANSWER_TOKEN.findall(s)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` (shape (n, d)) scaled to unit length; all-zero rows stay zero."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def number_block(texts: list[str], last_weight: float = 3.0) -> sparse.csr_matrix:
    """IDF-weighted number-token indicators, the last number weighted ``last_weight`` times.

    Args:
        texts: n texts.
        last_weight: weight of the last number a response uses, relative to its other numbers.

    Returns:
        sparse matrix of shape (n, v), rows L2-normalised; all-zero rows for responses without numbers.
    """
    from scipy import sparse
    from sklearn.preprocessing import normalize

    docs = [number_tokens(t) for t in texts]
    vocab = sorted({w for d in docs for w in d})
    index = {w: i for i, w in enumerate(vocab)}
    rows, cols, vals = [], [], []
    for r, d in enumerate(docs):
        for w in sorted(set(d)):
            rows.append(r)
            cols.append(index[w])
            vals.append(last_weight if w == d[-1] else 1.0)
    x = sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), max(len(vocab), 1)))
    df = np.bincount(cols, minlength=x.shape[1])
    x = x @ sparse.diags(np.log((1 + len(texts)) / (1 + df)))  # a number everyone uses tells nothing
    return normalize(sparse.csr_matrix(x))


def word_block(texts: list[str], max_features: int = 5000) -> sparse.csr_matrix:
    """TF-IDF of stemmed content words (sublinear tf, English stop words removed), fitted on ``texts``.

    Returns:
        sparse matrix of shape (n, v), rows L2-normalised; all-zero rows for responses without content words.
    """
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    docs = [normalise_answer(for_analysis(t)) for t in texts]
    vectoriser = TfidfVectorizer(analyzer=content_words, sublinear_tf=True, max_features=max_features, norm=None)
    try:
        x = vectoriser.fit_transform(docs)
    except ValueError:  # no content word anywhere
        return sparse.csr_matrix((len(texts), 1))
    idf = vectoriser.idf_
    # idf - 1: a word every response uses tells nothing (weight 0) instead of weight 1
    return normalize(sparse.csr_matrix(x @ sparse.diags((idf - 1) / idf)))


def adaptive_word_weight(number_share: float) -> float:
    """Weight of the words block when numbers are used by ``number_share`` of the responses: 0.25 when every
    response uses numbers (they carry the reasoning), rising to 1.0 for prose answers without numbers."""
    return 0.25 + 0.75 * (1.0 - number_share)


def reasoning_features(
    texts: list[str],
    embeddings: np.ndarray,
    number_weight: float = 1.0,
    word_weight: float | None = None,
    semantic_weight: float = 0.5,
    dense: bool = True,
):
    """The combined feature matrix (numbers | words | semantics), rows L2-normalised.

    Args:
        texts: n texts (unique, in a canonical order, for order-invariant results).
        embeddings: shape (n, dim), the sentence embeddings of ``texts``.
        number_weight: weight of the numbers block, further scaled by the share of texts that use numbers.
        word_weight: weight of the content-words block; None for ``adaptive_word_weight`` of the share of
            texts that use numbers.
        semantic_weight: weight of the embedding block.
        dense: return a numpy array (True) or a scipy sparse CSR matrix (False, for large n).

    Returns:
        matrix of shape (n, v_numbers + v_words + dim), rows L2-normalised.
    """
    from scipy import sparse
    from sklearn.preprocessing import normalize

    emb = unit_rows(np.asarray(embeddings, dtype=np.float64))
    if not semantic_weight:
        semantic_weight = 1e-6  # keeps rows non-zero: texts without numbers or words fall back on semantics
    nums = number_block(texts)
    share = float((nums.getnnz(axis=1) > 0).mean())
    if word_weight is None:
        word_weight = adaptive_word_weight(share)
    blocks = []
    if number_weight:
        blocks.append(number_weight * share * nums)
    if word_weight:
        blocks.append(word_weight * word_block(texts))
    blocks.append(sparse.csr_matrix(semantic_weight * emb))
    x = normalize(sparse.hstack(blocks, format="csr"))
    return x.toarray() if dense else x
