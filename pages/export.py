"""Export: download the per-student feedback, tomorrow's rosters and plan, and the printable handout."""

from __future__ import annotations

import streamlit as st

from feedback_assistant.records import APPROVED, UNGROUPED
from feedback_assistant_app import downloads, state

ws = state.require_analysis()
st.title("Download")
state.show_flash()

stems = [(r, s) for r in ws.analysis.results for s in r.stems]
waiting = [(r, s) for r, s in stems if s.state != APPROVED]
if waiting:
    overridden = {(r.question, row) for r in ws.analysis.results for row, _ in r.overrides}
    empty = 0
    for r, s in waiting:
        for resp, lab in zip(r.responses, r.labels, strict=True):
            if lab == s.group_id and (r.question, resp.row) not in overridden:
                empty += 1
    st.warning(
        f"{len(waiting)} group feedback draft{'s are' if len(waiting) != 1 else ' is'} not approved yet, so "
        f"{empty} student{'s' if empty != 1 else ''} would get an empty cell in the feedback file. "
        "Approve them on the Feedback page first."
    )
    st.page_link("pages/feedback.py", label="Go to Feedback", icon=":material/rate_review:")
else:
    st.success("All feedback is approved.")

with st.container(border=True):
    st.markdown("**For students**")
    st.caption("One row per student (and question): paste the feedback column into your gradebook or LMS.")
    st.download_button(
        "Download feedback for each student (CSV)",
        downloads.feedback_csv(ws),
        file_name=downloads.file_name(ws, "feedback", "csv"),
        mime=downloads.CSV,
        key="ex_feedback",
        on_click="ignore",
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
    c2.download_button(
        "Rosters (CSV)",
        downloads.rosters_csv(ws),
        file_name=downloads.file_name(ws, "rosters", "csv"),
        mime=downloads.CSV,
        key="ex_rosters",
        on_click="ignore",
        icon=":material/groups:",
    )
    c3.download_button(
        "Plan: one row per student (CSV)",
        downloads.plan_csv(ws),
        file_name=downloads.file_name(ws, "plan", "csv"),
        mime=downloads.CSV,
        key="ex_plan",
        on_click="ignore",
        icon=":material/table:",
    )

with st.expander("All responses with their groups (CSV)"):
    st.caption("Every response with its group, status and next step — for your records.")
    st.download_button(
        "Responses (CSV)",
        downloads.responses_csv(ws),
        file_name=downloads.file_name(ws, "responses", "csv"),
        mime=downloads.CSV,
        key="ex_responses",
        on_click="ignore",
    )

n_ungrouped = sum(1 for r in ws.analysis.results for lab in r.labels if lab == UNGROUPED)
if n_ungrouped:
    st.caption(
        f"{n_ungrouped} response{'s' if n_ungrouped != 1 else ''} not grouped: "
        "those students get the check-in feedback and are in the Check-in group."
    )
