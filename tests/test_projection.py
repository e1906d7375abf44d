from __future__ import annotations

import numpy as np
import pytest

from feedback_assistant.projection import project_2d


def test_separated_blobs_stay_separated_on_the_plane():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.05, (20, 16)) + np.eye(16)[0] * 3
    b = rng.normal(0, 0.05, (20, 16)) - np.eye(16)[0] * 3
    xy = project_2d(np.vstack([a, b]))
    assert xy.shape == (40, 2)
    gap = np.linalg.norm(xy[:20].mean(0) - xy[20:].mean(0))
    spread = max(xy[:20].std(0).max(), xy[20:].std(0).max())
    assert gap > 10 * spread


def test_reordering_rows_only_reorders_points():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 8))
    order = rng.permutation(30)
    np.testing.assert_allclose(project_2d(x)[order], project_2d(x[order]), atol=1e-9)


def test_sign_does_not_depend_on_a_flip_of_the_input():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(12, 5))
    np.testing.assert_allclose(project_2d(-x), -project_2d(x), atol=1e-9)  # the picture mirrors, exactly
    np.testing.assert_allclose(project_2d(x), project_2d(x.copy()), atol=1e-12)


def test_sign_does_not_depend_on_the_solvers_sign_choice(monkeypatch):
    """A solver may return either sign for a component; the picture must not change with it."""
    import sklearn.decomposition as decomposition

    rng = np.random.default_rng(3)
    x = rng.normal(size=(12, 5)) * np.array([10.0, 1.0, 0.5, 0.2, 0.1])
    expected = project_2d(x)
    # the convention: each axis's largest loading is positive, so the row furthest along +e1 is on the right
    assert expected[np.argmax(x[:, 0] - x[:, 0].mean()), 0] > 0

    class FlippedPCA(decomposition.PCA):
        def fit(self, X, y=None):
            super().fit(X, y)
            self.components_ = -self.components_
            return self

    monkeypatch.setattr(decomposition, "PCA", FlippedPCA)
    np.testing.assert_allclose(project_2d(x), expected, atol=1e-9)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_inputs_give_finite_points(n):
    xy = project_2d(np.ones((n, 4)) * np.arange(n)[:, None])
    assert xy.shape == (n, 2)
    assert np.isfinite(xy).all()
    if n == 2:
        assert xy[0, 0] != xy[1, 0] and (xy[:, 1] == 0).all()


def test_identical_vectors_sit_at_the_origin():
    assert (project_2d(np.ones((5, 3))) == 0).all()


def test_rejects_a_flat_array():
    with pytest.raises(ValueError, match="2-D array of shape"):
        project_2d(np.ones(5))
