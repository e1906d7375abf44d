"""Shared fixtures: a fast fake embedder, the real model (session-scoped), and a guard against network use."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_responses"
DATASETS = REPO.parent / "shared" / "datasets"

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


class FakeEmbedder:
    """Deterministic bag-of-words + character-trigram hashing embedder (dim 64): fast, no model.

    Texts that share words land near each other, which is all the mechanics tests need.
    """

    name = "fake-hash-64"

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.calls: list[list[str]] = []

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        low = " ".join(str(text).lower().split())
        feats = low.split() + [low[i : i + 3] for i in range(max(len(low) - 2, 0))]
        for f in feats:
            h = int.from_bytes(hashlib.md5(f.encode()).digest()[:4], "little")
            v[h % self.dim] += 1.0 if (h >> 31) & 1 else -1.0
        n = np.linalg.norm(v)
        if n == 0:
            v[0] = 1.0
            n = 1.0
        return v / n

    def encode(self, texts, progress=None):
        self.calls.append(list(texts))
        if progress:
            progress(len(texts), len(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._vec(t) for t in texts])


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder(tmp_path_factory):
    """The bundled MiniLM model, loaded once, with a cache in a temporary folder."""
    from feedback_assistant.embedding import EmbeddingCache, MiniLMEmbedder

    return MiniLMEmbedder(cache=EmbeddingCache(tmp_path_factory.mktemp("emb-cache")))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Each test gets its own data folder, so no test reads or writes the teacher's real store or cache."""
    monkeypatch.setenv("FEEDBACK_ASSISTANT_HOME", str(tmp_path / "fa-home"))


def _is_loopback(address) -> bool:
    if isinstance(address, (str, bytes)) and not isinstance(address, tuple):
        return True  # AF_UNIX path
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NetworkUseError(AssertionError):
    pass


@pytest.fixture(autouse=True, scope="session")
def _no_network():
    """Fail any socket connection outside loopback for the whole suite: student text never leaves the machine."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise NetworkUseError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    def guarded_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise NetworkUseError(f"test tried to reach the network: {address!r}")
        return real_connect_ex(self, address)

    socket.socket.connect = guarded
    socket.socket.connect_ex = guarded_ex
    yield
    socket.socket.connect = real_connect
    socket.socket.connect_ex = real_connect_ex
