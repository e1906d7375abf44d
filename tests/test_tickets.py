"""Reading exit tickets: layouts teachers actually get, column detection, overrides, limits and errors."""

from __future__ import annotations

import dataclasses
import io
import re

import pandas as pd
import pytest

from feedback_assistant import decoding, grid
from feedback_assistant import tickets as tickets_module
from feedback_assistant.records import ColumnMap, Response, TicketFormatError
from feedback_assistant.spreadsheet import to_xlsx_bytes
from feedback_assistant.tickets import TicketSet, read_tickets

GOOGLE_FORM = (
    "Timestamp,Email Address,Score,What is your name?,Which class period are you in?,"
    '"Which is bigger, 3/8 or 3/5?",Explain your reasoning,What is one question you still have?\n'
    "2024/03/05 9:15:22 AM GMT-5,ana@school.org,1 / 2,Ana,Period 2,3/5,"
    '"Fifths are bigger pieces than eighths, so 3 fifths is more",Why do we flip the fraction?\n'
    "2024/03/05 9:16:01 AM GMT-5,ben@school.org,0 / 2,Ben,Period 2,3/8,8 is bigger than 5 so 3/8 is bigger,\n"
    "2024/03/05 9:17:45 AM GMT-5,cy@school.org,1 / 2,Cy,Period 3,3/5,"
    '"the bigger the bottom number, the smaller the pieces",none\n'
)

CANVAS = (
    "name,id,sis_id,section,section_id,section_sis_id,submitted,attempt,"
    '"1234: Which is bigger, 3/8 or 3/5?",1.0,1235: Explain why fifths are bigger than eighths,1.0,'
    "n correct,n incorrect,score\n"
    "Ana Lopez,501,S501,Period 2,77,,2024-03-05 09:15:22 -0500,1,3/5,1.0,<p>Fifths are bigger pieces</p>,1.0,"
    "2,0,2.0\n"
    "Ben Ng,502,S502,Period 3,78,,2024-03-05 09:16:22 -0500,1,3/8,0.0,8 is bigger than 5 so more,0.0,"
    "0,2,0.0\n"
)

LONG = (
    "Student,Period,Question,Answer,Response\n"
    "Ana,P1,Q1,3/5,fifths are bigger pieces than eighths\n"
    "Ana,P1,Q2,1/2,half of the pizza is left over at the end\n"
    "Ben,P2,Q1,3/8,eight is a bigger number than five\n"
    "Ben,P2,Q2,,\n"
)


def microsoft_form() -> bytes:
    frame = pd.DataFrame(
        {
            "ID": ["1", "2", "3"],
            "Start time": ["3/5/24 9:15:22", "3/5/24 9:16:00", "3/5/24 9:17:00"],
            "Completion time": ["3/5/24 9:18:22", "3/5/24 9:19:00", "3/5/24 9:20:00"],
            "Email": ["ana@school.org", "ben@school.org", "cy@school.org"],
            "Name": ["Ana Lopez", "Ben Ng", "Cy Park"],
            "Last modified time": ["", "", ""],
            "Total points": ["1", "0", "1"],
            "Quiz feedback": ["", "", ""],
            "Why do we have seasons?": [
                "The earth is tilted so sunlight hits at a steeper angle",
                "Because the earth is closer to the sun in summer",
                "The tilt of the axis changes how direct the light is",
            ],
            "Points - Why do we have seasons?": ["1", "0", "1"],
            "Feedback - Why do we have seasons?": ["", "Think about the tilt", ""],
        }
    )
    return to_xlsx_bytes(frame)


# ------------------------------------------------------------------------------------------------ layouts


def test_long_table_detects_roles_and_keeps_rows_in_order():
    t = read_tickets(LONG.encode(), filename="ticket.csv")
    assert t.layout == "long"
    assert t.columns == ColumnMap(
        response="Response", student="Student", question="Question", section="Period", answer="Answer"
    )
    assert t.source_rows == len(t.frame) == 4
    assert t.frame.index.tolist() == [0, 1, 2, 3]
    assert t.frame["source_row"].tolist() == [0, 1, 2, 3]
    assert t.questions() == ["Q1", "Q2"]
    last = t.responses()[3]
    assert last == Response(
        row=3,
        source_row=3,
        student="Ben",
        question="Q2",
        text="",
        answer=None,
        section="P2",
        date=None,
        is_blank=True,
    )


def test_google_form_becomes_long_with_paired_answer_and_name_question_as_student():
    t = read_tickets(GOOGLE_FORM.encode(), filename="Exit ticket (Responses).csv")
    assert t.layout == "wide"
    c = t.columns
    assert (c.student, c.section, c.date) == (
        "What is your name?",
        "Which class period are you in?",
        "Timestamp",
    )
    # The MC column before "Explain your reasoning" is that question's answer, and names the question.
    assert t.questions() == ["Which is bigger, 3/8 or 3/5?", "What is one question you still have?"]
    f = t.frame
    assert len(f) == t.source_rows * 2 == 6
    assert f["source_row"].tolist() == [0, 0, 1, 1, 2, 2]  # row 0's questions first, then row 1's
    assert f[c.answer].tolist() == ["3/5", "", "3/8", "", "3/5", ""]
    assert f[c.response].tolist()[3] == ""  # Ben left the second question blank: kept, not dropped
    assert f["Score"].tolist()[0] == "1 / 2"  # other columns kept as typed
    assert t.responses()[3].is_blank


def test_wide_response_col_analyses_one_question_only():
    t = read_tickets(GOOGLE_FORM.encode(), filename="form.csv", response_col="explain your reasoning")
    assert t.questions() == ["Which is bigger, 3/8 or 3/5?"]
    assert len(t.frame) == 3
    assert t.frame[t.columns.answer].tolist() == ["3/5", "3/8", "3/5"]
    # the other question is still there, as an ordinary column
    assert t.frame["What is one question you still have?"].tolist()[0] == "Why do we flip the fraction?"


def test_microsoft_form_xlsx_skips_points_and_feedback_columns():
    t = read_tickets(microsoft_form(), filename="Exit ticket.xlsx")
    assert t.layout == "wide"
    assert t.questions() == ["Why do we have seasons?"]
    assert len(t.frame) == 3
    assert (t.columns.student, t.columns.date) == ("Name", "Completion time")
    assert t.frame["Feedback - Why do we have seasons?"].tolist()[1] == "Think about the tilt"


def test_anonymous_microsoft_form_falls_back_to_email_for_student():
    raw = pd.read_excel(io.BytesIO(microsoft_form()), dtype=str).fillna("")
    raw["Name"] = "anonymous"
    t = read_tickets(to_xlsx_bytes(raw), filename="anon.xlsx")
    assert t.columns.student == "Email"


def test_canvas_student_analysis():
    t = read_tickets(io.BytesIO(CANVAS.encode()), filename="Quiz Student Analysis Report.csv")
    assert t.layout == "canvas"
    assert (t.columns.student, t.columns.section, t.columns.date) == ("name", "section", "submitted")
    assert t.questions() == ["Which is bigger, 3/8 or 3/5?", "Explain why fifths are bigger than eighths"]
    assert len(t.frame) == 4
    assert t.frame[t.columns.response].tolist()[1] == "<p>Fifths are bigger pieces</p>"
    assert t.frame["score"].tolist() == ["2.0", "2.0", "0.0", "0.0"]


def test_long_table_with_question_id_and_text_prefers_text_and_mc_answer():
    text = (
        "row_id,QuestionId,QuestionText,MC_Answer,StudentExplanation,Category\n"
        "0,31772,What fraction is not shaded?,1/3,three of the nine parts are white so one third,"
        "True_Correct\n"
        "1,31772,What fraction is not shaded?,3/9,I counted the white ones and got three out of nine,"
        "True_Neither\n"
    )
    t = read_tickets(text.encode(), filename="x.csv")
    assert (t.columns.question, t.columns.answer, t.columns.response) == (
        "QuestionText",
        "MC_Answer",
        "StudentExplanation",
    )


def test_answer_header_holding_free_text_is_the_response():
    text = "Student,Answer\nAna,fifths are bigger pieces than eighths\nBen,eight is bigger than five so it is\n"
    t = read_tickets(text.encode(), filename="x.csv")
    assert (t.columns.response, t.columns.answer) == ("Answer", None)


def test_short_choice_column_before_free_text_is_found_by_content():
    text = "Name,Pick,Thoughts\n" + "".join(
        f"S{i},{'AB'[i % 2]},because the pieces are smaller when there are more of them {i}\n" for i in range(8)
    )
    t = read_tickets(text.encode(), filename="x.csv")
    assert t.columns.response == "Thoughts"
    assert t.columns.answer == "Pick"


def test_response_found_by_content_when_no_header_matches():
    text = "Kid,Hour,Thoughts\n" + "".join(
        f"K{i},{i % 3},the moon looks different because we see different lit parts {i}\n" for i in range(6)
    )
    t = read_tickets(text.encode(), filename="x.csv")
    assert t.columns.response == "Thoughts"
    assert t.columns.section == "Hour"


def test_key_column_detected_but_true_false_column_is_not_a_key():
    text = (
        "Student,Question,Response,Correct answer\nA,Q1,it is half of the whole thing,1/2\n"
        "B,Q1,it is a third of the whole,1/2\n"
    )
    assert read_tickets(text.encode(), filename="x.csv").columns.key == "Correct answer"
    text2 = "Student,Question,Response,Correct\nA,Q1,it is half of the whole,TRUE\nB,Q1,a third of it,FALSE\n"
    assert read_tickets(text2.encode(), filename="x.csv").columns.key is None


def test_single_question_table_has_one_unnamed_question():
    t = read_tickets(b"Student,Response\nAna,because it is tilted\nBen,closer to the sun\n", filename="x.csv")
    assert t.columns.question is None
    assert t.questions() == [""]
    assert {r.question for r in t.responses()} == {""}


# ------------------------------------------------------------------------------------------------ overrides


def test_overrides_win_and_match_case_and_spaces_insensitively():
    t = read_tickets(
        LONG.encode(),
        filename="x.csv",
        response_col=" answer ",
        answer_col="Response",
        student_col="period",
        section_col="Student",
    )
    assert (t.columns.response, t.columns.answer, t.columns.student, t.columns.section) == (
        "Answer",
        "Response",
        "Period",
        "Student",
    )


@pytest.mark.parametrize(
    "arg, flag",
    [
        ("response_col", "--response-col"),
        ("answer_col", "--answer-col"),
        ("question_col", "--question-col"),
        ("student_col", "--student-col"),
        ("section_col", "--section-col"),
    ],
)
def test_override_naming_a_missing_column_lists_the_columns(arg, flag):
    with pytest.raises(
        TicketFormatError,
        match=rf"Column 'Explanation' was not found\. The columns are: Student, Period, Question, "
        rf"Answer, Response — pass {flag} with one of them\.",
    ):
        read_tickets(LONG.encode(), filename="x.csv", **{arg: "Explanation"})


def test_question_col_override_turns_a_wide_looking_file_long():
    text = "Name,Topic of the day,Why do you think so?\nAna,tilt,it leans over\nBen,distance,we get closer\n"
    t = read_tickets(text.encode(), filename="x.csv", question_col="Topic of the day")
    assert t.layout == "long"
    assert t.columns.response == "Why do you think so?"
    assert t.questions() == ["tilt", "distance"]


# ------------------------------------------------------------------------------------------------ sources


def test_sources_path_str_bytes_and_file_like_agree(tmp_path):
    path = tmp_path / "ticket.csv"
    path.write_text(LONG, encoding="utf-8")

    class Upload(io.BytesIO):  # what Streamlit hands over: a binary stream with a .name
        name = "ticket.csv"

    frames = [
        read_tickets(path).frame,
        read_tickets(str(path)).frame,
        read_tickets(LONG.encode(), filename="ticket.csv").frame,
        read_tickets(Upload(LONG.encode())).frame,
    ]
    for f in frames[1:]:
        pd.testing.assert_frame_equal(f, frames[0])
    assert read_tickets(path).source_name == "ticket.csv"


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(TicketFormatError, match=r"was not found — check the name and folder"):
        read_tickets(tmp_path / "nope.csv")


def test_bytes_without_a_filename_are_sniffed():
    assert len(read_tickets(LONG.encode()).frame) == 4
    assert read_tickets(microsoft_form()).layout == "wide"


# ------------------------------------------------------------------------------------------------ values


def test_values_are_text_exactly_as_typed():
    text = "Student,ID,Score,Response\nAna,007,1.50,NA\nBen,0012,-,null\nCy,1e5,3/4,=1+2\nDi, 12 ,TRUE,  spaced out  \n"
    f = read_tickets(text.encode(), filename="x.csv").frame
    assert f["ID"].tolist() == ["007", "0012", "1e5", " 12 "]
    assert f["Score"].tolist() == ["1.50", "-", "3/4", "TRUE"]
    assert f["Response"].tolist() == ["NA", "null", "=1+2", "  spaced out  "]
    assert not f.drop(columns="source_row").isna().any().any()
    assert all(pd.api.types.is_string_dtype(f[c]) for c in f.columns if c != "source_row")


def test_xlsx_cells_become_text_as_shown():
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Student", "When", "Score", "Done", "Response"])
    sheet.append(["Ana", dt.datetime(2024, 3, 5, 9, 15, 22), 3, True, "the earth is tilted"])
    sheet.append(["Ben", dt.datetime(2024, 3, 6), 2.5, False, '=HYPERLINK("http://x","y")'])
    sheet["E3"].data_type = "s"  # text a student typed, not a formula
    buffer = io.BytesIO()
    book.save(buffer)
    f = read_tickets(buffer.getvalue(), filename="x.xlsx").frame
    assert f["When"].tolist() == ["2024-03-05 09:15:22", "2024-03-06"]
    assert f["Score"].tolist() == ["3", "2.5"]
    assert f["Done"].tolist() == ["TRUE", "FALSE"]
    assert f["Response"].tolist()[1] == '=HYPERLINK("http://x","y")'


def test_duplicate_and_blank_headers_are_named_and_kept():
    text = "Student,Response,Response,,\nAna,first try at it,second try at it,extra,\nBen,one,two,,\n"
    f = read_tickets(text.encode(), filename="x.csv").frame
    # the blank-header column with a value is kept; the wholly empty one is dropped
    assert list(f.columns) == ["Student", "Response", "Response (2)", "Column 4", "source_row"]


def test_trailing_empty_rows_are_padding_but_inner_empty_rows_are_kept():
    text = "Student,Response\nAna,yes it is\n,\nBen,no it is not\n,\n,\n\n"
    t = read_tickets(text.encode(), filename="x.csv")
    assert t.source_rows == len(t.frame) == 3
    assert [r.is_blank for r in t.responses()] == [False, True, False]


def test_source_row_column_in_the_input_is_kept_under_another_name():
    text = "source_row,Student,Response\n9,Ana,it is tilted\n8,Ben,it is closer\n"
    f = read_tickets(text.encode(), filename="x.csv").frame
    assert f["source_row"].tolist() == [0, 1]
    assert f["source_row (input)"].tolist() == ["9", "8"]


def test_ticketset_is_frozen():
    t = read_tickets(LONG.encode(), filename="x.csv")
    assert isinstance(t, TicketSet)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.layout = "wide"


# ------------------------------------------------------------------------------------------------ limits


def test_row_limit_names_the_limit(monkeypatch):
    monkeypatch.setattr(grid, "MAX_ROWS", 3)
    with pytest.raises(TicketFormatError, match=r"has 4 rows; the limit is 3 — split it into smaller files"):
        read_tickets(LONG.encode(), filename="x.csv")


def test_row_limit_in_xlsx(monkeypatch):
    monkeypatch.setattr(grid, "MAX_ROWS", 2)
    with pytest.raises(TicketFormatError, match=r"more than 2 rows; the limit is 2"):
        read_tickets(microsoft_form(), filename="x.xlsx")


def test_file_size_limit_names_the_limit(monkeypatch, tmp_path):
    monkeypatch.setattr(decoding, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.csv"
    path.write_text(LONG, encoding="utf-8")
    with pytest.raises(TicketFormatError, match=r"'big.csv' is 0 MB; the limit is 0 MB — split it"):
        read_tickets(path)
    with pytest.raises(TicketFormatError, match=r"the limit is 0 MB"):
        read_tickets(io.BytesIO(LONG.encode()), filename="big.csv")


def test_response_limit_for_wide_files_suggests_one_question(monkeypatch):
    monkeypatch.setattr(tickets_module, "MAX_RESPONSES", 5)
    with pytest.raises(
        TicketFormatError,
        match=r"3 rows x 2 questions = 6 responses; the limit is 5 — split the "
        r"file, or pick one question with --response-col",
    ):
        read_tickets(GOOGLE_FORM.encode(), filename="form.csv")
    assert (
        len(read_tickets(GOOGLE_FORM.encode(), filename="form.csv", response_col="Explain your reasoning").frame) == 3
    )


def test_default_limits():
    assert tickets_module.MAX_FILE_BYTES == 100 * 1024 * 1024
    assert tickets_module.MAX_ROWS == 250_000


@pytest.mark.parametrize("q1, q2", [("Q1", "Q2"), ("1", "2"), ("Question 1", "Question 2")])
def test_numbered_question_columns_make_a_wide_file(q1, q2):
    text = f"Name,{q1},{q2}\nAna,it is half of it,the bigger piece\nBen,a third of it,the smaller piece\n"
    t = read_tickets(text.encode(), filename="x.csv")
    assert t.layout == "wide"
    assert t.questions() == [q1, q2]
    assert t.frame[t.columns.response].tolist() == [
        "it is half of it",
        "the bigger piece",
        "a third of it",
        "the smaller piece",
    ]


def test_timestamped_log_with_a_question_column_stays_long():
    text = "Timestamp,Student,Question,Response\n2024-03-05 9:00,Ana,Q1,half\n2024-03-05 9:01,Ben,Q1,third\n"
    t = read_tickets(text.encode(), filename="x.csv")
    assert (t.layout, t.columns.question, t.columns.response, t.columns.date) == (
        "long",
        "Question",
        "Response",
        "Timestamp",
    )


def test_a_response_column_keeps_a_table_long_despite_a_wordy_extra_column():
    text = "Student,Response,Teacher notes for later\nAna,it is half of the pizza,ok\nBen,a third is left,\n"
    t = read_tickets(text.encode(), filename="x.csv")
    assert (t.layout, t.columns.response, len(t.frame)) == ("long", "Response", 2)


def test_answer_col_override_in_a_wide_file_pairs_with_the_next_question():
    text = (
        "Timestamp,Pick one,Tell me about your pick,Anything else\n"
        "2024-03-05 9:00,B,because the pieces are bigger,no\n"
        "2024-03-05 9:01,C,the bottom number is smaller,yes\n"
    )
    t = read_tickets(text.encode(), filename="x.csv", answer_col="Pick one")
    assert t.questions() == ["Tell me about your pick", "Anything else"]
    assert t.frame[t.columns.answer].tolist() == ["B", "", "C", ""]


def test_zip_that_is_not_a_workbook_says_what_it_is():
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    with pytest.raises(TicketFormatError, match=r"'x.ods' is a '\.ods' file"):
        read_tickets(buffer.getvalue(), filename="x.ods")
    with pytest.raises(TicketFormatError, match=r"'x.xlsx' is an OpenDocument file, not an Excel workbook"):
        read_tickets(buffer.getvalue(), filename="x.xlsx")


@pytest.mark.parametrize("magic, kind", decoding.SIGNATURES)
def test_known_non_spreadsheet_files_are_named(magic, kind):
    with pytest.raises(TicketFormatError, match=rf"'x.csv' is {re.escape(kind)}, not a spreadsheet — export"):
        read_tickets(magic + bytes(range(256)), filename="x.csv")


def test_plain_zip_archive_is_not_a_workbook():
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("tickets/period1.csv", "Student,Response\n")
    with pytest.raises(TicketFormatError, match=r"'x.csv' is a zip archive, not an Excel workbook — open it"):
        read_tickets(buffer.getvalue(), filename="x.csv")


def test_source_of_the_wrong_type_is_a_clear_error():
    with pytest.raises(TicketFormatError, match=r"Cannot read exit tickets from a int — give a file path"):
        read_tickets(42)


def test_form_export_with_no_question_columns_is_a_clear_error():
    text = "Timestamp,Email Address\n2024/03/05 9:00,a@s.org\n2024/03/05 9:01,b@s.org\n"
    with pytest.raises(
        TicketFormatError,
        match=r"No column in 'x.csv' looks like student responses\. The columns are: Timestamp, Email",
    ):
        read_tickets(text.encode(), filename="x.csv")


def test_utf8_file_with_a_few_pasted_cp1252_bytes_reads_both_right():
    data = "Student,Response\nAna,café and naïve\n".encode() + b"Ben,it\x92s \x93quoted\x94\n"
    t = read_tickets(data, filename="x.csv")
    assert t.frame["Response"].tolist() == ["café and naïve", "it’s “quoted”"]


def test_questions_that_mention_name_or_class_are_still_questions():
    text = (
        "Timestamp,What is your full name?,What class are you in?,Name the organelle that makes energy,"
        "Which class of animals is a frog?\n"
        + "".join(f"2024-03-05 9:0{i},Kid {i},P{i % 2},mitochondria,amphibian\n" for i in range(6))
    )
    t = read_tickets(text.encode(), filename="x.csv")
    assert (t.columns.student, t.columns.section) == ("What is your full name?", "What class are you in?")
    assert t.questions() == ["Name the organelle that makes energy", "Which class of animals is a frog?"]


# ------------------------------------------------------------------------------- title rows (issue 14)


def test_title_rows_above_a_csv_header_are_skipped_and_reported():
    text = (
        "Exit ticket,,\r\nTeacher:,Ms. Rivera,\r\n,,\r\nStudent,Period,Response\r\n"
        "Ana,P3,it is half\r\nBen,P3,a third of it\r\n"
    )
    t = read_tickets(text.encode(), filename="x.csv")
    assert (t.columns.student, t.columns.section, t.columns.response) == ("Student", "Period", "Response")
    assert t.frame["Student"].tolist() == ["Ana", "Ben"]
    assert t.notices == ("2 title rows above the column names skipped.",)


@pytest.mark.parametrize(
    "text",
    [
        "Student,,,,Response\nAna,a,b,c,it is half\nBen,d,e,f,a third\n",  # blank header cells over data
        "Student,Response\nAna,it is half,extra\nBen,a third,extra\n",  # rows wider than the header
        "Kid,Thoughts\nAna,it is half of the pizza\nBen,a third of the whole\n",  # words the reader does not know
    ],
)
def test_the_first_row_stays_the_header_without_a_title_block(text):
    t = read_tickets(text.encode(), filename="x.csv")
    assert t.frame.iloc[:, 0].tolist() == ["Ana", "Ben"]
    assert t.notices == ()


def test_missing_column_error_never_shows_a_students_row():
    text = "235791,Wesley A.,P1,it is half of it\n235792,Maria B.,P2,a third of the whole\n"
    with pytest.raises(TicketFormatError) as info:
        read_tickets(text.encode(), filename="x.csv", response_col="Answer")
    message = str(info.value)
    assert message.startswith("Column 'Answer' was not found; the first row is not shown here because it does not")
    for value in ("235791", "Wesley", "P1", "half"):
        assert value not in message


@pytest.mark.parametrize(
    "cut, message",
    [
        (lambda xml: xml[: xml.index(b"</sheetData>")], r"could not be read: its sheet 'responses' is damaged"),
        (lambda xml: xml[:40], r"is an Excel workbook that could not be opened: it is damaged"),
    ],
    ids=["cut inside the rows", "cut before the rows"],
)
def test_a_damaged_workbook_is_a_clear_error(cut, message):
    import zipfile

    import openpyxl

    made = openpyxl.Workbook()
    made.active.title = "responses"
    for row in (["Student", "Response"], ["Ana", "half"], ["Ben", "a third"]):
        made.active.append(row)
    data = io.BytesIO()
    made.save(data)
    book = io.BytesIO()
    with zipfile.ZipFile(data) as src:
        with zipfile.ZipFile(book, "w") as out:
            for info in src.infolist():
                body = src.read(info.filename)
                if info.filename.startswith("xl/worksheets/sheet"):
                    body = cut(body)
                out.writestr(info.filename, body)
    with pytest.raises(TicketFormatError, match=rf"^'x.xlsx' {message} \(\w+\) — open (it|the file) in Excel, save it"):
        read_tickets(book.getvalue(), filename="x.xlsx")


def test_tabs_whose_headers_differ_only_in_spelling_share_columns():
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "P1"
    book.active.append(["Student", "Response"])
    book.active.append(["Ana", "the pieces get smaller"])
    p2 = book.create_sheet("P2")
    p2.append(["student ", "RESPONSE"])
    p2.append(["Ben", "you add the tops"])
    data = io.BytesIO()
    book.save(data)
    t = read_tickets(data.getvalue(), filename="x.xlsx")
    assert list(t.frame.columns) == ["Student", "Response", "Sheet", "source_row"]
    assert t.frame["Student"].tolist() == ["Ana", "Ben"]
    assert t.frame["Response"].tolist() == ["the pieces get smaller", "you add the tops"]


def test_a_zip_this_python_cannot_open_is_a_clear_error():
    """A workbook whose zip asks for an unsupported version (zipfile raises NotImplementedError)."""
    import struct

    data = bytearray(to_xlsx_bytes(pd.DataFrame({"Student": ["Ana"], "Response": ["half"]})))
    pos = bytes(data).find(b"PK\x01\x02")
    data[pos + 6 : pos + 8] = struct.pack("<H", 204)  # "version needed to extract": 20.4
    with pytest.raises(TicketFormatError, match=r"^'x.xlsx' is (a zip archive|an Excel workbook that could not be)"):
        read_tickets(bytes(data), filename="x.xlsx")
