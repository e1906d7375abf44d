"""Groups: a card per group; rename, mark on target, merge, split, move a response; pictures of the groups."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from feedback_assistant import fit, review
from feedback_assistant.records import APPROVED, NOT_GROUPED, ON_TARGET, UNGROUPED
from feedback_assistant.text import analysis_notices, counted, language_flags
from feedback_assistant_app import pictures, state
from feedback_assistant_app.safe import md
from feedback_assistant_app.state import wkey


def _all_responses(n: int) -> str:
    """The title of a group's list of responses: "All 5 responses", "The 1 response"."""
    return f"The {counted(n, 'response')}" if n == 1 else f"All {counted(n, 'response')}"


def _rename(qi: int, gid: int, key: str) -> None:
    state.edit_text(
        qi,
        review.rename_group,
        gid,
        key,
        empty="A group needs a name; the old name was kept.",
        clean=lambda text: " ".join(text.split()),
    )


def _status(qi: int, gid: int, key: str) -> None:
    status = st.session_state.get(key)
    if status is None:  # clicking the chosen status again clears the control; the status stays as it was
        state.reset_widgets(question=qi)
        return
    before = _stem_of(state.workspace().analysis.results[qi], gid)
    if state.edit(qi, review.set_status, gid, status, keep=key):
        after = _stem_of(state.workspace().analysis.results[qi], gid)
        if before is not None and after is not None and (after.text, after.state) != (before.text, before.state):
            state.flash(
                "warning" if before.state == APPROVED else "success",
                f"Status set to {status}. The group's feedback was drafted again for the new status"
                + (" and needs your approval again" if before.state == APPROVED else "")
                + ": see the Feedback page.",
            )


def _stem_of(result, gid: int):
    return next((s for s in result.stems if s.group_id == gid), None)


def _merge(qi: int, keep_id: int, key: str) -> None:
    other = st.session_state.get(key)
    if other is None:
        return
    names = {g.group_id: g.label for g in state.workspace().analysis.results[qi].groups}
    if other not in names:
        _stale(qi)
        return
    if state.edit(qi, review.merge_groups, keep_id, other):
        state.flash("success", f"Moved everyone in “{md(names.get(other))}” into “{md(names.get(keep_id))}”.")


def _split(qi: int, gid: int) -> None:
    if state.edit(qi, review.split_group, gid, 2):
        state.flash("success", "Group split in two; rename the new groups if needed.")


def _stale(qi: int) -> None:
    """A choice made on a screen drawn before the last change: ask again, in the teacher's words."""
    state.flash("warning", "The groups changed since that list was drawn. Pick the group again.")
    state.reset_widgets(question=qi)


def _move(qi: int, row_key: str, to_key: str) -> None:
    row, to = st.session_state.get(row_key), st.session_state.get(to_key)
    if row is None or to is None:
        return
    result = state.workspace().analysis.results[qi]
    if (to != UNGROUPED and to not in {g.group_id for g in result.groups}) or row not in {
        r.row for r in result.responses
    }:
        _stale(qi)
        return
    if state.edit(qi, review.move_response, row, to):
        state.flash("success", "Response moved.")


def _confirm(qi: int, gid: int) -> None:
    from feedback_assistant.memory import confirm_carried_over

    if state.edit(qi, confirm_carried_over, gid):
        state.flash("success", "Confirmed: the group keeps its name and status, and its feedback is approved.")


def _keep(qi: int, row: int) -> None:
    if state.edit(qi, review.confirm_response, row):
        state.flash("success", "Kept in the group: this student now gets the group's feedback.")


def _check_these(qi: int, result, g, flagged: list[int]) -> None:
    """The group's flagged members: their own words do not fit the group's reasoning (e.g. the right answer
    for a wrong reason), so they get a neutral "explain your thinking" message until the teacher decides."""
    if not flagged:
        return
    by_row = {r.row: r for r in result.responses}
    why = (
        "their answer or words do not match this group's reasoning (right answer, wrong reason?)"
        if g.status == ON_TARGET
        else "their words sit with the students who are on target"
    )
    with st.container(border=True):
        st.markdown(
            f":material/flag: **Check these {len(flagged)}** — {why}. Until you decide, they get a neutral "
            "“explain your thinking” message, not this group's feedback, and meet in tomorrow's check-in group. "
            "Keep them here, or move them "
            f"(under “{_all_responses(g.size)}”)."
        )
        for row in flagged:
            r = by_row[row]
            c1, c2 = st.columns([5, 1], vertical_alignment="center")
            c1.markdown(f"**{md(state.who(r))}**: “{md(state.short(r.text, 140))}”")
            c2.button("Keep here", key=wkey(qi, "keep", row), on_click=_keep, args=(qi, row), width="stretch")


def _move_controls(qi: int, result, rows: list[int], here: int, names: dict[int, str]) -> None:
    """Pick one response of this group and the group it belongs in.

    Both boxes start from the current groups after every edit (``init_widget`` sends the value to the browser),
    so a renamed, merged or split group never stays on screen under its old name.
    """
    by_row = {r.row: r for r in result.responses}
    targets = [g for g in names if g != here]
    if not rows or not targets:
        return
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    row_key = state.init_widget(wkey(qi, "move_row", here), rows[0])
    to_key = state.init_widget(wkey(qi, "move_to", here), targets[0])
    c1.selectbox(
        "Move this response",
        rows,
        key=row_key,
        format_func=lambda r: f"{state.who(by_row[r])}: {state.short(by_row[r].text, 60)}",
    )
    c2.selectbox("to", targets, key=to_key, format_func=lambda g: names.get(g, "(pick again)"))
    c3.button("Move", key=wkey(qi, "move_go", here), on_click=_move, args=(qi, row_key, to_key))


def _responses_table(result, rows: list[int], flags: dict[int, bool]) -> None:
    by_row = {r.row: r for r in result.responses}
    conf = dict(zip((r.row for r in result.responses), result.confidence, strict=True))
    language = {
        r.row: f"written in {name}"
        for r, name in zip(result.responses, language_flags([x.text for x in result.responses]), strict=True)
        if name
    }
    table = pd.DataFrame(
        {
            "Student": [state.who(by_row[r]) for r in rows],
            "Response": [by_row[r].text for r in rows],
            "Fit": [conf[r] for r in rows],
            "Check": ["check this student" if flags.get(r) else language.get(r, "") for r in rows],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "Student": st.column_config.TextColumn(width="small"),
            "Response": st.column_config.TextColumn(width="large"),
            "Fit": st.column_config.ProgressColumn(
                "Fit",
                help="How surely the response belongs to this group",
                min_value=0.0,
                max_value=1.0,
                format="percent",
            ),
            "Check": st.column_config.TextColumn(
                "Check", help="Flagged: the response does not fit the group's reasoning; look at it first"
            ),
        },
    )


def _card(qi: int, result, g, total: int, names: dict[int, str], flags: dict[int, bool]) -> None:
    with st.container(border=True):
        c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
        label_key = state.init_widget(wkey(qi, "label", g.group_id), g.label)
        c1.text_input("Group name", key=label_key, on_change=_rename, args=(qi, g.group_id, label_key))
        status_key = state.init_widget(wkey(qi, "status", g.group_id), g.status if g.status_confirmed else None)
        c2.segmented_control(
            "Status" if g.status_confirmed else f"Status — suggested: {g.status} (pick one to confirm)",
            state.STATUS_OPTIONS,
            key=status_key,
            format_func=state.status_text,
            on_change=_status,
            args=(qi, g.group_id, status_key),
            help="On target: the reasoning is right. Misconception: a shared mistake to reteach. Until you pick "
            "one (or give the correct answer on the Upload page), the status is only the tool's suggestion.",
        )
        if g.carried_over:
            b1, b2 = st.columns([4, 1], vertical_alignment="center")
            b1.markdown(
                ":material/history: **Carried over — confirm.** The name, status and feedback come from a class "
                "you corrected before; the students are matched by what they wrote (see Fit)."
            )
            b2.button(
                "Confirm",
                key=wkey(qi, "confirm", g.group_id),
                on_click=_confirm,
                args=(qi, g.group_id),
                type="primary",
                icon=":material/check:",
                width="stretch",
            )
        share = g.size / total if total else 0.0
        note = "" if g.status_confirmed else f" · {state.status_shown(g.status, False)}"
        answer = f" · most answered **{md(g.answer)}**" if g.answer else ""
        st.markdown(f"**{g.size}** student{'s' if g.size != 1 else ''} · {share:.0%} of responses{answer}{note}")
        if g.representatives:
            st.markdown("\n".join(f"- “{md(state.short(t, 160))}”" for t in g.representatives))
        flagged = [r for r in g.rows if flags.get(r)]
        _check_these(qi, result, g, flagged)
        a1, a2, a3 = st.columns([6, 2, 2], vertical_alignment="top")
        with a1.expander(_all_responses(g.size)):
            _responses_table(result, list(g.rows), flags)
            # flagged students first: they are the ones a teacher most often moves
            _move_controls(qi, result, flagged + [r for r in g.rows if not flags.get(r)], g.group_id, names)
        others = [x for x in names if x not in (g.group_id, UNGROUPED)]
        if others:
            with a2.popover("Merge…", icon=":material/merge:", width="stretch"):
                merge_key = state.init_widget(wkey(qi, "merge_with", g.group_id), None)
                st.selectbox(
                    f"Bring every student of another group into “{md(state.short(g.label, 40))}”",
                    others,
                    key=merge_key,
                    index=None,
                    placeholder="Choose a group…",
                    format_func=lambda x: names.get(x, "(pick again)"),
                )
                st.button(
                    "Merge",
                    key=wkey(qi, "merge_go", g.group_id),
                    on_click=_merge,
                    type="primary",
                    args=(qi, g.group_id, merge_key),
                )
        if g.size >= 2:
            a3.button(
                "Split in two",
                key=wkey(qi, "split", g.group_id),
                on_click=_split,
                args=(qi, g.group_id),
                icon=":material/call_split:",
                width="stretch",
            )


# --- page ---------------------------------------------------------------------------------------------------

ws = state.require_analysis()
qi, result = state.current_question(ws)
st.title("Groups")
state.show_flash()
st.markdown(f"**Q{qi + 1}.** {md(result.question)}" if result.question else "")

ungrouped = [r.row for r, lab in zip(result.responses, result.labels, strict=True) if lab == UNGROUPED]
total = len(result.responses)
st.caption(
    f"{total} responses in {len(result.groups)} groups"
    + (f"; {len(ungrouped)} not grouped" if ungrouped else "")
    + (f". Answer key: {md(result.key)}" if result.key else ". No answer key: statuses are suggestions.")
)
for note in analysis_notices([result]):  # responses over the length limit, responses in another language
    st.info(md(note), icon=":material/translate:")

if result.learned_from:
    carried = sum(g.carried_over for g in result.groups)
    st.info(
        f"{md(result.learned_from)}. {carried} group{'s' if carried != 1 else ''} carried over — confirm each "
        "below; responses that matched none of them were grouped afresh.",
        icon=":material/history:",
    )

names = {g.group_id: g.label for g in result.groups}
names[UNGROUPED] = NOT_GROUPED

left, right = st.columns(2)
with left:
    pictures.group_sizes(result)
with right:
    pictures.response_map(ws, qi, result)

flags = dict(zip((r.row for r in result.responses), fit.check_flags(result), strict=True))
for g in result.groups:
    _card(qi, result, g, total, names, flags)

with st.container(border=True):
    st.markdown(f"**{NOT_GROUPED} — {len(ungrouped)} response{'s' if len(ungrouped) != 1 else ''}**")
    if ungrouped:
        st.caption("Blank responses, and responses unlike any group. Move one into a group if it belongs there.")
        _responses_table(result, ungrouped, flags)
        _move_controls(qi, result, ungrouped, UNGROUPED, names)
    else:
        st.caption("Every response is in a group.")

st.page_link("pages/feedback.py", label="Next: feedback for each group", icon=":material/arrow_forward:")
