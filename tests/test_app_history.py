"""The app's history as a teacher sees it: only her classes, and two windows never overwrite each other."""

from __future__ import annotations

import pytest
from conftest import SAMPLES, FakeEmbedder
from streamlit.testing.v1 import AppTest
from test_app import APP, largest_group, open_app, texts, work

from feedback_assistant import pipeline
from feedback_assistant.storage import Store
from feedback_assistant.tickets import read_tickets
from feedback_assistant_app.state import WS_KEY


@pytest.fixture(scope="module")
def analysis():
    return pipeline.analyze(read_tickets(SAMPLES / "grade5_fractions.csv"), embedder=FakeEmbedder())


def _reopen() -> AppTest:
    at = open_app(page="history")
    at.button(key="hi_open").click().run()
    assert not at.exception and at.title[0].value == "Groups"
    return at


def test_a_window_holding_an_older_copy_is_told_to_reload_and_overwrites_nothing(analysis, monkeypatch):
    monkeypatch.setenv("FEEDBACK_ASSISTANT_TEACHER", "Ms Test")
    [ticket] = Store().save_analysis(analysis, section="Period 3", date="2026-11-20").values()
    one, two = _reopen(), _reopen()  # two browser tabs on the same class
    g = largest_group(work(one).analysis.results[0])
    key = f"w:0:label:{g.group_id}"
    one.text_input(key=key).input("named in window one").run()
    assert work(one).save_problem is None
    two.text_input(key=key).input("named in window two").run()
    assert "this class changed in another window — reload to see it" in work(two).save_problem
    saved = Store().load_analysis(ticket).results[0]
    assert {x.label for x in saved.groups if x.group_id == g.group_id} == {"named in window one"}
    from feedback_assistant_app import downloads

    exported = downloads.responses_csv(work(two)).decode("utf-8-sig")  # downloads hold what was saved
    assert "named in window one" in exported and "named in window two" not in exported
    assert work(two).stale
    again = AppTest.from_file(APP, default_timeout=30)  # window two's work (AppTest draws the sidebar on the
    again.session_state[WS_KEY] = work(two)  # first page only)
    again.run()
    assert "changed in another window" in texts(again.sidebar.warning)
    again.sidebar.button(key="fa_reload").click().run()  # "Reload the saved class"
    assert not again.exception and not work(again).stale and work(again).save_problem is None
    assert g.group_id in {x.group_id for x in work(again).analysis.results[0].groups}
    assert {x.label for x in work(again).analysis.results[0].groups if x.group_id == g.group_id} == {
        "named in window one"
    }
    again.switch_page("pages/groups.py").run()
    again.text_input(key=key).input("named after reloading").run()
    assert work(again).save_problem is None
    assert "named after reloading" in {x.label for x in Store().load_analysis(ticket).results[0].groups}


def test_the_history_page_lists_the_classes_of_the_name_given(analysis, monkeypatch):
    monkeypatch.setenv("FEEDBACK_ASSISTANT_TEACHER", "Ms Test")
    Store().save_analysis(analysis, section="Period 3", date="2026-11-20")
    Store(teacher="Mr Other").save_analysis(analysis, section="Period 5", date="2026-11-21")
    at = open_app(page="history")
    assert at.text_input(key="hi_teacher").value == "Ms Test"
    assert at.dataframe[0].value["Class"].tolist() == ["Period 3"]
    at.text_input(key="hi_teacher").input("Mr Other").run()
    assert not at.exception
    assert at.dataframe[0].value["Class"].tolist() == ["Period 5"]
    assert at.selectbox(key="hi_forget_pick").options == ["Period 5"]
