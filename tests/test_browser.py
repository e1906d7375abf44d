"""The whole workflow in a real browser: headless Chromium drives ``streamlit run app.py`` on a free port.

Upload the sample class of 30 (3 questions), group, approve the feedback, download the feedback and handout;
counts the teacher's clicks and saves screenshots to ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts"
SAMPLE = SAMPLES / "grade5_fractions.csv"
CLICK_BUDGET = 12

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(folder: Path):
    """``streamlit run app.py`` on a free localhost port, with its own data folder in ``folder``."""
    port = _free_port()
    env = dict(
        os.environ,
        FEEDBACK_ASSISTANT_HOME=str(folder / "home"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        FEEDBACK_ASSISTANT_TEACHER="Ms Browser",
    )
    log = open(folder / "streamlit.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                pytest.fail("streamlit did not start:\n" + (folder / "streamlit.log").read_text()[-3000:])
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def app_url(tmp_path):
    """The app on its own server for one test; stopped afterwards."""
    with serve(tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def shared_url(tmp_path_factory):
    """One server for the short tests below (each opens its own browser session); loads the model once."""
    with serve(tmp_path_factory.mktemp("browser-app")) as url:
        yield url


def settle(page, timeout: float = 60_000) -> None:
    """Wait until the app has finished its run (the running indicator is gone) and charts are drawn."""
    running = page.locator("[data-testid=stStatusWidgetRunningIcon]")
    try:  # under load a rerun can start well after the click: give it a moment to show up before waiting it out
        running.wait_for(state="attached", timeout=1_500)
    except Exception:  # noqa: BLE001 - no rerun was triggered (or it already ended)
        pass
    running.wait_for(state="detached", timeout=timeout)
    for chart in page.locator("[data-testid=stVegaLiteChart]").all():
        chart.locator("canvas, svg").first.wait_for(timeout=timeout)
    page.wait_for_timeout(600)


def test_upload_group_approve_and_download_in_a_real_browser(app_url, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    clicks = []

    def click(locator, what: str):
        locator.click()
        clicks.append(what)

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1400}, accept_downloads=True)
            page.goto(app_url)
            page.get_by_role("heading", name="Upload an exit ticket").wait_for(timeout=60_000)

            page.locator("input[type=file]").set_input_files(str(SAMPLE))
            clicks.append("choose the file")
            group = page.get_by_role("button", name="Group the 90 responses")
            group.wait_for(timeout=60_000)
            settle(page)
            page.screenshot(path=ARTIFACTS / "browser-1-upload.png")
            click(group, "group the responses")

            page.get_by_role("heading", name="Groups").wait_for(timeout=240_000)
            page.get_by_text("How many students in each group").wait_for(timeout=30_000)
            settle(page)
            page.screenshot(path=ARTIFACTS / "browser-2-groups.png")

            click(page.get_by_role("link", name="Feedback", exact=True), "open Feedback")
            for q in (1, 2, 3):  # "Approve all" approves the question on screen
                if q > 1:
                    click(page.get_by_test_id("stSidebar").get_by_text(f"Q{q}:"), f"pick Q{q}")
                    page.get_by_text(f"drafts approved for Q{q}").wait_for(timeout=30_000)
                approve = page.get_by_role("button", name="Approve all")
                approve.wait_for(timeout=30_000)
                click(approve, f"approve Q{q}'s drafts")
                page.get_by_role("button", name=f"All approved of Q{q}").wait_for(timeout=30_000)
                settle(page)
            page.screenshot(path=ARTIFACTS / "browser-3-feedback.png")

            click(page.get_by_role("link", name="Export", exact=True), "open Export")
            done = re.compile("All feedback is approved.|flagged “check these”")
            page.get_by_text(done).first.wait_for(timeout=30_000)
            settle(page)
            page.screenshot(path=ARTIFACTS / "browser-4-export.png")
            with page.expect_download(timeout=30_000) as got:
                click(page.get_by_role("button", name="Download feedback for each student"), "download feedback")
            feedback_path = tmp_path / got.value.suggested_filename
            got.value.save_as(feedback_path)
            with page.expect_download(timeout=30_000) as got:
                click(page.get_by_role("button", name="Handout to print"), "download the handout")
            handout_path = tmp_path / got.value.suggested_filename
            got.value.save_as(handout_path)

            page.reload()  # a reload keeps the session's work (the URL names it)
            page.get_by_text(done).first.wait_for(timeout=60_000)
        finally:
            browser.close()

    rows = list(csv.DictReader(io.StringIO(feedback_path.read_text(encoding="utf-8-sig"))))
    assert feedback_path.name == "grade5_fractions-feedback.csv"
    assert len(rows) == 90 and {r["student"] for r in rows}
    # every group's text is approved: a student's cell is empty only while the tool asks the teacher to check them
    assert {r["state"] for r in rows} <= {"approved", "check"}
    assert all(bool(r["feedback"].strip()) == (r["state"] == "approved") for r in rows)
    assert sum(r["state"] == "approved" for r in rows) >= 72
    handout = handout_path.read_text(encoding="utf-8")
    assert handout.startswith("<!DOCTYPE html>") and "Tomorrow" in handout and "Aaliyah B." in handout
    print(f"\nclicks from upload to downloaded feedback and handout: {len(clicks)} ({'; '.join(clicks)})")
    assert len(clicks) <= CLICK_BUDGET


# --- issue 12: the main path never crashes or loses a click ---------------------------------------------------

TICKET = """Student,Question,Response
Ana,Which is larger: 3/8 or 3/5?,3/5 because fifths are bigger pieces than eighths
Ben,Which is larger: 3/8 or 3/5?,"3/5, the pieces are bigger when the whole is cut into fewer parts"
Cara,Which is larger: 3/8 or 3/5?,3/5 because when the bottom number is smaller each piece is bigger
Dev,Which is larger: 3/8 or 3/5?,3/8 because 8 is bigger than 5
Eli,Which is larger: 3/8 or 3/5?,3/8 since 8 is a bigger number than 5
Fay,Which is larger: 3/8 or 3/5?,3/8 because the bottom number is larger
Gus,Which is larger: 3/8 or 3/5?,they are the same because both have a 3 on top
Hana,Which is larger: 3/8 or 3/5?,"the same, both tops are 3"
Ana,What is 1/2 + 1/4?,3/4 because 1/2 is 2/4 and 2/4 plus 1/4 is 3/4
Ben,What is 1/2 + 1/4?,2/6 because I added the tops and the bottoms
Cara,What is 1/2 + 1/4?,"3/4, I changed 1/2 into 2/4 first"
Dev,What is 1/2 + 1/4?,2/6 add 1+1 on top and 2+4 on the bottom
Eli,What is 1/2 + 1/4?,3/4 since two quarters and one quarter make three quarters
Fay,What is 1/2 + 1/4?,2/6 I added straight across
Gus,What is 1/2 + 1/4?,3/4 I made the halves into fourths so I could add them
Hana,What is 1/2 + 1/4?,2/6 because top plus top and bottom plus bottom
"""
TICKET_QUESTIONS = ("Which is larger: 3/8 or 3/5?", "What is 1/2 + 1/4?")


@pytest.fixture
def browser_page(shared_url):
    """A fresh browser session on the shared app (its own Streamlit session)."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1400})
            page.goto(shared_url)
            page.get_by_role("heading", name="Upload an exit ticket").wait_for(timeout=60_000)
            yield page
        finally:
            browser.close()


def no_crash(page) -> None:
    """The app drew no exception box (a crash shows the traceback in place of the page)."""
    crashes = page.locator("[data-testid=stException]").all_inner_texts()
    assert not crashes, crashes[0][:500]


def upload_and_group(page, folder: Path) -> None:
    ticket = folder / "ticket.csv"
    ticket.write_text(TICKET, encoding="utf-8")
    page.locator("input[type=file]").set_input_files(str(ticket))
    page.get_by_role("heading", name="ticket.csv").wait_for(timeout=60_000)
    settle(page)
    page.get_by_role("button", name="Group the 16 responses").click()
    page.get_by_role("heading", name="Groups").wait_for(timeout=240_000)
    settle(page)
    no_crash(page)


def test_typing_a_draft_then_clicking_approved_keeps_both(browser_page, tmp_path):
    """Issue 12, 5a: type in a draft, then click its Approved toggle without clicking elsewhere first: that
    crashed (KeyError on "w:0:approved:N") and lost the approval."""
    page = browser_page
    upload_and_group(page, tmp_path)
    page.get_by_role("link", name="Feedback", exact=True).click()
    page.get_by_role("heading", name="Feedback").wait_for(timeout=60_000)
    settle(page)
    box = page.get_by_label("Feedback for this group").first
    box.click()
    box.press("End")
    box.type(" Draw both fractions.")
    page.locator("[data-testid=stCheckbox]").filter(has_text="Approved").first.click()  # straight from the box
    settle(page)
    page.screenshot(path=tmp_path / "after-approve.png")
    no_crash(page)
    page.get_by_text("1 of ").first.wait_for(timeout=30_000)
    assert (
        page.get_by_role("switch").first.is_checked()
        or page.locator("[data-testid=stCheckbox] input").first.is_checked()
    )
    assert page.get_by_label("Feedback for this group").first.input_value().endswith("Draw both fractions.")
    page.reload()  # what was saved, not what the browser still shows
    page.get_by_role("heading", name="Feedback").wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_label("Feedback for this group").first.input_value().endswith("Draw both fractions.")
    assert "1 of " in page.get_by_test_id("stProgress").first.inner_text()


def test_a_new_upload_after_the_sample_groups_the_new_files_questions(browser_page, tmp_path):
    """Issue 12, 5b: after the bundled sample, a new upload kept the sample's questions selected and "Group"
    then refused."""
    page = browser_page
    page.get_by_role("button", name="Try the sample").click()
    page.get_by_role("button", name=re.compile(r"Group the \d+ responses")).wait_for(timeout=60_000)
    settle(page)
    sample_pick = page.get_by_test_id("stMultiSelect").inner_text()
    assert TICKET_QUESTIONS[0] not in sample_pick
    ticket = tmp_path / "ticket.csv"
    ticket.write_text(TICKET, encoding="utf-8")
    page.locator("input[type=file]").set_input_files(str(ticket))
    page.get_by_role("heading", name="ticket.csv").wait_for(timeout=60_000)
    settle(page)
    picked = page.get_by_test_id("stMultiSelect").inner_text()
    assert all(q in picked for q in TICKET_QUESTIONS), picked
    page.get_by_role("button", name="Group the 16 responses").click()
    page.get_by_role("heading", name="Groups").wait_for(timeout=240_000)
    settle(page)
    no_crash(page)
    assert "16 responses · 2 questions" in page.get_by_test_id("stSidebar").inner_text()


def test_after_a_rename_move_goes_to_the_renamed_group(browser_page, tmp_path):
    """Issue 12, 5c: after a rename, the other cards' "Move to" boxes kept the old name and Move failed with a
    message showing internal ids."""
    page = browser_page
    upload_and_group(page, tmp_path)
    names = page.get_by_label("Group name")
    assert names.count() >= 2
    summaries = page.locator("summary").filter(has_text=re.compile(r"All \d+ responses"))
    second = page.get_by_test_id("stExpander").filter(has=summaries).nth(1)
    second.locator("summary").click()  # the second card's responses, with its Move boxes
    settle(page)
    names.first.fill("compared the bottoms")
    names.first.press("Enter")
    settle(page)
    no_crash(page)
    target = second.get_by_test_id("stSelectbox").filter(has_text="to").last
    from playwright.sync_api import expect

    expect(target.get_by_role("combobox")).to_have_value("compared the bottoms", timeout=30_000)
    second.get_by_role("button", name="Move", exact=True).click()
    settle(page)
    page.screenshot(path=tmp_path / "after-move.png")
    no_crash(page)
    alerts = " ".join(page.get_by_test_id("stAlert").all_inner_texts())
    assert "There is no group" not in alerts and "Groups are:" not in alerts, alerts
    page.get_by_text("Response moved.").first.wait_for(timeout=30_000)


def test_a_workbook_with_a_tab_per_period_is_read_whole_and_says_so(browser_page, tmp_path):
    """Issue 14: a workbook with a notes tab and one tab per period read 30 of 90 students, silently. Now every
    period's tab is read (the tab names the section) and the page says which sheets were read and skipped."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append(["Scored by: Ms. Rivera"])
    k = 0
    for tab, n in (("P1", 30), ("P3", 29), ("P5", 31)):
        sheet = book.create_sheet(tab)
        sheet.append(["Student", "Response"])
        for _ in range(n):
            sheet.append([f"Student {k}", f"the pieces get smaller because there are more of them {k % 7}"])
            k += 1
    path = tmp_path / "periods.xlsx"
    book.save(path)
    page = browser_page
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_role("heading", name="periods.xlsx").wait_for(timeout=60_000)
    settle(page)
    no_crash(page)
    shown = page.get_by_test_id("stAlert").all_inner_texts()
    assert any("3 sheets read as one table, rows per sheet: 'P1' (30), 'P3' (29), 'P5' (31)." in t for t in shown)
    assert any("Sheet 'Notes' was not read" in t for t in shown), shown
    page.get_by_role("button", name="Group the 90 responses").wait_for(timeout=30_000)
