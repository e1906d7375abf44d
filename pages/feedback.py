"""Feedback: the drafted stem per group, edited and approved by the teacher; per-student overrides."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from feedback_assistant import review
from feedback_assistant.records import APPROVED, DRAFT, UNGROUPED
from feedback_assistant.text import counted
from feedback_assistant_app import state
from feedback_assistant_app.safe import md
from feedback_assistant_app.state import wkey

APPROVE_ALL_KEY = "fb_approve_all"


def _shown_key(ok_key: str) -> str:
    return ok_key + ":shown"


def _approval_clicked(ok_key: str) -> bool:
    """True when the interaction being handled switched this Approved toggle on, or clicked "Approve all"."""
    toggled_on = st.session_state.get(ok_key) is True and st.session_state.get(_shown_key(ok_key)) is False
    return toggled_on or st.session_state.get(APPROVE_ALL_KEY) is True


def _edit(qi: int, gid: int, key: str, ok_key: str) -> None:
    """Save the typed text; an edited stem is a draft again, unless the same interaction approved it.

    Typing in the box and then clicking its Approved toggle (or "Approve all") without clicking elsewhere first
    sends both changes in one rerun, and their callbacks run in either order: the text keeps the approval.
    """
    approve = _approval_clicked(ok_key)
    state.edit_text(
        qi,
        lambda result, group_id, text: review.edit_stem(result, group_id, text, approve=approve),
        gid,
        key,
        empty="Feedback cannot be empty; the previous text was kept.",
    )


def _approve(qi: int, gid: int, key: str) -> None:
    state.edit(qi, review.approve_stem, gid, st.session_state.get(key) is True, keep=key)


def _restore(qi: int, gid: int, drafted: str) -> None:
    state.edit(qi, review.edit_stem, gid, drafted)


def _approve_all(qi: int) -> None:
    """Approve every draft of the question on screen (the teacher has them all in front of them)."""
    ws = st.session_state[state.WS_KEY]
    result = ws.analysis.results[qi]
    waiting = [s.group_id for s in result.stems if s.state != APPROVED]
    new = result
    for gid in waiting:
        new = review.approve_stem(new, gid, True)
    if waiting:
        state.update(qi, new)
    others = sum(1 for i, r in enumerate(ws.analysis.results) for s in r.stems if i != qi and s.state != APPROVED)
    state.flash(
        "success",
        f"Approved {len(waiting)} draft{'s' if len(waiting) != 1 else ''} for Q{qi + 1}."
        + (
            f" {others} draft{'s' if others != 1 else ''} of other questions still wait: pick a question in "
            "the sidebar."
            if others
            else " Next: tomorrow's groups, then Export."
        ),
    )


def _save_override(qi: int, row_key: str, text_key: str) -> None:
    row, text = st.session_state.get(row_key), str(st.session_state.get(text_key) or "").strip()
    if row is None:
        return
    if state.edit(qi, review.set_override, row, text or None, keep=row_key):
        state.flash("success", "Saved the feedback for this student." if text else "Override removed.")


def _clear_override(qi: int, row_key: str) -> None:
    row = st.session_state.get(row_key)
    if row is not None and state.edit(qi, review.set_override, row, None, keep=row_key):
        state.flash("success", "This student gets the group's feedback again.")


def _stem_card(qi: int, gid: int, title: str, example: str | None, stem, readers: list) -> None:
    """One group's feedback: the editable text, its approval, and what two of its students would read."""
    with st.container(border=True):
        st.markdown(title)
        if example:
            st.caption("For example: “" + md(state.short(example, 160)) + "”")
        text_key = state.init_widget(wkey(qi, "stem", gid), stem.text)
        ok_key = state.init_widget(wkey(qi, "approved", gid), stem.state == APPROVED)
        st.session_state[_shown_key(ok_key)] = st.session_state[ok_key]
        st.text_area(
            "Feedback for this group", key=text_key, on_change=_edit, args=(qi, gid, text_key, ok_key), height=110
        )
        c1, c2 = st.columns([3, 1])
        c1.toggle(
            "Approved: students in this group get this",
            key=ok_key,
            on_change=_approve,
            args=(qi, gid, ok_key),
        )
        if stem.drafted and stem.text != stem.drafted:
            c2.button(
                "Restore the draft",
                key=wkey(qi, "restore", gid),
                on_click=_restore,
                args=(qi, gid, stem.drafted),
            )
        if stem.from_library:
            st.caption("Suggested from your misconception library.")
        _readers(readers)


def _readers(readers: list) -> None:
    """What a few students of the group would read (their own answer and words filled in), and who is held back."""
    usual = [fb for fb in readers if fb.state != review.CHECK and fb.text]
    held = [fb for fb in readers if fb.state == review.CHECK]
    lines = [f"**{md(state.who(fb.response))}** would read: {md(fb.text)}" for fb in usual[:2]]
    if held:
        lines.append(
            f":material/flag: {len(held)} student{'s' if len(held) != 1 else ''} of this group "
            f"({md(', '.join(state.who(fb.response) for fb in held[:4]))}{', …' if len(held) > 4 else ''}) "
            "get a neutral “explain your thinking” message until you check them on the Groups page."
        )
    if lines:
        st.caption("  \n".join(lines))


_STATE_TEXT = {
    APPROVED: "approved",
    DRAFT: "draft: not sent until you approve it",
    review.CHECK: "check: asked to explain until you decide (Groups page)",
}


def _preview(qi: int, result, rows) -> None:
    """Every student's feedback exactly as it would be sent (``review.feedback_rows``, the one renderer)."""
    overridden = dict(result.overrides)
    with st.expander(f"What each student will read ({len(rows)} students)", expanded=True):
        st.caption(
            "Only approved feedback is in the download. “{answer}” and “{own_words}” in a group's text are "
            "filled in with each student's own answer and words, never a classmate's."
        )
        table = pd.DataFrame(
            {
                "Student": [state.who(fb.response) for fb in rows],
                "Response": [fb.response.text for fb in rows],
                "Will read": [fb.text for fb in rows],
                "State": [
                    "your text for this student" if fb.response.row in overridden else _STATE_TEXT.get(fb.state, "")
                    for fb in rows
                ],
            }
        )
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "Student": st.column_config.TextColumn(width="small"),
                "Response": st.column_config.TextColumn(width="medium"),
                "Will read": st.column_config.TextColumn(width="large"),
                "State": st.column_config.TextColumn(width="small"),
            },
        )
    with st.expander("Change the feedback for one student"):
        by_row = {r.row: r for r in result.responses}
        row_key, text_key = state.init_widget(wkey(qi, "override_row"), None), wkey(qi, "override_text")
        st.selectbox(
            "Student",
            [r.row for r in result.responses],
            key=row_key,
            index=None,
            placeholder="Choose a student…",
            format_func=lambda r: f"{state.who(by_row[r])}: {state.short(by_row[r].text, 60)}",
        )
        chosen = st.session_state.get(row_key)
        if chosen is None:
            return
        current = {fb.response.row: fb.text for fb in rows}.get(chosen, "")
        shown_key = wkey(qi, "override_for")
        if st.session_state.get(shown_key) != chosen:
            st.session_state[text_key] = overridden.get(chosen, current)
            st.session_state[shown_key] = chosen
        st.text_area("Feedback for this student only", key=text_key, height=100)
        b1, b2 = st.columns(2)
        b1.button(
            "Save for this student",
            key=wkey(qi, "override_save"),
            type="primary",
            on_click=_save_override,
            args=(qi, row_key, text_key),
        )
        if chosen in overridden:
            b2.button(
                "Use the group's feedback again",
                key=wkey(qi, "override_clear"),
                on_click=_clear_override,
                args=(qi, row_key),
            )


# --- page ---------------------------------------------------------------------------------------------------

ws = state.require_analysis()
qi, result = state.current_question(ws)
st.title("Feedback")
state.show_flash()
if result.question:
    st.markdown(f"**Q{qi + 1}.** {md(result.question)}")

approved = sum(1 for s in result.stems if s.state == APPROVED)
waiting = len(result.stems) - approved
c1, c2 = st.columns([3, 1], vertical_alignment="center")
c1.progress(
    approved / len(result.stems) if result.stems else 1.0,
    text=f"{approved} of {len(result.stems)} group feedback drafts approved"
    + (f" for Q{qi + 1}" if len(ws.analysis.results) > 1 else ""),
)
c2.button(
    (f"Approve {'the' if waiting == 1 else 'all'} {counted(waiting, 'draft')}" if waiting else "All approved")
    + (f" of Q{qi + 1}" if len(ws.analysis.results) > 1 else ""),
    type="primary",
    icon=":material/done_all:",
    key=APPROVE_ALL_KEY,
    on_click=_approve_all,
    args=(qi,),
    disabled=not waiting,
    width="stretch",
    help="Approves the drafts shown on this page (this question only).",
)
if len(ws.analysis.results) > 1:
    left = [
        f"Q{i + 1}: {sum(1 for s in r.stems if s.state != APPROVED)}"
        for i, r in enumerate(ws.analysis.results)
        if i != qi and any(s.state != APPROVED for s in r.stems)
    ]
    if left:
        st.caption("Drafts waiting on other questions (pick one in the sidebar): " + ", ".join(left) + ".")
st.caption(
    "Edit a draft, then approve it. A student's feedback is their group's approved text, with {answer} and "
    "{own_words} filled in from their own response, unless you change it for that student below."
)

stems = {s.group_id: s for s in result.stems}
rendered = review.feedback_rows(result)
readers: dict[int, list] = {}
for fb in rendered:
    readers.setdefault(fb.group_id, []).append(fb)
for g in result.groups:
    if g.group_id in stems:
        title = f"**{md(g.label)}** · {g.size} student{'s' if g.size != 1 else ''} · " + state.status_shown(
            g.status, g.status_confirmed
        )
        example = g.representatives[0] if g.representatives else None
        _stem_card(qi, g.group_id, title, example, stems[g.group_id], readers.get(g.group_id, []))
loose = [r for r, lab in zip(result.responses, result.labels, strict=True) if lab == UNGROUPED]
if loose and UNGROUPED in stems:
    example = next((r.text for r in loose if not r.is_blank), None)
    _stem_card(
        qi,
        UNGROUPED,
        f"**Not grouped or blank** · {len(loose)} student{'s' if len(loose) != 1 else ''} · check-in",
        example,
        stems[UNGROUPED],
        readers.get(UNGROUPED, []),
    )
_preview(qi, result, rendered)

st.page_link("pages/tomorrow.py", label="Next: tomorrow's groups", icon=":material/arrow_forward:")
