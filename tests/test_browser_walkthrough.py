"""A teacher's walkthrough in a real browser: after typing another name on the History page, the boxes name
that teacher's classes and Open opens the class the screen shows."""

from __future__ import annotations

import pytest
from storage_helpers import make_analysis
from test_browser import CHROMIUM, CHROMIUM_ARGS, serve, settle

from feedback_assistant.storage import Store

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
]


def test_a_new_name_on_the_history_page_shows_and_opens_that_teachers_class(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    db = tmp_path / "home" / "feedback.sqlite"
    db.parent.mkdir(parents=True)
    with Store(str(db), teacher="Ms Browser") as store:  # serve() runs the app as Ms Browser
        store.save_analysis(make_analysis("Period 3", {"tops": 3, "right": 2}, prefix="mine-"), date="2026-11-20")
        store.as_teacher("Mr Colleague").save_analysis(
            make_analysis("Period 5", {"bigger": 4}, prefix="colleague-"), date="2026-11-21"
        )
    with serve(tmp_path) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1400})
            page.goto(url)
            page.get_by_role("link", name="History & PLC").click()
            page.get_by_role("heading", name="Reopen a past day").wait_for(timeout=60_000)
            settle(page)
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
