"""History in a real browser: on a computer two teachers share, Ms Browser sees, opens and forgets only her class
(her colleague's class of the same name stays, none of his students' names reach her page); two tabs editing one
class never silently overwrite each other; after typing another name, the boxes and Open follow that teacher."""

from __future__ import annotations

import pytest
from storage_helpers import make_analysis
from test_browser import CHROMIUM, CHROMIUM_ARGS, serve, settle

from feedback_assistant.storage import Store

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
]


def _two_teachers(tmp_path, colleague_section: str):
    """A history on one computer: Ms Browser's Period 3 (11/20) and Mr Colleague's ``colleague_section`` (11/21)."""
    db = tmp_path / "home" / "feedback.sqlite"
    db.parent.mkdir(parents=True)
    with Store(str(db), teacher="Ms Browser") as store:  # serve() runs the app as Ms Browser
        store.save_analysis(make_analysis("Period 3", {"tops": 3, "right": 2}, prefix="mine-"), date="2026-11-20")
        store.as_teacher("Mr Colleague").save_analysis(
            make_analysis(colleague_section, {"bigger": 4}, prefix="colleague-"), date="2026-11-21"
        )
    return db


def _history_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    page.goto(url)
    page.get_by_role("link", name="History & PLC").click()
    page.get_by_role("heading", name="Reopen a past day").wait_for(timeout=60_000)
    settle(page)
    return page


def test_history_shows_and_forgets_only_the_teachers_own_class(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    db = _two_teachers(tmp_path, "Period 3")
    with serve(tmp_path) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = _history_page(browser, url)
            page.get_by_test_id("stSelectbox").first.click()  # the list of exit tickets to reopen
            options = [o.inner_text() for o in page.get_by_role("option").all()]
            assert len(options) == 1 and options[0].startswith("2026-11-20 · Period 3"), options  # not his
            page.keyboard.press("Escape")
            page.get_by_role("button", name="Open", exact=True).and_(
                page.get_by_test_id("stBaseButton-primary")
            ).click()
            page.get_by_role("heading", name="Groups").wait_for(timeout=60_000)
            settle(page)
            assert "colleague-" not in page.content()  # his students never reach her page
            page.get_by_role("link", name="History & PLC").click()
            page.get_by_role("button", name="Forget this class…").click()
            page.get_by_role("button", name="Yes, forget Period 3").click()
            page.get_by_text("Forgot the class").first.wait_for(timeout=30_000)
            settle(page)
        finally:
            browser.close()
    with Store(str(db), teacher="Ms Browser") as store:
        assert store.list_tickets() == []
        assert [t.date for t in store.as_teacher("Mr Colleague").list_tickets()] == ["2026-11-21"]


def test_a_new_name_on_the_history_page_shows_and_opens_that_teachers_class(tmp_path):
    """After typing another name, the boxes name that teacher's classes and Open opens the class the screen shows."""
    playwright = pytest.importorskip("playwright.sync_api")
    _two_teachers(tmp_path, "Period 5")
    with serve(tmp_path) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = _history_page(browser, url)
            name = page.get_by_label("Your name", exact=True)
            name.fill("Mr Colleague")
            name.press("Enter")
            page.get_by_text("2026-11-21", exact=True).first.wait_for(timeout=30_000)  # the table shows his
            settle(page)
            boxes = page.get_by_test_id("stSelectbox")
            ticket_box, forget_box = boxes.first, boxes.last  # "Exit ticket" (Reopen) and "Class" (Forget)
            shown = ticket_box.locator("input").input_value()
            assert shown.startswith("2026-11-21 · Period 5"), shown  # not Ms Browser's "2026-11-20 · Period 3"
            assert forget_box.locator("input").input_value() == "Period 5"
            page.get_by_role("button", name="Open", exact=True).and_(
                page.get_by_test_id("stBaseButton-primary")
            ).click()
            page.get_by_role("heading", name="Groups").wait_for(timeout=60_000)
            settle(page)
            content = page.content()
            assert "colleague-" in content and "mine-" not in content  # the class the screen named
        finally:
            browser.close()


def _open_class(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("link", name="History & PLC").click()
    page.get_by_role("heading", name="Reopen a past day").wait_for(timeout=60_000)
    settle(page)
    groups = page.get_by_role("heading", name="Groups")
    for attempt in range(3):  # a click that lands while the page is still re-running can be lost: click again
        page.get_by_role("button", name="Open", exact=True).and_(page.get_by_test_id("stBaseButton-primary")).click()
        try:
            groups.wait_for(timeout=30_000)
            break
        except Exception:
            if attempt == 2:
                raise
    settle(page)


def _rename_first_group(page, name: str) -> None:
    box = page.get_by_label("Group name").first
    box.fill(name)
    box.press("Enter")
    settle(page)


def test_two_tabs_editing_one_class_never_overwrite_each_other(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    db = tmp_path / "home" / "feedback.sqlite"
    db.parent.mkdir(parents=True)
    with Store(str(db), teacher="Ms Browser") as store:
        [ticket] = store.save_analysis(
            make_analysis("Period 3", {"tops": 3, "right": 2}, prefix="mine-"), date="2026-11-20"
        ).values()
    with serve(tmp_path) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            one = browser.new_page(viewport={"width": 1300, "height": 1400})
            two = browser.new_page(viewport={"width": 1300, "height": 1400})
            _open_class(one, url)
            _open_class(two, url)  # both tabs hold the same saved copy
            _rename_first_group(one, "Named in tab one")
            _rename_first_group(two, "Named in tab two")
            two.get_by_text("this class changed in another window").first.wait_for(timeout=30_000)
            two.get_by_role("button", name="Reload the saved class").click()
            settle(two)
            assert two.get_by_label("Group name").first.input_value() == "Named in tab one"
        finally:
            browser.close()
    with Store(str(db), teacher="Ms Browser") as store:
        labels = [g.label for g in store.load_analysis(ticket).results[0].groups]
    assert "Named in tab one" in labels and "Named in tab two" not in labels
