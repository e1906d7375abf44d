"""Output folders that are written whole or not at all.

``analyze --out`` and ``compare --out`` write several files. Written one by one into the target, a full disk or
a read-only folder left a mix: this class's responses.csv, a groups.csv cut short, the previous class's plan.
Here every file is first written into a staging folder beside the target (same disk, so moving is a rename),
and moved into place only once all of them are complete:

* a target that does not exist yet is the staging folder, renamed (one step);
* an existing target gets each new file by ``os.replace`` (a rename that writes no data, so it cannot run out
  of space); files of the teacher's own in that folder are left alone.

Before anything is written, ``check_target`` refuses a target that is a file, a folder that cannot be written,
and any output that would land on an input file (``--out`` = the folder holding ``responses.csv``). Every
failure is an ``OutputError`` with one line saying what happened, that the folder was left as it was, and what
to do.

Example::

    with output_folder(out, names=OUTPUT_FILES.values(), inputs=[input_path]) as staging:
        write_outputs(analysis, staging)
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .records import OutputError

STAGING_PREFIX = ".feedback-assistant-partial-"
"""Name prefix of the staging folder made beside the target (removed afterwards, also on failure)."""


def check_target(target: str | Path, *, names: Iterable[str] = (), inputs: Iterable[str | Path] = ()) -> Path:
    """Refuse an output folder that cannot be used, before any work is done.

    Args:
        target: the folder the files go to (created if missing).
        names: the file names that will be written there.
        inputs: files that must never be written over (the ticket the teacher gave).

    Returns:
        the target as a ``Path``.

    Raises:
        OutputError: the target is a file, is not writable, or an output would replace an input.
    """
    if not str(target).strip() or "\x00" in str(target):
        raise OutputError("--out is empty or not a usable folder name — give the name of a folder for the results.")
    out = Path(target).expanduser()
    if out.exists() and not out.is_dir():
        raise OutputError(
            f"--out '{out}' is a file, not a folder — give the name of a folder for the results "
            "(it is created if it does not exist)."
        )
    for source in inputs:
        src = Path(source).expanduser()
        for name in names:
            if _same_file(out / name, src):
                raise OutputError(
                    f"--out '{out}' would write {name} over your input file '{src.name}' — choose another "
                    "folder for the results (for example a new folder named results)."
                )
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(
            f"--out '{out}' cannot be made: '{existing}' is a file, not a folder — choose another folder."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(
            f"--out '{out}' cannot be written (permission denied or read-only) — nothing was written; "
            "choose a folder you can write to, for example one in your Documents."
        )
    return out


@contextmanager
def output_folder(
    target: str | Path, *, names: Iterable[str] = (), inputs: Iterable[str | Path] = ()
) -> Iterator[Path]:
    """A staging folder to write every output into; moved into ``target`` when the block ends without error.

    Args:
        target: the folder the files go to (created if missing, with its parents).
        names: the file names that will be written (checked against ``inputs``).
        inputs: files that must never be written over.

    Yields:
        the staging folder (empty, on the same disk as ``target``).

    Raises:
        OutputError: the target cannot be used, or writing failed (disk full, permission, ...); the target is
            then left as it was and the message says so.
    """
    inputs = list(inputs)
    out = check_target(target, names=names, inputs=inputs)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        beside = out.resolve().parent  # a symlinked --out: stage on the disk the folder is really on
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=beside))
    except OSError as exc:
        raise OutputError(_describe(exc, out, started=False)) from exc
    try:
        yield staging
        check_target(out, names=[p.name for p in staging.iterdir()], inputs=inputs)
        _move_into_place(staging, out)
    except OSError as exc:
        raise OutputError(_describe(exc, out, started=True)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_into_place(staging: Path, out: Path) -> None:
    """Every staged file into ``out``: by renaming the staging folder, or file by file with ``os.replace``."""
    written = sorted(staging.iterdir())
    if not out.exists():
        os.rename(staging, out)  # one step: the folder appears whole
        return
    for path in written:
        dest = out / path.name
        if dest.is_dir():
            raise IsADirectoryError(errno.EISDIR, "a folder has the name of an output file", str(dest))
    for path in written:
        os.replace(path, out / path.name)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _describe(exc: OSError, out: Path, *, started: bool) -> str:
    kept = (
        f"nothing in '{out}' was changed (the previous results there are as they were)"
        if started and out.exists()
        else "nothing was written"
    )
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"the disk holding '{out}' is full, so the results were not written; {kept} — free some space or "
            "choose another folder with --out."
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"'{out}' cannot be written (permission denied or read-only); {kept} — choose a folder you can write "
            "to with --out."
        )
    if exc.errno == errno.EISDIR:
        return (
            f"a folder in '{out}' has the name of an output file ({Path(exc.filename or '').name}); {kept} — "
            "rename that folder or choose another --out."
        )
    reason = exc.strerror or type(exc).__name__
    return f"the results could not be written to '{out}' ({reason}); {kept} — check the folder or choose another --out."
