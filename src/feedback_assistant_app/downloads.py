"""Download buttons for the exports (the bytes come from ``feedback_assistant.export``, made from what is saved in
the history: ``state.saved_analysis``)."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from feedback_assistant import export
from feedback_assistant.spreadsheet import to_csv_bytes

from .state import Workspace, saved_analysis

CSV = "text/csv"
HTML = "text/html"


def file_name(ws: Workspace, what: str, suffix: str) -> str:
    """``<source file stem>-<what>.<suffix>``, safe on every operating system."""
    stem = Path(ws.analysis.source_name or "exit-ticket").stem
    stem = re.sub(r"[^\w\-]+", "_", stem).strip("_") or "exit-ticket"
    return f"{stem}-{what}.{suffix}"


def handout(ws: Workspace) -> str:
    """The printable handout for the current state of the work, titled with the class name and date the
    teacher gave on Upload (or that the history saved it under)."""
    return ws.remember(
        "handout",
        lambda: export.handout_html(
            saved_analysis(ws),
            class_name=ws.details.get("section") or None,
            date=ws.details.get("date") or None,
        ),
    )


def feedback_csv(ws: Workspace) -> bytes:
    """Per-student feedback; a group whose feedback is still a draft leaves its students' cells empty."""
    return ws.remember(
        "feedback", lambda: to_csv_bytes(export.student_feedback_frame(saved_analysis(ws), approved_only=True))
    )


def rosters_csv(ws: Workspace) -> bytes:
    return ws.remember("rosters", lambda: to_csv_bytes(export.rosters_frame(saved_analysis(ws))))


def plan_csv(ws: Workspace) -> bytes:
    return ws.remember("plan", lambda: to_csv_bytes(export.plan_frame(saved_analysis(ws))))


def responses_csv(ws: Workspace) -> bytes:
    return ws.remember("responses", lambda: to_csv_bytes(export.responses_frame(saved_analysis(ws))))


def handout_button(ws: Workspace, key: str, **kwargs) -> None:
    st.download_button(
        "Handout to print (HTML)",
        handout(ws).encode("utf-8"),
        file_name=file_name(ws, "handout", "html"),
        mime=HTML,
        key=key,
        on_click="ignore",
        icon=":material/print:",
        **kwargs,
    )
