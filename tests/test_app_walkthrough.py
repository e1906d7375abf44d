"""What a teacher's walkthrough of the app found, each pinned: the screen names what a click acts on, the
handout carries the class name, check-flagged students are not in extension, wording agrees in number."""

from __future__ import annotations

import pytest
from conftest import SAMPLES, FakeEmbedder
from test_app import open_app, work

from feedback_assistant import pipeline
from feedback_assistant.storage import Store
from feedback_assistant.tickets import read_tickets


@pytest.fixture(scope="module")
def analysis():
    return pipeline.analyze(read_tickets(SAMPLES / "grade5_fractions.csv"), embedder=FakeEmbedder())


def test_after_a_new_name_the_history_boxes_show_and_open_that_teachers_classes(analysis, monkeypatch):
    monkeypatch.setenv("FEEDBACK_ASSISTANT_TEACHER", "Ms Test")
    Store().save_analysis(analysis, section="Period 3", date="2026-11-20")
    Store(teacher="Mr Other").save_analysis(analysis, section="Period 5", date="2026-11-21")
    at = open_app(page="history")
    assert at.selectbox(key="hi_pick").value in {t.id for t in Store().list_tickets()}
    at.text_input(key="hi_teacher").input("Mr Other").run()
    assert not at.exception
    [his] = Store(teacher="Mr Other").list_tickets()
    for key, value in (("hi_pick", his.id), ("hi_forget_pick", "Period 5")):
        box = at.selectbox(key=key)
        assert box.value == value
        assert box.proto.set_value  # the new choice is sent to the browser, which otherwise keeps the old one
    at.button(key="hi_open").click().run()
    assert not at.exception
    assert work(at).details["section"] == "Period 5"


def test_the_apps_handout_is_titled_with_the_class_name_and_date_typed_on_upload(monkeypatch):
    import datetime as dt

    from feedback_assistant_app import downloads, resources

    monkeypatch.setattr(resources, "embedder", FakeEmbedder)
    monkeypatch.setenv("FEEDBACK_ASSISTANT_TEACHER", "Ms Test")
    data = b"Student,Question,Response\nAva,Which is larger: 3/8 or 3/5?,3/5 because fifths are bigger\n"
    data += b"Ben,Which is larger: 3/8 or 3/5?,3/8 because 8 is bigger\nCy,Which is larger: 3/8 or 3/5?,3/5\n"
    at = open_app()
    at.file_uploader(key="fa_uploader").set_value(("ticket15.csv", data, "text/csv")).run()
    at.text_input(key="up:details:section").input("Period 1")
    at.date_input(key="up:details:date").set_value(dt.date(2026, 11, 29))
    at.button(key="up_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    html = downloads.handout(work(at))
    assert "<h1>Period 1 — 2026-11-29</h1>" in html and "ticket15 —" not in html


def test_the_clis_handout_is_titled_with_section_and_date(tmp_path, fake_embedder):
    from feedback_assistant import cli

    out = tmp_path / "o"
    args = ["analyze", str(SAMPLES / "grade5_fractions.csv"), "--out", str(out), "--section", "Period 1"]
    assert cli.main([*args, "--date", "2026-11-29", "--teacher", "Ms K"], embedder=fake_embedder) == 0
    [handout] = out.glob("*handout*.html")
    assert "<h1>Period 1 — 2026-11-29</h1>" in handout.read_text(encoding="utf-8")


def test_feedback_csv_keeps_the_period_of_a_file_with_several_periods(tmp_path):
    import io

    import pandas as pd

    from feedback_assistant import export

    periods = pipeline.analyze(read_tickets(SAMPLES / "grade7_science_periods.csv"), embedder=FakeEmbedder())
    section = periods.columns.section
    out = export.student_feedback_frame(periods)
    assert section and section in out.columns
    assert list(out[section]) == [r.section for result in periods.results for r in result.responses]
    # a workbook with one tab per period: the reader's Sheet column is the period, and it is kept
    book = io.BytesIO()
    with pd.ExcelWriter(book) as xl:
        for tab, names in (("P1", ["Sam", "Ava"]), ("P2", ["Sam", "Bo"])):
            pd.DataFrame({"Student": names, "Response": ["3/5 fifths", "3/8 eight"]}).to_excel(
                xl, sheet_name=tab, index=False
            )
    path = tmp_path / "periods.xlsx"
    path.write_bytes(book.getvalue())
    tabs = pipeline.analyze(read_tickets(path), embedder=FakeEmbedder())
    out = export.student_feedback_frame(tabs)
    assert list(zip(out.student, out.Sheet, strict=True)) == [("Sam", "P1"), ("Ava", "P1"), ("Sam", "P2"), ("Bo", "P2")]


def _flagged_on_target(result) -> list:
    from feedback_assistant.fit import check_flags
    from feedback_assistant.records import ON_TARGET

    status = {g.group_id: g.status for g in result.groups}
    flags = check_flags(result)
    return [
        r for r, gid, f in zip(result.responses, result.labels, flags, strict=True) if f and status[gid] == ON_TARGET
    ]


def test_students_flagged_check_meet_in_check_in_not_extension_until_the_teacher_keeps_them(analysis):
    from feedback_assistant import export, review
    from feedback_assistant.records import CHECK_IN, EXTENSION

    result = analysis.results[0]
    flagged = _flagged_on_target(result)
    assert flagged  # the sample has "right answer, wrong reason" students in on-target groups
    kind = {row: pg.kind for pg in result.plan.groups for row in pg.rows}
    assert {kind[r.row] for r in flagged} == {CHECK_IN}
    assert {review.next_step(result, r.row) for r in flagged} == {CHECK_IN}
    plan = export.plan_frame(analysis)
    mine = plan[plan.question == result.question].set_index("row")
    assert set(mine.loc[[r.row for r in flagged], "kind"]) == {CHECK_IN}
    pipeline.check_rows(result.question, len(result.responses), result)  # rows in = rows out
    kept = review.confirm_response(result, flagged[0].row)  # "Keep here"
    assert review.next_step(kept, flagged[0].row) == EXTENSION
    assert {review.next_step(kept, r.row) for r in flagged[1:]} == {CHECK_IN}
    pipeline.check_rows(result.question, len(result.responses), kept)  # the re-plan of a review edit


def test_with_a_key_a_carried_over_group_is_on_target_only_when_its_answer_is_the_key():
    from dataclasses import replace

    from feedback_assistant.memory import TaughtGroup, apply_taught
    from feedback_assistant.records import ON_TARGET, UNCLEAR

    tickets = read_tickets(SAMPLES / "grade5_fractions.csv")
    [result] = pipeline.analyze(
        tickets, embedder=FakeEmbedder(), questions=[tickets.questions()[1]], keys={"": "3/5"}
    ).results
    wrong, right = result.groups[0], result.groups[1]
    # mixed groups: the key decides no status (unclear, proposed), so a taught status could apply
    groups = tuple(
        replace(g, status=UNCLEAR, status_confirmed=False, answer="3/8" if g is wrong else "3/5")
        if g in (wrong, right)
        else g
        for g in result.groups
    )
    result = replace(result, groups=groups)
    praise = "Yes — that reasoning works."
    taught = {g.group_id: TaughtGroup(g.label, "on target", praise) for g in (wrong, right)}
    parts = pipeline.DEFAULT_STAGES
    out = apply_taught(result, taught, "Learned from 2 corrected responses", parts.drafter, parts.planner)
    status = {g.group_id: g.status for g in out.groups}
    stem = {s.group_id: s.text for s in out.stems}
    assert status[wrong.group_id] == UNCLEAR and stem[wrong.group_id] != praise  # 3/8 is not the key
    assert status[right.group_id] == ON_TARGET and stem[right.group_id] == praise


def test_a_response_left_ungrouped_for_its_language_gets_a_neutral_text_for_the_teacher(tmp_path):
    from feedback_assistant import export, review
    from feedback_assistant.feedback import CHECK_IN_TEXT, LANGUAGE_TEXT
    from feedback_assistant.records import UNGROUPED

    english = [
        "3/5 because fifths are bigger pieces than eighths",
        "3/5 since the pieces are bigger when there are fewer of them",
        "3/5 because five pieces are bigger than eight pieces of the same whole",
        "3/8 because 8 is bigger than 5 so the fraction is bigger",
        "3/8 because the bottom number is bigger",
        "3/8 since eight is more than five",
    ]
    spanish = "3/5 es más grande porque los quintos son más grandes que los octavos"
    rows = ["Student,Response"] + [f"S{i},{t}" for i, t in enumerate(english)] + [f"Sofía,{spanish}", "Blank,"]
    path = tmp_path / "ticket.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ticket = pipeline.analyze(read_tickets(path), embedder=FakeEmbedder(), keys={"": "3/5"})
    [result] = ticket.results
    by_student = {r.student: r for r in result.responses}
    sofia, blank = by_student["Sofía"], by_student["Blank"]
    assert result.labels[result.responses.index(sofia)] == UNGROUPED
    assert review.feedback_for(result, sofia.row) == LANGUAGE_TEXT  # not "I couldn't see your thinking"
    assert review.feedback_for(result, blank.row) == CHECK_IN_TEXT
    drafts = export.feedback_drafts_frame(ticket)
    row = drafts[drafts.student == "Sofía"].iloc[0]
    assert row.state == "check" and row.check == 1 and row.feedback == LANGUAGE_TEXT  # the teacher answers it


def test_counts_agree_in_number():
    from feedback_assistant.storage_records import ForgetReport
    from feedback_assistant.text import counted

    assert [counted(n, "response") for n in (0, 1, 2)] == ["0 responses", "1 response", "2 responses"]
    report = ForgetReport("Ms A", "P1", None, {"exit tickets": 1, "responses": 2, "classes": 1})
    assert report.describe() == "1 exit ticket, 2 responses, 1 class"
    quoting = ForgetReport("Ms A", "P1", None, {"library entries quoting students": 1, "memory examples": 3})
    assert quoting.describe() == "1 library entry quoting students, 3 memory examples"
    at = open_app()
    one = b"Student,Response\nAva,3/5 because fifths are bigger\n"
    at.file_uploader(key="fa_uploader").set_value(("one.csv", one, "text/csv")).run()
    assert at.button(key="up_go").label == "Group the 1 response"
    assert "1 response" in "\n".join(c.value for c in at.caption)


def _cards(at) -> dict[str, str]:
    """Tomorrow page: plan group name -> the markdown of its student list."""
    cards, name = {}, None
    for m in at.markdown:
        value = str(m.value)
        if value.startswith("**") and value.endswith("**"):
            name = value.strip("*")
        elif name and value.startswith("- "):
            cards[name] = value
    return cards


def test_the_tomorrow_page_shows_flagged_students_in_check_in_and_keep_here_moves_them_back(analysis):
    from feedback_assistant_app.safe import md

    flagged = _flagged_on_target(analysis.results[0])
    who = f"- {md(flagged[0].student)}"
    at = open_app(analysis, page="tomorrow")
    cards = _cards(at)
    assert who in cards[md("Check-in")].splitlines()
    assert not any(who in v.splitlines() for k, v in cards.items() if k.startswith("Extension"))
    at.switch_page("pages/groups.py").run()
    at.button(key=f"w:0:keep:{flagged[0].row}").click().run()  # "Keep here"
    assert not at.exception
    at.switch_page("pages/tomorrow.py").run()
    cards = _cards(at)
    assert any(who in v.splitlines() for k, v in cards.items() if k.startswith("Extension"))
    assert who not in cards[md("Check-in")].splitlines()
