"""Safe CSV/XLSX writing: formula-looking text is neutralised, everything else survives exactly."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from feedback_assistant.spreadsheet import (
    XLSX_CELL_LIMIT,
    neutralise_cell,
    neutralise_frame,
    to_csv_bytes,
    to_xlsx_bytes,
    write_csv,
    write_xlsx,
)
from feedback_assistant.tickets import read_tickets

DANGEROUS = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+2",
    "@SUM(A1)",
    "=-8+5=-3",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+2",
    "\rX",
    "  =1+2",
    "\n@x",
    "-",
    "=",
    "+",
]
SAFE = [
    "-3",
    "+0.5",
    " -12 ",
    "3,5",
    "plain text",
    "a=b",
    "1+1=2",
    "'=already quoted",
    "",
    "e=mc2",
    "N/A",
    "#N/A",
    "emoji 😀 and عربى",
]


@pytest.mark.parametrize("text", DANGEROUS)
def test_formula_looking_text_gets_a_quote(text):
    out = neutralise_cell(text)
    assert out.startswith("'") and out.replace("'", "") == text.replace("'", "")  # only quotes added
    assert not _live_parts(out)


# Cells as a spreadsheet in another locale splits them: Excel in es/de/fr/it splits a CSV on ";".
LOCALE_DANGEROUS = [
    'ok;=HYPERLINK("http://evil.example","click")',
    "ok,=1+2",
    "ok; @SUM(A1)",
    'ok;"=1+2"',
    "two lines\n=1+2",
    "tab\t+cmd|' /C calc'!A0",
    "a;b;-2+3",
]
LOCALE_SAFE = ["x = -3, -4", "2; +3", "1,5;-2,5", "a;b", "see: a=b; c=d"]


def _live_parts(text: str) -> list[str]:
    """The parts of ``text`` that a spreadsheet would run as a formula after splitting on , ; tab or line break."""
    import re

    parts = re.split(r"[,;\t\r\n]", text)
    return [p for p in parts if re.match(r"^[\s\"]*[=+\-@]", p) and not re.fullmatch(r"\s*[+-]?\d+(?:[.,]\d*)?\s*", p)]


@pytest.mark.parametrize("text", LOCALE_DANGEROUS)
def test_a_formula_after_a_separator_is_neutralised_for_every_locale(text):
    assert _live_parts(text)  # the case is real
    out = neutralise_cell(text)
    assert not _live_parts(out)
    assert out.replace("'", "") == text.replace("'", "")  # only quotes were added


@pytest.mark.parametrize("text", LOCALE_SAFE)
def test_numbers_and_plain_text_after_a_separator_are_unchanged(text):
    assert neutralise_cell(text) == text


def test_csv_split_on_semicolons_or_tabs_holds_no_live_formula():
    frame = pd.DataFrame({"Student": ["Ana;=1+2", "Bo"], "Response": LOCALE_DANGEROUS[:2]})
    text = to_csv_bytes(frame).decode("utf-8-sig")
    for line in text.splitlines():
        for sep in (";", ",", "\t"):
            for cell in line.split(sep):
                assert not _live_parts(cell.strip('"')), (sep, cell)
    back = pd.read_csv(io.BytesIO(to_csv_bytes(frame)), encoding="utf-8-sig", dtype=str)
    assert back["Response"].str.replace("'", "").tolist() == [t.replace("'", "") for t in LOCALE_DANGEROUS[:2]]


@pytest.mark.parametrize("text", SAFE)
def test_other_text_is_unchanged(text):
    assert neutralise_cell(text) == text


@pytest.mark.parametrize("value", [None, -3, 2.5, float("nan"), True, np.int64(-4)])
def test_non_text_values_are_unchanged(value):
    out = neutralise_cell(value)
    assert out is value or (out != out and value != value)


def sample_frame() -> pd.DataFrame:
    texts = DANGEROUS + SAFE + ["line one\nline two", 'she said "hi"', "x" * 5000]
    n = len(texts)
    return pd.DataFrame(
        {
            "=question": pd.array(["Q1"] * n, dtype="str"),
            "response": pd.array(texts, dtype="str"),
            "group_id": pd.array(list(range(n - 1)) + [None], dtype="Int64"),
            "mixed": ["@x", None, 3] + ["ok"] * (n - 3),
        }
    )


def test_neutralise_frame_covers_cells_and_headers_and_leaves_the_input_alone():
    frame = sample_frame()
    before = frame.copy()
    out = neutralise_frame(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert list(out.columns) == ["'=question", "response", "group_id", "mixed"]
    assert out["response"].tolist() == [neutralise_cell(t) for t in frame["response"]]
    assert out["mixed"].tolist()[:3] == ["'@x", None, 3]
    assert out["group_id"].dtype == frame["group_id"].dtype


def test_csv_bytes_have_a_bom_and_read_back_neutralised_and_otherwise_exact():
    frame = sample_frame()
    data = to_csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert back.columns[0] == "'=question"
    assert back["response"].tolist() == [neutralise_cell(t) for t in frame["response"]]
    assert len(back) == len(frame)


def test_write_csv_to_path_binary_and_text_streams(tmp_path):
    frame = sample_frame()
    path = tmp_path / "out.csv"
    write_csv(frame, path)
    binary = io.BytesIO()
    write_csv(frame, binary)
    text = io.StringIO()
    write_csv(frame, text)
    assert path.read_bytes() == binary.getvalue() == to_csv_bytes(frame)
    assert not text.getvalue().startswith("\ufeff")
    assert text.getvalue() == to_csv_bytes(frame).decode("utf-8-sig")


def test_xlsx_text_cells_are_never_formulas_and_keep_their_text(tmp_path):
    frame = sample_frame()
    path = tmp_path / "out.xlsx"
    write_xlsx(frame, path, sheet_name="groups: day 1")
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    assert sheet.title == "groups  day 1"
    rows = list(sheet.iter_rows())
    assert rows[0][0].value == "=question" and rows[0][0].data_type == "s"
    for row, text in zip(rows[1:], frame["response"], strict=True):
        cell = row[1]
        if not text:
            assert cell.value is None
            continue
        assert cell.data_type == "s", text
        assert cell.value == text.replace("\r", "\n")  # XML reads a lone carriage return as a line end
        assert bool(cell.quotePrefix) == (neutralise_cell(text) != text)
    assert rows[1][2].value == 0 and rows[1][2].data_type == "n"
    assert rows[-1][2].value is None  # missing group id -> empty cell


def test_xlsx_drops_illegal_control_characters_and_cuts_at_excels_limit():
    frame = pd.DataFrame({"response": ["bell\x07 and nul\x00 here", "y" * (XLSX_CELL_LIMIT + 10)]})
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame))).active
    assert sheet["A2"].value == "bell and nul here"
    assert len(sheet["A3"].value) == XLSX_CELL_LIMIT


def test_xlsx_round_trips_through_the_reader_exactly():
    frame = pd.DataFrame({"Student": ["Ana", "Ben", "Cy"], "Response": ["=-8+5=-3", "@SUM(A1) is what I think", "NA"]})
    t = read_tickets(to_xlsx_bytes(frame), filename="x.xlsx")
    assert t.frame["Response"].tolist() == frame["Response"].tolist()


def test_xlsx_dates_and_numpy_values():
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(["2024-03-05 09:00", None]),
            "n": np.array([1.5, np.nan]),
            "flag": np.array([True, False]),
            "aware": pd.to_datetime(["2024-03-05 09:00", "2024-03-06 10:00"]).tz_localize("UTC"),
        }
    )
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame))).active
    assert sheet["A2"].value.year == 2024 and sheet["A3"].value is None
    assert sheet["B2"].value == 1.5 and sheet["B3"].value is None
    assert sheet["C2"].value is True
    assert sheet["D2"].value == "2024-03-05 09:00:00+00:00"


def test_unicode_white_space_before_a_formula_is_caught_in_frames_too():
    texts = ["\u00a0=1+2", "\u3000@SUM(A1)", "\u00a0ok"]
    out = neutralise_frame(pd.DataFrame({"r": pd.array(texts, dtype="str")}))
    assert out["r"].tolist() == ["'\u00a0=1+2", "'\u3000@SUM(A1)", "\u00a0ok"]
