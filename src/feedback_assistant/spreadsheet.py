"""Write CSV and XLSX files that are safe to open in Excel, Sheets or LibreOffice.

Student text can start with ``=``, ``+``, ``-`` or ``@`` ("=-8+5=-3", "@SUM(A1)", "=HYPERLINK(...)"). A
spreadsheet program that opens such a cell from a CSV runs it as a formula (CSV / formula injection).
Every file the tool writes goes through this module:

* **CSV** - following the OWASP CSV-injection guidance, a text cell whose first character (or first
  character after leading white space) is ``=``, ``+``, ``-``, ``@``, or that starts with a tab or carriage
  return, gets a single quote ``'`` in front, so the spreadsheet shows it as text. Plain numbers such as
  ``-3`` or ``+0.5`` are left alone (they cannot run anything, and a math teacher's answers stay readable).
  Headers are treated the same way.
  **Every locale:** Excel in Spanish, German, French or Italian splits a CSV on ``;`` (and some tools on
  tabs), so the part of a cell after a ``,``, ``;``, tab or line break is a cell of its own there:
  ``ok;=HYPERLINK(...)`` would become a live formula. Such a part gets the ``'`` too, right before its
  ``=``/``+``/``-``/``@`` (``ok;'=HYPERLINK(...)``), unless it is a plain number (``x = -3, -4`` is left
  alone). Files are UTF-8 **with a byte-order mark**, so Excel on Windows shows
  accents, emoji and non-Latin scripts correctly instead of guessing a legacy code page; Python, pandas,
  Sheets and LibreOffice all read the mark.
* **XLSX** - every text cell is written as a text cell (never a formula, never an error value such as
  ``#N/A``), and the ones that look like formulas also get Excel's own "quote prefix" flag, exactly what
  Excel stores when a person types ``'=1+2``. The cell shows the text as typed, without a visible quote, and
  stays text when edited. Characters XLSX cannot hold (control characters other than tab/newline) are
  removed and text longer than Excel's 32,767-character cell limit is cut there.

The app shows responses exactly as typed; only written files are neutralised.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

_TRIGGER = re.compile(r"^(?:[\t\r]|\s*[=+\-@])")
_PLAIN_NUMBER = re.compile(r"^\s*[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)\s*$")
_XLSX_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")
XLSX_CELL_LIMIT = 32_767
CSV_ENCODING = "utf-8-sig"


_SEPARATOR = re.compile(r"[,;\t\r\n]")
_INNER_TRIGGER = re.compile(r"[,;\t\r\n][\s\"']*([=+\-@])")
_INNER_TRIGGER_TEXT = r"[,;\t\r\n][\s\"']*[=+\-@]"


def _starts_formula(text: str) -> bool:
    return bool(_TRIGGER.match(text)) and not _PLAIN_NUMBER.match(text)


def _inner_formulas(text: str) -> list[int]:
    """Positions of the ``=+-@`` that would start a formula once the text is split on ``,``, ``;``, tabs or
    line breaks (a plain number such as ``, -4`` does not count)."""
    out = []
    for m in _INNER_TRIGGER.finditer(text):
        part = _SEPARATOR.split(text[m.start() + 1 :], maxsplit=1)[0]
        if not _PLAIN_NUMBER.match(part.strip("\"' ")):
            out.append(m.start(1))
    return out


def needs_neutralising(text: str) -> bool:
    """True when a spreadsheet could read ``text``, or a part of it after a ``,``/``;``/tab/line break, as a
    formula (see the module notes)."""
    return _starts_formula(text) or bool(_inner_formulas(text))


def neutralise_cell(value):
    """Make one cell safe for a CSV in every locale: ``'`` before each formula start; other values unchanged.

    Args:
        value: any cell value.

    Returns:
        for a string: ``"'"`` in front when it starts (maybe after white space) with ``=``, ``+``, ``-``, ``@``,
        or starts with a tab or carriage return, and is not a plain number; and ``'`` before the ``=+-@`` of
        every part after a ``,``, ``;``, tab or line break that would start a formula on its own. Other values
        are returned as they are.
    """
    if not isinstance(value, str):
        return value
    leading = _starts_formula(value)
    for pos in reversed(_inner_formulas(value)):
        value = value[:pos] + "'" + value[pos:]
    return "'" + value if leading else value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and header passed through ``neutralise_cell``.

    Args:
        frame: any table; non-text columns (numbers, dates) are left as they are.

    Returns:
        a new frame of the same shape and dtypes.
    """
    out = frame.copy()
    for i in range(out.shape[1]):
        s = out.iloc[:, i]
        if pd.api.types.is_string_dtype(s.dtype) or pd.api.types.is_object_dtype(s.dtype):
            out.iloc[:, i] = _neutralise_series(s)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def _neutralise_series(s: pd.Series) -> pd.Series:
    """``neutralise_cell`` on every cell; a vectorised first-character test picks the few cells to look at."""
    try:
        first = s.str.lstrip().str[:1]
        raw_first = s.str[:1]
    except AttributeError:  # no text in the column at all
        return s
    inner = s.str.contains(_INNER_TRIGGER_TEXT, regex=True)
    candidates = (first.isin(["=", "+", "-", "@"]) | raw_first.isin(["\t", "\r"]) | inner).fillna(False).astype(bool)
    if not candidates.any():
        return s
    s = s.copy()
    s[candidates] = s[candidates].map(neutralise_cell)
    return s


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as a neutralised CSV, UTF-8 with a byte-order mark, CRLF line ends, no index column.

    Args:
        frame: the table to write.

    Returns:
        the file's bytes, ready for a download button.
    """
    text = neutralise_frame(frame).to_csv(index=False, lineterminator="\r\n")
    return text.encode(CSV_ENCODING)


def write_csv(frame: pd.DataFrame, path_or_buffer: str | Path | IO) -> None:
    """Write the frame as a neutralised CSV.

    Args:
        frame: the table to write.
        path_or_buffer: a path or binary stream (gets UTF-8 with a byte-order mark), or a text stream (gets
            the same text without the mark; the stream's own encoding applies).
    """
    data = to_csv_bytes(frame)
    if isinstance(path_or_buffer, (str, Path)):
        Path(path_or_buffer).write_bytes(data)
    elif isinstance(path_or_buffer, io.TextIOBase):
        path_or_buffer.write(data.decode(CSV_ENCODING))
    else:
        path_or_buffer.write(data)


def write_xlsx(frame: pd.DataFrame, path_or_buffer: str | Path | IO[bytes], *, sheet_name: str = "responses") -> None:
    """Write the frame as an XLSX workbook with one sheet; text cells are always text, never formulas.

    Args:
        frame: the table to write; the header row comes from its columns.
        path_or_buffer: a path or a binary stream.
        sheet_name: the sheet's name (cut to Excel's 31 characters).
    """
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(sheet_name))

    def cell(value):
        value = _plain(value)
        if not isinstance(value, str):
            return value
        text = _XLSX_ILLEGAL.sub("", value)[:XLSX_CELL_LIMIT]
        if not text:
            return None  # an empty cell
        c = WriteOnlyCell(sheet, value=None)
        c._value, c.data_type = text, "s"  # set directly: the value setter would turn "=..." into a formula
        if needs_neutralising(text):
            c.quotePrefix = True
        return c

    sheet.append([cell(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        sheet.append([cell(v) for v in row])
    if isinstance(path_or_buffer, (str, Path)):
        book.save(str(path_or_buffer))
    else:
        book.save(path_or_buffer)


def to_xlsx_bytes(frame: pd.DataFrame, *, sheet_name: str = "responses") -> bytes:
    """The frame as XLSX bytes (see ``write_xlsx``), ready for a download button."""
    buffer = io.BytesIO()
    write_xlsx(frame, buffer, sheet_name=sheet_name)
    return buffer.getvalue()


def _sheet_title(name: str) -> str:
    title = re.sub(r"[\[\]:*?/\\]", " ", name).strip()[:31]
    return title or "Sheet1"


def _plain(value):
    """numpy / pandas scalars -> plain Python values openpyxl understands; missing -> None (empty cell)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if getattr(value, "tzinfo", None) is not None:
        return value.isoformat(sep=" ")  # XLSX has no time zones: keep the moment as text
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, (str, int, bool)) or hasattr(value, "isoformat"):
        return value
    return str(value)
