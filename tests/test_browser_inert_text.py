"""Student text is data, in a real browser: nothing a student typed makes the teacher's browser fetch a URL.

* The Groups and Tomorrow pages of ``streamlit run app.py`` with a ticket whose responses, names and sections hold
  ``![x](http://127.0.0.1:PORT/leak.png)`` (and every other Markdown payload) pointing at a local HTTP server this
  test starts: the server must receive no request.
* The HTML files the tool writes (the handout and ``compare --out`` heatmap.html) opened from disk with the network
  cut off: no request is attempted and no script runs.
"""

from __future__ import annotations

import http.server
import threading

import pytest
from conftest import FakeEmbedder
from test_browser import CHROMIUM, CHROMIUM_ARGS, app_url, settle  # noqa: F401 - app_url is a fixture
from test_inert_text import SCRIPT, payload_ticket_csv

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
]


@pytest.fixture
def leak_server():
    """A local HTTP server that records every path requested from it."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_server_check_sees_a_real_fetch(leak_server):
    """The check below can fail: a plain <img> pointing at the server is fetched by the browser."""
    playwright = pytest.importorskip("playwright.sync_api")
    port, seen = leak_server
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content(f"<img src='http://127.0.0.1:{port}/control.png'>")
            page.wait_for_timeout(1000)
        finally:
            browser.close()
    assert seen == ["/control.png"]


def test_student_markdown_on_the_groups_page_fetches_nothing(app_url, leak_server, tmp_path):  # noqa: F811
    playwright = pytest.importorskip("playwright.sync_api")
    port, seen = leak_server
    ticket = tmp_path / "payload.csv"
    ticket.write_bytes(payload_ticket_csv().replace(b"127.0.0.1:9/", f"127.0.0.1:{port}/".encode()))
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1400})
            page.goto(app_url)
            page.get_by_role("heading", name="Upload an exit ticket").wait_for(timeout=60_000)
            page.locator("input[type=file]").set_input_files(str(ticket))
            group = page.get_by_role("button", name="Group the")
            group.wait_for(timeout=60_000)
            settle(page)
            group.click()
            page.get_by_role("heading", name="Groups").wait_for(timeout=240_000)
            settle(page)
            page.get_by_text("**BOLDX**").first.wait_for(timeout=30_000)  # the question, exactly as typed
            page.screenshot(path=str(tmp_path / "groups.png"), full_page=True)
            assert page.get_by_text("IMGX").count() > 0  # the image payload is on the page, as text
            for expander in page.locator("[data-testid=stExpander] summary").all():
                expander.click()  # the full response tables too
            page.wait_for_timeout(1500)
            groups_links = page.locator(f"a[href*='127.0.0.1:{port}'], img[src*='127.0.0.1:{port}']").count()
            page.get_by_role("link", name="Tomorrow", exact=True).click()
            page.get_by_role("heading", name="Tomorrow's groups").wait_for(timeout=60_000)
            settle(page)
            page.wait_for_timeout(1500)
            tomorrow_links = page.locator(f"a[href*='127.0.0.1:{port}'], img[src*='127.0.0.1:{port}']").count()
        finally:
            browser.close()
    assert seen == [], f"the teacher's browser fetched {seen} from a URL a student typed"
    assert groups_links == 0 and tomorrow_links == 0


def test_html_exports_open_offline_without_requests_or_script(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    from feedback_assistant import pipeline
    from feedback_assistant.charts import heatmap_html
    from feedback_assistant.compare import compare
    from feedback_assistant.export import handout_html
    from feedback_assistant.storage import Store
    from feedback_assistant.tickets import read_tickets

    ticket = tmp_path / "payload.csv"
    ticket.write_bytes(payload_ticket_csv())
    analysis = pipeline.analyze(read_tickets(ticket), embedder=FakeEmbedder())
    store = Store(f"sqlite:///{tmp_path / 'history.sqlite'}")
    store.save_analysis(analysis, date="2026-11-20")
    comparison = compare(store, question=analysis.results[0].question)
    store.close()
    assert len(comparison.sections) == 2
    files = {"heatmap.html": heatmap_html(comparison), "handout.html": handout_html(analysis)}
    attempted: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True)

            def cut_off(route):
                if not route.request.url.startswith("file://"):
                    attempted.append(route.request.url)
                    route.abort()
                else:
                    route.continue_()

            context.route("**/*", cut_off)
            context.on("request", lambda r: None if r.url.startswith("file://") else attempted.append(r.url))
            for name, text in files.items():
                path = tmp_path / name
                path.write_text(text, encoding="utf-8")
                page = context.new_page()
                page.goto(path.as_uri())
                page.wait_for_load_state("load")
                page.wait_for_timeout(500)
                assert page.evaluate("window.__pwned") is None, f"{name}: a section name ran as script"
                assert page.locator("script, img, iframe, link[rel=stylesheet]").count() == 0, name
                assert "window.__pwned=1" in page.inner_text("body") or name == "handout.html"
                page.close()
        finally:
            browser.close()
    assert attempted == [], f"opening the exports tried the network: {attempted}"
    assert SCRIPT in files["heatmap.html"].replace("&lt;", "<").replace("&gt;", ">").replace("&#x27;", "'")
