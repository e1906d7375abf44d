"""Groups: a card per group; rename, mark on target, merge, split, move a response; pictures of the groups."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from feedback_assistant import review
from feedback_assistant.records import UNGROUPED
from feedback_assistant_app import pictures, state
from feedback_assistant_app.safe import md
from feedback_assistant_app.state import wkey


def _rename(qi: int, gid: int, key: str) -> None:
    state.edit_text(qi, review.rename_group, gid, key, empty="A group needs a name; the old name was kept.",
                    clean=lambda text: " ".join(text.split()))


def _status(qi: int, gid: int, key: str) -> None:
    state.edit(qi, review.set_status, gid, st.session_state[key], keep=key)


def _merge(qi: int, keep_id: int, key: str) -> None:
    other = st.session_state.get(key)
    if other is None:
        return
    names = {g.group_id: g.label for g in state.workspace().analysis.results[qi].groups}
    if state.edit(qi, review.merge_groups, keep_id, other):
        state.flash("success", f"Moved everyone in “{names.get(other)}” into “{names.get(keep_id)}”.")


def _split(qi: int, gid: int) -> None:
    if state.edit(qi, review.split_group, gid, 2):
        state.flash("success", "Group split in two; rename the new groups if needed.")


def _move(qi: int, row_key: str, to_key: str) -> None:
    row, to = st.session_state.get(row_key), st.session_state.get(to_key)
    if row is None or to is None:
        return
    if state.edit(qi, review.move_response, row, to):
        state.flash("success", "Response moved.")


def _confirm(qi: int, gid: int) -> None:
    from feedback_assistant.memory import confirm_carried_over

    if state.edit(qi, confirm_carried_over, gid):
        state.flash("success", "Confirmed: the group keeps its name and status, and its feedback is approved.")


def _move_controls(qi: int, result, rows: list[int], here: int, names: dict[int, str]) -> None:
    """Pick one response of this group and the group it belongs in."""
    by_row = {r.row: r for r in result.responses}
    targets = [g for g in names if g != here]
    if not rows or not targets:
        return
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    row_key, to_key = wkey(qi, "move_row", here), wkey(qi, "move_to", here)
    c1.selectbox(
        "Move this response",
        rows,
        key=row_key,
        format_func=lambda r: f"{state.who(by_row[r])}: {state.short(by_row[r].text, 60)}",
    )
    c2.selectbox("to", targets, key=to_key, format_func=lambda g: names[g])
    c3.button("Move", key=wkey(qi, "move_go", here), on_click=_move, args=(qi, row_key, to_key))


def _responses_table(result, rows: list[int]) -> None:
    by_row = {r.row: r for r in result.responses}
    conf = dict(zip((r.row for r in result.responses), result.confidence, strict=True))
    table = pd.DataFrame(
        {
            "Student": [state.who(by_row[r]) for r in rows],
            "Response": [by_row[r].text for r in rows],
            "Fit": [conf[r] for r in rows],
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
        },
    )


def _card(qi: int, result, g, total: int, names: dict[int, str]) -> None:
    with st.container(border=True):
        c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
        label_key = state.init_widget(wkey(qi, "label", g.group_id), g.label)
        c1.text_input("Group name", key=label_key, on_change=_rename, args=(qi, g.group_id, label_key))
        status_key = state.init_widget(wkey(qi, "status", g.group_id), g.status)
        c2.segmented_control(
            "Status",
            state.STATUS_OPTIONS,
            key=status_key,
            required=True,
            format_func=state.status_text,
            on_change=_status,
            args=(qi, g.group_id, status_key),
            help="On target: the reasoning is right. Misconception: a shared mistake to reteach.",
        )
        if g.carried_over:
            b1, b2 = st.columns([4, 1], vertical_alignment="center")
            b1.markdown(
                ":material/history: **Carried over — confirm.** The name, status and feedback come from a class "
                "you corrected before; the students are matched by what they wrote (see Fit)."
            )
            b2.button("Confirm", key=wkey(qi, "confirm", g.group_id), on_click=_confirm, args=(qi, g.group_id),
                      type="primary", icon=":material/check:", width="stretch")
        share = g.size / total if total else 0.0
        note = "" if g.status_confirmed else " · :gray[status suggested by the tool — check it]"
        answer = f" · most answered **{g.answer}**" if g.answer else ""
        st.markdown(
            f"**{g.size}** student{'s' if g.size != 1 else ''} · {share:.0%} of responses{answer}{note}"
        )
        if g.representatives:
            st.markdown("\n".join(f"- “{state.short(t, 160)}”" for t in g.representatives))
        a1, a2, a3 = st.columns([6, 2, 2], vertical_alignment="top")
        with a1.expander(f"All {g.size} responses"):
            _responses_table(result, list(g.rows))
            _move_controls(qi, result, list(g.rows), g.group_id, names)
        others = [x for x in names if x not in (g.group_id, UNGROUPED)]
        if others:
            with a2.popover("Merge…", icon=":material/merge:", width="stretch"):
                merge_key = wkey(qi, "merge_with", g.group_id)
                st.selectbox(
                    f"Bring every student of another group into “{state.short(g.label, 40)}”",
                    others,
                    key=merge_key,
                    index=None,
                    placeholder="Choose a group…",
                    format_func=lambda x: names[x],
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
st.markdown(f"**Q{qi + 1}.** {result.question}" if result.question else "")

ungrouped = [r.row for r, lab in zip(result.responses, result.labels, strict=True) if lab == UNGROUPED]
total = len(result.responses)
st.caption(
    f"{total} responses in {len(result.groups)} groups"
    + (f"; {len(ungrouped)} not grouped" if ungrouped else "")
    + (f". Answer key: {result.key}" if result.key else ". No answer key: statuses are suggestions.")
)

if result.learned_from:
    carried = sum(g.carried_over for g in result.groups)
    st.info(
        f"{md(result.learned_from)}. {carried} group{'s' if carried != 1 else ''} carried over — confirm each "
        "below; responses that matched none of them were grouped afresh.",
        icon=":material/history:",
    )

names = {g.group_id: g.label for g in result.groups}
names[UNGROUPED] = "Not grouped"

left, right = st.columns(2)
with left:
    pictures.group_sizes(result)
with right:
    pictures.response_map(ws, qi, result)

for g in result.groups:
    _card(qi, result, g, total, names)

with st.container(border=True):
    st.markdown(f"**Not grouped — {len(ungrouped)} response{'s' if len(ungrouped) != 1 else ''}**")
    if ungrouped:
        st.caption(
            "Blank responses, and responses unlike any group. Move one into a group if it belongs there."
        )
        _responses_table(result, ungrouped)
        _move_controls(qi, result, ungrouped, UNGROUPED, names)
    else:
        st.caption("Every response is in a group.")

st.page_link("pages/feedback.py", label="Next: feedback for each group", icon=":material/arrow_forward:")
