"""Tomorrow: the next-day groups with their students, what showed up most, and the printable handout."""

from __future__ import annotations

import streamlit as st

from feedback_assistant import review
from feedback_assistant.records import CHECK_IN, EXTENSION, RETEACH
from feedback_assistant_app import downloads, state
from feedback_assistant_app.safe import md
from feedback_assistant_app.state import wkey

_KIND = {
    RETEACH: ":material/school: Reteach",
    EXTENSION: ":material/rocket_launch: Extension",
    CHECK_IN: ":material/forum: Check in",
}


def _move(qi: int, row_key: str, to_key: str) -> None:
    row, name = st.session_state.get(row_key), st.session_state.get(to_key)
    if row is None or name is None:
        return
    if state.edit(qi, review.move_student_in_plan, row, name):
        state.flash("success", f"Moved to {md(name)}.")


def _summary(result) -> None:
    plan = result.plan
    st.subheader("What showed up most")
    if plan.top_misconceptions:
        st.markdown(
            "\n".join(
                f"{i}. **{md(label)}** — {n} student{'s' if n != 1 else ''}"
                for i, (label, n) in enumerate(plan.top_misconceptions, start=1)
            )
        )
    else:
        st.markdown("No misconception group: everyone grouped is on target or unclear.")
    if plan.whole_class_reteach:
        st.warning(
            f"More than half the class shares **{md(plan.whole_class_reteach)}**: consider reteaching it to "
            "the whole class."
        )


def _period_filter(qi: int, result) -> str | None:
    """When the ticket mixes class periods, which period's students to show (None: everyone)."""
    periods = sorted({str(r.section) for r in result.responses if r.section})
    if len(periods) < 2:
        return None
    pick = st.segmented_control(
        "Class period",
        ["All", *periods],
        key=wkey(qi, "plan_period"),
        default="All",
        format_func=md,
        required=True,
        help="The groups span every period in the file; show the students of one period.",
    )
    return None if pick in (None, "All") else pick


def _group_cards(result, period: str | None) -> None:
    by_row = {r.row: r for r in result.responses}
    shown = [
        (pg, [r for r in pg.rows if r in by_row and (period is None or str(by_row[r].section) == period)])
        for pg in result.plan.groups
    ]
    shown = [(pg, rows) for pg, rows in shown if rows]
    per_row = 3
    for start in range(0, len(shown), per_row):
        cols = st.columns(per_row)
        for col, (pg, rows) in zip(cols, shown[start : start + per_row], strict=False):
            with col.container(border=True):
                st.markdown(f"**{md(pg.name)}**")
                n = len(rows)
                st.caption(f"{_KIND.get(pg.kind, pg.kind)} · {n} student{'s' if n != 1 else ''}")
                if pg.focus and pg.focus not in pg.name:
                    st.markdown(f"Focus: {md(pg.focus)}")
                st.markdown("\n".join(f"- {md(state.who(by_row[r]))}" for r in rows))


def _move_controls(qi: int, result) -> None:
    by_row = {r.row: r for r in result.responses}
    where = {r: pg.name for pg in result.plan.groups for r in pg.rows}
    rows = sorted(by_row, key=lambda r: state.who(by_row[r]).lower())
    names = [pg.name for pg in result.plan.groups]
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    # init_widget sends "nothing chosen" to the browser after each edit, so a stale choice never stays on screen
    row_key = state.init_widget(wkey(qi, "plan_row"), None)
    to_key = state.init_widget(wkey(qi, "plan_to"), None)
    c1.selectbox(
        "Move a student",
        rows,
        key=row_key,
        index=None,
        placeholder="Choose a student…",
        format_func=lambda r: f"{state.who(by_row[r])} (now: {where.get(r, '—')})",
    )
    c2.selectbox("to", names, key=to_key, index=None, placeholder="Choose a group…")
    c3.button(
        "Move",
        key=wkey(qi, "plan_go"),
        on_click=_move,
        args=(qi, row_key, to_key),
        disabled=st.session_state.get(row_key) is None or st.session_state.get(to_key) is None,
    )


# --- page ---------------------------------------------------------------------------------------------------

ws = state.require_analysis()
qi, result = state.current_question(ws)
st.title("Tomorrow's groups")
state.show_flash()
if result.question:
    st.markdown(f"**Q{qi + 1}.** {md(result.question)}")

_summary(result)
st.subheader("Small groups")
_group_cards(result, _period_filter(qi, result))
_move_controls(qi, result)

st.subheader("Print")
st.caption("The handout lists each group's feedback and tomorrow's small groups: open it, then print it.")
downloads.handout_button(ws, key="tm_handout")
with st.expander("Preview the printable handout"):
    # The handout is built by export.handout_html, which escapes every student string.
    st.iframe(downloads.handout(ws), height=640)

st.page_link("pages/export.py", label="Next: download everything", icon=":material/arrow_forward:")
