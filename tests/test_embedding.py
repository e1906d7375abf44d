"""The local embedder: offline loading, de-duplication, on-disk cache, progress."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from feedback_assistant.embedding import EmbeddingCache, MiniLMEmbedder, normalise_text


def test_normalise_text_folds_white_space():
    assert normalise_text("  1/3  because\n3 of 9 ") == "1/3 because 3 of 9"


def test_cache_round_trip(tmp_path):
    cache = EmbeddingCache(tmp_path)
    v = np.arange(4, dtype=np.float32)
    cache.put_many("m", {"a": v})
    got = cache.get_many("m", ["a", "b"])
    assert list(got) == ["a"]
    np.testing.assert_array_equal(got["a"], v)
    assert cache.get_many("other-model", ["a"]) == {}


class _CountingModel:
    def __init__(self):
        self.seen: list[str] = []

    def encode(self, batch, **_):
        self.seen.extend(batch)
        out = np.array([[len(t), 1.0] for t in batch], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_identical_responses_are_embedded_once_and_cached(tmp_path, monkeypatch):
    model = _CountingModel()
    monkeypatch.setattr("feedback_assistant.embedding.load_model", lambda path=None, dtype="float32": model)
    emb = MiniLMEmbedder(cache=EmbeddingCache(tmp_path), batch_size=2)
    calls = []
    out = emb.encode(["1/3", " 1/3 ", "3/9", "1/3"], progress=lambda d, t: calls.append((d, t)))
    assert out.shape == (4, 2)
    assert model.seen == ["1/3", "3/9"]
    np.testing.assert_array_equal(out[0], out[1])
    assert calls[0] == (0, 2) and calls[-1] == (2, 2)
    # A second run on the same texts reads the cache and never calls the model.
    model.seen.clear()
    again = MiniLMEmbedder(cache=EmbeddingCache(tmp_path)).encode(["3/9", "1/3"])
    assert model.seen == []
    np.testing.assert_array_equal(again[1], out[0])


def test_empty_input_gives_empty_matrix(tmp_path):
    assert MiniLMEmbedder(cache=EmbeddingCache(tmp_path)).encode([]).shape == (0, 384)


def test_network_guard_refuses_outside_connections():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(AssertionError, match="network"):
            s.connect(("192.0.2.1", 80))
    finally:
        s.close()


@pytest.mark.model
def test_real_model_loads_offline_and_groups_meaning(real_embedder, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    v = real_embedder.encode(["I added the tops and the bottoms", "add numerators and denominators", "the sun is hot"])
    assert v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_bf16_vectors_are_cached_apart_from_float32(tmp_path, monkeypatch):
    from feedback_assistant.embedding import MODEL_NAME

    monkeypatch.setenv("FEEDBACK_ASSISTANT_EMBED_DTYPE", "bfloat16")
    assert MiniLMEmbedder(cache=False).name == f"{MODEL_NAME}/bfloat16"
    monkeypatch.setenv("FEEDBACK_ASSISTANT_EMBED_DTYPE", "float32")
    assert MiniLMEmbedder(cache=False).name == MODEL_NAME


@pytest.mark.model
def test_bf16_model_agrees_with_float32(tmp_path):
    texts = ["I added the tops and the bottoms", "6/9 because 6 parts are shaded"]
    a = MiniLMEmbedder(cache=False, dtype="float32").encode(texts)
    b = MiniLMEmbedder(cache=False, dtype="bfloat16").encode(texts)
    assert (a * b).sum(axis=1).min() > 0.99


def test_a_garbage_cache_is_rebuilt_and_the_command_line_says_so(tmp_path, monkeypatch, capsys):
    """A damaged cache holds nothing that cannot be recomputed: rebuilt, and the teacher is told in one line."""
    from conftest import SAMPLES

    from feedback_assistant import cli
    from feedback_assistant.embedding import CACHE_REBUILT_NOTICE, take_notices

    take_notices()  # nothing left over from another test
    model = _CountingModel()
    monkeypatch.setattr("feedback_assistant.embedding.load_model", lambda path=None, dtype="float32": model)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "embeddings.sqlite").write_bytes(b"this is not a database, just garbage" * 100)
    emb = MiniLMEmbedder(cache=EmbeddingCache(tmp_path / "cache"))
    argv = ["analyze", str(SAMPLES / "grade5_fractions.csv"), "--out", str(tmp_path / "out"), "--no-save"]
    assert cli.main(argv, embedder=emb) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if CACHE_REBUILT_NOTICE in line]
    assert notes == [f"Note: {CACHE_REBUILT_NOTICE}"]
    assert EmbeddingCache(tmp_path / "cache").get_many(emb.name, [normalise_text(model.seen[0])])  # works again
    again = ["analyze", str(SAMPLES / "grade5_fractions.csv"), "--out", str(tmp_path / "again"), "--no-save"]
    assert cli.main(again, embedder=emb) == 0
    assert CACHE_REBUILT_NOTICE not in capsys.readouterr().out  # said once, not on every run
