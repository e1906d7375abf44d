"""``feedback-assistant compare``, ``forget`` and ``plc-setup``: the history database's commands.

``cli.build_parser`` registers them with ``add_compare_parser`` / ``add_forget_parser`` / ``add_plc_parser``;
each command returns an exit code (0 done, 2 bad input with one line on stderr saying what to do).

Who is acting: ``--teacher`` where a command takes it, else ``FEEDBACK_ASSISTANT_TEACHER``, else the login
name; on a PLC server the database role (``storage.Store``). ``compare`` has no way to name someone else: the
viewer is the login (or role), so a colleague's students always show as pseudonyms.
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
    p.add_argument("--question", help="the question (its text, or a piece of it that matches one saved question)")
    p.add_argument("--topic", help="compare every question tagged with this standard/topic instead")
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
    p = subparsers.add_parser("forget", help="delete everything saved about one of your classes (section)")
    p.add_argument("--section", required=True, help="the class to delete, as saved")
    p.add_argument("--teacher", help="whose class (default: your login name; on a PLC server, your login role)")
    p.add_argument("--date", help="only the exit tickets of this day (YYYY-MM-DD)")
    p.add_argument("--db", help="database URL (default: the SQLite file in ~/.feedback_assistant)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation (for scripts)")
    p.set_defaults(handler=forget_command)


def add_plc_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "plc-setup",
        help="set up a shared PostgreSQL database for a PLC: tables, row-level security and one login per teacher",
    )
    p.add_argument("--db", required=True, help="the PostgreSQL URL of the database's owner (administrator)")
    p.add_argument(
        "--teacher", action="append", default=[], help="a teacher to create a login for (repeat for each teacher)"
    )
    p.set_defaults(handler=plc_setup_command)


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
            result = compare(store, question=args.question, topic=args.topic, similarity=similarity)
        finally:
            store.close()
    except FeedbackAssistantError as exc:
        return _fail(str(exc))
    if not result.sections:
        return _fail("nothing saved for that question yet; analyse and save an exit ticket first.")
    what = f"question {result.question!r}" if result.question else f"topic {result.topic!r}"
    from .text import printable

    print(printable(f"Share of students by misconception for {what}:"))  # names from files: no terminal escapes
    table = result.prevalence.map(lambda v: f"{v:.0%}")
    print(printable(table.to_string()))
    shared = result.shared()
    if len(result.sections) > 1:
        print(printable("Shared by every section: " + ("; ".join(shared) if shared else "none")))
    if args.out:
        from .outfolder import output_folder
        from .spreadsheet import write_csv

        out = Path(args.out)
        with output_folder(out) as folder:  # all four files complete, or the folder left as it was
            write_csv(result.prevalence.reset_index(), folder / "prevalence.csv")
            write_csv(result.trend, folder / "trend.csv")
            write_csv(_examples_frame(result), folder / "examples.csv")
            from .charts import heatmap_html

            (folder / "heatmap.html").write_text(heatmap_html(result), encoding="utf-8")  # static: no script, no CDN
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
                "response": e.text,  # "" for another teacher's class: their students' words stay theirs
                "students": e.students,
                "approved_stem": e.stem,
            }
            for exs in result.examples.values()
            for e in exs
        ],
        columns=["misconception", "section", "date", "student", "response", "students", "approved_stem"],
    )


def forget_command(args) -> int:
    """Say what deleting one of the teacher's classes removes, ask (``--yes`` skips it), then delete it."""
    from .records import FeedbackAssistantError
    from .storage import Store, display_url

    try:
        store = Store(getattr(args, "db", None), teacher=args.teacher)
    except FeedbackAssistantError as exc:
        return _fail(str(exc))
    try:
        try:
            plan = store.forget(args.section, date=args.date, dry_run=True)
        except FeedbackAssistantError as exc:
            return _fail(str(exc))
        what = f"{args.section!r}" + (f" on {plan.date}" if plan.date else "")
        print(f"Forgetting {store.teacher}'s class {what} from {display_url(store.url)} deletes: {plan.describe()}.")
        if not args.yes:
            if not sys.stdin or not sys.stdin.isatty():
                return _fail(f"this deletes everything listed above about {what}; add --yes to confirm.")
            answer = input("This cannot be undone. Delete it? [y/N] ")
            if answer.strip().casefold() not in ("y", "yes"):
                print("Nothing was deleted.")
                return EXIT_OK
        try:
            done = store.forget(args.section, date=args.date)
        except FeedbackAssistantError as exc:
            return _fail(str(exc))
    finally:
        store.close()
    print(f"Deleted {what}: {done.describe()}.")
    return EXIT_OK


def plc_setup_command(args) -> int:
    """Set up the PLC database and print each new teacher's login (shown once)."""
    from .records import FeedbackAssistantError
    from .storage_plc import setup_plc, teacher_url

    if not args.teacher:
        return _fail("name at least one teacher: --teacher NAME (repeat for each teacher of the PLC).")
    try:
        made = setup_plc(args.db, args.teacher)
    except FeedbackAssistantError as exc:
        return _fail(str(exc))
    print("The PLC database is ready: each teacher sees and changes only their own classes, and colleagues'")
    print("classes only in the comparison, with students pseudonymised. Give each teacher their own line:")
    for name, password in made.items():
        if password:
            print(f"  {name}: FEEDBACK_ASSISTANT_DB='{teacher_url(args.db, name, password)}'")
        else:
            print(f"  {name}: login already existed; its password was kept.")
    return EXIT_OK
