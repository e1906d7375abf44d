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
