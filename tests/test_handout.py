"""The printable handout: one Letter/A4 page per class for a 3-question ticket, titled with the class and date,
"drafts not approved" only when some are, and every value escaped."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SAMPLES

from feedback_assistant import pipeline
from feedback_assistant.export import handout_html
from feedback_assistant.records import APPROVED
from feedback_assistant.tickets import read_tickets

CHROMIUM = Path("/usr/bin/chromium")
DRAFTS_NOTE = "has not been approved"


def approve_everything(analysis):
    results = tuple(replace(r, stems=tuple(replace(s, state=APPROVED) for s in r.stems)) for r in analysis.results)
    return replace(analysis, results=results)


@pytest.fixture(scope="module")
def fractions():
    from conftest import FakeEmbedder

    return pipeline.analyze(read_tickets(SAMPLES / "grade5_fractions.csv"), embedder=FakeEmbedder())


@pytest.fixture(scope="module")
def periods():
    from conftest import FakeEmbedder

    return pipeline.analyze(read_tickets(SAMPLES / "grade7_science_periods.csv"), embedder=FakeEmbedder())


def test_title_is_the_class_and_date(fractions, periods):
    page = handout_html(fractions, class_name="5B <Math>", date="2026-11-18")
    assert "<h1>5B &lt;Math&gt; — 2026-11-18</h1>" in page and "<title>5B &lt;Math&gt; — 2026-11-18</title>" in page
    by_period = handout_html(periods)
    titles = re.findall(r"<h1>(.*?)</h1>", by_period)
    assert len(titles) == 3 and all(" — " in t for t in titles)  # one page per class period, each with its date
    assert {t.split(" — ")[0] for t in titles} == {r.section for r in periods.results[0].responses}


def test_drafts_note_only_when_some_feedback_is_a_draft(fractions):
    assert DRAFTS_NOTE in handout_html(fractions)
    done = handout_html(approve_everything(fractions))
    assert DRAFTS_NOTE not in done and "All feedback shown is approved" in done


def test_stems_show_placeholders_not_student_words(fractions):
    page = handout_html(fractions)
    assert "{own_words}" not in page and "[their words]" in page
    assert "(suggested)" in page  # no key: statuses are suggestions


def _pages(html: str, tmp_path: Path, fmt: str) -> int:
    playwright = pytest.importorskip("playwright.sync_api")
    path = tmp_path / "handout.html"
    path.write_text(html, encoding="utf-8")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(path.as_uri())
            pdf = page.pdf(format=fmt)
        finally:
            browser.close()
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium")
@pytest.mark.parametrize("fmt", ["Letter", "A4"])
def test_prints_on_one_page_per_class(fractions, periods, tmp_path, fmt):
    assert _pages(handout_html(fractions), tmp_path, fmt) == 1  # 30 students, 3 questions
    assert _pages(handout_html(periods), tmp_path, fmt) == 3  # three class periods


def test_title_date_is_the_day_of_form_timestamps():
    from conftest import FakeEmbedder

    forms = pipeline.analyze(read_tickets(SAMPLES / "grade8_ela_google_forms.csv"), embedder=FakeEmbedder())
    assert re.findall(r"<h1>(.*?)</h1>", handout_html(forms)) == ["grade8_ela_google_forms — 2026-11-18"]
