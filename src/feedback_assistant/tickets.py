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

Files: ``.csv`` / ``.tsv`` / ``.txt`` in UTF-8 (with or without a byte-order mark), Windows-1252 or UTF-16
(LE/BE), separated by commas, semicolons or tabs (sniffed; Excel's ``sep=;`` line is honoured), and
``.xlsx`` / ``.xlsm`` (first sheet with cells; a workbook renamed ``.csv`` is recognised by its zip
signature). Images, PDFs, old ``.xls`` and other files are refused with a message saying what to do.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import io
import re
import sys
import warnings
import zipfile
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from .records import ColumnMap, Response, TicketFormatError

MAX_FILE_BYTES = 100 * 1024 * 1024
"""Largest file read (100 MB)."""
MAX_ROWS = 250_000
"""Most data rows (students x tickets) read from one file."""
MAX_RESPONSES = 1_000_000
"""Most responses (rows x question columns) in the long table made from a wide file."""

LONG, WIDE, CANVAS = "long", "wide", "canvas"
SOURCE_ROW = "source_row"
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_SAMPLE = 2000  # rows looked at when judging a column by its content

_FLAGS = {
    "response_col": "--response-col",
    "answer_col": "--answer-col",
    "question_col": "--question-col",
    "student_col": "--student-col",
    "section_col": "--section-col",
    "date_col": "date_col",  # no CLI flag: only reachable from Python
    "key_col": "key_col",
}

# Header synonyms, compared after _norm() (lower case, punctuation and camelCase split to spaces); earlier
# entries win.
# fmt: off
_QUESTION = ("question text", "question", "prompt", "question prompt", "item text", "problem", "task",
             "exit ticket question", "ticket question", "question name", "item", "question number",
             "question id", "item id", "q")
_RESPONSE = ("response", "student response", "explanation", "student explanation", "explain your reasoning",
             "explain your answer", "reasoning", "justification", "explain", "reason", "why", "responses",
             "written response", "free response", "open response", "constructed response", "short answer",
             "answer text", "student answer", "your answer", "your response", "student work", "student text",
             "student writing", "text", "exit ticket", "ticket", "comment", "comments", "work")
_ANSWER = ("answer", "mc answer", "choice", "answer choice", "selected answer", "selected option", "selected",
           "chosen answer", "student choice", "mc choice", "final answer", "multiple choice", "option",
           "selection", "mc", "letter")
_KEY = ("answer key", "key", "correct answer", "correct option", "correct choice", "expected answer",
        "reference answer", "reference answers", "model answer", "target answer", "solution", "correct")
_STUDENT = ("student name", "student", "name", "full name", "student full name", "first and last name",
            "your name", "learner", "pupil", "username", "user name", "student email", "email address",
            "email", "e mail address", "e mail", "student id", "student number", "id number", "sis id",
            "sis user id", "login id", "first name", "last name")
_SECTION = ("class period", "period", "section", "class section", "course section", "section name", "class",
            "class name", "block", "hour", "homeroom", "course")
_DATE = ("date", "ticket date", "date submitted", "submission date", "timestamp", "time stamp",
         "completion time", "submitted at", "submission time", "submitted", "completed", "start time", "time",
         "day")
_META = {"id", "timestamp", "time stamp", "start time", "completion time", "last modified time", "email",
         "email address", "e mail", "e mail address", "score", "total score", "total points", "points",
         "quiz feedback", "grade", "username", "submitted", "attempt", "sis id", "section id",
         "section sis id", "n correct", "n incorrect", "user id", "sis user id", "sis login id", "login id",
         "ip address", "duration", "time taken", "status", "row", "row id", "response id", "respondent id",
         "index"}
# fmt: on
# "Points - Q1" / "Feedback - Q1" (Microsoft Forms), "Q1 [Score]" (Google Sheets quizzes): not questions.
_PER_QUESTION_META = re.compile(r"^(points|feedback)\s*-\s|\[(score|feedback)\]\s*$", re.IGNORECASE)
# Form questions that ask for the student's name or class ("What is your name?", "Which period are you in?").
_NAME_QUESTION = re.compile(
    r"\byour (full |first and last )?name\b|\b(student|student s|full|first|last|preferred) name\b"
    r"|^name( first and last)?$"
)
_SECTION_QUESTION = re.compile(r"\b(period|section|block|hour)\b|\bclass (are you|you are)\b|\byour class\b")
# "1", "Q1", "Question 2", "#3", "4b": a numbered question column.
_NUMBERED = re.compile(r"^(q|question|item|problem|no)?\s?\d{1,3}[a-z]?$")
_EXPLAIN = re.compile(
    r"\b(explain\w*|why|reason\w*|justif\w*|how do you know|how did you|show your (work|thinking)"
    r"|because|what made you)\b"
)
_CANVAS_ITEM = re.compile(r"^(\d+):\s*(.*)$", re.DOTALL)
_DATE_RE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}.*)?$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)%?$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_SIGNATURES = (
    (b"\x89PNG", "an image (PNG)"),
    (b"\xff\xd8\xff", "an image (JPEG)"),
    (b"GIF8", "an image (GIF)"),
    (b"RIFF", "an image or media file"),
    (b"%PDF", "a PDF"),
    (b"\x1f\x8b", "a compressed (gzip) file"),
    (b"Rar!", "a compressed (RAR) archive"),
    (b"7z\xbc\xaf", "a compressed (7-Zip) archive"),
)


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
    """

    frame: pd.DataFrame
    columns: ColumnMap
    layout: str
    source_rows: int
    source_name: str = ""

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
    data, name = _load(source, filename)
    label = f"'{Path(name).name}'" if name else "The file"
    header, frame = _parse(data, name, label)
    overrides = {
        "response_col": response_col,
        "answer_col": answer_col,
        "question_col": question_col,
        "student_col": student_col,
        "section_col": section_col,
        "date_col": date_col,
        "key_col": key_col,
    }
    chosen = {k: _find_column(v, header, k) for k, v in overrides.items() if v is not None}
    if len(frame) == 0:
        raise TicketFormatError(
            f"{label} has column names but no responses — check that the form has "
            "responses, export it again and upload the new file."
        )
    if len(frame) > MAX_ROWS:
        raise TicketFormatError(
            f"{label} has {len(frame):,} rows; the limit is {MAX_ROWS:,} — split it into "
            "smaller files (for example one per class or per day)."
        )
    tickets = _Layout(frame, chosen, label).build()
    return replace(tickets, source_name=Path(name).name if name else "")


# ---------------------------------------------------------------------------------------------- loading bytes


def _load(source, filename: str | None) -> tuple[bytes, str | None]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise TicketFormatError(f"The file '{path}' was not found — check the name and folder.")
        _check_size(path.stat().st_size, path.name)
        return path.read_bytes(), filename or path.name
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read(MAX_FILE_BYTES + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
        filename = filename or getattr(source, "name", None)
    else:
        raise TicketFormatError(
            f"Cannot read exit tickets from a {type(source).__name__} — give a file path "
            "or the uploaded file."
        )
    _check_size(len(data), filename)
    return data, filename


def _check_size(size: int, name: str | None) -> None:
    if size > MAX_FILE_BYTES:
        raise TicketFormatError(
            f"'{Path(name).name if name else 'The file'}' is {size / 2**20:,.0f} MB; the "
            f"limit is {MAX_FILE_BYTES // 2**20} MB — split it into smaller files."
        )


def _parse(data: bytes, name: str | None, label: str) -> tuple[list[str], pd.DataFrame]:
    """Bytes -> (column names, frame of str). Raises on empty / binary / unsupported files."""
    suffix = Path(name).suffix.lower() if name else ""
    if suffix and suffix not in TEXT_SUFFIXES + EXCEL_SUFFIXES:
        hint = " (an old Excel file)" if suffix == ".xls" else ""
        raise TicketFormatError(
            f"{label} is a '{suffix}' file{hint}, which cannot be read — save or download the responses as "
            "CSV (.csv) or Excel (.xlsx) and upload that file."
        )
    if not data.strip(b" \t\r\n\x00,;\xef\xbb\xbf\xff\xfe"):  # nothing but separators and blanks
        raise TicketFormatError(f"{label} is empty — export the responses again and upload the new file.")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, label)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TicketFormatError(
            f"{label} is an old-style Excel (.xls) file or a password-protected workbook — open it in Excel "
            "and save it as .xlsx (without a password) or CSV, then upload that file."
        )
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            raise TicketFormatError(
                f"{label} is {kind}, not a spreadsheet — export the responses from your form "
                "as CSV or Excel (.xlsx) and upload that file."
            )
    text = _decode(data, label)
    return _read_text(text, label)


def _decode(data: bytes, label: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        head = data[:4096]
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > 0.3 * len(head) / 2 and even < odd / 4:
            text = data.decode("utf-16-le", errors="replace")
        elif even > 0.3 * len(head) / 2 and odd < even / 4:
            text = data.decode("utf-16-be", errors="replace")
        else:
            controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13)) / len(head)
            try:
                codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
                valid_utf8 = True
            except UnicodeDecodeError:
                valid_utf8 = False
            if controls > 0.3 or (controls > 0.05 and not valid_utf8):
                raise TicketFormatError(
                    f"{label} does not look like a CSV file (it holds binary data) — export the responses "
                    "from your form as CSV or Excel (.xlsx) and upload that file."
                )
            # UTF-8; any byte that is not valid UTF-8 is read as Windows-1252 (Excel's "CSV" on Windows),
            # so a cp1252 file and a UTF-8 file with a few pasted cp1252 characters both come out right.
            text = data.decode("utf-8", errors=_CP1252_FALLBACK)
    return text.lstrip("\ufeff").replace("\x00", "")


def _cp1252_bytes(error: UnicodeError) -> tuple[str, int]:
    bad = error.object[error.start : error.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in bad), error.end


_CP1252_FALLBACK = "feedback_assistant.cp1252"
codecs.register_error(_CP1252_FALLBACK, _cp1252_bytes)


def _read_text(text: str, label: str) -> tuple[list[str], pd.DataFrame]:
    seps: tuple[str, ...] = (",", ";", "\t")
    first_line = text.split("\n", 1)[0].strip("\r")
    if re.fullmatch(r"sep=.", first_line):  # Excel's hint line
        seps, text = (first_line[4],), text.split("\n", 1)[1] if "\n" in text else ""
    sep, width = _sniff(text, seps)
    try:
        raw = _pandas_grid(text, sep, width)
    except pd.errors.ParserError:  # a row longer than the header, or a quote never closed
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        width = max((len(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=sep)), default=1)
        try:
            raw = _pandas_grid(text, sep, width)
        except pd.errors.ParserError:  # the tolerant csv module decides where rows end
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
            raw = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)
    return _frame_from_grid(raw, label)


def _pandas_grid(text: str, sep: str, width: int) -> pd.DataFrame:
    """All records as str, padded to ``width`` fields; raises ParserError when a record is wider."""
    return pd.read_csv(
        io.StringIO(text, newline=""),
        sep=sep,
        header=None,
        names=range(max(width, 1)),
        dtype=str,
        na_filter=False,
        keep_default_na=False,
        skip_blank_lines=False,
        engine="c",
        quotechar='"',
        doublequote=True,
    )


def _sniff(text: str, seps: tuple[str, ...]) -> tuple[str, int]:
    """Pick the separator that splits the header and the next rows most consistently; return it and the
    header's width. A header with no separator means one column, read with a separator that never appears."""
    sample = text[:65536]
    best, best_score = "\x1f", (-1.0, 1)
    for sep in seps:
        records: list[int] = []
        try:
            for rec in csv.reader(io.StringIO(sample, newline=""), delimiter=sep):
                if not records and not any(field.strip() for field in rec):
                    continue  # blank lines above the header
                records.append(len(rec))
                if len(records) >= 30:
                    break
        except csv.Error:
            continue
        if not records or (records[0] < 2 and len(seps) > 1):
            continue
        body = records[1:-1] or records[1:] or [records[0]]
        score = (sum(1 for k in body if k == records[0]) / len(body), records[0])
        if score > best_score:
            best, best_score = sep, score
    return best, best_score[1]


def _read_xlsx(data: bytes, label: str) -> tuple[list[str], pd.DataFrame]:
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for non-workbooks
        kind = "a zip archive"
        if _zip_has(data, "word/"):
            kind = "a Word document"
        elif _zip_has(data, "mimetype"):
            kind = "an OpenDocument file"
        raise TicketFormatError(
            f"{label} is {kind}, not an Excel workbook — open it and save or download the responses as CSV "
            "or Excel (.xlsx), then upload that file."
        ) from exc
    try:
        for sheet in book.worksheets:
            rows, pending = [], 0
            for values in sheet.iter_rows(values_only=True):
                cells = [_cell_text(v) for v in values]
                if not any(c.strip() for c in cells):
                    if rows:
                        pending += 1  # held back until a later row has content (drops trailing padding)
                    continue
                rows.extend([[]] * pending)
                pending = 0
                rows.append(cells)
                if len(rows) > MAX_ROWS + 1:
                    raise TicketFormatError(
                        f"{label} has more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,} — split it into "
                        "smaller files (for example one per class or per day)."
                    )
            if rows:
                width = max(len(r) for r in rows)
                grid = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)
                return _frame_from_grid(grid, label)
    finally:
        book.close()
    raise TicketFormatError(
        f"{label} is empty (no sheet has any cells filled in) — export the responses "
        "again and upload the new file."
    )


def _zip_has(data: bytes, prefix: str) -> bool:
    try:
        return any(n.startswith(prefix) for n in zipfile.ZipFile(io.BytesIO(data)).namelist())
    except zipfile.BadZipFile:
        return False


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, _dt.datetime):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(getattr(value, "text", value))


def _frame_from_grid(grid: pd.DataFrame, label: str) -> tuple[list[str], pd.DataFrame]:
    """A positional grid of str (header row first, maybe blank rows around) -> named frame of data rows."""
    grid = grid.fillna("")
    filled = (grid.apply(lambda s: s.str.strip() != "")).any(axis=1).to_numpy()
    if not filled.any():
        raise TicketFormatError(f"{label} is empty — export the responses again and upload the new file.")
    first, last = int(np.argmax(filled)), len(filled) - 1 - int(np.argmax(filled[::-1]))
    header_cells = [str(v).strip() for v in grid.iloc[first].tolist()]
    body = grid.iloc[first + 1 : last + 1].reset_index(drop=True)
    keep = [j for j, h in enumerate(header_cells) if h or (body[body.columns[j]].str.strip() != "").any()]
    names = _dedupe([header_cells[j] or f"Column {j + 1}" for j in keep])
    frame = body.iloc[:, keep].copy()
    frame.columns = names
    frame = frame.astype(str)
    return names, frame


def _dedupe(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for name in names:
        new, k = name, 2
        while new in seen:
            new, k = f"{name} ({k})", k + 1
        seen.add(new)
        out.append(new)
    return out


def _norm(header: str) -> str:
    h = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(header))
    h = re.sub(r"[^\w\s]|_", " ", h.lower())
    return " ".join(h.split())


def _listing(columns: list[str]) -> str:
    shown = [" ".join(c.split())[:60] for c in columns[:30]]
    return ", ".join(shown) + (f", ... ({len(columns)} in all)" if len(columns) > 30 else "")


def _find_column(wanted: str, columns: list[str], arg: str) -> str:
    for match in (
        lambda c: c == wanted,
        lambda c: c.strip() == wanted.strip(),
        lambda c: _norm(c) == _norm(wanted),
    ):
        for c in columns:
            if match(c):
                return c
    raise TicketFormatError(
        f"Column '{wanted}' was not found. The columns are: {_listing(columns)} — pass "
        f"{_FLAGS[arg]} with one of them."
    )


# -------------------------------------------------------------------------------------------- judging columns


@dataclass(frozen=True, slots=True)
class _Stats:
    filled: int
    mean_len: float
    mean_words: float
    distinct: int
    alpha: float
    numeric: float
    email: float
    date: float

    @property
    def free_text(self) -> bool:
        """Looks like written responses: letters, several words or long and varied."""
        return (
            self.filled > 0
            and self.alpha >= 0.5
            and (self.mean_words >= 3 or (self.mean_len >= 15 and self.distinct >= 0.5 * self.filled))
        )

    @property
    def categorical(self) -> bool:
        """Looks like a chosen multiple-choice option: short, few distinct values."""
        return (
            self.filled > 0
            and self.mean_len <= 40
            and self.mean_words <= 6
            and (self.mean_len <= 3 or (self.distinct <= 10 and self.distinct <= max(1.0, 0.5 * self.filled)))
        )

    @property
    def text_score(self) -> float:
        return (
            self.alpha * min(self.mean_words, 30.0) * (self.distinct / max(self.filled, 1))
            if self.filled
            else 0
        )

    @property
    def machine(self) -> bool:
        """Emails, dates or plain numbers: not something a student wrote."""
        return self.filled > 0 and max(self.email, self.date, self.numeric) >= 0.9


def _stats(series: pd.Series) -> _Stats:
    values = [v for v in series.iloc[:_SAMPLE].tolist() if v.strip()]
    n = len(values)
    if not n:
        return _Stats(0, 0.0, 0.0, 0, 0.0, 0.0, 0.0, 0.0)
    stripped = [v.strip() for v in values]
    return _Stats(
        filled=n,
        mean_len=sum(map(len, stripped)) / n,
        mean_words=sum(len(v.split()) for v in stripped) / n,
        distinct=len(set(stripped)),
        alpha=sum(any(ch.isalpha() for ch in v) for v in stripped) / n,
        numeric=sum(bool(_NUMBER_RE.match(v)) for v in stripped) / n,
        email=sum(bool(_EMAIL_RE.match(v)) for v in stripped) / n,
        date=sum(bool(_DATE_RE.match(v)) for v in stripped) / n,
    )


class _Layout:
    """Works out the layout and the role of each column, then builds the long TicketSet."""

    def __init__(self, frame: pd.DataFrame, chosen: dict[str, str], label: str):
        self.frame, self.chosen, self.label = frame, chosen, label
        self.names = list(frame.columns)
        self.norm = {c: _norm(c) for c in self.names}
        self._stats: dict[str, _Stats] = {}

    def stats(self, col: str) -> _Stats:
        if col not in self._stats:
            self._stats[col] = _stats(self.frame[col])
        return self._stats[col]

    def by_header(self, synonyms: tuple[str, ...], exclude: set[str] = frozenset()) -> str | None:
        """The non-empty column whose header is the earliest synonym in ``synonyms``."""
        rank = {s: i for i, s in enumerate(synonyms)}
        hits = [c for c in self.names if self.norm[c] in rank and c not in exclude and self.stats(c).filled]
        return min(hits, key=lambda c: rank[self.norm[c]]) if hits else None

    # --- roles shared by every layout

    def people_and_dates(self, taken: set[str]) -> dict[str, str | None]:
        ch = self.chosen
        student = ch.get("student_col") or self._student(taken)
        section = ch.get("section_col") or self._section(taken | {student})
        date = ch.get("date_col") or self.by_header(_DATE, taken | {student, section})
        return {"student": student, "section": section, "date": date}

    def _student(self, taken: set[str]) -> str | None:
        rank = {s: i for i, s in enumerate(_STUDENT)}
        hits = []
        for c in self.names:
            n, st = self.norm[c], self.stats(c)
            if c in taken or not st.filled:
                continue
            if n in rank:
                hits.append((rank[n], c))
            elif _NAME_QUESTION.search(n) and st.mean_words <= 5 and st.distinct > 0.5 * st.filled:
                hits.append((rank["username"] - 0.5, c))  # "What is your name?": after names, before emails
        for rank_c in sorted(hits):  # a column of one repeated value ("anonymous") is a poor student column
            st = self.stats(rank_c[1])
            if st.distinct > 1 or st.filled == 1 or len(self.frame) == 1:
                return rank_c[1]
        return min(hits)[1] if hits else None

    def _section(self, taken: set[str]) -> str | None:
        found = self.by_header(_SECTION, taken)
        if found:
            return found
        for c in self.names:
            n, st = self.norm[c], self.stats(c)
            if (
                c not in taken
                and st.filled
                and _SECTION_QUESTION.search(n)
                and len(n.split()) <= 8
                and st.distinct <= 30
                and st.mean_words <= 4
            ):
                return c
        return None

    # --- layouts

    def build(self) -> TicketSet:
        if "question_col" not in self.chosen and self._is_canvas():
            return self._wide(CANVAS)
        question = self.chosen.get("question_col") or self.by_header(_QUESTION)
        if question is None and self._is_wide():
            return self._wide(WIDE)
        return self._long(question)

    def _is_canvas(self) -> bool:
        norms = set(self.norm.values())
        return {"name", "id", "section"} <= norms and any(_CANVAS_ITEM.match(c) for c in self.names)

    def _forms_signature(self) -> bool:
        norms = set(self.norm.values())
        return "timestamp" in norms or {"start time", "completion time"} <= norms

    def _question_like(self, col: str) -> bool:
        n = self.norm[col]
        return col.rstrip().endswith("?") or len(n.split()) >= 3 or bool(_NUMBERED.match(n))

    def _is_wide(self) -> bool:
        if self._forms_signature():
            return True
        if any(self.norm[c] in _RESPONSE for c in self.names):  # "Response", "Explanation": a long table
            return False
        named = set(_RESPONSE + _ANSWER + _KEY + _STUDENT + _SECTION + _DATE) | _META
        return any(
            self.norm[c] not in named and self._question_like(c) and not self.stats(c).machine
            for c in self.names
            if self.stats(c).filled
        )

    def _long(self, question: str | None) -> TicketSet:
        ch = self.chosen
        taken = {question} - {None}
        key = ch.get("key_col") or self._key(taken)
        taken |= {key} - {None}
        roles = self.people_and_dates(taken | {ch.get("response_col"), ch.get("answer_col")} - {None})
        taken |= {v for v in roles.values() if v}
        response = ch.get("response_col") or self._long_response(taken | {ch.get("answer_col")} - {None})
        answer = ch.get("answer_col") or self._long_answer(response, taken | {response})
        cmap = ColumnMap(response=response, question=question, answer=answer, key=key, **roles)
        return _with_source_row(self.frame.copy(), np.arange(len(self.frame), dtype=np.int64), cmap, LONG)

    def _key(self, taken: set[str]) -> str | None:
        col = self.by_header(_KEY, taken)
        if col is None:
            return None
        values = {v.strip().lower() for v in self.frame[col].iloc[:_SAMPLE] if v.strip()}
        return (
            None
            if values <= {"true", "false", "0", "1", "yes", "no", "y", "n", "correct", "incorrect"}
            else col
        )

    def _long_response(self, taken: set[str]) -> str:
        named = [c for c in self.names if self.norm[c] in _RESPONSE and c not in taken]
        rank = {s: i for i, s in enumerate(_RESPONSE)}
        named.sort(
            key=lambda c: (not self.stats(c).filled, rank[self.norm[c]])
        )  # an all-blank one still counts
        answers = [
            c for c in self.names if self.norm[c] in _ANSWER and c not in taken and self.stats(c).filled
        ]
        for group in (named, answers):
            free = [c for c in group if self.stats(c).free_text]
            if free:
                return free[0]
        if named:
            return named[0]
        others = [
            c
            for c in self.names
            if c not in taken
            and c not in answers
            and self.norm[c] not in _META
            and self.norm[c] not in _KEY
            and not self.stats(c).machine
            and self.stats(c).free_text
        ]
        if others:
            return max(others, key=lambda c: self.stats(c).text_score)
        if answers:
            return answers[0]
        raise TicketFormatError(
            f"No column in {self.label} looks like student responses. The columns are: "
            f"{_listing(self.names)} — pass --response-col with the column that holds the answers."
        )

    def _long_answer(self, response: str, taken: set[str]) -> str | None:
        found = self.by_header(_ANSWER, taken)
        if found:
            return found
        i = self.names.index(response)
        if i > 0:
            prev = self.names[i - 1]
            st = self.stats(prev)
            if (
                prev not in taken
                and self.norm[prev] not in _META
                and st.categorical
                and not st.free_text
                and not st.machine
            ):
                return prev
        return None

    def _wide(self, layout: str) -> TicketSet:
        ch = self.chosen
        if layout == CANVAS:
            questions = [c for c in self.names if _CANVAS_ITEM.match(c)]
            roles = {
                "student": ch.get("student_col") or self.by_header(("name",)),
                "section": ch.get("section_col") or self.by_header(("section",)),
                "date": ch.get("date_col") or self.by_header(("submitted",)),
            }
        else:
            roles = self.people_and_dates({ch[k] for k in ("response_col", "answer_col") if k in ch})
            taken = {v for v in roles.values() if v} | {ch.get("key_col")}
            questions = [
                c
                for c in self.names
                if c not in taken
                and self.norm[c] not in _META
                and not _PER_QUESTION_META.search(c)
                and self.stats(c).filled
                and not (self.stats(c).machine and self.stats(c).date + self.stats(c).email >= 0.9)
            ]
        key = ch.get("key_col")
        override = ch.get("answer_col")
        questions = [c for c in questions if c != override]
        if "response_col" in ch and ch["response_col"] not in questions:
            questions.append(ch["response_col"])
            questions.sort(key=self.names.index)
        answers = self._pair_answers(questions, override, layout)
        questions = [q for q in questions if q not in answers.values()]
        if "response_col" in ch:
            questions = [ch["response_col"]]
            answers = {q: a for q, a in answers.items() if q in questions}
        if not questions:
            raise TicketFormatError(
                f"No column in {self.label} looks like student responses. The columns are: "
                f"{_listing(self.names)} — pass --response-col with the column that holds the answers."
            )
        return self._melt(questions, answers, roles, key, layout)

    def _pair_answers(self, questions: list[str], override: str | None, layout: str) -> dict[str, str]:
        """Map question column -> its multiple-choice answer column.

        A short categorical column immediately before a free-text column whose header asks for an explanation
        ("Explain your reasoning", "Why?") is that question's answer; otherwise each column is a question.
        """
        if override and questions:
            target = self.chosen.get("response_col")
            after = [q for q in questions if self.names.index(q) > self.names.index(override)]
            return {target or (after or questions)[0]: override}
        if layout == CANVAS or override:
            return {}
        pairs: dict[str, str] = {}
        for q in questions:
            i = self.names.index(q)
            prev = self.names[i - 1] if i else None
            if prev not in questions or prev in pairs or prev in pairs.values():
                continue
            st, sq = self.stats(prev), self.stats(q)
            explain = bool(_EXPLAIN.search(self.norm[q])) or self.norm[q] in _RESPONSE
            if explain and st.categorical and not st.free_text and not st.machine and sq.free_text:
                pairs[q] = prev
        return pairs

    def _label(self, question: str, answer: str | None) -> str:
        """The question's text: the multiple-choice prompt when the free-text column only says "Why?"."""
        if answer is None:
            return question
        generic = _norm(re.sub(r" \(\d+\)$", "", question))
        if generic in _RESPONSE or (len(generic.split()) <= 5 and _EXPLAIN.search(generic)):
            return answer
        return question

    def _melt(
        self, questions: list[str], answers: dict[str, str], roles: dict, key: str | None, layout: str
    ) -> TicketSet:
        n, k = len(self.frame), len(questions)
        if n * k > MAX_RESPONSES:
            raise TicketFormatError(
                f"{self.label} has {n:,} rows x {k} questions = {n * k:,} responses; the limit is "
                f"{MAX_RESPONSES:,} — split the file, or pick one question with --response-col."
            )
        used = set(questions) | set(answers.values())
        meta = [c for c in self.names if c not in used]
        labels = [self._label(q, answers.get(q)) for q in questions]
        if layout == CANVAS:
            labels = _canvas_labels(questions)
        idx = np.repeat(np.arange(n, dtype=np.int64), k)
        frame = self.frame[meta].iloc[idx].reset_index(drop=True)
        q_name = _unique("question", meta)
        r_name = _unique("response", meta + [q_name])
        frame[q_name] = pd.array(np.tile(np.array(labels, dtype=object), n), dtype="str")
        frame[r_name] = pd.array(self.frame[questions].to_numpy(dtype=object).ravel(), dtype="str")
        a_name = None
        if answers:
            a_name = _unique("answer", meta + [q_name, r_name])
            blank = np.full(n, "", dtype=object)
            grid = np.column_stack(
                [self.frame[answers[q]].to_numpy(dtype=object) if q in answers else blank for q in questions]
            )
            frame[a_name] = pd.array(grid.ravel(), dtype="str")
        cmap = ColumnMap(response=r_name, question=q_name, answer=a_name, key=key, **roles)
        return _with_source_row(frame, idx, cmap, layout, source_rows=n)


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


def _canvas_labels(questions: list[str]) -> list[str]:
    stripped = [_CANVAS_ITEM.match(q).group(2).strip() or q for q in questions]
    return stripped if len(set(stripped)) == len(stripped) else list(questions)


def _unique(name: str, existing) -> str:
    existing = set(existing)
    new, k = name, 2
    while new in existing:
        new, k = f"{name} ({k})", k + 1
    return new
