"""feedback-assistant in the browser: upload an exit ticket, review groups, approve feedback, plan tomorrow.

Run:
    streamlit run app.py                                                     # start on the Upload page
    streamlit run app.py -- --sample sample_responses/grade5_fractions.csv   # start with a sample loaded
    FEEDBACK_ASSISTANT_SAMPLE=sample_responses/grade5_fractions.csv streamlit run app.py   # same (make run)

This file only routes between the pages in ``pages/``; the pages connect widgets to the core package.
"""

from __future__ import annotations

import argparse
import os
import sys

import streamlit as st

from feedback_assistant_app import state

st.set_page_config(page_title="Feedback assistant", page_icon=":material/rate_review:", layout="wide")


def _sample_from_command_line() -> str | None:
    """``--sample FILE`` after ``--`` on the streamlit command line, or ``FEEDBACK_ASSISTANT_SAMPLE``."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--sample")
    known, _ = parser.parse_known_args(sys.argv[1:])
    return known.sample or os.environ.get("FEEDBACK_ASSISTANT_SAMPLE") or None


state.refresh_widgets()  # before any widget is drawn: widgets of edited questions show the new state
state.offer_sample(_sample_from_command_line())
ws = state.workspace()
state.keep_in_url(ws)

pages = [
    st.Page("pages/upload.py", title="Upload", icon=":material/upload_file:", default=True),
    st.Page("pages/groups.py", title="Groups", icon=":material/workspaces:"),
    st.Page("pages/feedback.py", title="Feedback", icon=":material/rate_review:"),
    st.Page("pages/tomorrow.py", title="Tomorrow", icon=":material/event:"),
    st.Page("pages/export.py", title="Export", icon=":material/download:"),
    st.Page("pages/history.py", title="History & PLC", icon=":material/history:"),
]
page = st.navigation(pages, position="top")
state.sidebar(ws)
page.run()
