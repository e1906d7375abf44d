"""The whole workflow in a real browser: headless Chromium drives ``streamlit run app.py`` on a free port.

Upload the sample class of 30 (3 questions), group, approve the feedback, download the feedback and handout;
counts the teacher's clicks and saves screenshots to ``test-artifacts/``.
"""

from __future__ import annotations

import csv
import io
import os
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


@pytest.fixture
def app_url(tmp_path):
    """``streamlit run app.py`` on a free localhost port, with its own data folder; stopped afterwards."""
    port = _free_port()
    env = dict(
        os.environ,
        FEEDBACK_ASSISTANT_HOME=str(tmp_path / "home"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        FEEDBACK_ASSISTANT_TEACHER="Ms Browser",
    )
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 - closed below
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
                pytest.fail("streamlit did not start:\n" + (tmp_path / "streamlit.log").read_text()[-3000:])
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def settle(page, timeout: float = 60_000) -> None:
    """Wait until the app has finished its run (the running indicator is gone) and charts are drawn."""
    page.wait_for_timeout(400)
    page.locator("[data-testid=stStatusWidgetRunningIcon]").wait_for(state="detached", timeout=timeout)
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
            approve = page.get_by_role("button", name="Approve all")
            approve.wait_for(timeout=30_000)
            click(approve, "approve all drafts")
            page.get_by_text("group feedback drafts approved").wait_for(timeout=30_000)
            page.get_by_role("button", name="All approved").wait_for(timeout=30_000)
            settle(page)
            page.screenshot(path=ARTIFACTS / "browser-3-feedback.png")

            click(page.get_by_role("link", name="Export", exact=True), "open Export")
            page.get_by_text("All feedback is approved.").wait_for(timeout=30_000)
            settle(page)
            page.screenshot(path=ARTIFACTS / "browser-4-export.png")
            with page.expect_download(timeout=30_000) as got:
                click(
                    page.get_by_role("button", name="Download feedback for each student"), "download feedback"
                )
            feedback_path = tmp_path / got.value.suggested_filename
            got.value.save_as(feedback_path)
            with page.expect_download(timeout=30_000) as got:
                click(page.get_by_role("button", name="Handout to print"), "download the handout")
            handout_path = tmp_path / got.value.suggested_filename
            got.value.save_as(handout_path)

            page.reload()  # a reload keeps the session's work (the URL names it)
            page.get_by_text("All feedback is approved.").wait_for(timeout=60_000)
        finally:
            browser.close()

    rows = list(csv.DictReader(io.StringIO(feedback_path.read_text(encoding="utf-8-sig"))))
    assert feedback_path.name == "grade5_fractions-feedback.csv"
    assert len(rows) == 90 and {r["student"] for r in rows} and all(r["feedback"].strip() for r in rows)
    handout = handout_path.read_text(encoding="utf-8")
    assert handout.startswith("<!DOCTYPE html>") and "Tomorrow" in handout and "Aaliyah B." in handout
    print(f"\nclicks from upload to downloaded feedback and handout: {len(clicks)} ({'; '.join(clicks)})")
    assert len(clicks) <= CLICK_BUDGET
