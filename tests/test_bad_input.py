"""Bad-input corpus (issue 7.1): every awkward file a teacher might upload, generated here.

Each case ends one of two ways: the file is read with rows in = rows out (and the awkward part kept exactly),
or a ``TicketFormatError`` / CLI exit 2 with one line saying what to do. Never a traceback, never a silently
dropped row.
"""

from __future__ import annotations

import errno
import io
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from feedback_assistant.outfolder import STAGING_PREFIX, output_folder
from feedback_assistant.records import OutputError, TicketFormatError
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
    hidden_sheets: tuple[str, ...] = (),
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
        if title in hidden_sheets:
            sheet.sheet_state = "hidden"
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
    notices: tuple[str, ...] = ()  # regexes: each must match one of the TicketSet's notices
    check_message: Callable[[str], None] | None = None  # more checks on an error's message


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


# ------------------------------------------------------------------------ real teachers' files (issue 14)

FIRST = ["Ana", "Ben", "Cy", "Di", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo"]
LAST = ["Diaz", "Lopez", "Nguyen", "Okafor", "Smith", "Tran", "Usman", "Vega", "Wong", "Young"]


def _name(i: int) -> str:
    return f"{FIRST[i % 10]} {LAST[(i // 10) % 10]}{'' if i < 100 else i}"


def periods_workbook(extra_column_in: str = "") -> bytes:
    """One tab per period (P1 30, P3 29, P5 31 students), no period column: 90 rows."""
    sizes = {"P1": 30, "P3": 29, "P5": 31}
    sheets, k = {}, 0
    for tab, n in sizes.items():
        extra = tab == extra_column_in
        rows: list[list] = [["Student", "Response"] + (["Absent yesterday"] if extra else [])]
        for _ in range(n):
            rows.append([_name(k), WORDS[k % len(WORDS)]] + (["no"] if extra else []))
            k += 1
        sheets[tab] = rows
    return workbook(sheets)


def _periods_check(t: TicketSet) -> None:
    assert t.columns.section == "Sheet"
    assert t.frame["Sheet"].value_counts().to_dict() == {"P1": 30, "P3": 29, "P5": 31}
    assert t.frame["Student"].tolist() == [_name(i) for i in range(90)]
    assert [r.section for r in t.responses()][:31] == ["P1"] * 30 + ["P3"]


def notes_first_workbook() -> bytes:
    """A notes tab first ("Scored by: Ms. Rivera"), then 89 responses."""
    notes = [["Scored by: Ms. Rivera"], ["Answer key: B"], [], ["Reteach Friday"]]
    rows: list[list] = [["Student", "Period", "Response"]]
    rows += [[_name(i), f"P{1 + i % 3}", WORDS[i % len(WORDS)]] for i in range(89)]
    return workbook({"Notes": notes, "Responses": rows})


def _notes_check(t: TicketSet) -> None:
    assert "Scored by: Ms. Rivera" not in responses_of(t)
    assert t.columns.section == "Period" and "Sheet" not in t.frame.columns


def titled_workbook() -> bytes:
    """A merged title row above the header, and "Name" merged over first- and last-name columns."""
    rows: list[list] = [["Period 3 — Exit ticket, March 5", None, None, None], ["Name", None, "Period", "Response"]]
    people = [("Ana", "Diaz"), ("Ana", "Lopez"), ("Ben", "Okafor"), ("Cy", "Tran"), ("Di", "")]
    rows += [[f, last, "P3", WORDS[i]] for i, (f, last) in enumerate(people)]
    return workbook({"P3": rows}, merges={"P3": ["A1:D1", "A2:B2"]})


def _titled_check(t: TicketSet) -> None:
    assert t.columns.student == "Name"
    assert t.frame["Name"].tolist() == ["Ana Diaz", "Ana Lopez", "Ben Okafor", "Cy Tran", "Di"]
    assert responses_of(t) == WORDS[:5]  # the header row is not a student


def formula_names_workbook(cached: bool) -> bytes:
    """Student = A2&" "&B2, as Excel saves it (with the value it shows) or as a script writes it (no value)."""
    rows: list[list] = [["First", "Last", "Student", "Response"]]
    rows += [[FIRST[i], LAST[i], f'=A{i + 2}&" "&B{i + 2}', WORDS[i % len(WORDS)]] for i in range(6)]
    data = workbook({"Sheet1": rows}, formulas=True)
    if not cached:
        return data

    def add_values(xml: str) -> str:
        for i in range(6):
            r = i + 2
            xml = xml.replace(
                f'<c r="C{r}"><f>A{r}&amp;" "&amp;B{r}</f><v /></c>',
                f'<c r="C{r}" t="str"><f>A{r}&amp;" "&amp;B{r}</f><v>{FIRST[i]} {LAST[i]}</v></c>',
            )
        return xml

    return _rewrite_sheet(data, add_values)


def _formula_check(t: TicketSet) -> None:
    assert t.frame["Student"].tolist() == [f"{FIRST[i]} {LAST[i]}" for i in range(6)]


def _unsaved_formula_check(t: TicketSet) -> None:
    assert t.frame["Student"].tolist() == [""] * 6  # never the formula text
    assert not any(v.startswith("=") for v in t.frame.drop(columns="source_row").to_numpy().ravel())


def hidden_rows_workbook() -> bytes:
    rows: list[list] = [["Student", "Score", "Response"]]
    rows += [[_name(i), str(i % 4), WORDS[i % len(WORDS)]] for i in range(30)]
    return workbook({"Sheet1": rows}, hidden_rows={"Sheet1": list(range(5, 15))}, hidden_cols={"Sheet1": ["B"]})


def huge_dimension_workbook(last_col: str) -> bytes:
    """A few KB whose used range reaches row 1,048,576 (one formatted empty cell there)."""
    rows: list[list] = [["Student", "Response"]] + [[_name(i), WORDS[i % len(WORDS)]] for i in range(20)]
    data = workbook({"Sheet1": rows})

    def stretch(xml: str) -> str:
        xml = re.sub(r'<dimension ref="[^"]+"', f'<dimension ref="A1:{last_col}1048576"', xml)
        return xml.replace("</sheetData>", f'<row r="1048576"><c r="{last_col}1048576" s="1"/></row></sheetData>')

    return _rewrite_sheet(data, stretch)


def shared_strings_bomb(unpacked_mb: int = 100) -> bytes:
    """About 100 KB that unpacks to ``unpacked_mb`` MB of shared strings."""
    base = workbook({"Sheet1": [["Student", "Response"], ["Ana", "x"]]})
    src = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                body = body.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            elif info.filename == "xl/_rels/workbook.xml.rels":
                body = body.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdSS" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
                )
            z.writestr(info.filename, body)
        with z.open("xl/sharedStrings.xml", "w") as part:
            part.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>')
            chunk = b"A" * 2**20
            for _ in range(unpacked_mb):
                part.write(chunk)
            part.write(b"</t></si></sst>")
    return out.getvalue()


def lying_bomb() -> bytes:
    """The shared-strings bomb with its zip headers claiming the part unpacks to 1,000 bytes."""
    import struct

    data = bytearray(shared_strings_bomb())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/sharedStrings.xml")
    lie = struct.pack("<I", 1000)
    data[info.header_offset + 22 : info.header_offset + 26] = lie  # local header: uncompressed size
    pos = bytes(data).find(b"PK\x01\x02")
    while pos >= 0:  # central directory entry of the same part
        n = struct.unpack("<H", data[pos + 28 : pos + 30])[0]
        if bytes(data[pos + 46 : pos + 46 + n]) == b"xl/sharedStrings.xml":
            data[pos + 24 : pos + 28] = lie
        pos = bytes(data).find(b"PK\x01\x02", pos + 4)
    return bytes(data)


def forms_export(n_questions: int, n_students: int, question_chars: int) -> bytes:
    """A Google Forms CSV: Timestamp, Email Address, Name, then one long question header per question."""
    questions = [
        f"Q{q + 1}. " + ("Explain how you know which fraction is bigger. " * 40)[:question_chars]
        for q in range(n_questions)
    ]
    rows = [
        [f"2024/03/05 9:{s % 60:02d}", f"s{s}@school.org", _name(s)] + [f"answer {s}-{q}" for q in range(n_questions)]
        for s in range(n_students)
    ]
    return csv_text(["Timestamp", "Email Address", "Name", *questions], rows).encode()


def _forms_check(n_questions: int, n_students: int) -> Callable[[TicketSet], None]:
    def check(t: TicketSet) -> None:
        assert t.layout == "wide"
        assert (t.columns.student, t.columns.date) == ("Name", "Timestamp")
        assert len(t.questions()) == n_questions
        assert t.frame["Name"].tolist()[::n_questions] == [_name(s) for s in range(n_students)]
        assert responses_of(t)[-1] == f"answer {n_students - 1}-{n_questions - 1}"
        assert t.frame["Email Address"].tolist()[0] == "s0@school.org"

    return check


def many_columns() -> bytes:
    """5,000 columns x 20 students: Timestamp, Email Address, Name and 4,997 questions (a 144 KB header line)."""
    header = ["Timestamp", "Email Address", "Name"] + [f"Q{q + 1}: explain your thinking" for q in range(4997)]
    rows = [
        [f"2024/03/05 9:{s:02d}", f"s{s}@school.org", _name(s)] + [f"a{s}.{q}" for q in range(4997)] for s in range(20)
    ]
    return csv_text(header, rows).encode()


def _many_columns_check(t: TicketSet) -> None:
    assert t.frame["Name"].tolist()[::4997] == [_name(s) for s in range(20)]
    assert responses_of(t)[4997 * 7 + 123] == "a7.123"


def cjk_csv(encoding: str, lang: str) -> bytes:
    return csv_text(CJK[lang][0], CJK[lang][1]).encode(encoding)


CJK = {
    "tw": (
        ["學生", "回答"],
        [["王小明", "分母越大，每一份越小"], ["李華", "我不知道"], ["張偉", "二分之一等於四分之二"]],
    ),
    "ru": (
        ["Ученик", "Ответ"],
        [
            ["Иван Петров", "дробь это часть целого"],
            ["Мария Иванова", "я не знаю ответ"],
            ["Олег Смирнов", "половина больше чем треть"],
        ],
    ),
    "ja": (
        ["生徒", "回答"],
        [
            ["田中 花子", "分母が大きいほど一つ分は小さくなる"],
            ["佐藤 太郎", "わからない"],
            ["鈴木 一郎", "二分の一は四分の二と同じ"],
        ],
    ),
    "zh": (
        ["学生", "回答"],
        [["王小明", "分母越大，每一份越小"], ["李华", "我不知道"], ["张伟", "二分之一等于四分之二"]],
    ),
    "ko": (
        ["학생", "응답"],
        [
            ["김민준", "분모가 클수록 한 조각은 작아진다"],
            ["이서연", "모르겠어요"],
            ["박지호", "이분의 일은 사분의 이와 같다"],
        ],
    ),
}


def _cjk_check(lang: str) -> Callable[[TicketSet], None]:
    def check(t: TicketSet) -> None:
        header, rows = CJK[lang]
        assert list(t.frame.columns[:2]) == header
        assert t.frame[header[0]].tolist() == [r[0] for r in rows]
        assert responses_of(t) == [r[1] for r in rows]

    return check


def _no_student_values(*values: str) -> Callable[[str], None]:
    def check(message: str) -> None:
        for v in values:
            assert v not in message, message

    return check


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
    # --- real teachers' files (issue 14)
    Case(
        "xlsx one tab per period",
        "periods.xlsx",
        periods_workbook,
        rows=90,
        check=_periods_check,
        notices=(r"3 sheets read as one table, rows per sheet: 'P1' \(30\), 'P3' \(29\), 'P5' \(31\)",),
    ),
    Case(
        "xlsx one tab per period, one tab with an extra column",
        "periods.xlsx",
        lambda: periods_workbook(extra_column_in="P3"),
        rows=90,
        check=_all(_periods_check, _column("Absent yesterday", [""] * 30 + ["no"] * 29 + [""] * 31)),
        notices=(r"^The sheets read do not all have the same columns; a column a sheet lacks is blank",),
    ),
    Case(
        "xlsx a period's tab is hidden",
        "t.xlsx",
        lambda: workbook(
            {"P1": [["Student", "Response"], ["Ana", WORDS[0]]], "P2": [["Student", "Response"], ["Ben", WORDS[1]]]},
            hidden_sheets=("P2",),
        ),
        rows=2,
        check=_column("Sheet", ["P1", "P2"]),
        notices=(r"^Hidden sheet 'P2' read\.$",),
    ),
    Case(
        "xlsx notes tab first",
        "t.xlsx",
        notes_first_workbook,
        rows=89,
        check=_notes_check,
        notices=(r"^Sheet 'Notes' was not read: ",),
    ),
    Case(
        "xlsx merged title row and merged Name header",
        "t.xlsx",
        titled_workbook,
        rows=5,
        check=_titled_check,
        notices=(r"1 title row above the column names in sheet 'P3' skipped", r"merged name header"),
    ),
    Case(
        "xlsx period merged down its students",
        "t.xlsx",
        lambda: workbook(
            {
                "Sheet1": [["Student", "Period", "Response"]]
                + [[_name(i), ("P1" if i == 0 else "P3" if i == 5 else None), WORDS[i % 6]] for i in range(8)]
            },
            merges={"Sheet1": ["B2:B6", "B7:B9"]},
        ),
        rows=8,
        check=_column("Period", ["P1"] * 5 + ["P3"] * 3),
        notices=(r"^6 cells inside merged blocks in sheet 'Sheet1' read with the block's value\.$",),
    ),
    Case(
        "xlsx student names computed by Excel, values saved",
        "t.xlsx",
        lambda: formula_names_workbook(cached=True),
        rows=6,
        check=_formula_check,
    ),
    Case(
        "xlsx formula with no saved value",
        "t.xlsx",
        lambda: formula_names_workbook(cached=False),
        rows=6,
        check=_unsaved_formula_check,
        notices=(r"6 formula cells in sheet 'Sheet1' had no saved value and were read as blank — open the file",),
    ),
    Case(
        "xlsx hidden rows and columns",
        "t.xlsx",
        hidden_rows_workbook,
        rows=30,
        check=_column("Score", [str(i % 4) for i in range(30)]),
        notices=(r"^10 hidden rows in sheet 'Sheet1' read\.$", r"^1 hidden column in sheet 'Sheet1' read\.$"),
    ),
    Case(
        "xlsx used range to row 1,048,576",
        "t.xlsx",
        lambda: huge_dimension_workbook("Z"),
        rows=20,
    ),
    Case(
        "xlsx used range to XFD1048576",
        "t.xlsx",
        lambda: huge_dimension_workbook("XFD"),
        rows=20,
    ),
    Case(
        "xlsx shared strings bomb",
        "t.xlsx",
        shared_strings_bomb,
        error=r"'t.xlsx' was not read: its cell text unpacks to 100 MB; the limit is 64 MB",
    ),
    Case(
        "xlsx bomb whose zip headers lie about its size",
        "t.xlsx",
        lying_bomb,
        error=r"^'t.xlsx' is an Excel workbook that could not be opened: it is damaged \(BadZipFile\) — open it",
    ),
    Case(
        "Google Forms 60 questions, 78 KB header",
        "forms.csv",
        lambda: forms_export(60, 25, 1300),
        rows=1500,
        source_rows=25,
        check=_forms_check(60, 25),
    ),
    Case(
        "Google Forms 200 questions",
        "forms.csv",
        lambda: forms_export(200, 30, 120),
        rows=6000,
        source_rows=30,
        check=_forms_check(200, 30),
    ),
    Case(
        "5,000 columns x 20 students",
        "wide.csv",
        many_columns,
        rows=99_940,
        source_rows=20,
        check=_many_columns_check,
    ),
    Case(
        "row wider than the header mid-file",
        "t.csv",
        lambda: (table(WORDS[:3]) + "S9,late answer,spill,over\r\n" + table(WORDS[3:]).split("\r\n", 1)[1]).encode(),
        rows=7,
        check=_all(
            _column("Student", ["S0", "S1", "S2", "S9", "S0", "S1", "S2"]),
            _column("Column 3", ["", "", "", "spill", "", "", ""]),
        ),
    ),
    Case(
        "10 MB single line of fields",
        "t.csv",
        lambda: ",".join(f"w{i}" for i in range(1_400_000)).encode(),
        error=r"has 1,400,000 columns; the limit is 20,000 — check that it is an exit-ticket export",
    ),
    Case(
        "10 MB single-cell line",
        "t.csv",
        lambda: b"x" * 10_000_000,
        error=r"has column names but no responses",
    ),
    Case("Shift-JIS", "t.csv", lambda: cjk_csv("shift_jis", "ja"), rows=3, check=_cjk_check("ja")),
    Case("GB18030", "t.csv", lambda: cjk_csv("gb18030", "zh"), rows=3, check=_cjk_check("zh")),
    Case("EUC-KR", "t.csv", lambda: cjk_csv("euc_kr", "ko"), rows=3, check=_cjk_check("ko")),
    Case(
        "UTF-16 LE without BOM, Japanese", "t.csv", lambda: cjk_csv("utf-16-le", "ja"), rows=3, check=_cjk_check("ja")
    ),
    Case("UTF-16 BE without BOM, Korean", "t.csv", lambda: cjk_csv("utf-16-be", "ko"), rows=3, check=_cjk_check("ko")),
    Case("Big5", "t.csv", lambda: cjk_csv("big5", "tw"), rows=3, check=_cjk_check("tw")),
    Case("EUC-JP", "t.csv", lambda: cjk_csv("euc_jp", "ja"), rows=3, check=_cjk_check("ja")),
    Case(
        "one legacy-encoded word is too little to tell: refused, not mojibake",
        "t.csv",
        lambda: table(["네"]).encode("euc_kr"),
        error=r"'t.csv' is not saved as UTF-8 and its encoding could not be worked out for certain \(it may be "
        r".*EUC-KR \(Korean\).*\) — open it in Excel and use File > Save As > 'CSV UTF-8 \(Comma delimited\)'",
    ),
    Case("Windows-1251 (Cyrillic)", "t.csv", lambda: cjk_csv("cp1251", "ru"), rows=3, check=_cjk_check("ru")),
    Case("KOI8-R (Cyrillic)", "t.csv", lambda: cjk_csv("koi8_r", "ru"), rows=3, check=_cjk_check("ru")),
    Case(
        "undecodable bytes are refused, not mojibake",
        "t.csv",
        lambda: b"Student,Response\r\nAna," + bytes(range(0x81, 0xFF)) * 3 + b"\r\n",
        error=r"'t.csv' is not saved as UTF-8 .* 'CSV UTF-8 \(Comma delimited\)'",
    ),
    Case(
        "missing header row: no student values in the error",
        "t.csv",
        lambda: b"235791,Wesley A.,P1,2024-03-05\r\n235792,Maria B.,P2,2024-03-05\r\n",
        error=r"^No column in 't.csv' looks like student responses; the first row is not shown here because it "
        r"does not look like column names \(it may be a student's row\) — add a row of column names",
        check_message=_no_student_values("235791", "Wesley", "P1"),
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
        if case.check_message:
            case.check_message(message)
        return
    t = read_tickets(path)
    assert len(t.frame) == case.rows
    assert t.source_rows == (case.source_rows or case.rows)
    assert t.frame.index.tolist() == list(range(case.rows))
    assert len(t.responses()) == case.rows
    assert sorted(set(t.frame["source_row"])) == list(range(t.source_rows))  # every input row is accounted for
    if case.check:
        case.check(t)
    for pattern in case.notices:
        assert any(re.search(pattern, n) for n in t.notices), t.notices


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
    "xlsx one tab per period",
    "xlsx notes tab first",
    "xlsx merged title row and merged Name header",
    "xlsx student names computed by Excel, values saved",
    "xlsx hidden rows and columns",
    "xlsx used range to row 1,048,576",
    "Google Forms 60 questions, 78 KB header",
    "Shift-JIS",
    "GB18030",
    "EUC-KR",
    "UTF-16 LE without BOM, Japanese",
]
CLI_BAD = [
    "empty file",
    "header only",
    "PNG renamed .csv",
    "binary garbage renamed .csv",
    "no free-text column",
    "unknown extension",
    "Word document renamed .csv",
    "xlsx shared strings bomb",
    "10 MB single line of fields",
    "undecodable bytes are refused, not mojibake",
    "missing header row: no student values in the error",
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


# ------------------------------------------------------------------------------ outputs (issue 14, item 4)


def _analyze(cli_main, fake_embedder, path, out, *extra) -> int:
    return cli_main(["analyze", str(path), "--out", str(out), "--no-save", *extra], embedder=fake_embedder)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def _snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def ticket(tmp_path):
    path = tmp_path / "ticket.csv"
    path.write_bytes(table(WORDS).encode())
    return path


def test_cli_out_that_is_a_file_exits_2(ticket, tmp_path, cli_main, fake_embedder, capsys):
    target = tmp_path / "results.csv"
    target.write_text("keep me")
    assert _analyze(cli_main, fake_embedder, ticket, target) == 2
    assert "is a file, not a folder" in _one_error_line(capsys)
    assert target.read_text() == "keep me"


def test_cli_never_writes_over_the_input(tmp_path, cli_main, fake_embedder, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    path = folder / "responses.csv"
    original = table(WORDS).encode()
    path.write_bytes(original)
    assert _analyze(cli_main, fake_embedder, path, folder) == 2
    assert "would write responses.csv over your input file 'responses.csv'" in _one_error_line(capsys)
    assert path.read_bytes() == original
    assert sorted(p.name for p in folder.iterdir()) == ["responses.csv"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_cli_read_only_folder_exits_2(ticket, tmp_path, cli_main, fake_embedder, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert _analyze(cli_main, fake_embedder, ticket, locked / "out") == 2
        assert "cannot be written (permission denied or read-only)" in _one_error_line(capsys)
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize(
    "error, words",
    [
        (OSError(errno.ENOSPC, "No space left on device"), "is full, so the results were not written"),
        (PermissionError(errno.EACCES, "Permission denied"), "cannot be written (permission denied or read-only)"),
        (OSError(errno.EROFS, "Read-only file system"), "cannot be written (permission denied or read-only)"),
    ],
    ids=["full disk", "permission denied", "read-only disk"],
)
def test_cli_failed_write_leaves_the_previous_results_as_they_were(
    error, words, ticket, tmp_path, cli_main, fake_embedder, capsys, monkeypatch
):
    out = tmp_path / "out"
    assert _analyze(cli_main, fake_embedder, ticket, out) == 0
    capsys.readouterr()
    before = _snapshot(out)
    assert set(before) >= {"responses.csv", "groups.csv", "plan.csv", "feedback.csv", "rosters.csv", "handout.html"}
    other = tmp_path / "other.csv"
    other.write_bytes(table(["a different class", "and its answers"]).encode())
    import feedback_assistant.export as export

    real = export.write_csv

    def failing(frame, path):
        if Path(path).name == "groups.csv":
            Path(path).write_bytes(b"x" * 8192)  # cut short, as a full disk leaves it
            raise error
        return real(frame, path)

    monkeypatch.setattr(export, "write_csv", failing)
    assert _analyze(cli_main, fake_embedder, other, out) == 2
    line = _one_error_line(capsys)
    assert words in line and "was changed (the previous results there are as they were)" in line, line
    assert _snapshot(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)]  # no staging folder left


def test_cli_new_out_folder_is_not_left_half_written(ticket, tmp_path, cli_main, fake_embedder, capsys, monkeypatch):
    import feedback_assistant.export as export

    def failing(frame, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export, "write_csv", failing)
    assert _analyze(cli_main, fake_embedder, ticket, tmp_path / "new" / "out") == 2
    assert "nothing was written" in _one_error_line(capsys)
    assert not (tmp_path / "new" / "out").exists()
    assert list((tmp_path / "new").iterdir()) == []


def test_cli_rewrites_every_output_and_keeps_the_teachers_own_files(ticket, tmp_path, cli_main, fake_embedder):
    out = tmp_path / "out"
    out.mkdir()
    (out / "my notes.txt").write_text("mine")
    (out / "plan.csv").write_text("an old plan")
    assert _analyze(cli_main, fake_embedder, ticket, out) == 0
    assert (out / "my notes.txt").read_text() == "mine"
    assert (out / "plan.csv").read_text() != "an old plan"
    assert len(_read_out(out / "responses.csv")) == len(WORDS)


@pytest.mark.parametrize("date", ["13/45/2026", "2026-02-30", "2026-3-5", "20260305", "tomorrow", ""])
def test_cli_date_must_be_a_real_yyyy_mm_dd(date, ticket, tmp_path, cli_main, fake_embedder, capsys):
    assert _analyze(cli_main, fake_embedder, ticket, tmp_path / "out", "--date", date) == 2
    assert "--date must be a real date written YYYY-MM-DD" in _one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_cli_accepts_a_real_date(ticket, tmp_path, cli_main, fake_embedder):
    assert _analyze(cli_main, fake_embedder, ticket, tmp_path / "out", "--date", "2024-02-29") == 0


def test_cli_prints_the_readers_notices(tmp_path, cli_main, fake_embedder, capsys):
    path = tmp_path / "periods.xlsx"
    path.write_bytes(periods_workbook())
    assert _analyze(cli_main, fake_embedder, path, tmp_path / "out") == 0
    out = capsys.readouterr().out
    assert "Note: 3 sheets read as one table, rows per sheet: 'P1' (30), 'P3' (29), 'P5' (31)." in out
    written = _read_out(tmp_path / "out" / "responses.csv")
    assert len(written) == 90 and written["Sheet"].tolist()[29:31] == ["P1", "P3"]


def test_output_folder_failure_inside_the_block_keeps_the_old_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "groups.csv").write_text("yesterday")
    with pytest.raises(OutputError, match=r"is full, so the results were not written; nothing in .* was changed"):
        with output_folder(out, names=["groups.csv"]) as staging:
            (staging / "groups.csv").write_text("today, half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert (out / "groups.csv").read_text() == "yesterday"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_output_folder_a_folder_named_like_an_output_is_an_error(tmp_path):
    out = tmp_path / "out"
    (out / "groups.csv").mkdir(parents=True)
    with pytest.raises(OutputError, match=r"a folder in .* has the name of an output file \(groups.csv\)"):
        with output_folder(out) as staging:
            (staging / "groups.csv").write_text("today")
    assert (out / "groups.csv").is_dir()


def test_cli_unwritable_folder_is_refused_before_the_work(
    ticket, tmp_path, cli_main, fake_embedder, capsys, monkeypatch
):
    import feedback_assistant.outfolder as outfolder

    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(outfolder.os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode))
    assert _analyze(cli_main, fake_embedder, ticket, locked / "out") == 2
    assert "cannot be written (permission denied or read-only) — nothing was written" in _one_error_line(capsys)
    assert list(locked.iterdir()) == []


def test_cli_feedback_names_are_what_excel_shows(tmp_path, cli_main, fake_embedder):
    path = _make(BY_NAME["xlsx student names computed by Excel, values saved"], tmp_path)
    assert _analyze(cli_main, fake_embedder, path, tmp_path / "out") == 0
    feedback = _read_out(tmp_path / "out" / "feedback.csv")
    assert sorted(feedback["student"]) == sorted(f"{FIRST[i]} {LAST[i]}" for i in range(6))


def test_cli_bad_input_never_prints_student_values(tmp_path, cli_main, fake_embedder, capsys):
    path = _make(BY_NAME["missing header row: no student values in the error"], tmp_path)
    assert _analyze(cli_main, fake_embedder, path, tmp_path / "out", "--response-col", "Answer") == 2
    line = _one_error_line(capsys)
    assert "the first row is not shown here because it does not look like column names" in line
    assert not any(v in line for v in ("235791", "Wesley", "Maria", "P1"))


def test_cli_out_inside_a_file_exits_2(ticket, tmp_path, cli_main, fake_embedder, capsys):
    assert _analyze(cli_main, fake_embedder, ticket, ticket / "results") == 2
    line = _one_error_line(capsys)
    assert f"cannot be made: '{ticket}' is a file, not a folder" in line, line
    assert ticket.read_bytes() == table(WORDS).encode()


@pytest.mark.parametrize("target", ["", "   ", "out\x00put"], ids=["empty", "spaces", "NUL"])
def test_cli_out_that_is_no_folder_name_exits_2(target, ticket, cli_main, fake_embedder, capsys):
    assert _analyze(cli_main, fake_embedder, ticket, target) == 2
    assert "--out is empty or not a usable folder name" in _one_error_line(capsys)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_damaged_bytes_are_read_or_explained_never_a_crash(kind):
    """Random byte flips in real-shaped files (fixed seed): each ends in a read or a TicketFormatError."""
    import random

    rng = random.Random(11)
    if kind == "csv":
        bases = [
            table(WORDS).encode(),
            cjk_csv("shift_jis", "ja"),
            cjk_csv("euc_kr", "ko"),
            table(WORDS).encode("utf-16"),
        ]
    else:
        bases = [periods_workbook(), titled_workbook(), hidden_rows_workbook()]
    for _ in range(120 if kind == "csv" else 100):
        data = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            t = read_tickets(bytes(data), filename=f"t.{kind}")
        except TicketFormatError as exc:
            assert "\n" not in str(exc)
        else:
            assert len(t.responses()) == len(t.frame)
