"""A writer process for the crash-safety tests and ``benchmarks/reliability.py``: saves exactly as the app does.

Each line it prints is printed only after the save it reports has returned (been acknowledged):

    OPEN                                   the store is open
    TICKET <id>                            save_analysis returned
    APPROVED <ticket> <group> <text>       save_result returned (mode ``approve``)
    EDIT <ticket> <version> <kind> <group> <value>   save_result returned version (mode ``random``)
    STALE <ticket>                         refused: another writer saved first (this one reloads)
    DONE

Usage:
    python crash_worker.py URL NAME approve ROUNDS [--kill-statement N | --kill-point POINT:N]
    python crash_worker.py URL NAME random SECONDS SEED TICKET[,TICKET...]

``--kill-statement N`` SIGKILLs the process right after its Nth SQL statement; ``--kill-point POINT:N`` SIGKILLs
it at POINT of its Nth edit (``save_result``): ``begin`` (transaction open, write lock held), ``bump`` (version
raised), ``stem`` (the stem row rewritten), ``commit`` (just before COMMIT), ``acked`` (committed, not yet
reported).
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from storage_helpers import make_analysis  # noqa: E402

from feedback_assistant.records import APPROVED  # noqa: E402
from feedback_assistant.storage import StaleEditError, Store  # noqa: E402

KILL_POINTS = ("begin", "bump", "stem", "commit", "acked")
TEACHER = "Teacher {name}"


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(store: Store, argv: list[str]):
    """Install the requested SIGKILL; returns a wrapper for save_result."""
    from sqlalchemy import event

    if "--kill-statement" in argv:
        at, seen = int(argv[argv.index("--kill-statement") + 1]), [0]

        @event.listens_for(store.engine, "after_cursor_execute")
        def _count(*_args):
            seen[0] += 1
            if seen[0] == at:
                _die()

    if "--kill-point" not in argv:
        return store.save_result
    point, nth = argv[argv.index("--kill-point") + 1].split(":")
    state = {"edit": 0, "armed": False}
    patterns = {"bump": "UPDATE ticket_questions", "stem": "UPDATE feedback_stems"}

    @event.listens_for(store.engine, "begin")
    def _begin(_conn):
        if state["armed"] and point == "begin":
            _die()

    @event.listens_for(store.engine, "commit")
    def _commit(_conn):
        if state["armed"] and point == "commit":
            _die()

    @event.listens_for(store.engine, "after_cursor_execute")
    def _statement(_conn, _cursor, statement, *_args):
        if state["armed"] and point in patterns and statement.lstrip().startswith(patterns[point]):
            _die()

    def save_result(*args, **kwargs):
        state["edit"] += 1
        state["armed"] = state["edit"] == int(nth)
        version = store.save_result(*args, **kwargs)
        if state["armed"] and point == "acked":
            _die()
        return version

    return save_result


def approve(store: Store, name: str, rounds: int, save_result) -> None:
    for i in range(rounds):
        analysis = make_analysis(name, {"tops": 3, "bigger": 2, "right": 3}, prefix=f"{name}-{i}-", seed=i)
        [ticket] = store.save_analysis(analysis, date="2026-11-20").values()
        print("TICKET", ticket, flush=True)
        result, version = analysis.results[0], 0
        for stem in analysis.results[0].stems:
            text = f"{name} round {i} group {stem.group_id}: approved"
            stems = tuple(
                dataclasses.replace(s, text=text, state=APPROVED) if s.group_id == stem.group_id else s
                for s in result.stems
            )
            result = dataclasses.replace(result, stems=stems)
            version = save_result(ticket, result, version=version)
            print("APPROVED", ticket, stem.group_id, text, flush=True)


def random_edits(store: Store, name: str, seconds: float, seed: int, tickets: list[int]) -> None:
    """Random stem and label edits on shared tickets for ``seconds``, each on a freshly read copy (a writer named
    ``cli...`` opens the store anew for each edit, as separate command-line runs do)."""
    rng = random.Random(seed)
    deadline, n = time.monotonic() + seconds, 0
    fresh = name.startswith("cli")  # the command line opens the store anew for each run
    while time.monotonic() < deadline:
        if fresh:
            store.close()
            store = Store(store.url, teacher=store.teacher)
        ticket = rng.choice(tickets)
        analysis, versions = store.open_ticket(ticket)  # one snapshot: the copy and its version together
        result, [version] = analysis.results[0], versions.values()
        time.sleep(rng.uniform(0, 0.02))  # a teacher's pause: other writers may save meanwhile
        group = rng.choice(result.groups)
        n += 1
        value = f"{name}-{n}"
        if rng.random() < 0.5:
            kind = "stem"
            stems = tuple(
                dataclasses.replace(s, text=value, state=APPROVED) if s.group_id == group.group_id else s
                for s in result.stems
            )
            edited = dataclasses.replace(result, stems=stems)
        else:
            kind = "label"
            groups = tuple(dataclasses.replace(g, label=value) if g is group else g for g in result.groups)
            edited = dataclasses.replace(result, groups=groups)
        try:
            new = store.save_result(ticket, edited, version=version)
        except StaleEditError:
            print("STALE", ticket, flush=True)
            continue
        print("EDIT", ticket, new, kind, group.group_id, value, flush=True)


def count_lost(lines: list[str], store: Store, tickets: list[int]) -> tuple[int, int, int, int]:
    """Check random writers' reports against the store.

    An acknowledged edit is lost when its field's final value is not its value although no later acknowledged
    edit (higher version of that class's question) changed that field; two acknowledged edits of one class with
    the same version mean one silently overwrote the other.

    Returns:
        (acknowledged edits, refused as stale, lost, silent overwrites).
    """
    from collections import defaultdict

    acks = [ln.split(" ", 5) for ln in lines if ln.startswith("EDIT ")]
    stale = sum(ln.startswith("STALE") for ln in lines)
    versions, latest = defaultdict(list), {}
    for _, ticket, version, kind, gid, value in acks:
        key = (int(ticket), kind, int(gid))
        versions[int(ticket)].append(int(version))
        if key not in latest or int(version) > latest[key][0]:
            latest[key] = (int(version), value)
    final = {}
    for ticket in tickets:
        result = store.load_analysis(ticket).results[0]
        final.update({(ticket, "label", g.group_id): g.label for g in result.groups})
        final.update({(ticket, "stem", s.group_id): s.text for s in result.stems})
    lost = sum(1 for key, (_, value) in latest.items() if final.get(key) != value)
    overwrites = sum(len(v) - len(set(v)) for v in versions.values())
    return len(acks), stale, lost, overwrites


def main(argv: list[str]) -> None:
    url, name, mode = argv[1], argv[2], argv[3]
    store = Store(url, teacher=TEACHER.format(name=os.environ.get("FA_WORKER_TEACHER", name)))
    save_result = _arm(store, argv)
    print("OPEN", flush=True)
    if mode == "approve":
        approve(store, name, int(argv[4]), save_result)
    else:
        random_edits(store, name, float(argv[4]), int(argv[5]), [int(x) for x in argv[6].split(",")])
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv)
