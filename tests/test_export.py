"""Exports: responses/groups/plan/feedback/rosters CSVs and the printable handout."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from feedback_assistant.export import (
    BLANK_LABEL,
    OUTPUT_FILES,
    UNGROUPED_ROW_LABEL,
    DraftsFileError,
    approve_drafts,
    feedback_drafts_frame,
    groups_frame,
    handout_html,
    identifier_columns,
    plan_frame,
    responses_frame,
    rosters_frame,
    student_feedback_frame,
    write_outputs,
)
from feedback_assistant.pipeline import assemble
from feedback_assistant.records import UNGROUPED, Analysis, ColumnMap, Response
from feedback_assistant.review import approve_stem, edit_stem

Q1 = "What fraction is NOT shaded? (6 of 9 shaded)"
Q2 = "Which is bigger, 3/8 or 3/5?"
ROWS = [  # (student, question, response, group)
    ("Ana", Q1, "1/3 because 3/9 not shaded simplifies to 1/3", 0),
    ("Ana", Q2, "3/5 because fifths are bigger pieces", 0),
    ("<b>Ben</b>", Q1, "6/9 because 6 are shaded", 1),
    ("<b>Ben</b>", Q2, "3/8 because 8 is bigger than 5", 1),
    ('=HYPERLINK("x")', Q1, "1/3, 3 of 9 not shaded simplified", 0),
    ('=HYPERLINK("x")', Q2, "3/5 bigger pieces", 0),
    ("Zoë", Q1, "6/9 I counted the shaded ones", 1),
    ("Zoë", Q2, "", UNGROUPED),
    ("Mo", Q1, "=2/9 <script>alert(1)</script>", UNGROUPED),
    ("Mo", Q2, "3/8 since 8 > 5 so more pieces", 1),
]


@pytest.fixture
def analysis(fake_embedder):
    frame = pd.DataFrame(ROWS, columns=["Student", "Question", "Response", "planted"]).drop(columns="planted")
    frame["Email Address"] = [f"s{i // 2}@school.example" for i in range(len(ROWS))]
    results = []
    for q in (Q1, Q2):
        idx = [i for i, row in enumerate(ROWS) if row[1] == q]
        responses = [
            Response(row=i, source_row=i, student=ROWS[i][0], question=q, text=ROWS[i][2], is_blank=not ROWS[i][2])
            for i in idx
        ]
        labels = [ROWS[i][3] for i in idx]
        vectors = fake_embedder.encode([r.text for r in responses])
        results.append(assemble(q, responses, labels, [1.0] * len(idx), vectors, max_group_size=2))
    first = approve_stem(edit_stem(results[0], 1, "Check: which part does the question ask about?"), 1)
    return Analysis(
        frame=frame,
        columns=ColumnMap(response="Response", student="Student", question="Question"),
        results=(first, results[1]),
        source_name="ticket.csv",
    )


def test_responses_frame_adds_columns_aligned_by_row(analysis):
    out = responses_frame(analysis)
    assert len(out) == len(ROWS)
    assert list(out.columns[:3]) == ["Student", "Question", "Response"]
    assert {"group_id", "group_label", "check", "feedback", "next_step"} <= set(out.columns)
    assert out.loc[7, "group_label"] == BLANK_LABEL and out.loc[7, "group_id"] == UNGROUPED
    assert out.loc[2, "feedback"] == "Check: which part does the question ask about?"
    assert out.loc[2, "next_step"].startswith("reteach: ")
    assert out.loc[0, "next_step"] == "extension"
    assert out.loc[8, "next_step"] == "check-in"
    assert (out["feedback"] != "").mean() >= 0.8


def test_groups_frame_has_one_row_per_group_and_the_ungrouped(analysis):
    out = groups_frame(analysis)
    expected = [
        "question",
        "group_id",
        "label",
        "size",
        "share",
        "status",
        "status_confirmed",
        "answer",
        "representative_1",
        "representative_2",
        "representative_3",
        "stem",
        "stem_state",
    ]
    assert list(out.columns[: len(expected)]) == expected
    q1 = out[out.question == Q1]
    assert list(q1.group_id) == [0, 1, UNGROUPED]
    assert q1.set_index("group_id").loc[UNGROUPED, "label"] == UNGROUPED_ROW_LABEL
    assert q1.set_index("group_id").loc[1, "stem_state"] == "approved"
    assert q1["size"].sum() == 5 and q1["share"].sum() == pytest.approx(1.0)
    assert (out.label != "").all() and (out.stem != "").all()


def test_plan_and_rosters_hold_every_student_once_per_question(analysis):
    plan = plan_frame(analysis)
    assert list(plan.columns) == ["question", "plan_group", "kind", "focus", "student", "row"]
    assert sorted(plan.row) == list(range(len(ROWS)))
    rosters = rosters_frame(analysis)
    assert rosters["size"].sum() == len(ROWS)
    assert (rosters["size"] <= 2).all()


def test_student_feedback_frame_holds_approved_text_only_and_keeps_the_email(analysis):
    out = student_feedback_frame(analysis)
    assert list(out.columns) == ["student", "Email Address", "question", "feedback", "state"]
    assert len(out) == len(ROWS)  # rows in = rows out: unapproved students keep an empty cell and their state
    approved = out[out.feedback != ""]
    assert set(approved.student) == {"<b>Ben</b>", "Zoë"} and set(approved.question) == {Q1}
    assert (approved.state == "approved").all() and set(out[out.feedback == ""].state) == {"draft"}
    assert approved.set_index("student").loc["Zoë", "Email Address"] == "s3@school.example"
    preview = student_feedback_frame(analysis, approved_only=False)
    assert (preview.feedback != "").all()


def test_drafts_frame_has_every_students_text_and_state(analysis):
    drafts = feedback_drafts_frame(analysis)
    assert list(drafts.columns) == [
        "row",
        "student",
        "Email Address",
        "question",
        "group",
        "check",
        "state",
        "feedback",
    ]
    assert sorted(drafts.row) == list(range(len(ROWS))) and (drafts.feedback != "").all()
    assert set(drafts.state) == {"approved", "draft"} and (drafts.check == 0).all()
    ana = drafts[(drafts.student == "Ana") & (drafts.question == Q1)].iloc[0]
    # no key: "on target" is a suggestion, so the draft asks why instead of praising
    assert ana.feedback.startswith("You wrote “1/3 because 3/9 not shaded simplifies to 1/3” — can you say why that")


def test_approve_drafts_keeps_what_the_teacher_approved(analysis):
    drafts = feedback_drafts_frame(analysis)
    drafts.loc[0, ["state", "feedback"]] = [" Approved ", "Ana, well done — now try 2/6 another way."]
    out = approve_drafts(drafts)
    assert list(out.columns) == ["student", "Email Address", "question", "feedback", "state"]
    assert out.loc[0, "feedback"] == "Ana, well done — now try 2/6 another way." and out.loc[0, "state"] == "approved"
    assert set(out[out.feedback != ""].student) == {"Ana", "<b>Ben</b>", "Zoë"}
    assert (out[out.state != "approved"].feedback == "").all()
    drafts.loc[1, "state"] = "yes"
    with pytest.raises(DraftsFileError, match=r"approved, draft or check; rows \[3\]"):
        approve_drafts(drafts)
    drafts.loc[1, ["state", "feedback"]] = ["approved", "  "]
    with pytest.raises(DraftsFileError, match=r"Rows \[3\] .*feedback is empty"):
        approve_drafts(drafts)
    with pytest.raises(DraftsFileError, match="no 'state' column"):
        approve_drafts(drafts.drop(columns="state"))


def test_identifier_columns_are_found_by_their_headers():
    frame = pd.DataFrame(
        columns=[
            "Timestamp",
            "Email Address",
            "Student",
            "studentId",
            "LastName",
            "SIS_ID",
            "QuestionId",
            "Response",
            "Score",
            "Period",
        ]
    )
    cols = ColumnMap(response="Response", student="Student", question="QuestionId", section="Period")
    assert identifier_columns(frame, cols) == ["Email Address", "studentId", "LastName", "SIS_ID", "Period"]


def test_unconfirmed_statuses_say_suggested(analysis):
    out = groups_frame(analysis)
    assert set(out[out.group_id >= 0].status) <= {
        "on target (suggested)",
        "misconception (suggested)",
        "unclear (suggested)",
    }


def test_handout_escapes_student_text_and_prints(analysis):
    page = handout_html(analysis)
    assert "<script>" not in page and "&lt;b&gt;Ben&lt;/b&gt;" in page and "<b>Ben</b>" not in page
    assert "@media print" in page
    assert "Showed up most" in page and "approved" in page and "draft" in page
    assert page.count("<h2>") == 2


def test_write_outputs_writes_every_file_formula_safe(analysis, tmp_path):
    paths = write_outputs(analysis, tmp_path / "out")
    assert set(paths) == set(OUTPUT_FILES)
    assert all(p.exists() and p.stat().st_size > 0 for p in paths.values())
    feedback = paths["feedback"].read_bytes().decode("utf-8-sig")
    assert "'=HYPERLINK" in feedback
    assert "\n=HYPERLINK" not in feedback and "\r\n=" not in feedback
    back = pd.read_csv(io.StringIO(paths["responses"].read_text(encoding="utf-8-sig")), keep_default_na=False)
    assert len(back) == len(ROWS) and back.loc[8, "Response"].startswith("'=2/9")
