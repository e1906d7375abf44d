"""Opening the history database: where it is, its engine, a missing driver, and a damaged SQLite file.

``Store`` (``storage.py``) calls these before anything else. A damaged SQLite history (empty, truncated, not a
database, a page that fails SQLite's own check) is never silently replaced nor written into: the file (and its
``-wal``/``-shm`` companions) is renamed aside to ``<name>.damaged-<UTC time>`` and a ``StorageError`` says so
and what to do; the next run starts a new, empty history beside it.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from .records import FeedbackAssistantError

BUSY_TIMEOUT_S = 30
SQLITE_HEADER = b"SQLite format 3\x00"
NEW_FILE_GRACE_S = 5.0  # a 0-byte file younger than this may be another process creating the history
_DRIVERS = {"psycopg2": "psycopg2-binary", "psycopg": "psycopg[binary]", "pymysql": "pymysql"}


class StorageError(FeedbackAssistantError):
    """The history database cannot be opened or written."""


class DamagedHistoryError(StorageError):
    """The SQLite history file is damaged; it was moved aside (``kept_as``) and left untouched."""

    def __init__(self, message: str, kept_as: Path | None = None):
        super().__init__(message)
        self.kept_as = kept_as


def default_url() -> str:
    """The SQLite file used when no URL is given (``FEEDBACK_ASSISTANT_DB`` overrides it)."""
    home = os.environ.get("FEEDBACK_ASSISTANT_HOME")
    folder = Path(home) if home else Path.home() / ".feedback_assistant"
    return f"sqlite:///{(folder / 'feedback.sqlite').expanduser().resolve()}"


def resolve_url(url: str | None = None) -> str:
    """Turn ``url`` (a URL, a file path or None) into a SQLAlchemy URL, creating the SQLite folder."""
    url = url or os.environ.get("FEEDBACK_ASSISTANT_DB") or default_url()
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    for bare in ("postgres://", "postgresql://"):  # no driver named: the one the project installs (psycopg2),
        if url.startswith(bare):  # not SQLAlchemy's default (psycopg 3 since SQLAlchemy 2.1)
            url = "postgresql+psycopg2://" + url[len(bare) :]
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, None for an in-memory database or another server."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def display_url(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for display
        return "(the database)"


# ----------------------------------------------------------------------------------------------- damage


def file_damage(path: Path) -> str | None:
    """Why the SQLite file at ``path`` cannot be a sound history (None when it looks sound or is absent).

    Reads only the file's header; ``PRAGMA quick_check`` after opening catches damage inside.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        deadline = time.monotonic() + 2.0
        while time.time() - path.stat().st_mtime < NEW_FILE_GRACE_S and time.monotonic() < deadline:
            time.sleep(0.1)  # another process may be creating the history right now
            if path.stat().st_size:
                return file_damage(path)
        if path.stat().st_size == 0 and time.time() - path.stat().st_mtime >= NEW_FILE_GRACE_S:
            return "the file is empty (0 bytes)"
        return None
    with path.open("rb") as f:
        header = f.read(100)
    if not header.startswith(SQLITE_HEADER):
        return "it is not a SQLite database file"
    if len(header) < 100:
        return "the file is cut short"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid_count = header[24:28] == header[92:96]  # the page count is only kept when these agree
    if page_size < 512 or page_size & (page_size - 1):
        return "its header is damaged"
    wal = path.with_name(path.name + "-wal")
    if valid_count and pages and size < pages * page_size and not (wal.exists() and wal.stat().st_size):
        return f"the file is cut short ({size} of {pages * page_size} bytes)"
    return None


def move_aside(path: Path, reason: str) -> DamagedHistoryError:
    """Rename the damaged file (and its -wal/-shm) aside and return the error that tells the teacher."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    kept = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while kept.exists():
        n += 1
        kept = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("-wal", "-shm", ""):
        src = path.with_name(path.name + suffix)
        if src.exists():
            os.replace(src, kept.with_name(kept.name + suffix))
    return DamagedHistoryError(
        f"the history file {path} is damaged ({reason}). It was moved aside to {kept.name} in the same folder; "
        "nothing in it was deleted or written. Run again to start a new, empty history; to get the old "
        f"classes back, ask your IT support to recover {kept.name} (sqlite3 '.recover').",
        kept_as=kept,
    )


def is_damage(exc: BaseException) -> bool:
    """True when a database error means the SQLite file is damaged (not merely busy)."""
    text = str(getattr(exc, "orig", exc)).lower()
    return any(s in text for s in ("malformed", "not a database", "file is encrypted", "disk image"))


# ----------------------------------------------------------------------------------------------- engine


def _enable_wal(cur) -> None:
    """Switch the SQLite file to write-ahead logging (kept in the file), waiting while another process holds it.

    Changing the journal mode needs the file to itself and SQLite does not wait for it (busy_timeout does not
    apply), so two programs opening a new history file at once would fail with "database is locked": retry.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def make_engine(url: str) -> sa.Engine:
    """The SQLAlchemy engine: SQLite in WAL mode with FULL sync, secure_delete and BEGIN IMMEDIATE writers.

    Raises:
        StorageError: the database's Python driver is not installed (the message names the package).
    """
    parsed = sa.engine.make_url(url)
    try:
        if parsed.get_backend_name() != "sqlite":
            return sa.create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        module = parsed.get_driver_name() or (getattr(exc, "name", None) or "").split(".")[0]
        package = _DRIVERS.get(module, module or "the database driver")
        raise StorageError(
            f"opening {display_url(url)} needs the Python package {package!r}, which is not installed. "
            f"Install it with: pip install {package} (in the app's environment: .venv/bin/pip install {package})."
        ) from exc
    kwargs: dict = {"connect_args": {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}}
    if parsed.database in (None, "", ":memory:"):
        kwargs["poolclass"] = sa.pool.StaticPool
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised on every SQLite connection
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        _enable_wal(cur)
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA secure_delete = ON")  # deleted student text is overwritten, not left in free pages
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised on every SQLite transaction
        # Writers take the lock up front, so a read-then-write never fails half-way on a busy database.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("fa_read") else "BEGIN IMMEDIATE")

    return engine
