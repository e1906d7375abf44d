"""Read an exit-ticket file (CSV or XLSX) into one long table: one row per student per question.

Teachers get tickets in a few shapes, all handled here:

* **long** - one row per student per question (``Student, Period, Question, Answer, Response``);
* **wide** - Google Forms CSV / Microsoft Forms XLSX: one row per student, one column per question, the
  question text as the header (``Timestamp, Email Address, Name, <question 1>, <question 2>``);
* **canvas** - the Canvas quiz "student analysis" CSV (``name, id, sis_id, section, ...,
  "123: <question>", <points>, ..., n correct, n incorrect, score``).

Every cell is read as text exactly as typed: nothing becomes a number or NaN ("NA", "null", "-", "=1+2" stay
as they are), blank cells become ``""``, NUL characters are removed. Blank responses are kept and marked,
never dropped. Rows in the file are data rows unless every cell is empty *and* no later row has content
(trailing padding that Excel and Sheets leave behind); wholly empty columns with no header are dropped for
the same reason.

Reading happens in three steps, one module each: ``decoding`` (bytes -> what the file is, and a CSV's text in
whatever encoding it was saved), ``grid`` (CSV text or workbook -> tables of text cells: sheets, title rows,
merged and hidden cells, formula values, size limits) and ``roles`` (which column is the response, the
student, the question...). This module chooses the sheets that hold responses and builds the long table.

Workbooks: every sheet holding responses is read. Sheets with the same columns (one tab per class period) are
read as one table with a ``Sheet`` column, which is the section when the file has no section column; a notes
or roster tab is skipped with a notice. Limits, each named in its message: ``decoding.MAX_FILE_BYTES``
(100 MB), ``grid.MAX_ROWS`` (250,000 data rows), ``grid.MAX_COLUMNS`` (20,000), ``grid.MAX_CELLS``,
``grid.MAX_UNPACKED_BYTES`` / ``grid.MAX_SHARED_STRINGS_BYTES`` (what a workbook may unpack to) and
``MAX_RESPONSES`` (responses made from a wide file).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from . import decoding, grid
from .decoding import EXCEL_SUFFIXES, MAX_FILE_BYTES, TEXT_SUFFIXES
from .grid import MAX_ROWS, Table
from .records import ColumnMap, Response, TicketFormatError
from .roles import (
    CANVAS,
    LONG,
    WIDE,
    ColumnFacts,
    WidePlan,
    choose_layout,
    find_column,
    long_columns,
    norm,
    section_column,
    wide_plan,
)
from .text import unique_name as _unique

__all__ = [
    "CANVAS",
    "EXCEL_SUFFIXES",
    "LONG",
    "MAX_FILE_BYTES",
    "MAX_RESPONSES",
    "MAX_ROWS",
    "SOURCE_ROW",
    "TEXT_SUFFIXES",
    "WIDE",
    "TicketSet",
    "read_tickets",
]

MAX_RESPONSES = 1_000_000
"""Most responses (rows x question columns) in the long table made from a wide file."""

SOURCE_ROW = "source_row"
SHEET_COLUMN = "Sheet"
"""Column added when several sheets are read as one table: the tab each row came from."""


@dataclass(frozen=True, slots=True, eq=False)
class TicketSet:
    """An exit-ticket file as one long table.

    Attributes:
        frame: one row per student per question, index 0..n-1, in input order. Original columns are kept as
            ``str`` exactly as typed; wide and Canvas files gain ``question`` / ``response`` (and ``answer``)
            columns; every layout gains ``source_row`` (0-based data row of the input file).
        columns: which ``frame`` column plays which role.
        layout: ``"long"``, ``"wide"`` or ``"canvas"``.
        source_rows: number of data rows in the input file.
        source_name: the file's name without its folder ("" when read from bytes without a filename).
        notices: what the teacher should know about how the file was read (sheets read or skipped, title rows
            skipped, hidden rows read, formulas without a saved value); never a cell value. The CLI prints
            them and the app shows them.
    """

    frame: pd.DataFrame
    columns: ColumnMap
    layout: str
    source_rows: int
    source_name: str = ""
    notices: tuple[str, ...] = ()

    def questions(self) -> list[str]:
        """Distinct questions, in order of first appearance (``[""]`` for one unnamed question)."""
        if self.columns.question is None:
            return [""]
        return list(dict.fromkeys(self.frame[self.columns.question].tolist())) or [""]

    def responses(self) -> list[Response]:
        """One ``Response`` per frame row; ``row`` is the frame position, blank / whitespace-only marked."""
        f, c = self.frame, self.columns
        n = len(f)

        def col(name: str | None, blank_to_none: bool) -> list:
            if name is None:
                return [None if blank_to_none else ""] * n
            values = f[name].tolist()
            return [v if v.strip() else None for v in values] if blank_to_none else values

        texts = f[c.response].tolist()
        return [
            Response(
                row=i,
                source_row=int(sr),
                student=st,
                question=q,
                text=t,
                answer=a,
                section=se,
                date=d,
                is_blank=not t.strip(),
            )
            for i, (sr, st, q, t, a, se, d) in enumerate(
                zip(  # noqa: B905 - all lists have len(frame) items
                    f["source_row"].tolist(),
                    col(c.student, False),
                    col(c.question, False),
                    texts,
                    col(c.answer, True),
                    col(c.section, True),
                    col(c.date, True),
                )
            )
        ]


def read_tickets(
    source: str | Path | bytes | IO[bytes],
    *,
    filename: str | None = None,
    response_col: str | None = None,
    answer_col: str | None = None,
    question_col: str | None = None,
    student_col: str | None = None,
    section_col: str | None = None,
    date_col: str | None = None,
    key_col: str | None = None,
) -> TicketSet:
    """Read an exit-ticket CSV/TSV/XLSX into a long ``TicketSet``.

    Args:
        source: a path, the file's bytes, or a binary file-like object (e.g. a Streamlit upload).
        filename: the file's name when ``source`` is bytes or a stream; its extension picks the reader.
        response_col: the column holding responses. In a wide (Forms) file, one question column to analyse
            alone. The other ``*_col`` arguments name the answer (chosen option), question, student,
            class period / section, date and answer-key columns. Explicit names win over detection.

    Returns:
        the ``TicketSet``; ``len(frame)`` is rows x questions for wide files and the row count for long files.

    Raises:
        TicketFormatError: the file cannot be read as exit tickets; the message says what to do.
    """
    data, name = decoding.load(source, filename)
    label = decoding.label_of(name)
    overrides = {
        "response_col": response_col,
        "answer_col": answer_col,
        "question_col": question_col,
        "student_col": student_col,
        "section_col": section_col,
        "date_col": date_col,
        "key_col": key_col,
    }
    wanted = {k: v for k, v in overrides.items() if v is not None}
    frame, sheet_col, notices = _read_table(data, name, label, wanted)
    facts = ColumnFacts(frame)
    chosen = {k: find_column(v, facts, k) for k, v in wanted.items()}
    if len(frame) == 0:
        raise TicketFormatError(
            f"{label} has column names but no responses — check that the form has "
            "responses, export it again and upload the new file."
        )
    if len(frame) > grid.MAX_ROWS:
        raise TicketFormatError(
            f"{label} has {len(frame):,} rows; the limit is {grid.MAX_ROWS:,} — split it into "
            "smaller files (for example one per class or per day)."
        )
    if sheet_col and "section_col" not in chosen and section_column(facts, {sheet_col}) is None:
        chosen["section_col"] = sheet_col  # one tab per period: the tab names the section
    tickets = _build(frame, facts, chosen, label)
    return replace(tickets, source_name=Path(name).name if name else "", notices=notices)


# ------------------------------------------------------------------------------------ sheets -> one table


def _read_table(
    data: bytes, name: str | None, label: str, wanted: dict[str, str]
) -> tuple[pd.DataFrame, str | None, tuple[str, ...]]:
    """The file's responses as one frame of text, the added sheet column (if any) and the notices."""
    if decoding.file_kind(data, name) == "text":
        t = grid.table(grid.text_grid(decoding.decode(data, label), label), label)
        return t.frame, None, t.notices
    sheets = grid.workbook_sheets(data, label)
    if not sheets:
        raise TicketFormatError(
            f"{label} is empty (no sheet has any cells filled in) — export the responses again and upload the new file."
        )
    tables = [grid.table(grid.sheet_grid(s), label, s) for s in sheets]
    chosen, skipped = _choose_sheets(tables, label, wanted)
    notices = [n for t in chosen for n in t.notices]
    hidden = [t.sheet for t in chosen if next(s for s in sheets if s.name == t.sheet).hidden_sheet]
    if hidden:
        notices.append(f"Hidden sheet{'s' if len(hidden) > 1 else ''} {_names(hidden)} read.")
    notices += skipped
    if len(chosen) == 1:
        return chosen[0].frame, None, tuple(notices)
    frames = _same_names([t.frame for t in chosen])
    frame = pd.concat(frames, ignore_index=True).fillna("")
    names = list(dict.fromkeys(n for f in frames for n in f.columns))
    frame = frame[names].astype(str)
    sheet_col = _unique(SHEET_COLUMN, names)
    frame[sheet_col] = np.repeat([t.sheet for t in chosen], [len(t.frame) for t in chosen]).astype(object)
    frame[sheet_col] = frame[sheet_col].astype(str)
    counts = ", ".join(f"'{t.sheet}' ({len(t.frame)})" for t in chosen)
    notices.insert(0, f"{len(chosen)} sheets read as one table, rows per sheet: {counts}.")
    return frame, sheet_col, tuple(notices)


def _same_names(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """The frames with a column spelled as in the first sheet that has it ("student " on one tab, "Student" on
    another is one column)."""
    canonical: dict[str, str] = {}
    out = []
    for f in frames:
        rename = {}
        for c in f.columns:
            name = canonical.setdefault(norm(c) if not c.startswith("Column ") else c, c)
            if name != c and name not in f.columns:
                rename[c] = name
        out.append(f.rename(columns=rename) if rename else f)
    return out


def _choose_sheets(tables: list[Table], label: str, wanted: dict[str, str]) -> tuple[list[Table], list[str]]:
    """The sheets that hold the responses, and a notice for each sheet left out.

    Sheets are grouped by their columns; the group holding responses with the most rows wins, joined by any
    other sheet holding responses whose columns mostly match (one period's tab with an extra column).
    """
    if len(tables) == 1:
        return tables, []
    holds = [_holds_responses(t, label, wanted) for t in tables]
    groups: dict[frozenset[str], list[int]] = {}
    for i, t in enumerate(tables):
        groups.setdefault(_signature(t), []).append(i)

    def weight(members: list[int]) -> tuple[bool, int, int]:
        return (any(holds[i] for i in members), sum(len(tables[i].frame) for i in members), -members[0])

    best = max(groups.values(), key=weight)
    core = _signature(tables[best[0]])
    best = sorted(set(best) | {i for i, t in enumerate(tables) if holds[i] and _overlap(core, _signature(t)) >= 0.6})
    chosen = [tables[i] for i in best]
    skipped = []
    for i, t in enumerate(tables):
        if i in best:
            continue
        why = (
            f"its columns differ from those of sheet '{chosen[0].sheet}'"
            if holds[i]
            else "it does not hold a table of responses"
        )
        skipped.append(f"Sheet '{t.sheet}' was not read: {why}.")
    if len({_signature(t) for t in chosen}) > 1:
        skipped.insert(
            0, "The sheets read do not all have the same columns; a column a sheet lacks is blank for its rows."
        )
    return chosen, skipped


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / max(len(a | b), 1)


def _signature(t: Table) -> frozenset[str]:
    return frozenset(norm(n) for n in t.names if not n.startswith("Column "))


def _holds_responses(t: Table, label: str, wanted: dict[str, str]) -> bool:
    if len(t.frame) == 0:
        return False
    facts = ColumnFacts(t.frame)
    try:
        chosen = {k: find_column(v, facts, k) for k, v in wanted.items()}
        _build(t.frame.iloc[: min(len(t.frame), 200)], facts, chosen, label, dry_run=True)
    except TicketFormatError:
        return False
    return True


def _names(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


# -------------------------------------------------------------------------------------- the long table


def _build(frame: pd.DataFrame, facts: ColumnFacts, chosen: dict[str, str], label: str, dry_run: bool = False):
    """The long TicketSet: a long table keeps its rows; a wide or Canvas table is melted."""
    layout, question = choose_layout(facts, chosen)
    if layout == LONG:
        cmap = long_columns(facts, chosen, question, label)
        if dry_run:
            return None
        return _with_source_row(frame.copy(), np.arange(len(frame), dtype=np.int64), cmap, LONG)
    plan = wide_plan(facts, chosen, layout, label)
    if dry_run:
        return None
    return _melt(frame, plan, layout, label)


def _melt(frame: pd.DataFrame, plan: WidePlan, layout: str, label: str) -> TicketSet:
    """One row per student per question; the other columns repeated beside each."""
    questions, answers = plan.questions, plan.answers
    n, k = len(frame), len(questions)
    if n * k > MAX_RESPONSES:
        raise TicketFormatError(
            f"{label} has {n:,} rows x {k} questions = {n * k:,} responses; the limit is "
            f"{MAX_RESPONSES:,} — split the file, or pick one question with --response-col."
        )
    used = set(questions) | set(answers.values())
    meta = [c for c in frame.columns if c not in used]
    idx = np.repeat(np.arange(n, dtype=np.int64), k)
    out = frame[meta].iloc[idx].reset_index(drop=True)
    q_name = _unique("question", meta)
    r_name = _unique("response", meta + [q_name])
    new = {
        q_name: pd.array(np.tile(np.array(plan.labels, dtype=object), n), dtype="str"),
        r_name: pd.array(frame[questions].to_numpy(dtype=object).ravel(), dtype="str"),
    }
    a_name = None
    if answers:
        a_name = _unique("answer", meta + [q_name, r_name])
        blank = np.full(n, "", dtype=object)
        cells = np.column_stack(
            [frame[answers[q]].to_numpy(dtype=object) if q in answers else blank for q in questions]
        )
        new[a_name] = pd.array(cells.ravel(), dtype="str")
    out = pd.concat([out, pd.DataFrame(new)], axis=1)
    p = plan.people
    cmap = ColumnMap(
        response=r_name,
        question=q_name,
        answer=a_name,
        key=plan.key,
        student=p.student,
        section=p.section,
        date=p.date,
    )
    return _with_source_row(out, idx, cmap, layout, source_rows=n)


def _with_source_row(
    frame: pd.DataFrame, idx: np.ndarray, cmap: ColumnMap, layout: str, source_rows: int | None = None
) -> TicketSet:
    """Add the ``source_row`` column (an input column of that name is kept as "source_row (input)")."""
    if SOURCE_ROW in frame.columns:
        kept = _unique(f"{SOURCE_ROW} (input)", frame.columns)
        frame = frame.rename(columns={SOURCE_ROW: kept})
        cmap = ColumnMap(
            **{
                f.name: (kept if getattr(cmap, f.name) == SOURCE_ROW else getattr(cmap, f.name))
                for f in fields(ColumnMap)
            }
        )
    frame[SOURCE_ROW] = idx
    n = len(frame) if source_rows is None else source_rows
    return TicketSet(frame=frame, columns=cmap, layout=layout, source_rows=n)
