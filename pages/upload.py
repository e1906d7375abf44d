"""Upload: choose the exit-ticket file (or a sample), check the columns, pick questions and keys, group."""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import hashlib
import io
import os
from pathlib import Path

import streamlit as st

from feedback_assistant.records import FeedbackAssistantError
from feedback_assistant.text import counted
from feedback_assistant_app import resources, state
from feedback_assistant_app.safe import md

SOURCE_KEY = "fa_source"
NONE = "(none)"
ROLES = (  # (ColumnMap field, read_tickets keyword, what a teacher calls it, help)
    ("response", "response_col", "Written response", "The students' written answers (required)."),
    ("student", "student_col", "Student", "Name or id of each student."),
    ("question", "question_col", "Question", "Which question a row answers, when the file holds several."),
    (
        "answer",
        "answer_col",
        "Answer chosen",
        "The answer each student chose or wrote, if a separate column.",
    ),
    ("section", "section_col", "Class / period", "The class period or section."),
    ("date", "date_col", "Date", "The date of the exit ticket."),
    ("key", "key_col", "Answer key", "A column holding the correct answer."),
)


def _limit_mb() -> int:
    return int(st.get_option("server.maxUploadSize") or 20)


def _set_source(name: str, data: bytes, origin: str) -> None:
    st.session_state[SOURCE_KEY] = {
        "name": name,
        "data": data,
        "origin": origin,
        "digest": hashlib.sha256(data).hexdigest(),
    }
    st.session_state.pop(state.TICKETS_KEY, None)
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith("up:")]:
        del st.session_state[key]


def _use_sample(path: str) -> None:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError:
        state.flash("error", f"The sample file '{md(path)}' was not found. Pick one of the samples below instead.")
        return
    _set_source(p.name, data, "sample")
    if p.name in [s.name for s in state.sample_files()]:
        st.session_state["up_sample_pick"] = p.name


def _on_upload() -> None:
    uploaded = st.session_state.get("fa_uploader")
    if uploaded is None:
        return
    limit = _limit_mb()
    if uploaded.size > limit * 1024 * 1024:
        state.flash(
            "error",
            f"'{md(uploaded.name)}' is {uploaded.size / 1024 / 1024:.1f} MB; this app takes files up to "
            f"{limit} MB. An exit ticket is usually far smaller: save just the sheet with the responses as a "
            "CSV file and upload that.",
        )
        return
    _set_source(uploaded.name, uploaded.getvalue(), "upload")


def _read(source: dict, overrides: dict):
    """Read the ticket file with the teacher's column choices (cached per file and choices)."""
    from feedback_assistant.tickets import read_tickets

    sig = (source["digest"], tuple(sorted(overrides.items())))
    cache = st.session_state.setdefault(state.TICKETS_KEY, {})
    if sig not in cache:
        cache[sig] = read_tickets(io.BytesIO(source["data"]), filename=source["name"], **overrides)
    return cache[sig]


def _roles(layout: str):
    """The roles a teacher can reassign: all of them in a long table; people and dates in a wide one."""
    return ROLES if layout == "long" else tuple(r for r in ROLES if r[0] in ("student", "section", "date"))


def _options(tickets, field: str) -> list[str]:
    synthetic = {"source_row"}
    if tickets.layout != "long":
        c = tickets.columns
        synthetic |= {c.question, c.response, c.answer} - {None}
    names = [str(col) for col in tickets.frame.columns if col not in synthetic]
    return names if field == "response" else [NONE, *names]


def _with_choices(source: dict, detected):
    """The ticket set as the teacher's column choices say (choices not made yet keep what was detected)."""
    roles = _roles(detected.layout)
    chosen = {field: st.session_state.get(f"up:{field}") for field, *_ in roles}
    overrides = {kw: chosen[field] for field, kw, *_ in roles if chosen[field] not in (None, NONE)}
    tickets = _read(source, overrides) if overrides else detected
    dropped = {field: None for field, *_ in roles if chosen[field] == NONE and getattr(tickets.columns, field)}
    if dropped:
        tickets = dataclasses.replace(tickets, columns=dataclasses.replace(tickets.columns, **dropped))
    return tickets


def _column_choices(detected) -> None:
    """Dropdowns showing the detected column for each role, to fix a wrong guess."""
    roles = _roles(detected.layout)
    if detected.layout != "long":
        st.markdown(
            f"**One column per question** ({len(detected.questions())} questions found: pick which to "
            "analyse below). If a column below is wrong, pick the right one."
        )
    else:
        st.markdown("**Columns found.** If one is wrong, pick the right column.")
    cols = st.columns(min(len(roles), 4))
    for i, (field, _kw, title, help_text) in enumerate(roles):
        current = getattr(detected.columns, field)
        options = _options(detected, field)
        key = state.init_widget(f"up:{field}", current if current in options else options[0])
        cols[i % len(cols)].selectbox(title, options, key=key, help=help_text)


def _details_form(tickets) -> dict:
    """Where this ticket is saved in the history (defaults need no typing)."""
    sections = []
    if tickets.columns.section:
        sections = sorted({str(s) for s in tickets.frame[tickets.columns.section].dropna() if str(s).strip()})
    default_class = None if sections else "My class"
    c1, c2 = st.columns(2)
    section = c1.text_input(
        "Class name (for your history)",
        key="up:details:section",
        placeholder=f"from the file: {', '.join(sections[:4])}" if sections else default_class,
        help="Saved exit tickets are grouped by class. Leave it empty to use "
        + ("the file's class/period column." if sections else f"'{default_class}'."),
    )
    date = c2.date_input("Date of the ticket", value=dt.date.today(), key="up:details:date")
    with st.expander("Your name and the standard (for comparing with colleagues) — optional"):
        c3, c4 = st.columns(2)
        teacher = c3.text_input(
            "Your name",
            key="up:details:teacher",
            value=os.environ.get("FEEDBACK_ASSISTANT_TEACHER") or _login(),
        )
        topic = c4.text_input(
            "Standard or topic",
            key="up:details:topic",
            placeholder="e.g. 5.NF.1",
            help="Tag it to compare with colleagues who taught the same standard.",
        )
    return {
        "section": section.strip() or default_class,
        "date": date.isoformat() if date else None,
        "teacher": teacher.strip() or None,
        "topic": topic.strip() or None,
    }


def _answer_keys(tickets, chosen: list[str]) -> dict[str, str]:
    """One box per question for the correct answer, prefilled from the file's answer-key column if it has one.

    Returns:
        the typed (or prefilled) correct answer per question; questions left empty are not in it.
    """
    from feedback_assistant.pipeline import keys_by_question

    found = keys_by_question(tickets, chosen, None) if tickets.columns.key else {}
    st.markdown("**The correct answer to each question**")
    st.caption(
        "With the correct answer, groups are marked on target or misconception by it. Leave a box empty if a "
        "question has no single right answer: the statuses are then only suggestions for you to check."
        + (f" Prefilled from the column '{md(tickets.columns.key)}'." if found and any(found.values()) else "")
    )
    keys: dict[str, str] = {}
    cols = st.columns(min(len(chosen), 3) or 1)
    for i, q in enumerate(chosen):
        label = f"Q{i + 1}: {md(state.short(q, 70))}" if q else "Correct answer"
        sig = hashlib.md5(f"{q}\0{tickets.columns.key}".encode()).hexdigest()[:10]
        key = state.init_widget(f"up:key:{sig}", found.get(q) or "")
        value = cols[i % len(cols)].text_input(label, key=key, placeholder="e.g. 3/5")
        if value.strip():
            keys[q] = value.strip()
    return keys


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name on some systems
        return ""


MEMORY_TOGGLE = "up:use_memory"


def _memory_note(questions: list[str], details: dict) -> None:
    """What the teacher's memory holds for these questions, and the switch to start without it."""
    source = state.memory(details.get("teacher"))
    found = [(q, m) for q in questions if source is not None and (m := source.lookup(q)) is not None]
    if not found:
        return
    with st.container(border=True):
        for q, m in found:
            where = f" — Q{questions.index(q) + 1}" if len(questions) > 1 else ""
            st.markdown(f":material/history: {md(m.summary())}{md(where)}")
        st.toggle(
            "Start from the groups I corrected before",
            value=True,
            key=MEMORY_TOGGLE,
            help="Responses that match a group you corrected in an earlier class join it, with your name, status "
            "and feedback, marked “carried over — confirm”. Responses that match none are grouped afresh. Turn "
            "it off to group this class from scratch.",
        )


def _analyse(tickets, questions: list[str], keys: dict[str, str], details: dict, source_name: str) -> None:
    from feedback_assistant import pipeline

    bar = st.progress(0.0, text="Reading the responses…")

    def progress(done: int, total: int, stage: str) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{stage}: {done} of {total}")

    try:
        parts = resources.parts()  # the model loads here, once per server
        use_memory = st.session_state.get(MEMORY_TOGGLE, True)
        analysis = pipeline.analyze(
            tickets,
            **parts,
            keys=keys or None,
            questions=questions,
            progress=progress,
            memory=state.memory(details.get("teacher")) if use_memory else None,
        )
    except FeedbackAssistantError as exc:
        bar.empty()
        st.error(md(exc))
        return
    if source_name and not analysis.source_name:
        analysis = dataclasses.replace(analysis, source_name=source_name)
    bar.empty()
    state.start(analysis, details)
    st.switch_page("pages/groups.py")


# --- page ---------------------------------------------------------------------------------------------------

st.title("Upload an exit ticket")
state.show_flash()

offered = st.session_state.pop(state.SAMPLE_OFFER_KEY, None)
if offered and SOURCE_KEY not in st.session_state and state.workspace() is None:
    _use_sample(offered)
    state.show_flash()

ws = state.workspace()
if ws is not None:
    with st.container(border=True):
        st.markdown(
            f"**Open now:** {md(ws.analysis.source_name or 'exit ticket')} — "
            f"{sum(len(r.responses) for r in ws.analysis.results)} responses, "
            f"{sum(len(r.groups) for r in ws.analysis.results)} groups, {ws.edits} edits."
        )
        st.page_link("pages/groups.py", label="Continue with the groups", icon=":material/arrow_forward:")

limit = _limit_mb()
left, right = st.columns([3, 2])
with left:
    st.file_uploader(
        f"Drag the exit-ticket file here (CSV or Excel, up to {limit} MB)",
        type=["csv", "xlsx"],
        key="fa_uploader",
        on_change=_on_upload,
        help="One row per student (and per question, or one column per question); a header row names the columns.",
    )
with right:
    samples = state.sample_files()
    if samples:
        names = [p.name for p in samples]
        pick = st.selectbox("Or try a sample", names, key="up_sample_pick") if len(names) > 1 else names[0]
        st.button(
            "Try the sample",
            icon=":material/science:",
            key="up_try_sample",
            on_click=_use_sample,
            args=(str(samples[names.index(pick)]),),
        )

source = st.session_state.get(SOURCE_KEY)
if source is None:
    st.caption("Nothing is sent anywhere: the file is read and grouped on this computer.")
    st.stop()

st.subheader(md(source["name"]))
try:
    detected = _read(source, {})
except FeedbackAssistantError as exc:
    st.error(md(exc))
    st.stop()
try:
    tickets = _with_choices(source, detected)
except FeedbackAssistantError as exc:
    st.error(md(exc))
    tickets = detected
_column_choices(detected)
questions = tickets.questions()
responses = len(tickets.frame)
blank = sum(1 for r in tickets.responses() if r.is_blank)
st.caption(
    counted(responses, "response")
    + (f" to {len(questions)} questions" if len(questions) > 1 else "")
    + (f", {blank} blank" if blank else "")
    + "."
)
for note in detected.notices:  # sheets read or skipped, title rows, hidden rows, formulas without a saved value
    st.info(md(note), icon=":material/info:")
st.dataframe(tickets.frame.drop(columns=["source_row"], errors="ignore").head(8), hide_index=True, width="stretch")

chosen = questions
if len(questions) > 1:
    # init_widget sends the list to the browser: a new file must not keep the previous file's questions.
    pick_key = state.init_widget("up:questions", questions)
    chosen = [q for q in st.multiselect("Questions to analyse", questions, key=pick_key) if q in questions]
keys = _answer_keys(tickets, chosen)

details = _details_form(tickets)
if not chosen:
    st.warning("Pick at least one question to analyse.")
    st.stop()
n_chosen = sum(1 for r in tickets.responses() if r.question in set(chosen))
missing = [i + 1 for i, q in enumerate(chosen) if q not in keys]
if missing:
    st.caption(
        ":material/help_outline: No correct answer for "
        + ", ".join(f"Q{i}" for i in missing)
        + ": the tool will only suggest which groups are on target; you confirm them on the Groups page."
    )
_memory_note(chosen, details)
resources.model_picker()
if st.button(f"Group the {counted(n_chosen, 'response')}", type="primary", icon=":material/workspaces:", key="up_go"):
    # The boxes above hold the answer key (prefilled from a key column): an emptied box means no key.
    by_boxes = dataclasses.replace(tickets, columns=dataclasses.replace(tickets.columns, key=None))
    _analyse(by_boxes, list(chosen), keys, details, source["name"])
