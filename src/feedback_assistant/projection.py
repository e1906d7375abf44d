"""A 2-D picture of the responses: each response's embedding projected onto a plane for the response map.

Deterministic (PCA with a fixed sign convention), so the same responses always land in the same places, and
reordering the rows only reorders the points.
"""

from __future__ import annotations

import numpy as np


def project_2d(vectors: np.ndarray) -> np.ndarray:
    """Project embeddings onto their first two principal components.

    Works for any number of rows: no rows gives shape (0, 2), one row sits at the origin, two rows lie on the
    x-axis, and when the vectors span fewer than two directions the missing coordinate is 0.

    Args:
        vectors: shape (n, d) embeddings (any float dtype).

    Returns:
        float64 array of shape (n, 2); columns are centred. Each axis's sign is fixed so that its largest
        absolute loading is positive, which makes the picture independent of the SVD solver's sign choice.

    Raises:
        ValueError: when ``vectors`` is not two-dimensional.
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"project_2d needs a 2-D array of shape (n, d); got shape {x.shape}.")
    n, d = x.shape
    out = np.zeros((n, 2), dtype=np.float64)
    if n < 2 or d == 0:
        return out
    centred = x - x.mean(axis=0, keepdims=True)
    if not np.any(np.abs(centred) > 1e-12):
        return out
    from sklearn.decomposition import PCA

    k = min(2, n - 1, d)
    pca = PCA(n_components=k, svd_solver="full").fit(centred)
    coords = pca.transform(centred)
    for j in range(k):
        loading = pca.components_[j]
        if loading[np.argmax(np.abs(loading))] < 0:
            coords[:, j] = -coords[:, j]
    out[:, :k] = coords
    return out
