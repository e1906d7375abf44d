"""``feedback-assistant teach FILE``: keep a labelled file as the teacher's memory of its questions.

The file is any exit ticket with one more column naming each response's group, e.g. a ``responses.csv`` from
``analyze`` whose ``group_label`` the teacher corrected in a spreadsheet. Responses with an empty group (or
"Not grouped") are not taught. The next ``analyze`` of the same questions (same teacher, any section) starts from
these groups; ``analyze --no-memory`` skips them.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import defaultdict
from pathlib import Path

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def add_teach_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "teach", help="keep a file whose responses you grouped as memory for its questions (next analyses use it)"
    )
    p.add_argument("input", help="the labelled file (.csv or .xlsx), e.g. a responses.csv you corrected")
    p.add_argument("--response-col", required=True, help="column holding the students' written responses")
    p.add_argument("--question-col", required=True, help="column naming the question")
    p.add_argument("--group-col", required=True, help="column naming each response's group (e.g. group_label)")
    p.add_argument("--answer-col", help="column holding the answer each student chose (multiple choice)")
    p.add_argument("--student-col", help="column naming the student")
    p.add_argument("--status-col", help="column with each group's status: on target / misconception / unclear")
    p.add_argument("--stem-col", help="column with each group's feedback stem (the most common one per group)")
    p.add_argument(
        "--section", help="class the examples come from (default: the file's section column, else the file name)"
    )
    p.add_argument("--date", help="date of the class, YYYY-MM-DD (default: the file's date column, else today)")
    p.add_argument("--teacher", help="whose memory (default: your login name)")
    p.add_argument("--db", help="database URL (default: the SQLite file in ~/.feedback_assistant)")
    p.set_defaults(handler=teach_command, wants_embedder=True)


def _most_common(values: list[str]) -> str:
    values = [v for v in values if v]
    return max(sorted(set(values)), key=values.count) if values else ""


def teach_command(args, *, embedder=None) -> int:
    """Read the labelled file, embed its grouped responses and keep them per question, section and date."""
    path = Path(args.input)
    if not path.exists():
        print(f"error: the file '{args.input}' was not found. Check the name and folder.", file=sys.stderr)
        return EXIT_BAD_INPUT
    from . import pipeline
    from .cli import read_ticket_file
    from .memory import TaughtGroup, question_key
    from .records import NOT_GROUPED, STATUSES, TicketFormatError
    from .storage import Store
    from .storage_memory import Example, MemoryStore

    tickets = read_ticket_file(
        path,
        response_col=args.response_col,
        answer_col=args.answer_col,
        question_col=args.question_col,
        student_col=args.student_col,
    )
    frame = tickets.frame
    for option, col in (
        ("--group-col", args.group_col),
        ("--status-col", args.status_col),
        ("--stem-col", args.stem_col),
    ):
        if col is not None and col not in frame.columns:
            raise TicketFormatError(
                f"'{path.name}' has no column called '{col}'. Pass {option} with the name of the column that "
                "holds it, exactly as in the file's first row."
            )

    def cell(row: int, col: str | None) -> str:
        if col is None:
            return ""
        value = frame.iloc[row][col]
        return "" if value is None or (isinstance(value, float) and value != value) else " ".join(str(value).split())

    labelled = []
    for r in tickets.responses():
        label = cell(r.row, args.group_col)
        if label and label.casefold() != NOT_GROUPED.casefold() and not r.is_blank and question_key(r.question):
            labelled.append((r, label))
    if not labelled:
        raise TicketFormatError(
            f"the group column '{args.group_col}' is empty for every response in '{path.name}' (or names no "
            "question). Type each response's group into it (e.g. the group_label column of responses.csv) and "
            "run teach again."
        )
    vectors = (embedder or pipeline.default_embedder()).encode([r.text for r, _ in labelled])
    today = dt.date.today().isoformat()
    classes: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, (r, _label) in enumerate(labelled):
        section = args.section or r.section or f"taught from {path.name}"
        date = args.date or r.date or today
        classes[(r.question, section, str(date))].append(i)
    status_of: dict[tuple[str, str], list[str]] = defaultdict(list)
    stem_of: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r, label in labelled:
        status_of[(r.question, label)].append(cell(r.row, args.status_col).casefold())
        stem_of[(r.question, label)].append(cell(r.row, args.stem_col))
    with Store(args.db, teacher=args.teacher) as store:
        memory = MemoryStore(store)
        teacher = store.teacher
        for (question, section, date), idx in classes.items():
            examples = [Example(labelled[i][0].text, labelled[i][0].answer, vectors[i], labelled[i][1]) for i in idx]
            groups = []
            for label in dict.fromkeys(e.label for e in examples):
                status = _most_common([s for s in status_of[(question, label)] if s in STATUSES])
                stem = _most_common(stem_of[(question, label)])
                if status or stem:
                    groups.append(TaughtGroup(label, status or "unclear", stem, False))
            texts = [r.text for r in tickets.responses() if r.question == question]  # the grouped and the rest
            notice = memory.record(teacher, question, section, date, examples, groups, texts=texts).notice
            if notice:
                print(notice, file=sys.stderr)
    n_groups = len({(r.question, label) for r, label in labelled})
    n_questions = len({r.question for r, _ in labelled})
    print(
        f"Taught {len(labelled)} responses in {n_groups} groups for {n_questions} question(s) to {teacher}'s "
        "memory. The next analysis of these questions starts from them (analyze --no-memory skips it)."
    )
    return EXIT_OK


def add_share_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "share-memory",
        help="share the groups you taught for a question with your PLC (names, stems and vectors; no student text)",
    )
    p.add_argument("--question", required=True, help="the question, as in your files")
    p.add_argument("--stop", action="store_true", help="stop sharing it")
    p.add_argument("--teacher", help="whose memory (default: your login name)")
    p.add_argument("--db", help="database URL (the PLC's shared PostgreSQL server)")
    p.set_defaults(handler=share_command)


def share_command(args) -> int:
    """Mark (or unmark) the teacher's taught groups of a question as shared with the PLC."""
    from .storage import Store
    from .storage_memory import MemoryStore

    with Store(args.db, teacher=args.teacher) as store:
        n = MemoryStore(store).share(store.teacher, args.question, shared=not args.stop)
    if not n:
        print(
            f"error: you have taught no groups for the question {args.question!r} yet; run teach, or correct "
            "its groups in the app, first.",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    verb = "no longer shared" if args.stop else "shared with your PLC (names, stems and vectors; no student text)"
    print(f"{n} taught group(s) of this question {verb}. Colleagues use them with analyze --plc-memory.")
    return EXIT_OK
