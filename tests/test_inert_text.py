"""Student text is data: on every page it shows as typed and never becomes markup, a link or an image.

The bad-input corpus for markup (issue 14, item 5): responses, names, section names and the question carry every
payload Streamlit's Markdown would act on. The pages are rendered in AppTest with the fake embedder, and every
string Streamlit renders as Markdown (bodies, labels, help, radio and segmented-control options, alerts, toasts)
is parsed: no image, link, inline HTML or code may come from it, and no payload may appear unescaped. The browser
test (``test_browser_inert_text.py``) checks the same in Chromium, with the image pointing at a local server.
"""

from __future__ import annotations

import re

import pytest
from conftest import REPO, FakeEmbedder
from google.protobuf.json_format import MessageToDict
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from feedback_assistant import pipeline
from feedback_assistant.tickets import read_tickets
from feedback_assistant_app.safe import WORD_JOINER, md
from feedback_assistant_app.state import WS_KEY, Workspace

APP = str(REPO / "app.py")

IMAGE = "![IMGX](http://127.0.0.1:9/leak.png)"
PAYLOADS = (
    "**BOLDX**",
    ":red[REDX]",
    "$X^2$",
    "[LINKX](http://127.0.0.1:9/link)",
    IMAGE,
    "<img src=http://127.0.0.1:9/html.png>",
    "`CODEX`",
    "http://127.0.0.1:9/autolink",
    "www.wwwx.example",
    ":material/home:",
    "~~STRIKEX~~",
    "_ITALX_",
    "# HEADX",
    "&amp;",
)
"""Each payload with the raw form that must never reach Markdown unescaped (the payload itself)."""
SCRIPT = "</script><script>window.__pwned=1</script>"
FORMULAS = (
    'ok;=HYPERLINK("http://127.0.0.1:9/f","click")',
    "=1+2",
    "@SUM(A1)",
    "\t=1+2",
    "fine\r-2+3+cmd|' /C calc'!A0",
)
"""Spreadsheet formulas, raw and after a , ; tab or line break."""
TERMINAL = "\x1b]0;retitled\x07\x1b[2J\u202e"
"""Escape sequences that would retitle and clear the teacher's terminal, and a right-to-left override."""
SECTIONS = (f"P1 {PAYLOADS[0]} {SCRIPT} {TERMINAL}", f"P2 {IMAGE} {FORMULAS[0]}")


def payload_ticket_csv() -> bytes:
    """A ticket whose responses, names, sections and question carry every payload (two sections)."""
    import csv
    import io

    question = "What is 1/3 + 1/6? " + " ".join(PAYLOADS[:4])
    rows = []
    for i, p in enumerate((PAYLOADS + FORMULAS) * 2):
        base = ["I added the tops and bottoms to get 2/9", "I changed 1/3 to 2/6 so it is 3/6 = 1/2", f"idk {IMAGE}"][
            i % 3
        ]
        text = f"{base} {p}" if i % 2 else f"{p} {base}"
        if i == 3:  # a response over several lines: a list and a heading if it were Markdown
            text = f"{p}\n- {PAYLOADS[(i + 1) % len(PAYLOADS)]}\n# {base}"
        rows.append(
            {
                "Student": f"Ana {p}" if i % 2 else f"{p} Bo{i}",
                "Section": SECTIONS[i % 2],
                "Question": question,
                "Response": text,
            }
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["Student", "Section", "Question", "Response"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def payload_analysis(tmp_path_factory):
    path = tmp_path_factory.mktemp("payload") / "ticket.csv"
    path.write_bytes(payload_ticket_csv())
    return pipeline.analyze(read_tickets(path), embedder=FakeEmbedder())


# --- what Streamlit renders as Markdown ---------------------------------------------------------------------------

_MARKDOWN_FIELDS = {"body", "label", "help", "text", "caption", "tooltip"}
_OPTIONS_ARE_MARKDOWN = {"radio", "button_group"}  # selectbox and multiselect options are plain text


def _strings(value, into: list[str], options: bool) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in _MARKDOWN_FIELDS and isinstance(v, str):
                into.append(v)
            elif k == "options" and options:
                for o in v:
                    into.append(o if isinstance(o, str) else o.get("content", ""))
            elif k not in ("spec", "data", "arrow_data", "default", "value", "raw_value", "options"):
                _strings(v, into, options)
    elif isinstance(value, list):
        for v in value:
            _strings(v, into, options)


def markdown_strings(at: AppTest) -> list[str]:
    """Every string of the rendered page that Streamlit treats as Markdown."""
    out: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            _strings(
                MessageToDict(proto, preserving_proto_field_name=True),
                out,
                getattr(node, "type", "") in _OPTIONS_ARE_MARKDOWN,
            )
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at._tree)
    return out


_PARSER = MarkdownIt("commonmark").enable(["strikethrough", "table"])
_BARE_LINK = re.compile(r"(?i)\b(?:https?://|www\.|mailto:)|\w@\w")
_FORBIDDEN_TOKENS = {"image", "link_open", "html_inline", "html_block", "code_inline", "s_open", "heading_open"}


def markup_problems(strings: list[str]) -> list[str]:
    """The Markdown strings that would render a payload as markup, each with what is wrong."""
    problems = []
    for s in strings:
        for token in _PARSER.parse(s):
            kinds = {token.type} | {c.type for c in token.children or ()}
            bad = kinds & _FORBIDDEN_TOKENS
            if bad:
                problems.append(f"{sorted(bad)} in {s!r}")
        if _BARE_LINK.search(re.sub(r"\\(.)", r"\1", s)):  # GFM links bare addresses after escapes
            problems.append(f"bare address in {s!r}")
        for p in PAYLOADS:
            if re.search(r"(?<!\\)" + re.escape(p), s):  # unescaped
                problems.append(f"raw {p!r} in {s!r}")
    return problems


def shown(strings: list[str], word: str) -> bool:
    """Whether a payload's word is on the page at all (so the test looks at student text, not at nothing)."""
    return any(word in s.replace("\\", "") for s in strings)


def open_page(analysis, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if analysis is not None:
        at.session_state[WS_KEY] = Workspace(analysis=analysis, details={"teacher": "Ms Test"})
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# --- the helper ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_shows_each_payload_as_the_same_plain_text(payload):
    escaped = md(f"Ana says {payload} ok")
    tokens = _PARSER.parse(escaped)
    inline = [t for t in tokens if t.type == "inline"]
    assert len(inline) == 1 and [c.type for c in inline[0].children] == ["text"]
    shown_text = inline[0].children[0].content.replace(WORD_JOINER, "")
    assert shown_text == f"Ana says {payload} ok"  # renders exactly as typed
    assert not markup_problems([escaped])


def test_md_folds_new_lines_so_a_response_cannot_start_a_list_or_heading():
    escaped = md("first line\n# HEADX\n- item\n\n1. one")
    assert "\n" not in escaped
    assert [t.type for t in _PARSER.parse(escaped)] == ["paragraph_open", "inline", "paragraph_close"]


def test_the_payload_check_catches_raw_markup():
    """The check the page tests rely on fails on the old, unescaped text."""
    assert markup_problems([f"- “{IMAGE}”"])
    assert markup_problems(["**Q1.** what is :red[REDX]"])
    assert markup_problems(["see http\\:\\/\\/127\\.0\\.0\\.1\\:9\\/x"])  # escaped, yet GFM would link it
    assert not markup_problems([f"- “{md(IMAGE)}”", "**3** students · 10% of responses"])


# --- the pages ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["groups", "feedback", "tomorrow"])
def test_no_markup_from_student_text_on_the_page(payload_analysis, page):
    at = open_page(payload_analysis, page)
    strings = markdown_strings(at)
    assert not markup_problems(strings), "\n".join(markup_problems(strings))
    assert shown(strings, "IMGX") and shown(strings, "BOLDX"), "the page should show the payloads, as text"


def test_the_period_filter_shows_section_names_as_text(payload_analysis):
    at = open_page(payload_analysis, "tomorrow")
    options = [s for s in markdown_strings(at) if "P1" in s or "P2" in s]
    assert any("IMGX" in s for s in options)
    assert not markup_problems(options)


def test_no_markup_from_student_text_in_history_and_comparison(payload_analysis):
    from feedback_assistant.storage import Store

    store = Store()
    store.save_analysis(payload_analysis, date="2026-11-20")  # one ticket per section
    assert len(store.sections()) == 2
    at = open_page(None, "history")
    strings = markdown_strings(at)
    assert not markup_problems(strings), "\n".join(markup_problems(strings))
    at.button(key="hi_forget").click().run()  # the confirmation names the class
    strings = markdown_strings(at)
    assert shown(strings, "forget")
    assert not markup_problems(strings), "\n".join(markup_problems(strings))


# --- files the tool writes ------------------------------------------------------------------------------------------


def live_formulas(path) -> list[str]:
    """Cells of a CSV that a spreadsheet would run as a formula, in a ``,`` or ``;`` locale (or split on tabs)."""
    text = path.read_text(encoding="utf-8-sig")
    live = []
    for sep in (",", ";", "\t", "\n", "\r"):
        for cell in re.split(re.escape(sep), text):
            c = cell.lstrip(' "')
            if re.match(r"[=+\-@]", c) and not re.fullmatch(r"[+-]?\d+(?:[.,]\d*)?\"?\s*", c):
                live.append(f"{sep!r}: {cell[:60]!r}")
    return live


def active_html(page: str) -> list[str]:
    """Tags of an HTML page that run script or fetch something (script, img, link, ..., or any src/href)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            names = {k for k, _ in attrs}
            if (
                tag in ("script", "img", "link", "iframe", "object", "embed", "svg")
                or names & {"src", "href", "srcset"}
                or any(k.startswith("on") for k in names)
            ):
                found.append(f"<{tag} {sorted(names)}>")

    Tags().feed(page)
    return found


def test_the_html_check_catches_markup():
    assert active_html("<p>x</p><script>1</script><img src=x>") == ["<script []>", "<img ['src']>"]
    assert not active_html("<p>&lt;img src=x&gt;</p>")


def test_the_live_formula_check_catches_the_old_writer(tmp_path):
    import pandas as pd

    pd.DataFrame({"response": list(FORMULAS)}).to_csv(tmp_path / "old.csv", index=False)
    assert len(live_formulas(tmp_path / "old.csv")) >= len(FORMULAS)


def test_every_output_file_is_inert(payload_analysis, tmp_path):
    from feedback_assistant.export import write_outputs

    written = write_outputs(payload_analysis, tmp_path / "out")
    for name, path in written.items():
        if path.suffix == ".csv":
            assert not live_formulas(path), (name, live_formulas(path))
    handout = written["handout"].read_text(encoding="utf-8")
    assert SCRIPT not in handout
    assert not active_html(handout)
    assert "&lt;/script&gt;&lt;script&gt;" in handout or "IMGX" in handout  # the names are there, as text


def test_compare_out_files_are_inert_and_the_heatmap_needs_no_network(payload_analysis, tmp_path, capsys):
    from feedback_assistant.cli import main
    from feedback_assistant.storage import Store

    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    store = Store(url)
    store.save_analysis(payload_analysis, date="2026-11-20")
    store.close()
    out = tmp_path / "plc"
    question = payload_analysis.results[0].question
    assert main(["compare", "--question", question, "--db", url, "--out", str(out)]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "P1" in printed and not {"\x1b", "\x07", "\u202e"} & set(printed)  # names printed without escapes
    for name in ("prevalence.csv", "trend.csv", "examples.csv"):
        assert not live_formulas(out / name), (name, live_formulas(out / name))
    page = (out / "heatmap.html").read_text(encoding="utf-8")
    assert not active_html(page)
    assert "&lt;/script&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page  # the section name, as text
