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
