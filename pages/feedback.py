"""Feedback: the drafted stem per group, edited and approved by the teacher; per-student overrides."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from feedback_assistant import review
from feedback_assistant.records import APPROVED, UNGROUPED
from feedback_assistant_app import state
from feedback_assistant_app.state import wkey


def _edit(qi: int, gid: int, key: str) -> None:
    state.edit_text(qi, review.edit_stem, gid, key, empty="Feedback cannot be empty; the previous text was kept.")


def _approve(qi: int, gid: int, key: str) -> None:
    state.edit(qi, review.approve_stem, gid, bool(st.session_state[key]), keep=key)


def _restore(qi: int, gid: int, drafted: str) -> None:
    state.edit(qi, review.edit_stem, gid, drafted)


def _approve_all() -> None:
    ws = st.session_state[state.WS_KEY]
    count = 0
    for qi, result in enumerate(ws.analysis.results):
        new = result
        for stem in result.stems:
            if stem.state != APPROVED:
                new = review.approve_stem(new, stem.group_id, True)
                count += 1
        if new is not result:
            state.update(qi, new)
    state.flash(
        "success", f"Approved {count} draft{'s' if count != 1 else ''}. Next: tomorrow's groups, then Export."
    )


def _save_override(qi: int, row_key: str, text_key: str) -> None:
    row, text = st.session_state.get(row_key), str(st.session_state.get(text_key) or "").strip()
    if row is None:
        return
    if state.edit(qi, review.set_override, row, text or None):
        st.session_state[row_key] = row
        state.flash("success", "Saved the feedback for this student." if text else "Override removed.")


def _clear_override(qi: int, row_key: str) -> None:
    row = st.session_state.get(row_key)
    if row is not None and state.edit(qi, review.set_override, row, None):
        st.session_state[row_key] = row
        state.flash("success", "This student gets the group's feedback again.")


def _stem_card(qi: int, gid: int, title: str, example: str | None, stem) -> None:
    with st.container(border=True):
        st.markdown(title)
        if example:
            st.caption("For example: “" + state.short(example, 160) + "”")
        text_key = state.init_widget(wkey(qi, "stem", gid), stem.text)
        st.text_area(
            "Feedback for this group", key=text_key, on_change=_edit, args=(qi, gid, text_key), height=110
        )
        c1, c2 = st.columns([3, 1])
        ok_key = state.init_widget(wkey(qi, "approved", gid), stem.state == APPROVED)
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


def _preview(qi: int, result) -> None:
    rows = [(r, text or "") for r, text in review.student_feedback(result)]
    overridden = dict(result.overrides)
    with st.expander(f"What each student will get ({len(rows)} students)"):
        table = pd.DataFrame(
            {
                "Student": [state.who(r) for r, _ in rows],
                "Response": [r.text for r, _ in rows],
                "Feedback": [text for _, text in rows],
                "Changed by you": ["yes" if r.row in overridden else "" for r, _ in rows],
            }
        )
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "Student": st.column_config.TextColumn(width="small"),
                "Response": st.column_config.TextColumn(width="medium"),
                "Feedback": st.column_config.TextColumn(width="large"),
                "Changed by you": st.column_config.TextColumn(width="small"),
            },
        )
    with st.expander("Change the feedback for one student"):
        by_row = {r.row: r for r in result.responses}
        row_key, text_key = wkey(qi, "override_row"), wkey(qi, "override_text")
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
        current = {r.row: t for r, t in rows}.get(chosen, "")
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
    st.markdown(f"**Q{qi + 1}.** {result.question}")

all_stems = [s for r in ws.analysis.results for s in r.stems]
approved = sum(1 for s in all_stems if s.state == APPROVED)
c1, c2 = st.columns([3, 1], vertical_alignment="center")
c1.progress(
    approved / len(all_stems) if all_stems else 1.0,
    text=f"{approved} of {len(all_stems)} group feedback drafts approved"
    + (f" (all {len(ws.analysis.results)} questions)" if len(ws.analysis.results) > 1 else ""),
)
waiting = len(all_stems) - approved
c2.button(
    f"Approve all {waiting} drafts" if waiting else "All approved",
    type="primary",
    icon=":material/done_all:",
    key="fb_approve_all",
    on_click=_approve_all,
    disabled=not waiting,
    width="stretch",
)
st.caption(
    "Edit a draft, then approve it. A student's feedback is their group's approved text, unless you change "
    "it for that student below."
)

stems = {s.group_id: s for s in result.stems}
for g in result.groups:
    if g.group_id in stems:
        title = (
            f"**{g.label}** · {g.size} student{'s' if g.size != 1 else ''} · {state.status_text(g.status)}"
        )
        _stem_card(
            qi, g.group_id, title, g.representatives[0] if g.representatives else None, stems[g.group_id]
        )
loose = [r for r, lab in zip(result.responses, result.labels, strict=True) if lab == UNGROUPED]
if loose and UNGROUPED in stems:
    example = next((r.text for r in loose if not r.is_blank), None)
    _stem_card(
        qi,
        UNGROUPED,
        f"**Not grouped or blank** · {len(loose)} student{'s' if len(loose) != 1 else ''} · check-in",
        example,
        stems[UNGROUPED],
    )
_preview(qi, result)

st.page_link("pages/tomorrow.py", label="Next: tomorrow's groups", icon=":material/arrow_forward:")
