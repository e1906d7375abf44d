"""A CSV's text or a workbook's bytes -> tables of text cells: the second step of reading exit tickets.

* CSV: the separator is sniffed on the header line and the next records (never on a fixed-size sample, so a
  78 KB header line of a 200-question Forms export counts whole); the widest record sets the width, so a row
  longer than the header is kept in an extra column, never shifted into an index.
* XLSX: every sheet is read from its XML with openpyxl's streaming parser, cell by cell as stored, so the cost
  follows the cells that hold data and never the declared range (a sheet whose used range says A1:XFD1048576
  because of one formatted cell reads in milliseconds). Formula cells give the value Excel saved
  (``data_only``); a formula with no saved value is read as blank and reported. Hidden rows and columns are
  read and reported. A merged "Name" header over first- and last-name columns gives one column with the full
  name. Before any parsing, a workbook that would unpack to more than ``MAX_UNPACKED_BYTES`` (or whose shared
  strings exceed ``MAX_SHARED_STRINGS_BYTES``) is refused: a zip bomb costs milliseconds, not minutes.
* Every table: a title block above the header (a merged title row, "Teacher: ..." lines) is skipped; the
  header is the first row as wide as the rows below it.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
import sys
import warnings
import zipfile
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .records import TicketFormatError
from .roles import STUDENT, is_column_name, norm
from .text import unique_names as _dedupe

MAX_ROWS = 250_000
"""Most data rows (students x tickets) read from one file."""
MAX_COLUMNS = 20_000
"""Most columns in one table (Excel itself stops at 16,384)."""
MAX_CELLS = 25_000_000
"""Most cells (rows x columns) in one table."""
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
"""Most bytes a workbook may unpack to (all its parts together): 256 MB."""
MAX_SHARED_STRINGS_BYTES = 64 * 1024 * 1024
"""Most bytes of a workbook's shared-strings part (the text of every cell): 64 MB."""
MAX_EXPANSION = 200
"""Most a large workbook part (over 16 MB unpacked) may expand, as a multiple of its packed size."""

_TITLE_ROWS = 10  # most rows above the header taken for a title block
_RECOUNT_CHARS = 32 * 2**20  # CSV text up to this size has its rows counted a second way


@dataclass(frozen=True, slots=True)
class Sheet:
    """One worksheet's cells as text, positional (row 0 = the sheet's first row that holds anything).

    Attributes:
        name: the tab's name.
        rows: text of each row, every row padded to the same width; empty rows inside the sheet kept as "".
        merged: merged ranges as (first row, first col, last row, last col), 0-based in ``rows``.
        hidden_rows: indexes into ``rows`` of hidden rows.
        hidden_cols: indexes of hidden columns.
        unsaved_formulas: formula cells with no value saved in the file (read as blank).
        hidden_sheet: the tab itself is hidden.
    """

    name: str
    rows: list[list[str]]
    merged: tuple[tuple[int, int, int, int], ...] = ()
    hidden_rows: frozenset[int] = frozenset()
    hidden_cols: frozenset[int] = frozenset()
    unsaved_formulas: int = 0
    hidden_sheet: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """A grid with its header found: column names and data rows of text.

    Attributes:
        names: column names, unique ("Column 3" for a blank header cell over data).
        frame: the data rows, one ``str`` column per name, index 0..n-1.
        sheet: the tab it came from ("" for a CSV).
        notices: what the teacher should know (title rows skipped, hidden rows read...); no cell values.
    """

    names: list[str]
    frame: pd.DataFrame
    sheet: str = ""
    notices: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------------------ CSV


def text_grid(text: str, label: str) -> pd.DataFrame:
    """CSV text -> positional grid of str (all records, every one padded to the widest)."""
    seps: tuple[str, ...] = (",", ";", "\t")
    first_line = text[:7].split("\n", 1)[0].strip("\r")
    if re.fullmatch(r"sep=.", first_line):  # Excel's "sep=;" hint line
        seps, text = (first_line[4],), text.split("\n", 1)[1] if "\n" in text else ""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    sep, width = _sniff(text, seps)
    _check_width(width, label)
    try:
        raw = _pandas_grid(text, sep, width)
    except pd.errors.ParserError:  # a row longer than the header, or a quote never closed
        width = max((len(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=sep)), default=1)
        _check_width(width, label)
        try:
            raw = _pandas_grid(text, sep, width)
        except pd.errors.ParserError:  # the tolerant csv module decides where rows end
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
            raw = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)
    if (
        not isinstance(raw.index, pd.RangeIndex)
        or raw.shape[1] != max(width, 1)
        or (len(text) <= _RECOUNT_CHARS and len(raw) != _count_records(text, sep))
    ):  # never a shifted column, never a row lost between two readers
        raise TicketFormatError(
            f"{label} could not be read with its rows lined up under its column names — open it in a "
            "spreadsheet, save it as CSV UTF-8 and upload that file."
        )
    return raw


def _count_records(text: str, sep: str) -> int:
    """Records in the text as Python's csv module reads them (a second opinion on where rows end)."""
    return sum(1 for _ in csv.reader(io.StringIO(text, newline=""), delimiter=sep))


def _check_width(width: int, label: str) -> None:
    if width > MAX_COLUMNS:
        raise TicketFormatError(
            f"{label} has {width:,} columns; the limit is {MAX_COLUMNS:,} — check that it is an exit-ticket "
            "export (one row per student), or split the questions into smaller files."
        )


def _pandas_grid(text: str, sep: str, width: int) -> pd.DataFrame:
    """All records as str, padded to ``width`` fields; raises ParserError when a record is wider."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return pd.read_csv(
                io.StringIO(text, newline=""),
                sep=sep,
                header=None,
                names=range(max(width, 1)),
                index_col=False,  # a wider row is an error here, never moved into the index
                dtype=object,  # one block of Python str: cheap to scan; ``table`` gives the columns pandas' str
                na_filter=False,
                keep_default_na=False,
                skip_blank_lines=False,
                engine="c",
                quotechar='"',
                doublequote=True,
            )
        except pd.errors.ParserWarning as exc:
            raise pd.errors.ParserError(str(exc)) from exc


def _sniff(text: str, seps: tuple[str, ...]) -> tuple[str, int]:
    """Pick the separator that splits the header and the next records most consistently; return it and the
    header's width. Records are read whole however long. A header with no separator means one column, read
    with a separator that never appears."""
    best, best_score = "\x1f", (-1.0, 1)
    for sep in seps:
        records: list[int] = []
        try:
            for rec in csv.reader(io.StringIO(text, newline=""), delimiter=sep):
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


# ----------------------------------------------------------------------------------------------------- XLSX


def check_unpacked_size(data: bytes, label: str) -> None:
    """Refuse a workbook that would unpack to more than the limits, before any of it is parsed.

    Raises:
        TicketFormatError: naming the limit that was hit.
    """
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError):
        return  # not a zip this module can open: the workbook reader then says what it is
    total = sum(i.file_size for i in infos)
    strings = sum(i.file_size for i in infos if i.filename.lower().endswith("sharedstrings.xml"))
    blown = [i for i in infos if i.file_size > 16 * 2**20 and i.file_size > MAX_EXPANSION * max(i.compress_size, 1)]
    if total > MAX_UNPACKED_BYTES or strings > MAX_SHARED_STRINGS_BYTES or blown:
        if strings > MAX_SHARED_STRINGS_BYTES:
            limit = MAX_SHARED_STRINGS_BYTES // 2**20
            what = f"its cell text unpacks to {strings / 2**20:,.0f} MB; the limit is {limit} MB"
        elif total > MAX_UNPACKED_BYTES:
            what = f"it unpacks to {total / 2**20:,.0f} MB; the limit is {MAX_UNPACKED_BYTES // 2**20} MB"
        else:
            what = f"a part of it expands more than {MAX_EXPANSION} times; the limit is {MAX_EXPANSION} times"
        raise TicketFormatError(
            f"{label} was not read: {what} (an exit-ticket workbook is far smaller) — open it in Excel, copy "
            "the responses into a new workbook or save them as CSV, and upload that file."
        )


def workbook_sheets(data: bytes, label: str) -> list[Sheet]:
    """Every worksheet of an XLSX, in tab order, as text cells (sheets with no cells left out).

    Raises:
        TicketFormatError: not a workbook (says what it is), a zip bomb, or too many rows/cells.
    """
    import openpyxl

    check_unpacked_size(data, label)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for non-workbooks
        kind = "a zip archive"
        if _zip_has(data, "xl/workbook.xml"):
            raise TicketFormatError(
                f"{label} is an Excel workbook that could not be opened: it is damaged ({type(exc).__name__}) — "
                "open it in Excel, save it again (or save it as CSV UTF-8) and upload the new file."
            ) from exc
        if _zip_has(data, "word/"):
            kind = "a Word document"
        elif _zip_has(data, "mimetype"):
            kind = "an OpenDocument file"
        raise TicketFormatError(
            f"{label} is {kind}, not an Excel workbook — open it and save or download the responses as CSV "
            "or Excel (.xlsx), then upload that file."
        ) from exc
    try:
        sheets = []
        for ws in book.worksheets:
            try:
                sheet = _read_sheet(book, ws, label)
            except TicketFormatError:
                raise
            except Exception as exc:  # noqa: BLE001 - a damaged sheet: lxml, zlib, openpyxl errors alike
                raise TicketFormatError(
                    f"{label} could not be read: its sheet '{ws.title}' is damaged ({type(exc).__name__}) — open "
                    "the file in Excel, save it again (or save it as CSV UTF-8) and upload the new file."
                ) from exc
            if sheet is not None:
                sheets.append(sheet)
        return sheets
    finally:
        book.close()


def _read_sheet(book, ws, label: str) -> Sheet | None:
    parser_class = _parser_class()
    with ws._get_source() as src, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parser = parser_class(
            src,
            ws._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        cells: dict[int, dict[int, str]] = {}
        width = 0
        for row_idx, row in parser.parse():
            values = {c["column"]: _cell_text(c["value"]) for c in row if c["value"] is not None}
            values = {k: v for k, v in values.items() if v != ""}
            if not values:
                continue
            cells[row_idx] = values
            width = max(width, max(values))
            if len(cells) > MAX_ROWS + 1:
                raise TicketFormatError(
                    f"{label} has more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,} — split it into "
                    "smaller files (for example one per class or per day)."
                )
    if not cells:
        return None
    top, bottom = min(cells), max(cells)
    left = 1  # column A stays column 1 ("Column 3" names the same column as in Excel)
    n_rows, n_cols = bottom - top + 1, width - left + 1
    if n_rows > MAX_ROWS + 1:
        raise TicketFormatError(
            f"{label} has more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,} — split it into "
            "smaller files (for example one per class or per day)."
        )
    if n_cols > MAX_COLUMNS or n_rows * n_cols > MAX_CELLS:
        raise TicketFormatError(
            f"{label} has {n_rows:,} rows x {n_cols:,} columns; the limit is {MAX_CELLS:,} cells and "
            f"{MAX_COLUMNS:,} columns — copy just the responses into a new sheet and upload that."
        )
    rows = [[""] * n_cols for _ in range(n_rows)]
    for r, values in cells.items():
        target = rows[r - top]
        for c, v in values.items():
            target[c - left] = v
    merged = []
    if parser.merged_cells is not None:
        from openpyxl.utils import range_boundaries

        for m in parser.merged_cells.mergeCell:
            c1, r1, c2, r2 = range_boundaries(m.ref)
            merged.append((r1 - top, c1 - left, r2 - top, c2 - left))
    hidden_rows = frozenset(
        int(r) - top
        for r, attrs in parser.row_dimensions.items()
        if str(attrs.get("hidden", "")).lower() in ("1", "true") and top <= int(r) <= bottom
    )
    hidden_cols: set[int] = set()
    for attrs in parser.column_dimensions.values():
        if str(attrs.get("hidden", "")).lower() in ("1", "true"):
            lo, hi = int(attrs.get("min", 0)), int(attrs.get("max", attrs.get("min", 0)))
            hidden_cols.update(range(max(lo, left), min(hi, width) + 1))
    return Sheet(
        name=ws.title,
        rows=rows,
        merged=tuple(merged),
        hidden_rows=hidden_rows,
        hidden_cols=frozenset(c - left for c in hidden_cols),
        unsaved_formulas=parser.unsaved_formulas,
        hidden_sheet=getattr(ws, "sheet_state", "visible") != "visible",
    )


_PARSER = None


def _parser_class():
    """openpyxl's streaming sheet parser, counting formula cells that have no saved value."""
    global _PARSER
    if _PARSER is None:
        from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

        class _Parser(WorkSheetParser):
            unsaved_formulas = 0

            def parse_cell(self, element):
                cell = super().parse_cell(element)
                if cell["value"] is None and element.find(FORMULA_TAG) is not None:
                    self.unsaved_formulas += 1
                return cell

        _PARSER = _Parser
    return _PARSER


def _zip_has(data: bytes, prefix: str) -> bool:
    try:
        return any(n.startswith(prefix) for n in zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError):
        return False


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
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


# ------------------------------------------------------------------------------------------ grid -> table


def sheet_grid(sheet: Sheet) -> pd.DataFrame:
    """A sheet's cells as a positional grid of str."""
    return pd.DataFrame(sheet.rows, dtype=str)


def table(grid: pd.DataFrame, label: str, sheet: Sheet | None = None) -> Table:
    """A positional grid of str (maybe a title block and blank rows around) -> named columns and data rows.

    Raises:
        TicketFormatError: the grid has no cell with anything in it.
    """
    cells = grid.fillna("").to_numpy(dtype=object)  # one block of Python str: cheap to slice and scan
    filled = _filled(cells)
    counts = filled.sum(axis=1)
    if not counts.any():
        raise TicketFormatError(f"{label} is empty — export the responses again and upload the new file.")
    last = len(counts) - 1 - int(np.argmax(counts[::-1] > 0))
    first = _header_row(cells, filled, counts)
    has_data = np.asarray(filled[first + 1 : last + 1].any(axis=0))
    header_cells = [str(v).strip() for v in cells[first].tolist()]
    spread = _fill_vertical_merges(cells, sheet, first, last) if sheet else 0
    body = cells[first + 1 : last + 1]
    merged = _merged_headers(sheet, first, header_cells) if sheet else {}
    drop = {j for span in merged.values() for j in span[1:]}
    keep = [j for j, h in enumerate(header_cells) if j not in drop and (h or j in merged or has_data[j])]
    names = _dedupe([header_cells[j] or f"Column {j + 1}" for j in keep])
    frame = pd.DataFrame(body[:, keep], columns=names).astype(str)
    for j, span in merged.items():  # "Name" over first and last name: one column with the full name
        parts = body[:, span]
        frame[names[keep.index(j)]] = [" ".join(p.strip() for p in row if p.strip()) for row in parts]
    notices = _notices(sheet, first, last, counts, keep, merged, spread)
    return Table(names=names, frame=frame, sheet=sheet.name if sheet else "", notices=notices)


def _filled(cells: np.ndarray) -> np.ndarray:
    """Which cells hold something other than blanks (a bool array shaped like ``cells``)."""
    values = cells.reshape(-1).tolist()
    filled = np.fromiter((bool(v) and not v.isspace() for v in values), dtype=bool, count=len(values))
    return filled.reshape(cells.shape)


def _header_row(cells: np.ndarray, filled: np.ndarray, counts: np.ndarray) -> int:
    """The header row: the first non-empty row, unless a title block sits above the column names.

    A title block is a few rows above a row that names columns as forms do (Student, Name, Response,
    Timestamp...), each title row short (at most 3 cells, from column A on, fewer than the header has) and naming
    no column itself: a merged "Period 3 exit ticket" row, "Teacher: Ms. Rivera". Anything else is the header, as
    it always was.
    """
    rows = np.flatnonzero(counts > 0)
    for k, j in enumerate(rows[:_TITLE_ROWS]):
        if counts[j] >= 2 and any(is_column_name(str(c)) for c in cells[j].tolist()):
            titles = rows[:k]
            if all(_title_like(cells, filled, counts, i, counts[j]) for i in titles):
                return int(j)
            break
    return int(rows[0])


def _title_like(cells: np.ndarray, filled: np.ndarray, counts: np.ndarray, i: int, header_width: int) -> bool:
    cols = np.flatnonzero(filled[i])
    from_a = len(cols) > 0 and int(cols[-1]) == len(cols) - 1
    names = any(is_column_name(str(v)) for v in cells[i].tolist())
    return from_a and counts[i] <= 3 and counts[i] < header_width and (counts[i] == 1 or not names)


def _fill_vertical_merges(cells: np.ndarray, sheet: Sheet, header: int, last: int) -> int:
    """Give every cell of a merged block in one column below the header the value Excel shows across it (a
    "P1" merged down the period column for a whole class). Returns how many cells were filled."""
    filled = 0
    for r1, c1, r2, c2 in sheet.merged:
        if c1 != c2 or r2 <= r1 or r1 <= header or c1 >= cells.shape[1] or r1 > last:
            continue
        value = str(cells[r1, c1])
        if not value.strip():
            continue
        for r in range(r1 + 1, min(r2, last) + 1):
            if not str(cells[r, c1]).strip():
                cells[r, c1] = value
                filled += 1
    return filled


def _merged_headers(sheet: Sheet, header: int, cells: list[str]) -> dict[int, list[int]]:
    """First column -> the columns under a merged student-name header cell ("Name" over first and last)."""
    student = set(STUDENT)
    spans = {}
    for r1, c1, r2, c2 in sheet.merged:
        if r1 <= header <= r2 and c2 > c1 and 0 <= c1 < len(cells) and norm(cells[c1]) in student:
            spans[c1] = list(range(c1, min(c2, len(cells) - 1) + 1))
    return spans


def _notices(sheet, first, last, counts, keep, merged, spread) -> tuple[str, ...]:
    where = f" in sheet '{sheet.name}'" if sheet else ""
    out = []
    titles = int((counts[:first] > 0).sum())
    if titles:
        out.append(f"{titles} title row{'s' if titles > 1 else ''} above the column names{where} skipped.")
    if sheet is None:
        return tuple(out)
    hidden = sum(1 for r in sheet.hidden_rows if first < r <= last)
    if hidden:
        out.append(f"{hidden} hidden row{'s' if hidden > 1 else ''}{where} read.")
    hidden_c = sum(1 for j in keep if j in sheet.hidden_cols)
    if hidden_c:
        out.append(f"{hidden_c} hidden column{'s' if hidden_c > 1 else ''}{where} read.")
    if merged:
        out.append(f"A merged name header{where} was read as one column with the full name.")
    if spread:
        out.append(f"{spread} cell{'s' if spread > 1 else ''} inside merged blocks{where} read with the block's value.")
    if sheet.unsaved_formulas:
        n = sheet.unsaved_formulas
        out.append(
            f"{n} formula cell{'s' if n > 1 else ''}{where} had no saved value and {'were' if n > 1 else 'was'} "
            "read as blank — open the file in Excel, save it, and upload it again to keep those values."
        )
    return tuple(out)
