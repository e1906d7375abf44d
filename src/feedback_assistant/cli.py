"""Command line: ``feedback-assistant analyze INPUT --out DIR`` and friends.

Imports of the heavy stages (pandas, torch, sentence-transformers) happen inside the commands, so ``--help`` and
bad-input errors return at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line with exit 2."""

    def error(self, message: str):  # noqa: D102 - argparse API
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def _progress_bar(stream=sys.stderr, min_total: int = 100):
    """A text progress bar for long runs (shown only when there are at least ``min_total`` items)."""
    state: dict[str, str | None] = {"stage": None}

    def show(done: int, total: int, stage: str) -> None:
        if total < min_total:
            return
        width = 30
        filled = int(width * done / total) if total else width
        end = "\n" if done >= total else ""
        stream.write(f"\r{stage}: [{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
        stream.flush()
        state["stage"] = stage

    return show


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="feedback-assistant",
        description="Group exit-ticket responses by misconception, draft feedback, plan tomorrow's groups. "
        "Everything runs on this computer; no student text is sent anywhere.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    a = sub.add_parser("analyze", help="analyse an exit-ticket CSV/XLSX and write results to a folder")
    a.add_argument("input", help="the exit-ticket export (.csv or .xlsx)")
    a.add_argument("--out", required=True, help="folder for responses.csv, groups.csv, plan.csv and the rest")
    a.add_argument("--response-col", help="column holding the students' written responses")
    a.add_argument("--answer-col", help="column holding the answer each student chose (multiple choice)")
    a.add_argument("--question-col", help="column naming the question (long tables with several questions)")
    a.add_argument("--student-col", help="column naming the student")
    a.add_argument("--section-col", help="column naming the class period / section")
    a.add_argument("--key", help="the correct answer (applies to every question unless the file has a key column)")
    a.add_argument("--max-group-size", type=int, default=6, help="largest next-day group (default 6)")
    a.add_argument("--section", help="class name to save this ticket under (default: the file's section column)")
    a.add_argument("--teacher", help="your name, for history and PLC comparison (default: your login name)")
    a.add_argument("--date", help="date of the exit ticket, YYYY-MM-DD (default: today)")
    a.add_argument("--topic", help="standard or topic tag for PLC comparison, e.g. 5.NF.1")
    a.add_argument("--db", help="database URL (default: a SQLite file in ~/.feedback_assistant)")
    a.add_argument("--no-save", action="store_true", help="do not save this analysis to the history database")
    a.add_argument(
        "--no-memory",
        action="store_true",
        help="do not start from the groups you corrected in earlier classes of the same questions",
    )
    a.add_argument(
        "--plc-memory",
        action="store_true",
        help="also start from the groups colleagues shared for the same questions (share-memory)",
    )
    a.add_argument(
        "--model",
        help="a school's own sentence-transformers model folder, models/NAME (default: the bundled all-MiniLM-L6-v2)",
    )
    a.set_defaults(handler=analyze_command)
    from .cli_store import add_compare_parser, add_forget_parser, add_plc_parser

    add_compare_parser(sub)
    add_forget_parser(sub)
    add_plc_parser(sub)
    from .cli_teach import add_share_parser, add_teach_parser

    add_teach_parser(sub)
    add_share_parser(sub)
    ap = sub.add_parser(
        "approve",
        help="approve feedback from a reviewed feedback_drafts.csv: writes feedback.csv (approved text only)",
        description="Open feedback_drafts.csv in a spreadsheet, edit any feedback, set 'state' to approved for what "
        "may go to students, save it as CSV, then run this. feedback.csv is written beside it with approved text "
        "only; when analyze saved the analysis, the approvals are saved there too.",
    )
    ap.add_argument("drafts", help="the folder analyze wrote, or the reviewed feedback_drafts.csv itself")
    ap.add_argument("--db", help="database URL (default: the one analyze saved to)")
    ap.add_argument("--no-save", action="store_true", help="only write feedback.csv; leave the history as it is")
    ap.add_argument("--teacher", help="whose class (default: your login name; on a PLC server, your login role)")
    ap.set_defaults(handler=approve_command)
    return parser


def approve_command(args) -> int:
    """Run ``approve``: reviewed drafts -> feedback.csv (approved only) and the saved analysis."""
    from .approval import approve_folder

    done = approve_folder(args.drafts, db=args.db, save=not args.no_save, teacher=args.teacher)
    saved = (
        f" Saved the approvals of {done.questions_saved} question(s) to your history." if done.questions_saved else ""
    )
    missed = (
        f" {done.unmatched} approved student(s) could not be matched to one saved student (same name twice?): "
        "approve them in the app."
        if done.unmatched
        else ""
    )
    print(
        f"Approved feedback for {done.approved} of {done.total} student responses; wrote {done.feedback_path}."
        f"{saved}{missed}"
    )
    return EXIT_OK


def analyze_command(args, *, embedder=None, **parts) -> int:
    """Run ``analyze``: read, group, draft, plan, write, save (``parts``: ``clusterer=``, ``labeller=``, ...)."""
    path = Path(args.input)
    if not path.exists():
        print(f"error: the file '{args.input}' was not found. Check the name and folder.", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.max_group_size < 2:
        print("error: --max-group-size must be 2 or more.", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.date is not None and not _is_date(args.date):
        print(
            f"error: --date must be a real date written YYYY-MM-DD, for example 2026-03-05 (got {args.date!r}).",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    # Heavy imports (pandas, torch) only once the input is known to be there: bad input fails at once.
    from . import pipeline
    from .export import OUTPUT_FILES, write_outputs
    from .outfolder import check_target, output_folder

    check_target(args.out, names=OUTPUT_FILES.values(), inputs=[path])  # before the work, not after it

    tickets = read_ticket_file(
        path,
        response_col=args.response_col,
        answer_col=args.answer_col,
        question_col=args.question_col,
        student_col=args.student_col,
        section_col=args.section_col,
    )
    from .text import printable

    for note in tickets.notices:  # sheets read or skipped, title rows, hidden rows, formulas without a value
        print(f"Note: {printable(note)}")  # sheet names come from the file: no terminal escapes
    keys = {"": args.key} if args.key else None
    library = _open_library(args)
    if embedder is None and args.model:
        embedder = pipeline.default_embedder(args.model)
    analysis = pipeline.analyze(
        tickets,
        embedder=embedder,
        **parts,
        keys=keys,
        library=library,
        progress=_progress_bar(),
        max_group_size=args.max_group_size,
        memory=None if args.no_memory else _open_memory(args),
    )
    from .text import analysis_notices

    for note in analysis_notices(analysis.results):  # responses over the length limit, other languages
        print(f"Note: {note}")
    with output_folder(args.out, names=OUTPUT_FILES.values(), inputs=[path]) as staging:
        # all files complete before any replaces the old ones; the handout is titled with the class and date
        written = write_outputs(analysis, staging, class_name=args.section, date=args.date)
    saved = "" if args.no_save else _save(analysis, args)
    n_groups = sum(len(r.groups) for r in analysis.results)
    print(
        f"Analysed {len(analysis.frame)} responses to {len(analysis.results)} question(s) into {n_groups} groups. "
        f"Wrote {', '.join(p.name for p in written.values())} to {args.out}.{saved}"
    )
    for r in analysis.results:
        if r.learned_from:
            carried = sum(g.carried_over for g in r.groups)
            what = printable(r.question[:60]) or "The ticket"
            print(
                f"{what}: {printable(r.learned_from)}; {carried} group(s) carried over - confirm "
                "them (carried_over in groups.csv)."
            )
    return EXIT_OK


def read_ticket_file(path: Path, **columns):
    """``read_tickets`` for a command: a file no reader rule foresaw is still bad input (one line), not a crash."""
    from .records import FeedbackAssistantError, TicketFormatError
    from .tickets import read_tickets

    try:
        return read_tickets(path, **columns)
    except FeedbackAssistantError:
        raise
    except Exception as exc:
        raise TicketFormatError(
            f"'{path.name}' could not be read as an exit ticket ({type(exc).__name__}). Export it again from your "
            "form tool as CSV or XLSX, or open it in a spreadsheet and save it as CSV UTF-8."
        ) from exc


def _open_memory(args):
    """The teacher's memory of earlier classes, read from the history database (None with ``--no-save`` when
    there is no history yet, or when it cannot be opened: the ticket is then grouped from scratch)."""
    from .records import FeedbackAssistantError
    from .storage import Store, resolve_url, sqlite_path
    from .storage_memory import MemoryStore, StoredMemory

    if args.no_save:
        path = sqlite_path(resolve_url(args.db))
        if path is not None and not path.exists():
            return None  # --no-save never creates a history file
    try:
        store = Store(args.db, teacher=args.teacher)
    except FeedbackAssistantError as exc:
        if not args.no_save:
            raise
        print(f"Note: your memory of earlier classes could not be read ({exc}); grouping from scratch.")
        return None
    return StoredMemory(MemoryStore(store), store.teacher, plc=args.plc_memory)


def _is_date(text: str) -> bool:
    """Whether ``text`` is a real calendar date written YYYY-MM-DD."""
    import datetime as dt
    import re

    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _open_library(args):
    """The misconception library for suggestions: kept in the history database unless ``--no-save``."""
    from .library import MisconceptionLibrary

    if args.no_save:
        return MisconceptionLibrary()
    from .storage import SqlLibraryStore, Store

    return MisconceptionLibrary(SqlLibraryStore(Store(args.db, teacher=args.teacher)))


def _save(analysis, args) -> str:
    import datetime as dt

    from .storage import Store

    date = args.date or dt.date.today().isoformat()
    with Store(args.db, teacher=args.teacher) as store:  # --teacher, else the login (a PLC server: the role)
        tickets = store.save_analysis(analysis, section=args.section, date=date, topic=args.topic)
        from .approval import remember_saved  # so `approve` on this folder updates the saved analysis

        remember_saved(args.out, db=args.db, teacher=store.teacher, tickets=tickets, rows=len(analysis.frame))
        return f" Saved to {store.teacher}'s history."


def main(argv: list[str] | None = None, *, embedder=None, **parts) -> int:
    """Entry point of the ``feedback-assistant`` command.

    Args:
        argv: arguments without the program name (default ``sys.argv[1:]``).
        embedder: an ``Embedder`` to use instead of the bundled model (tests pass a fake one).
        parts: other pipeline parts for ``analyze`` (``clusterer=``, ``labeller=``, ``drafter=``, ``planner=``).

    Returns:
        0 on success, 2 on bad input (one line on stderr says what to do), 1 on an unexpected failure.
    """
    args = build_parser().parse_args(argv)
    from .records import FeedbackAssistantError

    try:
        try:
            if args.handler is analyze_command:
                return analyze_command(args, embedder=embedder, **parts)
            if getattr(args, "wants_embedder", False):
                return args.handler(args, embedder=embedder)
            return args.handler(args)
        except FeedbackAssistantError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            print("Stopped. Nothing was lost: files already written are complete.", file=sys.stderr)
            return EXIT_FAILED
        except Exception as exc:  # last resort: one line, never a traceback, unless debugging
            if os.environ.get("FEEDBACK_ASSISTANT_DEBUG"):
                raise
            print(
                f"error: something unexpected went wrong ({type(exc).__name__}). Nothing was sent anywhere. "
                "Run again with FEEDBACK_ASSISTANT_DEBUG=1 to see details, and report it.",
                file=sys.stderr,
            )
            return EXIT_FAILED
    finally:
        _print_notices()


def _print_notices() -> None:
    """Notices the command's parts left for the teacher (a rebuilt embedding cache), one line each."""
    embedding = sys.modules.get("feedback_assistant.embedding")  # loaded only when something was embedded
    if embedding is not None:
        for note in embedding.take_notices():
            print(f"Note: {note}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
