"""History & PLC: reopen one of your past exit tickets, compare classes on the same question, forget a class.

Everything here is the current teacher's (``state.teacher()``: the name given on Upload, else the login; on a
PLC server the database role). Colleagues' classes appear only in the comparison, with students pseudonymised.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from feedback_assistant.records import FeedbackAssistantError
from feedback_assistant_app import pictures, state
from feedback_assistant_app.safe import md


def _open(ticket_id: int, summary: dict) -> None:
    store = state.history()
    try:
        analysis, versions = store.open_ticket(ticket_id)  # the copy and its versions from one snapshot
    except FeedbackAssistantError as exc:
        state.flash("error", md(exc))
        return
    section = summary["section"]
    state.start(
        analysis,
        details=summary,
        ticket_ids={section: ticket_id},
        versions={(section, question): v for question, v in versions.items()},
    )
    st.session_state["fa_goto"] = "pages/groups.py"


def _forget(section: str) -> None:
    store = state.history()
    try:
        report = store.forget(section)
    except FeedbackAssistantError as exc:
        state.flash("error", md(exc))
        return
    ws = state.workspace()
    if ws is not None and section in ws.ticket_ids:
        state.forget()
    st.session_state.pop("hi_confirm", None)
    state.flash("success", f"Forgot the class '{md(section)}': deleted {report.describe()} from this computer.")


def _set_teacher() -> None:
    """The name typed on this page becomes this window's teacher (as the Upload page's field does)."""
    name = str(st.session_state.get("hi_teacher", "")).strip()
    if name:
        st.session_state[state.TEACHER_KEY] = name
    for key in ("hi_pick", "hi_confirm", "hi_forget_pick"):
        st.session_state.pop(key, None)


def _start_at(key: str, options: list) -> str:
    """The box's key, its value set to the first option when it holds none of these (after a new name):
    ``init_widget`` sends that value to the browser, which would otherwise keep showing the old teacher's."""
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
    return state.init_widget(key, options[0])


def _reopen(store) -> None:
    st.subheader("Reopen a past day")
    tickets = store.list_tickets()
    if not tickets:
        st.info(f"Nothing saved yet for {md(store.teacher)}. Every exit ticket you group is saved here automatically.")
        return
    table = pd.DataFrame(
        {
            "Date": [t.date for t in tickets],
            "Class": [t.section for t in tickets],
            "File": [t.source_name for t in tickets],
            "Questions": [len(t.questions) for t in tickets],
            "Responses": [t.n_responses for t in tickets],
            "Approved feedback": [t.n_approved for t in tickets],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    by_id = {t.id: t for t in tickets}
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    pick = c1.selectbox(
        "Exit ticket",
        list(by_id),
        key=_start_at("hi_pick", list(by_id)),
        format_func=lambda i: f"{by_id[i].date} · {by_id[i].section} · {by_id[i].source_name}",
    )
    t = by_id[pick]
    c2.button(
        "Open",
        key="hi_open",
        type="primary",
        on_click=_open,
        args=(pick, {"section": t.section, "teacher": t.teacher, "date": t.date}),
    )


def _compare(store) -> None:
    st.subheader("Compare classes (PLC)")
    from feedback_assistant import compare

    questions = store.questions()
    topics = store.topics()
    if not questions:
        st.caption("Save exit tickets from two or more classes to compare them.")
        return
    mode = st.radio(
        "Compare by",
        ["Question", "Standard / topic"] if topics else ["Question"],
        horizontal=True,
        key="hi_cmp_mode",
    )
    if mode == "Question":
        q = st.selectbox(
            "Question",
            questions,
            key="hi_cmp_q",
            format_func=lambda x: state.short(x, 100) or "(the file had no question text)",
        )
        kwargs = {"question": q}
    else:
        kwargs = {"topic": st.selectbox("Standard / topic", topics, key="hi_cmp_topic")}
    try:
        comparison = compare.compare(store, **kwargs)
    except FeedbackAssistantError as exc:
        st.info(md(exc))
        return
    if len(comparison.sections) < 2:
        st.caption(
            f"Only one class ({', '.join(md(s) for s in comparison.sections)}) has this question saved so far. The "
            "comparison appears once another class period or a colleague saves the same question."
        )
        return
    pictures.comparison(comparison)


def _forget_class(store) -> None:
    st.subheader("Forget a class")
    sections = store.sections()
    if not sections:
        st.caption("No class saved.")
        return
    st.caption(
        "Deletes every saved exit ticket, response, group, feedback, plan and learned example of one of your "
        "classes from this computer, with library wording that quotes its students. This cannot be undone."
    )
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    section = c1.selectbox("Class", sections, key=_start_at("hi_forget_pick", sections))
    if c2.button("Forget this class…", key="hi_forget"):
        st.session_state["hi_confirm"] = section
    if st.session_state.get("hi_confirm") == section:
        with st.container(border=True):
            try:
                what = store.forget(section, dry_run=True).describe()
            except FeedbackAssistantError as exc:
                st.error(md(exc))
                return
            st.error(f"Really delete everything saved for **{md(section)}**: {what}? This cannot be undone.")
            b1, b2 = st.columns(2)
            b1.button(
                f"Yes, forget {md(section)}",
                key="hi_forget_yes",
                type="primary",
                on_click=_forget,
                args=(section,),
            )
            b2.button("No, keep it", key="hi_forget_no", on_click=lambda: st.session_state.pop("hi_confirm", None))


# --- page ---------------------------------------------------------------------------------------------------

goto = st.session_state.pop("fa_goto", None)
if goto:
    st.switch_page(goto)
st.title("History & PLC")
state.show_flash()
try:
    store = state.history()
except FeedbackAssistantError as exc:
    st.error(md(exc))
    st.stop()
if store.plc:
    st.caption(
        f"Classes of **{md(store.teacher)}** (your PLC login). Colleagues' classes appear only in the comparison."
    )
else:
    st.text_input(
        "Your name",
        value=store.teacher,
        key="hi_teacher",
        on_change=_set_teacher,
        help="Your classes are saved under your name. Colleagues' classes appear only in the comparison, "
        "with their students' names hidden.",
    )
_reopen(store)
st.divider()
_compare(store)
st.divider()
_forget_class(store)
