"""Export: download the per-student feedback, tomorrow's rosters and plan, and the printable handout."""

from __future__ import annotations

import streamlit as st

from feedback_assistant import review
from feedback_assistant.records import APPROVED, UNGROUPED
from feedback_assistant_app import downloads, state


def _csv_button(where, ws, label: str, data: bytes, stem: str, **kwargs) -> None:
    """A CSV download button named after the ticket (``<ticket>-<stem>.csv``); the page does not re-run."""
    where.download_button(
        label,
        data,
        file_name=downloads.file_name(ws, stem, "csv"),
        mime=downloads.CSV,
        key=f"ex_{stem}",
        on_click="ignore",
        **kwargs,
    )


ws = state.require_analysis()
st.title("Download")
state.show_flash()

stems = [(r, s) for r in ws.analysis.results for s in r.stems]
waiting = [(r, s) for r, s in stems if s.state != APPROVED]
held = [fb for r in ws.analysis.results for fb in review.feedback_rows(r) if not fb.approved]
if waiting or held:
    checks = sum(1 for fb in held if fb.state == review.CHECK)
    st.warning(
        f"{len(held)} student{'s' if len(held) != 1 else ''} would get an empty cell in the feedback file: "
        + (
            f"{len(waiting)} group feedback draft{'s are' if len(waiting) != 1 else ' is'} not approved yet "
            "(approve them on the Feedback page)"
            if waiting
            else "every group's feedback is approved"
        )
        + (
            f"; {checks} student{'s are' if checks != 1 else ' is'} flagged “check these” (keep or move them on "
            "the Groups page)."
            if checks
            else "."
        )
    )
    st.page_link("pages/feedback.py", label="Go to Feedback", icon=":material/rate_review:")
    if checks:
        st.page_link("pages/groups.py", label="Go to Groups", icon=":material/workspaces:")
else:
    st.success("All feedback is approved.")

with st.container(border=True):
    st.markdown("**For students**")
    st.caption("One row per student (and question): paste the feedback column into your gradebook or LMS.")
    _csv_button(
        st,
        ws,
        "Download feedback for each student (CSV)",
        downloads.feedback_csv(ws),
        "feedback",
        type="primary",
        icon=":material/download:",
    )

with st.container(border=True):
    st.markdown("**For tomorrow**")
    st.caption(
        "The printable handout has the groups, their feedback and tomorrow's students; the rosters list "
        "each small group with its students; the plan has one row per student."
    )
    c1, c2, c3 = st.columns([1, 1, 1.3])
    with c1:
        downloads.handout_button(ws, key="ex_handout", type="primary")
    _csv_button(c2, ws, "Rosters (CSV)", downloads.rosters_csv(ws), "rosters", icon=":material/groups:")
    _csv_button(c3, ws, "Plan: one row per student (CSV)", downloads.plan_csv(ws), "plan", icon=":material/table:")

with st.expander("All responses with their groups (CSV)"):
    st.caption("Every response with its group, status and next step — for your records.")
    _csv_button(st, ws, "Responses (CSV)", downloads.responses_csv(ws), "responses")

n_ungrouped = sum(1 for r in ws.analysis.results for lab in r.labels if lab == UNGROUPED)
if n_ungrouped:
    st.caption(
        f"{n_ungrouped} response{'s' if n_ungrouped != 1 else ''} not grouped: "
        "those students get the check-in feedback and are in the Check-in group."
    )
