"""The Streamlit app, page by page, in ``streamlit.testing.v1.AppTest``.

Most tests start from an analysis made with the fast fake embedder and placed in the session (as the Upload
page would); one test runs the whole upload -> group flow with the real model (``@pytest.mark.model``).
"""

from __future__ import annotations

import io

import pytest
from conftest import REPO, SAMPLES, FakeEmbedder
from streamlit.testing.v1 import AppTest

from feedback_assistant import pipeline, review
from feedback_assistant.records import APPROVED, MISCONCEPTION, ON_TARGET, UNGROUPED, FeedbackAssistantError
from feedback_assistant.tickets import read_tickets
from feedback_assistant_app import downloads
from feedback_assistant_app.safe import md
from feedback_assistant_app.state import WS_KEY, Workspace

APP = str(REPO / "app.py")
SAMPLE = SAMPLES / "grade5_fractions.csv"


@pytest.fixture(scope="module")
def analysis():
    return pipeline.analyze(read_tickets(SAMPLE), embedder=FakeEmbedder())


def open_app(analysis=None, page: str | None = None, timeout: float = 30) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout)
    if analysis is not None:
        at.session_state[WS_KEY] = Workspace(analysis=analysis, details={"teacher": "Ms Test"})
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def work(at: AppTest) -> Workspace:
    return at.session_state[WS_KEY]


def result(at: AppTest, qi: int = 0):
    return work(at).analysis.results[qi]


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def largest_group(r):
    return max(r.groups, key=lambda g: (g.size, -g.group_id))


# --- upload -------------------------------------------------------------------------------------------------


def test_pages_other_than_upload_point_to_upload_when_nothing_is_open():
    for page in ("groups", "feedback", "tomorrow", "export"):
        at = open_app(page=page)
        assert "upload an exit ticket first" in texts(at.info)


def test_upload_shows_the_detected_columns_and_a_preview():
    at = open_app()
    at.file_uploader(key="fa_uploader").set_value(("ticket.csv", SAMPLE.read_bytes(), "text/csv")).run()
    assert not at.exception
    assert at.selectbox(key="up:response").value == "Response"
    assert at.selectbox(key="up:student").value == "Student"
    assert at.selectbox(key="up:question").value == "Question"
    assert at.selectbox(key="up:section").value == "(none)"
    assert len(at.multiselect(key="up:questions").value) == 3
    assert at.button(key="up_go").label == "Group the 90 responses"
    assert len(at.dataframe) == 1


def test_an_excel_file_is_read_like_a_csv():
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in [("Student", "Response"), ("Ana", "the pieces are smaller"), ("Bo", "I added the tops")]:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    at = open_app()
    at.file_uploader(key="fa_uploader").set_value(("ticket.xlsx", data.getvalue(), "application/octet-stream"))
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox(key="up:response").value == "Response"
    assert at.button(key="up_go").label == "Group the 2 responses"


def test_fixing_a_column_rereads_the_file():
    data = b"Name,Period,Why\nAna,P1,because the pieces are smaller\nBo,P1,I added the tops\nCy,P2,same size\n"
    at = open_app()
    at.file_uploader(key="fa_uploader").set_value(("t.csv", data, "text/csv")).run()
    assert at.selectbox(key="up:section").value == "Period"
    at.selectbox(key="up:section").set_value("(none)").run()
    assert not at.exception
    assert "from the file" not in (at.text_input(key="up:details:section").placeholder or "")


def test_a_file_that_is_not_a_ticket_gets_a_teacher_worded_error():
    at = open_app()
    at.file_uploader(key="fa_uploader").set_value(("ticket.csv", b"Name,Response\n", "text/csv")).run()
    assert not at.exception
    assert "no responses" in texts(at.error)
    assert not [b for b in at.button if b.key == "up_go"]


def test_a_file_above_the_size_limit_is_refused_with_a_clear_message():
    at = open_app()
    big = b"Name,Response\n" + b"x,y\n" * (21 * 1024 * 1024 // 4)
    at.file_uploader(key="fa_uploader").set_value(("huge.csv", big, "text/csv")).run()
    assert not at.exception
    message = texts(at.error)
    assert md("huge.csv") in message and "up to 20 MB" in message and "CSV" in message
    assert not [b for b in at.button if b.key == "up_go"]


def test_try_the_sample_loads_a_sample_file():
    at = open_app()
    at.button(key="up_try_sample").click().run()
    assert not at.exception
    assert at.button(key="up_go").label.startswith("Group the")


TWO_QUESTIONS = (
    b"Student,Email,Question,Response,Key\n"
    b"Ana,ana@x.org,Which is larger: 3/8 or 3/5?,3/5 because fifths are bigger pieces,3/5\n"
    b"Ana,ana@x.org,What is 1/2 + 1/4?,3/4 because 1/2 is 2/4,3/4\n"
    b"Ben,ben@x.org,Which is larger: 3/8 or 3/5?,3/8 because 8 is bigger than 5,3/5\n"
    b"Ben,ben@x.org,What is 1/2 + 1/4?,2/6 I added the tops and the bottoms,3/4\n"
)


def test_a_new_upload_after_the_sample_selects_the_new_files_questions():
    """Issue 12, 5b: the sample's questions stayed selected after a new upload, and "Group" refused."""
    at = open_app()
    at.button(key="up_try_sample").click().run()
    assert len(at.multiselect(key="up:questions").value) == 3
    at.file_uploader(key="fa_uploader").set_value(("two.csv", TWO_QUESTIONS, "text/csv")).run()
    assert not at.exception
    picked = at.multiselect(key="up:questions")
    assert picked.value == ["Which is larger: 3/8 or 3/5?", "What is 1/2 + 1/4?"]
    # A browser keeps a widget's old choice unless the app sends it a new one (AppTest does not: it reads the
    # server's value). The new file's questions must be sent, or the browser keeps showing the sample's.
    assert picked.proto.set_value
    assert at.button(key="up_go").label == "Group the 4 responses"
    assert not at.warning


def test_the_correct_answer_is_asked_per_question_and_prefilled_from_a_key_column():
    at = open_app()
    at.file_uploader(key="fa_uploader").set_value(("two.csv", TWO_QUESTIONS, "text/csv")).run()
    boxes = [t for t in at.text_input if t.key.startswith("up:key:")]
    labels = [b.label.replace("\\", "") for b in boxes]  # labels are Markdown: the question is escaped
    assert labels == ["Q1: Which is larger: 3/8 or 3/5?", "Q2: What is 1/2 + 1/4?"]
    assert [b.value for b in boxes] == ["3/5", "3/4"]
    assert "Prefilled from the column 'Key'" in texts(at.caption)


def test_the_answer_boxes_go_into_the_analysis(monkeypatch):
    """What the teacher types (or empties) in the boxes is the key; an emptied box is no key."""
    seen = {}

    def fake_analyze(tickets, **kwargs):
        seen.update(kwargs, key_column=tickets.columns.key)
        raise FeedbackAssistantError("stop here")

    monkeypatch.setattr(pipeline, "analyze", fake_analyze)
    at = open_app()
    at.file_uploader(key="fa_uploader").set_value(("two.csv", TWO_QUESTIONS, "text/csv")).run()
    boxes = [t.key for t in at.text_input if t.key.startswith("up:key:")]
    at.text_input(key=boxes[0]).input("3/5 ").run()
    assert "No correct answer" not in texts(at.caption)
    at.text_input(key=boxes[1]).input("").run()
    assert "No correct answer for Q2: the tool will only suggest" in texts(at.caption)
    at.button(key="up_go").click().run()
    assert "stop here" in texts(at.error)
    assert seen["keys"] == {"Which is larger: 3/8 or 3/5?": "3/5"} and seen["key_column"] is None


@pytest.mark.model
def test_upload_then_group_with_the_real_model_opens_the_groups_page():
    at = open_app(timeout=180)
    at.file_uploader(key="fa_uploader").set_value(("grade5.csv", SAMPLE.read_bytes(), "text/csv")).run()
    at.text_input(key=[t.key for t in at.text_input if t.key.startswith("up:key:")][0]).input("1/3")
    at.button(key="up_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    ws = work(at)
    assert len(ws.analysis.results) == 3
    assert sum(len(r.responses) for r in ws.analysis.results) == 90
    assert ws.analysis.results[0].key == "1/3"
    assert any(g.status == ON_TARGET and g.status_confirmed for g in ws.analysis.results[0].groups)
    assert at.title[0].value == "Groups"
    assert ws.ticket_ids, "the analysis should be saved to the history"


# --- groups -------------------------------------------------------------------------------------------------


def test_groups_page_shows_a_card_per_group_and_the_ungrouped(analysis):
    at = open_app(analysis, "groups")
    r = result(at)
    labels = [t.value for t in at.text_input if t.key.startswith("w:0:label:")]
    assert labels == [g.label for g in r.groups]
    n_ungrouped = sum(1 for x in r.labels if x == UNGROUPED)
    assert any(f"Not grouped — {n_ungrouped} response" in m.value for m in at.markdown)
    assert len(at.get("vega_lite_chart")) == 2


def test_rename_updates_the_group_and_tomorrows_plan(analysis):
    at = open_app(analysis, "groups")
    g = largest_group(result(at))
    at.text_input(key=f"w:0:label:{g.group_id}").input("counted the shaded part").run()
    assert not at.exception
    r = result(at)
    assert next(x for x in r.groups if x.group_id == g.group_id).label == "counted the shaded part"
    assert work(at).edits == 1


def test_renaming_to_an_existing_name_is_refused_with_a_message(analysis):
    at = open_app(analysis, "groups")
    a, b = result(at).groups[:2]
    at.text_input(key=f"w:0:label:{a.group_id}").input(b.label).run()
    assert f"Another group is already called '{b.label}'" in texts(at.error)
    assert at.text_input(key=f"w:0:label:{a.group_id}").value == a.label
    assert work(at).edits == 0


def test_merge_two_groups(analysis):
    at = open_app(analysis, "groups")
    r = result(at)
    keep, other = r.groups[0], r.groups[1]
    at.selectbox(key=f"w:0:merge_with:{keep.group_id}").set_value(other.group_id).run()
    at.button(key=f"w:0:merge_go:{keep.group_id}").click().run()
    assert not at.exception
    after = result(at)
    assert len(after.groups) == len(r.groups) - 1
    merged = next(g for g in after.groups if g.group_id == keep.group_id)
    assert merged.size == keep.size + other.size and merged.label == keep.label
    toast = texts(at.toast).replace("\\", "")  # Markdown: the labels are escaped
    assert f"Moved everyone in “{other.label}” into “{keep.label}”." in toast
    labels = [t.value for t in at.text_input if t.key.startswith("w:0:label:")]
    assert labels == [g.label for g in after.groups]


def test_split_a_group(analysis):
    at = open_app(analysis, "groups")
    r = result(at)
    g = largest_group(r)
    at.button(key=f"w:0:split:{g.group_id}").click().run()
    assert not at.exception
    after = result(at)
    assert len(after.groups) == len(r.groups) + 1
    assert sum(x.size for x in after.groups) == sum(x.size for x in r.groups)
    assert len([t for t in at.text_input if t.key.startswith("w:0:label:")]) == len(after.groups)


def test_move_one_response_to_another_group(analysis):
    at = open_app(analysis, "groups")
    r = result(at)
    src, dst = r.groups[0], r.groups[1]
    row = src.rows[0]
    at.selectbox(key=f"w:0:move_row:{src.group_id}").set_value(row).run()
    at.selectbox(key=f"w:0:move_to:{src.group_id}").set_value(dst.group_id).run()
    at.button(key=f"w:0:move_go:{src.group_id}").click().run()
    assert not at.exception
    after = result(at)
    assert row in next(g for g in after.groups if g.group_id == dst.group_id).rows
    assert sum(len(pg.rows) for pg in after.plan.groups) == len(after.responses)


def test_after_a_rename_the_other_cards_move_to_the_renamed_group(analysis):
    """Issue 12, 5c: after a rename, the other cards' "to" boxes kept the old name and Move failed with a
    message showing internal ids."""
    at = open_app(analysis, "groups")
    a, b = result(at).groups[:2]
    assert at.selectbox(key=f"w:0:move_to:{b.group_id}").value == a.group_id
    at.text_input(key=f"w:0:label:{a.group_id}").input("counted the shaded part").run()
    to = at.selectbox(key=f"w:0:move_to:{b.group_id}")
    assert to.value == a.group_id and "counted the shaded part" in to.options
    # the browser only drops the old name if the app sends the box its value again (AppTest reads the server)
    assert to.proto.set_value and to.proto.raw_value == "counted the shaded part"
    row = at.selectbox(key=f"w:0:move_row:{b.group_id}").value
    at.button(key=f"w:0:move_go:{b.group_id}").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert "Response moved." in texts(at.toast)
    assert row in next(g for g in result(at).groups if g.group_id == a.group_id).rows


def test_after_a_merge_the_move_boxes_offer_only_groups_that_exist(analysis):
    at = open_app(analysis, "groups")
    a, b, c = result(at).groups[:3]
    at.selectbox(key=f"w:0:move_to:{c.group_id}").set_value(b.group_id).run()
    at.selectbox(key=f"w:0:merge_with:{a.group_id}").set_value(b.group_id).run()
    at.button(key=f"w:0:merge_go:{a.group_id}").click().run()
    to = at.selectbox(key=f"w:0:move_to:{c.group_id}")
    ids = {g.group_id for g in result(at).groups}
    assert b.group_id not in ids and to.value in ids | {UNGROUPED}
    assert b.label not in to.options
    at.button(key=f"w:0:move_go:{c.group_id}").click().run()
    assert not at.exception and not at.error and "Response moved." in texts(at.toast)


def test_statuses_without_a_key_are_shown_as_suggestions(analysis):
    at = open_app(analysis, "groups")
    r = result(at)
    g = next(x for x in r.groups if not x.status_confirmed)
    control = at.segmented_control(key=f"w:0:status:{g.group_id}")
    assert control.value is None and f"suggested: {g.status}" in control.label
    assert f"suggested: {g.status}" in texts(at.markdown)
    at.segmented_control(key=f"w:0:status:{g.group_id}").set_value(g.status).run()
    after = next(x for x in result(at).groups if x.group_id == g.group_id)
    assert after.status_confirmed and at.segmented_control(key=f"w:0:status:{g.group_id}").label == "Status"
    at.switch_page("pages/feedback.py").run()
    others = [x for x in result(at).groups if not x.status_confirmed]
    assert all(f"suggested: {x.status}" in texts(at.markdown) for x in others)


def test_a_status_change_redrafts_and_takes_the_approval_back_and_says_so(analysis):
    at = open_app(analysis, "feedback")
    g = largest_group(result(at))
    at.toggle(key=f"w:0:approved:{g.group_id}").set_value(True).run()
    at.switch_page("pages/groups.py").run()
    new = MISCONCEPTION if g.status != MISCONCEPTION else ON_TARGET
    at.segmented_control(key=f"w:0:status:{g.group_id}").set_value(new).run()
    assert "needs your approval again" in texts(at.warning)
    at.switch_page("pages/feedback.py").run()
    stem = next(s for s in result(at).stems if s.group_id == g.group_id)
    assert stem.state != APPROVED and at.toggle(key=f"w:0:approved:{g.group_id}").value is False
    assert at.text_area(key=f"w:0:stem:{g.group_id}").value == stem.text


@pytest.fixture
def flagged(analysis):
    """The sample with one on-target member of Q1 who says they guessed: the tool flags them "check"."""
    import dataclasses

    from feedback_assistant import fit

    r = analysis.results[0]
    g = next(x for x in r.groups if x.status == ON_TARGET and x.size >= 3)
    i = next(k for k, resp in enumerate(r.responses) if resp.row == g.rows[-1])
    responses = list(r.responses)
    responses[i] = dataclasses.replace(responses[i], text="I don't know, I just guessed")
    conf = list(r.confidence)
    conf[i] = 0.5
    r = dataclasses.replace(r, responses=tuple(responses), confidence=tuple(conf))
    assert fit.check_flags(r)[i]
    return dataclasses.replace(analysis, results=(r, *analysis.results[1:])), g.group_id, responses[i]


def test_groups_page_shows_check_these_and_keep_here_clears_the_flag(flagged):
    from feedback_assistant import fit
    from feedback_assistant_app.safe import md

    analysis, gid, student = flagged
    at = open_app(analysis, "groups")
    flags = dict(zip((x.row for x in result(at).responses), fit.check_flags(result(at)), strict=True))
    group = next(g for g in result(at).groups if g.group_id == gid)
    n = sum(flags[x] for x in group.rows)
    shown = texts(at.markdown)
    assert f"Check these {n}" in shown and md(student.student) in shown and "explain your thinking" in shown
    tables = [d.value for d in at.dataframe if "Check" in d.value.columns]
    table = next(t for t in tables if student.text in set(t["Response"]))
    assert table.set_index("Response").loc[student.text, "Check"] == "check this student"
    first_flagged = next(x for x in group.rows if flags[x])
    assert at.selectbox(key=f"w:0:move_row:{gid}").value == first_flagged, "flagged students come first in Move"
    fb = {f.response.row: f for f in review.feedback_rows(result(at))}[student.row]
    assert fb.state == review.CHECK and "explain your thinking" in fb.text

    at.switch_page("pages/feedback.py").run()
    assert "get a neutral “explain your thinking” message until you check them" in texts(at.caption)

    at.switch_page("pages/groups.py").run()
    at.button(key=f"w:0:keep:{student.row}").click().run()
    assert not at.exception
    assert (f"Check these {n - 1}" in texts(at.markdown)) if n > 1 else ("Check these" not in texts(at.markdown))
    assert not [b for b in at.button if b.key == f"w:0:keep:{student.row}"]
    fb = {f.response.row: f for f in review.feedback_rows(result(at))}[student.row]
    assert fb.state != review.CHECK and fb.group_id == gid


def test_mark_a_group_on_target_or_not(analysis):
    at = open_app(analysis, "groups")
    g = largest_group(result(at))
    new = MISCONCEPTION if g.status == ON_TARGET else ON_TARGET
    at.segmented_control(key=f"w:0:status:{g.group_id}").set_value(new).run()
    assert not at.exception
    changed = next(x for x in result(at).groups if x.group_id == g.group_id)
    assert changed.status == new and changed.status_confirmed


def test_the_question_picker_switches_question(analysis):
    at = open_app(analysis)  # AppTest shows the sidebar on the first page only
    at.sidebar.radio(key="fa_question_pick").set_value(2).run()
    at.switch_page("pages/groups.py").run()
    assert any(m.value.startswith("**Q3.**") for m in at.markdown)
    labels = [t.value for t in at.text_input if t.key.startswith("w:2:label:")]
    assert labels == [g.label for g in result(at, 2).groups]


# --- feedback -----------------------------------------------------------------------------------------------


def test_approve_all_approves_the_question_on_screen_only(analysis):
    at = open_app(analysis, "feedback")
    n = len(analysis.results[0].stems)
    assert at.button(key="fb_approve_all").label == f"Approve all {n} drafts of Q1"
    at.button(key="fb_approve_all").click().run()
    assert not at.exception
    assert all(s.state == APPROVED for s in result(at, 0).stems)
    assert not any(s.state == APPROVED for i in (1, 2) for s in result(at, i).stems), "other questions untouched"
    assert all(t.value for t in at.toggle if t.key.startswith("w:0:approved:"))
    assert at.button(key="fb_approve_all").disabled
    assert "Drafts waiting on other questions" in texts(at.caption) and "Q2:" in texts(at.caption)


def test_edit_approve_and_unapprove_one_stem(analysis):
    at = open_app(analysis, "feedback")
    gid = result(at).groups[0].group_id
    at.text_area(key=f"w:0:stem:{gid}").input("Look at which part the question asks about.").run()
    stem = next(s for s in result(at).stems if s.group_id == gid)
    assert stem.text == "Look at which part the question asks about." and stem.drafted != stem.text
    at.toggle(key=f"w:0:approved:{gid}").set_value(True).run()
    assert next(s for s in result(at).stems if s.group_id == gid).state == APPROVED
    at.toggle(key=f"w:0:approved:{gid}").set_value(False).run()
    assert next(s for s in result(at).stems if s.group_id == gid).state != APPROVED
    at.button(key=f"w:0:restore:{gid}").click().run()
    stem = next(s for s in result(at).stems if s.group_id == gid)
    assert stem.text == stem.drafted


@pytest.mark.parametrize("which", [0, -1])
def test_typing_a_draft_then_clicking_approved_at_once_keeps_the_text_and_the_approval(analysis, which):
    """Issue 12, 5a: typing in a draft and clicking its Approved toggle without clicking elsewhere first sends
    both changes in one rerun; that crashed (KeyError on the toggle's key) and lost the approval."""
    at = open_app(analysis, "feedback")
    gid = result(at).groups[which].group_id
    at.text_area(key=f"w:0:stem:{gid}").input("Compare the size of one piece first.")
    at.toggle(key=f"w:0:approved:{gid}").set_value(True)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    stem = next(s for s in result(at).stems if s.group_id == gid)
    assert (stem.text, stem.state) == ("Compare the size of one piece first.", APPROVED)
    assert at.toggle(key=f"w:0:approved:{gid}").value is True
    assert at.text_area(key=f"w:0:stem:{gid}").value == "Compare the size of one piece first."
    others = [s for s in result(at).stems if s.group_id != gid]
    assert not any(s.state == APPROVED for s in others)


def test_typing_a_draft_then_clicking_approve_all_keeps_the_text_and_approves_it(analysis):
    at = open_app(analysis, "feedback")
    gid = result(at).groups[0].group_id
    at.text_area(key=f"w:0:stem:{gid}").input("Check which part is shaded.")
    at.button(key="fb_approve_all").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    stem = next(s for s in result(at).stems if s.group_id == gid)
    assert (stem.text, stem.state) == ("Check which part is shaded.", APPROVED)
    assert all(s.state == APPROVED for s in result(at).stems)


def test_editing_an_approved_draft_makes_it_a_draft_again(analysis):
    at = open_app(analysis, "feedback")
    gid = result(at).groups[0].group_id
    at.toggle(key=f"w:0:approved:{gid}").set_value(True).run()
    at.text_area(key=f"w:0:stem:{gid}").input("A new text the teacher has not approved yet.").run()
    stem = next(s for s in result(at).stems if s.group_id == gid)
    assert stem.state != APPROVED and at.toggle(key=f"w:0:approved:{gid}").value is False


def test_the_feedback_page_shows_what_each_student_will_read(analysis):
    at = open_app(analysis, "feedback")
    rows = review.feedback_rows(result(at))
    table = at.dataframe[-1].value
    assert list(table["Will read"]) == [fb.text for fb in rows]
    assert list(table["Response"]) == [fb.response.text for fb in rows]
    assert set(table["State"]) <= {
        "approved",
        "draft: not sent until you approve it",
        "check: asked to explain until you decide (Groups page)",
    }
    first = next(fb for fb in rows if fb.state != review.CHECK and fb.text)
    assert "would read" in texts(at.caption) and state_md(first.text) in texts(at.caption)


def state_md(text: str) -> str:
    from feedback_assistant_app.safe import md

    return md(text)


def test_per_student_override_and_preview(analysis):
    at = open_app(analysis, "feedback")
    row = result(at).responses[4].row
    at.selectbox(key="w:0:override_row").set_value(row).run()
    at.text_area(key="w:0:override_text").input("See me at the start of class, Mateo.").run()
    at.button(key="w:0:override_save").click().run()
    assert not at.exception
    assert dict(result(at).overrides)[row] == "See me at the start of class, Mateo."
    shown = dict((r.row, t) for r, t in review.student_feedback(result(at)))
    assert shown[row] == "See me at the start of class, Mateo."
    at.button(key="w:0:override_clear").click().run()
    assert row not in dict(result(at).overrides)


# --- tomorrow and export ------------------------------------------------------------------------------------


def test_tomorrow_shows_groups_and_moves_a_student(analysis):
    at = open_app(analysis, "tomorrow")
    r = result(at)
    assert "What showed up most" in texts(at.subheader)
    for pg in r.plan.groups:
        assert any(m.value == f"**{md(pg.name)}**" for m in at.markdown)
    first, target = r.plan.groups[0], r.plan.groups[-1]
    row = first.rows[0]
    at.selectbox(key="w:0:plan_row").set_value(row).run()
    at.selectbox(key="w:0:plan_to").set_value(target.name).run()
    at.button(key="w:0:plan_go").click().run()
    assert not at.exception
    moved = next(pg for pg in result(at).plan.groups if pg.name == target.name)
    assert row in moved.rows
    assert sorted(x for pg in result(at).plan.groups for x in pg.rows) == sorted(x.row for x in r.responses)


def test_after_a_move_in_tomorrows_plan_the_boxes_are_cleared_in_the_browser_too(analysis):
    at = open_app(analysis, "tomorrow")
    r = result(at)
    at.selectbox(key="w:0:plan_row").set_value(r.plan.groups[0].rows[0]).run()
    at.selectbox(key="w:0:plan_to").set_value(r.plan.groups[-1].name).run()
    at.button(key="w:0:plan_go").click().run()
    for key in ("w:0:plan_row", "w:0:plan_to"):
        box = at.selectbox(key=key)
        assert box.value is None and box.proto.set_value, key  # sent, so the browser drops its old choice


def test_tomorrow_shows_one_class_period_at_a_time():
    periods = pipeline.analyze(read_tickets(SAMPLES / "grade7_science_periods.csv"), embedder=FakeEmbedder())
    at = open_app(periods, "tomorrow")
    r = result(at)
    everyone = bullet_lines(at)
    at.segmented_control(key="w:0:plan_period").set_value("P1").run()
    assert not at.exception
    shown = bullet_lines(at)
    p1 = {x.student for x in r.responses if x.section == "P1"}
    others = {x.student for x in r.responses if x.section != "P1"} - p1
    assert p1 and others
    assert {f"- {md(name)}" for name in p1} <= shown
    assert not {f"- {md(name)}" for name in others} & shown
    assert {f"- {md(name)}" for name in others} <= everyone


def bullet_lines(at: AppTest) -> set[str]:
    return {line.strip() for m in at.markdown for line in m.value.splitlines() if line.startswith("- ")}


def test_export_offers_every_download_and_warns_about_unapproved_drafts(analysis):
    at = open_app(analysis, "export")
    assert "not approved yet" in texts(at.warning)
    keys = {b.key for b in at.get("download_button")}
    assert {"ex_feedback", "ex_handout", "ex_rosters", "ex_plan"} <= keys
    approve_every_question(at)
    at.switch_page("pages/export.py").run()
    ws = work(at)
    rendered = [fb for r in ws.analysis.results for fb in review.feedback_rows(r)]
    flagged = [fb for fb in rendered if fb.state == review.CHECK]
    if flagged:  # flagged students wait for the teacher: the page says so, and who
        assert f"{len(flagged)} student" in texts(at.warning) and "check these" in texts(at.warning)
    else:
        assert not at.warning and "All feedback is approved." in texts(at.success)
    import pandas as pd

    feedback = pd.read_csv(io.BytesIO(downloads.feedback_csv(ws)), encoding="utf-8-sig", keep_default_na=False)
    assert len(feedback) == 90
    sent = [fb.text if fb.approved else "" for fb in rendered]
    assert list(feedback["feedback"]) == sent, "the download holds exactly the approved, per-student text"
    r = ws.analysis.results[0]
    g = largest_group(r)
    assert "<html" in downloads.handout(ws) and g.label in downloads.handout(ws)


def test_the_feedback_download_holds_approved_text_only(analysis):
    import pandas as pd

    at = open_app(analysis, "feedback")
    gid = result(at).groups[0].group_id
    at.toggle(key=f"w:0:approved:{gid}").set_value(True).run()
    feedback = pd.read_csv(io.BytesIO(downloads.feedback_csv(work(at))), encoding="utf-8-sig", keep_default_na=False)
    approved = {fb.response.row: fb.text for fb in review.feedback_rows(result(at)) if fb.approved}
    assert approved, "one approved group"
    filled = feedback[feedback["feedback"] != ""]
    assert len(filled) == len(approved) and set(filled["feedback"]) == set(approved.values())


def approve_every_question(at: AppTest) -> None:
    """Click "Approve all" on the Feedback page of each question in turn (it approves one question)."""
    for qi in range(len(work(at).analysis.results)):
        at.session_state["fa_question"] = qi
        at.switch_page("pages/feedback.py").run()
        at.button(key="fb_approve_all").click().run()
        assert not at.exception, [e.value for e in at.exception]


# --- the session and the history ----------------------------------------------------------------------------


def test_edits_are_saved_and_a_reload_gets_them_back(analysis):
    from feedback_assistant.storage import Store

    at = open_app(analysis, "groups")
    g = largest_group(result(at))
    at.text_input(key=f"w:0:label:{g.group_id}").input("kept after reload").run()
    token = work(at).token
    saved = Store(teacher="Ms Test").list_tickets()
    assert len(saved) == 1 and saved[0].teacher == "Ms Test"
    reopened = Store(teacher="Ms Test").load_analysis(saved[0].id)
    assert "kept after reload" in [x.label for x in reopened.results[0].groups]

    reload = AppTest.from_file(APP, default_timeout=30)
    reload.query_params["session"] = token
    reload.run()
    reload.switch_page("pages/groups.py").run()
    assert "kept after reload" in [t.value for t in reload.text_input if t.key.startswith("w:0:label:")]


def test_history_reopens_a_saved_ticket_and_forgets_a_class(analysis, monkeypatch):
    from feedback_assistant.storage import Store

    monkeypatch.setenv("FEEDBACK_ASSISTANT_TEACHER", "Ms Test")  # who uses this computer
    Store().save_analysis(analysis, section="Period 3", date="2026-11-20")
    Store(teacher="Mr Other").save_analysis(analysis, section="Period 3", date="2026-11-21")  # a colleague's
    at = open_app(page="history")
    assert at.dataframe[0].value["Class"].tolist() == ["Period 3"]  # hers only: the colleague's is not listed
    assert at.dataframe[0].value["Date"].tolist() == ["2026-11-20"]
    at.button(key="hi_open").click().run()
    assert not at.exception
    assert at.title[0].value == "Groups"
    assert work(at).ticket_ids == {"Period 3": Store().list_tickets()[0].id}

    at.switch_page("pages/history.py").run()
    at.button(key="hi_forget").click().run()
    assert "Really delete everything saved for **Period 3**" in texts(at.error)
    at.button(key="hi_forget_yes").click().run()
    assert not at.exception
    assert Store().list_tickets() == []
    assert [t.date for t in Store(teacher="Mr Other").list_tickets()] == ["2026-11-21"]  # his class is untouched
    assert "Forgot the class 'Period 3'" in texts(at.toast)
    assert WS_KEY not in at.session_state, "the forgotten class must not stay open"


def test_the_history_page_explains_a_database_it_cannot_open(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("FEEDBACK_ASSISTANT_DB", str(blocker / "history.sqlite"))
    at = open_app(page="history")
    assert "history database" in texts(at.error)
    assert not at.exception


def test_the_command_line_sample_opens_on_the_upload_page(monkeypatch):
    monkeypatch.setattr("sys.argv", ["app.py", "--sample", "sample_responses/grade7_science_periods.csv"])
    at = open_app()
    assert at.subheader[0].value == md("grade7_science_periods.csv")
    assert at.button(key="up_go").label == "Group the 90 responses"
    assert at.selectbox(key="up:section").value == "Period"


def test_the_sample_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("FEEDBACK_ASSISTANT_SAMPLE", str(SAMPLE))
    at = open_app()
    assert at.subheader[0].value == md("grade5_fractions.csv")


def test_upload_shows_how_a_workbook_was_read():
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    notes = book.create_sheet("Notes")
    notes.append(["Scored by: Ms. Rivera"])
    for tab, names in (("P1", ["Ana", "Bo"]), ("P3", ["Cy", "Di", "Eli"])):
        sheet = book.create_sheet(tab)
        sheet.append(["Student", "Response"])
        for name in names:
            sheet.append([name, f"{name} thinks the pieces get smaller"])
    data = io.BytesIO()
    book.save(data)
    at = open_app()
    at.file_uploader(key="fa_uploader").set_value(("periods.xlsx", data.getvalue(), "application/octet-stream"))
    at.run()
    assert not at.exception and not at.error
    shown = texts(at.info).replace("\\", "")  # md() escapes markdown punctuation with backslashes
    assert "2 sheets read as one table, rows per sheet: 'P1' (2), 'P3' (3)." in shown
    assert "Sheet 'Notes' was not read" in shown
    assert at.selectbox(key="up:section").value == "Sheet"
    assert at.button(key="up_go").label == "Group the 5 responses"
