"""Reliability of the history store: concurrent writers, SIGKILL mid-edit, damaged files. Prints one table.

    .venv/bin/python benchmarks/reliability.py [--seconds 60] [--pg URL]

Rows:
- concurrent writers: 2 app sessions + 1 command line on SQLite (and 8 writers on PostgreSQL with ``--pg`` or
  ``FA_TEST_POSTGRES_URL``) make random stem and label edits on the same 4 classes for ``--seconds``, each on a
  freshly read copy (``tests/crash_worker.py``, the app's save path). An acknowledged edit is lost when the final
  value of its field is not its value although no later acknowledged edit (higher version) changed that field, or
  when two acknowledged edits of one class got the same version (a silent overwrite).
- SIGKILL at 5 points of an edit (begin, version bump, stem row, before COMMIT, after COMMIT): acknowledged edits
  lost, ``PRAGMA integrity_check``.
- a damaged SQLite history (0 bytes, half, bad header, one bad page, a text file): the message, whether the file was
  kept aside byte for byte and never written.
- a damaged embedding cache: rebuilt with a notice, vectors stored again.
- cost of one edit (approve one stem) at 3,000 responses: the targeted ``save_result`` vs rewriting the question.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
sys.path.insert(0, str(TESTS))

from crash_worker import count_lost  # noqa: E402
from storage_helpers import make_analysis  # noqa: E402

from feedback_assistant.storage import StorageError, Store  # noqa: E402

WORKER = TESTS / "crash_worker.py"
ROWS: list[tuple[str, str, str]] = []


def row(what: str, result: str, verdict: str) -> None:
    ROWS.append((what, result, verdict))
    print(f"  {what}: {result} [{verdict}]", file=sys.stderr, flush=True)


def _worker(url: str, name: str, *args: str, teacher: str = "shared") -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "FA_WORKER_TEACHER": teacher}
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, name, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _integrity(url: str) -> str:
    store = Store(url)
    try:
        if store.dialect != "sqlite":
            return "n/a (server)"
        with store.engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA integrity_check").scalar()
    finally:
        store.close()


# ----------------------------------------------------------------------------------------------- concurrency


def concurrent(url: str, names: list[str], seconds: float) -> None:
    store = Store(url, teacher="Teacher shared")
    tickets = []
    for i in range(4):
        [t] = store.save_analysis(
            make_analysis(f"P{i}", {"tops": 10, "bigger": 8, "right": 10}, prefix=f"c{i}-", seed=i)
        ).values()
        tickets.append(t)
    procs = [
        _worker(url, name, "random", str(seconds), str(k), ",".join(map(str, tickets))) for k, name in enumerate(names)
    ]
    lines = []
    for p in procs:
        out, err = p.communicate(timeout=seconds + 300)
        if p.returncode != 0:
            raise SystemExit(f"writer failed: {err[-500:]}")
        lines += out.splitlines()
    acks, stale, lost, duplicate_versions = count_lost(lines, store, tickets)
    store.close()
    what = f"{len(names)} writers ({', '.join(names)}) on {'SQLite' if url.startswith('sqlite') else 'PostgreSQL'}"
    row(
        f"concurrent edits, {what}, {seconds:.0f} s",
        f"{acks} acknowledged ({acks / seconds:.1f}/s), {stale} refused as stale, {lost} lost, "
        f"{duplicate_versions} silent overwrites, integrity {_integrity(url)}",
        "ok" if lost == 0 and duplicate_versions == 0 else "FAIL",
    )


# ----------------------------------------------------------------------------------------------- SIGKILL


def sigkill(url_for) -> None:
    from test_crash_safety import _approved_in_store, _reported

    for point in ("begin", "bump", "stem", "commit", "acked"):
        url = url_for()
        Store(url).close()
        proc = _worker(url, "K", "approve", "1000", "--kill-point", f"{point}:6", teacher="K")
        out, err = proc.communicate(timeout=120)
        killed = proc.returncode == -signal.SIGKILL
        _, approvals = _reported(out.splitlines())
        saved = _approved_in_store(url)
        lost = sum(saved.get(k) != v for k, v in approvals.items())
        integrity = _integrity(url)
        row(
            f"SIGKILL inside an edit at '{point}' ({'SQLite' if url.startswith('sqlite') else 'PostgreSQL'})",
            f"killed={killed}, {len(approvals)} acknowledged, {lost} lost, integrity {integrity}",
            "ok" if killed and lost == 0 and integrity in ("ok", "n/a (server)") else "FAIL",
        )


# ----------------------------------------------------------------------------------------------- damage


def damaged_files(tmp: Path) -> None:
    from test_storage import _damage, _history_with_data

    for how in ("0 bytes", "half", "bad header", "one bad page", "a text file"):
        folder = tmp / f"damage-{how.replace(' ', '_')}"
        folder.mkdir()
        path = _history_with_data(folder)
        _damage(path, how)
        before = path.read_bytes()
        try:
            Store(str(path)).close()
            row(f"damaged history: {how}", "opened without a word", "FAIL")
            continue
        except StorageError as exc:
            message = str(exc)
            kept = getattr(exc, "kept_as", None)
        intact = kept is not None and kept.read_bytes() == before and not path.exists()
        reason = message.split("is damaged (", 1)[-1].split("). It was", 1)[0]
        row(
            f"damaged history: {how}",
            f"'{reason}'; kept aside as {kept.name if kept else '-'}, byte for byte: {intact}",
            "ok" if intact and "moved aside" in message else "FAIL",
        )


def damaged_cache(tmp: Path) -> None:
    import numpy as np
    from test_storage import _damage

    from feedback_assistant.embedding import EmbeddingCache

    class Notices(logging.Handler):
        seen: list[str] = []

        def emit(self, record):
            self.seen.append(record.getMessage())

    handler = Notices()
    logging.getLogger("feedback_assistant.embedding").addHandler(handler)
    logging.getLogger("feedback_assistant.embedding").setLevel(logging.WARNING)
    for how in ("a text file", "one bad page"):
        folder = tmp / f"cache-{how.replace(' ', '_')}"
        cache = EmbeddingCache(folder)
        vectors = {f"r{i} " + "x" * 200: np.full(384, i, np.float32) for i in range(200)}
        cache.put_many("m", vectors)
        _damage(folder / "embeddings.sqlite", how)
        Notices.seen.clear()
        try:
            cache.get_many("m", list(vectors))
            cache.put_many("m", vectors)
            back = len(cache.get_many("m", list(vectors)))
            ok = back == len(vectors) and any("started again" in m for m in Notices.seen)
            row(
                f"damaged embedding cache: {how}",
                f"rebuilt, notice shown: {bool(Notices.seen)}, {back} vectors stored again",
                "ok" if ok else "FAIL",
            )
        except sqlite3.Error as exc:
            row(f"damaged embedding cache: {how}", f"stopped: {type(exc).__name__}", "FAIL")


# ----------------------------------------------------------------------------------------------- cost


def edit_cost(tmp: Path) -> None:
    import dataclasses

    from feedback_assistant import storage_codec

    store = Store(str(tmp / "cost.sqlite"), teacher="T")
    analysis = make_analysis("P1", {"tops": 1000, "bigger": 1000, "right": 999})
    [ticket] = store.save_analysis(analysis).values()
    result = store.load_analysis(ticket).results[0]
    times = []
    version = 0
    for k in range(10):
        stems = tuple(
            dataclasses.replace(s, text=f"edit {k}", state="approved") if s.group_id == 1 else s for s in result.stems
        )
        result = dataclasses.replace(result, stems=stems)
        start = time.perf_counter()
        version = store.save_result(ticket, result, version=version)
        times.append(time.perf_counter() - start)
    rewrite = []
    for _ in range(3):
        start = time.perf_counter()
        with store.engine.begin() as conn:  # what every edit used to do: delete the question and write it again
            tq = conn.execute(sa.text("SELECT id FROM ticket_questions WHERE ticket_id = :t"), {"t": ticket}).scalar()
            conn.execute(
                sa.text(
                    "DELETE FROM plan_members WHERE plan_group_id IN (SELECT pg.id FROM plan_groups pg "
                    "JOIN plans p ON p.id = pg.plan_id WHERE p.ticket_question_id = :q)"
                ),
                {"q": tq},
            )
            conn.execute(
                sa.text(
                    "DELETE FROM plan_groups WHERE plan_id IN (SELECT id FROM plans WHERE ticket_question_id = :q)"
                ),
                {"q": tq},
            )
            for table in ("plans", "overrides", "feedback_stems", "response_groups", "responses"):
                conn.execute(sa.text(f"DELETE FROM {table} WHERE ticket_question_id = :q"), {"q": tq})
            storage_codec.write_result(conn, tq, result, "T")
        rewrite.append(time.perf_counter() - start)
    store.close()
    row(
        "one edit at 3,000 responses (SQLite)",
        f"targeted save_result median {sorted(times)[len(times) // 2] * 1000:.1f} ms vs rewriting the question "
        f"{sorted(rewrite)[1] * 1000:.0f} ms",
        "ok",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pg", default=os.environ.get("FA_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fa-reliability-"))
    os.environ["FEEDBACK_ASSISTANT_HOME"] = str(tmp / "home")
    logging.basicConfig(level=logging.ERROR)

    n = [0]

    def sqlite_url():
        n[0] += 1
        return f"sqlite:///{tmp / f'h{n[0]}.sqlite'}"

    schemas = []

    def pg_url():
        schema = f"fa_rel_{uuid.uuid4().hex[:8]}"
        engine = sa.create_engine(args.pg)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        schemas.append(schema)
        return args.pg + ("&" if "?" in args.pg else "?") + f"options=-csearch_path%3D{schema}"

    try:
        concurrent(sqlite_url(), ["app-1", "app-2", "cli"], args.seconds)
        if args.pg:
            concurrent(pg_url(), [f"app-{i}" for i in range(1, 9)], args.seconds)
        sigkill(sqlite_url)
        if args.pg:
            sigkill(pg_url)
        damaged_files(tmp)
        damaged_cache(tmp)
        edit_cost(tmp)
    finally:
        if schemas:
            engine = sa.create_engine(args.pg)
            with engine.begin() as conn:
                for schema in schemas:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()
    width = max(len(r[0]) for r in ROWS)
    print(f"| {'check'.ljust(width)} | result | verdict |")
    print(f"| {'-' * width} | --- | --- |")
    for what, result, verdict in ROWS:
        print(f"| {what.ljust(width)} | {result} | {verdict} |")


if __name__ == "__main__":
    main()
