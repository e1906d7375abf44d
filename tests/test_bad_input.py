"""Bad-input corpus (issue 7.1): every awkward file a teacher might upload, generated here.

Each case ends one of two ways: the file is read with rows in = rows out (and the awkward part kept exactly),
or a ``TicketFormatError`` / CLI exit 2 with one line saying what to do. Never a traceback, never a silently
dropped row.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import openpyxl
import pandas as pd
import pytest

from feedback_assistant.records import TicketFormatError
from feedback_assistant.spreadsheet import neutralise_cell
from feedback_assistant.tickets import TicketSet, read_tickets

WORDS = [
    "the pieces get smaller",
    "you add the tops",
    "a bigger bottom means smaller parts",
    "I guessed",
    "it is half of the whole",
    "more pieces but the same size",
]
FORMULAS = ['=HYPERLINK("http://evil.example","click me")', "+1+2", "@SUM(A1)", "=-8+5=-3", "-2+3"]
NA_LIKE = ["NA", "null", "-", "N/A", "None", "nan", "NaN", "#N/A", "NULL", "n/a"]
SCRIPTS = [
    "😀 fractions are 🍕 slices",
    "الكسر هو جزء من الكل",
    "分数是整体的一部分",
    "भिन्न पूरे का एक भाग है",
    "Дробь — это часть целого",
    "Ἀριθμός",
    "🧑🏽‍🏫 family: 👨‍👩‍👧",
]


def csv_text(header: list[str], rows: list[list[str]], sep: str = ",") -> str:
    buf = io.StringIO()
    import csv

    writer = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def table(responses: list[str]) -> str:
    return csv_text(["Student", "Response"], [[f"S{i}", r] for i, r in enumerate(responses)])


def xlsx(rows: list[list]) -> bytes:
    """A one-sheet workbook; text starting with "=" stays text (as a Forms export stores it)."""
    return workbook({"Sheet": rows})


def workbook(
    sheets: dict[str, list[list]],
    *,
    merges: dict[str, list[str]] | None = None,
    hidden_rows: dict[str, list[int]] | None = None,
    hidden_cols: dict[str, list[str]] | None = None,
    formulas: bool = False,
) -> bytes:
    """A workbook with one tab per entry; ``formulas`` keeps "=..." cells as real formulas (no saved value)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        if not formulas:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        cell.data_type = "s"
        for ref in (merges or {}).get(title, []):
            sheet.merge_cells(ref)
        for r in (hidden_rows or {}).get(title, []):
            sheet.row_dimensions[r].hidden = True
        for c in (hidden_cols or {}).get(title, []):
            sheet.column_dimensions[c].hidden = True
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rewrite_sheet(data: bytes, edit: Callable[[str], str], extra: dict[str, bytes] | None = None) -> bytes:
    """The workbook with its first sheet's XML edited (and extra parts added or replaced)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = edit(body.decode()).encode()
            if extra and info.filename in extra:
                body = extra.pop(info.filename)
            z.writestr(info.filename, body)
        for name, body in (extra or {}).items():
            z.writestr(name, body)
    return out.getvalue()


def png() -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
        b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
    )


def docx_like() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def responses_of(t: TicketSet) -> list[str]:
    return t.frame[t.columns.response].tolist()


@dataclass(frozen=True)
class Case:
    """One awkward file: how to make it, and what must come out."""

    name: str
    filename: str
    make: Callable[[], bytes]
    rows: int | None = None  # expected long-table rows (None: an error is expected)
    error: str | None = None  # regex the TicketFormatError message must match
    check: Callable[[TicketSet], None] | None = None
    source_rows: int | None = None  # when different from rows (wide files)


def _expect_texts(expected: list[str]) -> Callable[[TicketSet], None]:
    def check(t: TicketSet) -> None:
        assert responses_of(t) == expected

    return check


def _blank_marks(expected: list[bool]) -> Callable[[TicketSet], None]:
    def check(t: TicketSet) -> None:
        assert [r.is_blank for r in t.responses()] == expected

    return check


def _all(*checks: Callable[[TicketSet], None]) -> Callable[[TicketSet], None]:
    def check(t: TicketSet) -> None:
        for c in checks:
            c(t)

    return check


def _column(name: str, values: list[str] | None = None) -> Callable[[TicketSet], None]:
    def check(t: TicketSet) -> None:
        assert name in t.frame.columns, list(t.frame.columns)
        if values is not None:
            assert t.frame[name].tolist() == values

    return check


def _source_rows_in_order(t: TicketSet) -> None:
    assert t.frame["source_row"].tolist() == list(range(t.source_rows))


RAGGED = "Student,Period,Response\r\nAna,P1\r\nBen,P2,it is half,extra bit\r\nCy\r\nDi,P1,a third of it\r\n"
LONG_TEXT = ("Because " + "the denominator tells how many equal parts the whole is cut into, ") * 70


def _ragged_check(t: TicketSet) -> None:
    f = t.frame
    assert responses_of(t) == ["", "it is half", "", "a third of it"]
    assert f["Column 4"].tolist() == ["", "extra bit", "", ""]
    assert f["Period"].tolist() == ["P1", "P2", "", "P1"]


def _wide_check(t: TicketSet) -> None:
    assert t.layout == "wide"
    assert t.frame["source_row"].tolist() == [0, 0, 1, 1, 2, 2]


CASES = [
    # --- empty and nearly empty
    Case("empty file", "t.csv", lambda: b"", error=r"'t.csv' is empty — export the responses again"),
    Case("whitespace only", "t.csv", lambda: b"  \r\n\t\r\n  ", error=r"is empty"),
    Case("BOM only", "t.csv", lambda: b"\xef\xbb\xbf", error=r"is empty"),
    Case("newlines only", "t.csv", lambda: b"\n\n\n", error=r"is empty"),
    Case("commas only", "t.csv", lambda: b",,,\n,,,\n", error=r"is empty"),
    Case(
        "header only",
        "t.csv",
        lambda: b"Student,Response\r\n",
        error=r"'t.csv' has column names but no responses — check that the form has responses",
    ),
    Case("header only xlsx", "t.xlsx", lambda: xlsx([["Student", "Response"]]), error=r"no responses"),
    Case("empty xlsx", "t.xlsx", lambda: xlsx([]), error=r"is empty \(no sheet has any cells filled in\)"),
    Case(
        "one row",
        "t.csv",
        lambda: b"Student,Response\nAna,fifths are bigger\n",
        rows=1,
        check=_expect_texts(["fifths are bigger"]),
    ),
    Case("one row no newline", "t.csv", lambda: b"Student,Response\nAna,it is half", rows=1),
    # --- blanks and repeats
    Case(
        "blank responses",
        "t.csv",
        lambda: table(["a half", "", "a third", ""]).encode(),
        rows=4,
        check=_blank_marks([False, True, False, True]),
    ),
    Case(
        "whitespace-only responses",
        "t.csv",
        lambda: table(["   ", "\t", "a half", " \u00a0 "]).encode(),
        rows=4,
        check=_all(_blank_marks([True, True, False, True]), _expect_texts(["   ", "\t", "a half", " \u00a0 "])),
    ),
    Case(
        "all blank responses",
        "t.csv",
        lambda: table(["", "", ""]).encode(),
        rows=3,
        check=_blank_marks([True, True, True]),
    ),
    Case(
        "all identical responses",
        "t.csv",
        lambda: table(["I don't know"] * 25).encode(),
        rows=25,
        check=_expect_texts(["I don't know"] * 25),
    ),
    Case(
        "inner empty line in one-column file",
        "t.csv",
        lambda: b"Response\nit is half\n\nit is a third\n",
        rows=3,
        check=_blank_marks([False, True, False]),
    ),
    Case("trailing blank rows are padding", "t.csv", lambda: (table(WORDS) + ",\r\n,\r\n\r\n").encode(), rows=6),
    Case("leading blank lines before header", "t.csv", lambda: ("\r\n,\r\n" + table(WORDS)).encode(), rows=6),
    # --- encodings
    Case(
        "utf-8 with BOM",
        "t.csv",
        lambda: b"\xef\xbb\xbf" + table(["café au lait", "naïve"]).encode(),
        rows=2,
        check=_all(_expect_texts(["café au lait", "naïve"]), _column("Student", ["S0", "S1"])),
    ),
    Case(
        "cp1252",
        "t.csv",
        lambda: table(["café “smart” quotes – dash", "naïve ½"]).encode("cp1252"),
        rows=2,
        check=_expect_texts(["café “smart” quotes – dash", "naïve ½"]),
    ),
    Case(
        "latin-1 bytes cp1252 leaves undefined",
        "t.csv",
        lambda: b"Student,Response\nAna,caf\xe9 \x81 ok\n",
        rows=1,
        check=_expect_texts(["café \x81 ok"]),
    ),
    Case(
        "utf-16 LE with BOM",
        "t.csv",
        lambda: table(SCRIPTS[:3]).encode("utf-16"),
        rows=3,
        check=_expect_texts(SCRIPTS[:3]),
    ),
    Case(
        "utf-16 BE with BOM",
        "t.csv",
        lambda: b"\xfe\xff" + table(SCRIPTS[:3]).encode("utf-16-be"),
        rows=3,
        check=_expect_texts(SCRIPTS[:3]),
    ),
    Case(
        "utf-16 LE without BOM",
        "t.csv",
        lambda: table(["a half", "a third"]).encode("utf-16-le"),
        rows=2,
        check=_expect_texts(["a half", "a third"]),
    ),
    Case(
        "utf-16 tab-separated (Excel 'Unicode text')",
        "t.txt",
        lambda: csv_text(["Student", "Response"], [["Ana", "a half, I think"]], sep="\t").encode("utf-16"),
        rows=1,
        check=_expect_texts(["a half, I think"]),
    ),
    # --- separators and shapes
    Case(
        "semicolon separator",
        "t.csv",
        lambda: csv_text(["Student", "Response"], [["Ana", "1,5 is more, I think"], ["Ben", "no"]], sep=";").encode(),
        rows=2,
        check=_expect_texts(["1,5 is more, I think", "no"]),
    ),
    Case(
        "tab separator",
        "t.tsv",
        lambda: csv_text(["Student", "Response"], [["Ana", "a, b; c"], ["Ben", "x"]], sep="\t").encode(),
        rows=2,
        check=_expect_texts(["a, b; c", "x"]),
    ),
    Case(
        "Excel sep= line",
        "t.csv",
        lambda: b"sep=;\r\nStudent;Response\r\nAna;a half, yes\r\n",
        rows=1,
        check=_expect_texts(["a half, yes"]),
    ),
    Case(
        "one column, unquoted commas",
        "t.csv",
        lambda: b"Response\nit is half, because two quarters\nthree, four, five\n",
        rows=2,
        check=_expect_texts(["it is half, because two quarters", "three, four, five"]),
    ),
    Case(
        "old Mac CR line ends",
        "t.csv",
        lambda: b"Student,Response\rAna,a half\rBen,a third\r",
        rows=2,
        check=_expect_texts(["a half", "a third"]),
    ),
    Case("ragged rows padded and kept", "t.csv", lambda: RAGGED.encode(), rows=4, check=_ragged_check),
    Case(
        "unterminated quote at the end",
        "t.csv",
        lambda: b'Student,Response\nAna,a half\nBen,"it never ends\nCy,third\n',
        rows=2,
        check=lambda t: responses_of(t)[1].startswith("it never ends"),
    ),
    Case(
        "duplicate column names",
        "t.csv",
        lambda: b"Student,Response,Response\nAna,first thought here,second thought here\n",
        rows=1,
        check=_all(_column("Response", ["first thought here"]), _column("Response (2)", ["second thought here"])),
    ),
    Case(
        "blank header cells",
        "t.csv",
        lambda: b"Student,,Response\nAna,x,it is half\n",
        rows=1,
        check=_column("Column 2", ["x"]),
    ),
    Case(
        "no free-text column",
        "t.csv",
        lambda: b"ID,Score,Date\n1,3,2024-03-05\n2,4,2024-03-05\n",
        error=r"No column in 't.csv' looks like student responses\. The columns are: ID, Score, Date — pass "
        r"--response-col with the column that holds the answers\.",
    ),
    Case(
        "wide form with blank answers",
        "form.csv",
        lambda: csv_text(
            ["Timestamp", "Email Address", "What is a fraction?", "Why do we need fractions?"],
            [
                ["2024/03/05 9:00", "a@s.org", "part of a whole", ""],
                ["2024/03/05 9:01", "b@s.org", "", ""],
                ["2024/03/05 9:02", "c@s.org", "a number", "to share pizza"],
            ],
        ).encode(),
        rows=6,
        source_rows=3,
        check=_wide_check,
    ),
    # --- not a CSV at all
    Case(
        "PNG renamed .csv",
        "photo.csv",
        png,
        error=r"'photo.csv' is an image \(PNG\), not a spreadsheet — export the responses from your form as",
    ),
    Case(
        "JPEG renamed .csv",
        "t.csv",
        lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 4,
        error=r"is an image \(JPEG\)",
    ),
    Case("PDF renamed .csv", "t.csv", lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", error=r"is a PDF"),
    Case(
        "binary garbage renamed .csv",
        "t.csv",
        lambda: bytes((i * 37 + 11) % 256 for i in range(4096)),
        error=r"does not look like a CSV file \(it holds binary data\) — export",
    ),
    Case(
        "xlsx renamed .csv",
        "t.csv",
        lambda: xlsx([["Student", "Response"], ["Ana", "a half"], ["Ben", ""]]),
        rows=2,
        check=_blank_marks([False, True]),
    ),
    Case(
        "Word document renamed .csv",
        "t.csv",
        docx_like,
        error=r"is a Word document, not an Excel workbook — open it and save",
    ),
    Case(
        "old .xls or password-protected workbook",
        "t.xlsx",
        lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
        error=r"old-style Excel \(\.xls\) file or a password-protected workbook — open it in Excel and save",
    ),
    Case(
        "unknown extension",
        "answers.json",
        lambda: b'{"a": 1}',
        error=r"'answers.json' is a '\.json' file, which cannot be read — save or download the responses",
    ),
    Case(".xls extension", "old.xls", lambda: b"\xd0\xcf\x11\xe0", error=r"'\.xls' file \(an old Excel file\)"),
    Case("CSV renamed .xlsx", "t.xlsx", lambda: table(["a half"]).encode(), rows=1),
    # --- awkward but real text
    Case(
        "5,000-character responses",
        "t.csv",
        lambda: table([LONG_TEXT[:5000]] * 3).encode(),
        rows=3,
        check=_expect_texts([LONG_TEXT[:5000]] * 3),
    ),
    Case(
        "embedded newlines and quotes",
        "t.csv",
        lambda: table(["line one\nline two", 'she said "it\'s half"', "crlf\r\ninside", '""']).encode(),
        rows=4,
        check=_expect_texts(["line one\nline two", 'she said "it\'s half"', "crlf\r\ninside", '""']),
    ),
    Case(
        "emoji and non-Latin scripts",
        "t.csv",
        lambda: table(SCRIPTS).encode(),
        rows=len(SCRIPTS),
        check=_expect_texts(SCRIPTS),
    ),
    Case(
        "control characters kept, NUL removed",
        "t.csv",
        lambda: table(["bell\x07 here", "esc\x1b[31m red", "nul\x00 gone", "vt\x0b ff\x0c"]).encode(),
        rows=4,
        check=_expect_texts(["bell\x07 here", "esc\x1b[31m red", "nul gone", "vt\x0b ff\x0c"]),
    ),
    Case(
        "HTML and script text",
        "t.csv",
        lambda: table(
            ["<script>alert('hi')</script>", "<b>bold</b> &amp; <i>", "<img src=x onerror=alert(1)>"]
        ).encode(),
        rows=3,
        check=_expect_texts(["<script>alert('hi')</script>", "<b>bold</b> &amp; <i>", "<img src=x onerror=alert(1)>"]),
    ),
    Case(
        "formula-looking cells",
        "t.csv",
        lambda: table(FORMULAS).encode(),
        rows=len(FORMULAS),
        check=_expect_texts(FORMULAS),
    ),
    Case(
        "formula-looking cells in xlsx",
        "t.xlsx",
        lambda: xlsx([["Student", "Response"]] + [[f"S{i}", f] for i, f in enumerate(FORMULAS)]),
        rows=len(FORMULAS),
        check=_expect_texts(FORMULAS),
    ),
    Case(
        "NA-like strings are real answers",
        "t.csv",
        lambda: table(NA_LIKE).encode(),
        rows=len(NA_LIKE),
        check=_all(_expect_texts(NA_LIKE), _blank_marks([False] * len(NA_LIKE))),
    ),
    Case(
        "number-like text not coerced",
        "t.csv",
        lambda: csv_text(["Student ID", "Response"], [["007", "1.50"], ["0012", "1e5"], ["12", "3/4"]]).encode(),
        rows=3,
        check=_all(_column("Student ID", ["007", "0012", "12"]), _expect_texts(["1.50", "1e5", "3/4"])),
    ),
    Case(
        "20,000-row file",
        "t.csv",
        lambda: table([f"{WORDS[i % len(WORDS)]} {i}" for i in range(20_000)]).encode(),
        rows=20_000,
        check=_source_rows_in_order,
    ),
    Case(
        "5,000-row xlsx",
        "t.xlsx",
        lambda: xlsx([["Student", "Response"]] + [[f"S{i}", WORDS[i % len(WORDS)]] for i in range(5_000)]),
        rows=5_000,
    ),
]


def _make(case: Case, tmp_path):
    path = tmp_path / case.filename
    path.write_bytes(case.make())
    return path


def test_corpus_is_big_enough():
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reader_handles_or_explains(case: Case, tmp_path):
    path = _make(case, tmp_path)
    if case.error:
        with pytest.raises(TicketFormatError, match=case.error) as info:
            read_tickets(path)
        message = str(info.value)
        assert "\n" not in message and len(message) < 400, message
        return
    t = read_tickets(path)
    assert len(t.frame) == case.rows
    assert t.source_rows == (case.source_rows or case.rows)
    assert t.frame.index.tolist() == list(range(case.rows))
    assert len(t.responses()) == case.rows
    assert sorted(set(t.frame["source_row"])) == list(range(t.source_rows))  # every input row is accounted for
    if case.check:
        case.check(t)


@pytest.mark.parametrize("case", [c for c in CASES if c.rows and c.rows < 1000], ids=lambda c: c.name)
def test_upload_bytes_read_the_same_as_the_path(case: Case, tmp_path):
    path = _make(case, tmp_path)
    from_path = read_tickets(path)
    from_upload = read_tickets(io.BytesIO(path.read_bytes()), filename=case.filename)
    pd.testing.assert_frame_equal(from_path.frame, from_upload.frame)


# ---------------------------------------------------------------------------------------- through the CLI

CLI_OK = [
    "one row",
    "blank responses",
    "formula-looking cells",
    "formula-looking cells in xlsx",
    "NA-like strings are real answers",
    "embedded newlines and quotes",
    "emoji and non-Latin scripts",
    "xlsx renamed .csv",
    "cp1252",
    "ragged rows padded and kept",
    "wide form with blank answers",
    "control characters kept, NUL removed",
]
CLI_BAD = [
    "empty file",
    "header only",
    "PNG renamed .csv",
    "binary garbage renamed .csv",
    "no free-text column",
    "unknown extension",
    "Word document renamed .csv",
]
BY_NAME = {c.name: c for c in CASES}


@pytest.fixture
def cli_main():
    from feedback_assistant.cli import main

    return main


def _read_out(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.mark.parametrize("name", CLI_OK)
def test_cli_writes_every_row_and_neutralises_formulas(name, tmp_path, cli_main, fake_embedder, capsys):
    case = BY_NAME[name]
    path = _make(case, tmp_path)
    out = tmp_path / "out"
    code = cli_main(["analyze", str(path), "--out", str(out), "--no-save"], embedder=fake_embedder)
    err = capsys.readouterr().err
    assert code == 0, err
    responses = _read_out(out / "responses.csv")
    assert len(responses) == case.rows
    assert responses["source_row"].astype(int).tolist() == read_tickets(path).frame["source_row"].tolist()
    expected = read_tickets(path)
    written = responses[expected.columns.response].tolist()
    assert written == [neutralise_cell(t) for t in responses_of(expected)]
    if "formula" in name:
        assert all(w.startswith("'") for w in written)


@pytest.mark.parametrize("name", CLI_BAD)
def test_cli_bad_input_exits_2_with_one_line(name, tmp_path, cli_main, fake_embedder, capsys):
    path = _make(BY_NAME[name], tmp_path)
    code = cli_main(["analyze", str(path), "--out", str(tmp_path / "out"), "--no-save"], embedder=fake_embedder)
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out" / "responses.csv").exists()


def test_cli_missing_response_column_exits_2_naming_the_columns(tmp_path, cli_main, fake_embedder, capsys):
    path = _make(BY_NAME["blank responses"], tmp_path)
    code = cli_main(
        ["analyze", str(path), "--out", str(tmp_path / "out"), "--no-save", "--response-col", "Answer"],
        embedder=fake_embedder,
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == (
        "error: Column 'Answer' was not found. The columns are: Student, Response — pass "
        "--response-col with one of them."
    )
