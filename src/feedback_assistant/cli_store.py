"""``feedback-assistant compare`` and ``feedback-assistant forget``: the history database's commands.

``cli.build_parser`` registers them with ``add_compare_parser`` / ``add_forget_parser``; each command
returns an exit code (0 done, 2 bad input with one line on stderr saying what to do).
"""

from __future__ import annotations

import sys
from pathlib import Path

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def add_compare_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compare", help="compare misconceptions for one question or topic across sections and dates (PLC)"
    )
    p.add_argument(
        "--question", help="the question (its text, or a piece of it that matches one saved question)"
    )
    p.add_argument("--topic", help="compare every question tagged with this standard/topic instead")
    p.add_argument("--viewer", help="your name: your own sections show real student names, others pseudonyms")
    p.add_argument(
        "--similarity",
        type=float,
        default=None,
        help="how alike two groups must be to count as the same misconception (0-1, default 0.8)",
    )
    p.add_argument("--out", help="folder for prevalence.csv, trend.csv, examples.csv and heatmap.html")
    p.add_argument("--db", help="database URL (default: the SQLite file in ~/.feedback_assistant)")
    p.set_defaults(handler=compare_command)


def add_forget_parser(subparsers) -> None:
    p = subparsers.add_parser("forget", help="delete everything saved about one class (section)")
    p.add_argument("--section", required=True, help="the section to delete, as saved")
    p.add_argument("--teacher", help="only that teacher's section of this name (shared databases)")
    p.add_argument("--db", help="database URL (default: the SQLite file in ~/.feedback_assistant)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=forget_command)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def compare_command(args) -> int:
    """Print the prevalence table (and shared misconceptions); write CSVs and the heatmap with ``--out``."""
    from .compare import DEFAULT_SIMILARITY, compare
    from .records import FeedbackAssistantError
    from .storage import Store

    similarity = DEFAULT_SIMILARITY if args.similarity is None else args.similarity
    if not 0.0 <= similarity <= 1.0:
        return _fail(f"--similarity must be between 0 and 1 (got {similarity}); 0.8 is a good start.")
    try:
        store = Store(getattr(args, "db", None))
        try:
            result = compare(
                store, question=args.question, topic=args.topic, viewer=args.viewer, similarity=similarity
            )
        finally:
            store.close()
    except FeedbackAssistantError as exc:
        return _fail(str(exc))
    if not result.sections:
        return _fail("nothing saved for that question yet; analyse and save an exit ticket first.")
    what = f"question {result.question!r}" if result.question else f"topic {result.topic!r}"
    print(f"Share of students by misconception for {what}:")
    table = result.prevalence.map(lambda v: f"{v:.0%}")
    print(table.to_string())
    shared = result.shared()
    if len(result.sections) > 1:
        print("Shared by every section: " + ("; ".join(shared) if shared else "none"))
    if args.out:
        from .charts import heatmap_html
        from .spreadsheet import write_csv

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(result.prevalence.reset_index(), out / "prevalence.csv")
        write_csv(result.trend, out / "trend.csv")
        write_csv(_examples_frame(result), out / "examples.csv")
        (out / "heatmap.html").write_text(heatmap_html(result), encoding="utf-8")  # static: no script, no CDN
        print(f"Wrote prevalence.csv, trend.csv, examples.csv and heatmap.html to {out}.")
    return EXIT_OK


def _examples_frame(result):
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "misconception": e.misconception,
                "section": e.section,
                "date": e.date,
                "student": e.student,
                "response": e.text,
            }
            for exs in result.examples.values()
            for e in exs
        ],
        columns=["misconception", "section", "date", "student", "response"],
    )


def forget_command(args) -> int:
    """Delete one section's data after confirmation (``--yes`` skips the question)."""
    from .records import FeedbackAssistantError
    from .storage import Store, display_url

    try:
        store = Store(getattr(args, "db", None))
    except FeedbackAssistantError as exc:
        return _fail(str(exc))
    try:
        known = store.sections()
        if args.section not in known:
            listed = ", ".join(repr(k) for k in known) if known else "(none yet)"
            return _fail(f"no saved section is called {args.section!r}; saved sections are: {listed}")
        if not args.yes:
            if not sys.stdin or not sys.stdin.isatty():
                return _fail(f"this deletes everything saved about {args.section!r}; add --yes to confirm.")
            answer = input(
                f"Delete every saved exit ticket, group, stem and plan of {args.section!r} from "
                f"{display_url(store.url)}? This cannot be undone. [y/N] "
            )
            if answer.strip().casefold() not in ("y", "yes"):
                print("Nothing was deleted.")
                return EXIT_OK
        try:
            counts = store.forget(args.section, teacher=args.teacher)
        except FeedbackAssistantError as exc:
            return _fail(str(exc))
    finally:
        store.close()
    detail = ", ".join(f"{n} {name}" for name, n in counts.items())
    print(f"Deleted {args.section!r}: {detail}.")
    return EXIT_OK
