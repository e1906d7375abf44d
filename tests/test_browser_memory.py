"""Teach -> analyze -> carried over, in a real browser: the teacher's corrected groups reach the next class."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, serve, settle
from test_memory import COMMON, QUESTION, TIMES, TOPS

TEACHER = "Ms Browser"  # the name serve() gives the app (FEEDBACK_ASSISTANT_TEACHER)
STEM = "Make the pieces the same size first: what are 1/2 and 1/3 in sixths?"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
]


def test_teach_then_upload_the_next_class_shows_carried_over_groups(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    labelled = tmp_path / "period1.csv"
    pd.DataFrame(
        {
            "Question": QUESTION,
            "Response": TOPS[:4] + COMMON[:4],
            "Group": ["Added tops and bottoms"] * 4 + ["Common denominator"] * 4,
            "Stem": [STEM] * 4 + [""] * 4,
        }
    ).to_csv(labelled, index=False)
    env = dict(
        os.environ,
        FEEDBACK_ASSISTANT_HOME=str(tmp_path / "home"),
        FEEDBACK_ASSISTANT_TEACHER=TEACHER,
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    taught = subprocess.run(
        [
            sys.executable,
            "-m",
            "feedback_assistant.cli",
            "teach",
            str(labelled),
            "--response-col",
            "Response",
            "--question-col",
            "Question",
            "--group-col",
            "Group",
            "--stem-col",
            "Stem",
            "--section",
            "Period 1",
            "--date",
            "2026-11-19",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert taught.returncode == 0, taught.stderr
    period2 = tmp_path / "period2.csv"
    texts = TOPS[4:] + COMMON[4:] + TIMES
    pd.DataFrame(
        {"Student": [f"Student {i}" for i in range(len(texts))], "Question": QUESTION, "Response": texts}
    ).to_csv(period2, index=False)
    ARTIFACTS.mkdir(exist_ok=True)
    with serve(tmp_path) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1400})
            page.goto(url)
            page.get_by_role("heading", name="Upload an exit ticket").wait_for(timeout=60_000)
            page.locator("input[type=file]").set_input_files(str(period2))
            page.get_by_text("Learned from 8 corrected responses (Period 1, 11/19)").wait_for(timeout=60_000)
            group = page.get_by_role("button", name=f"Group the {len(texts)} responses")
            settle(page)
            page.screenshot(path=ARTIFACTS / "browser-memory-1-upload.png")
            group.click()
            page.get_by_role("heading", name="Groups").wait_for(timeout=240_000)
            page.get_by_text("carried over — confirm each below").wait_for(timeout=30_000)
            settle(page)
            carried = page.get_by_text("Carried over — confirm.")
            assert carried.count() == 2
            page.screenshot(path=ARTIFACTS / "browser-memory-2-groups.png")
            page.get_by_role("button", name="Confirm", exact=True).first.click()
            playwright.expect(page.get_by_text("Carried over — confirm.")).to_have_count(1, timeout=60_000)
            settle(page)
            page.screenshot(path=ARTIFACTS / "browser-memory-3-confirmed.png")
            names = page.get_by_role("textbox", name="Group name").evaluate_all("els => els.map(e => e.value)")
            assert {"Added tops and bottoms", "Common denominator"} <= set(names)
        finally:
            browser.close()
