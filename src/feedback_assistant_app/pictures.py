"""Pictures: the charts of ``feedback_assistant.charts`` on the pages, with the 2-D map positions cached."""

from __future__ import annotations

import numpy as np
import streamlit as st

from feedback_assistant import charts
from feedback_assistant.projection import project_2d
from feedback_assistant.records import QuestionResult

from . import state
from .safe import md


def group_sizes(result: QuestionResult) -> None:
    """Bar chart of group sizes, coloured by status."""
    st.markdown("**How many students in each group**")
    chart = charts.group_sizes_chart(result)
    st.altair_chart(chart, width="stretch", height=_size(chart, "height", 200) + 70)


def coordinates(ws: state.Workspace, qi: int, result: QuestionResult) -> np.ndarray | None:
    """Map positions of question ``qi``'s responses, shape (n, 2), computed once per workspace (edits move
    responses between groups, not in embedding space); None when the result has no embeddings."""
    if result.vectors is None or len(result.vectors) != len(result.responses):
        return None
    cached = ws.coords.get(qi)
    if cached is None or len(cached) != len(result.responses):
        cached = project_2d(result.vectors)
        ws.coords[qi] = cached
    return cached


def response_map(ws: state.Workspace, qi: int, result: QuestionResult) -> None:
    """2-D map of the responses coloured by group; the response text shows on hover."""
    st.markdown("**Map of the responses** · similar answers sit close together; point at a dot to read it")
    coords = coordinates(ws, qi, result)
    if coords is None:
        st.caption("The map is not available for this ticket.")
        return
    chart = charts.response_map(result, coords)
    st.altair_chart(chart, width="stretch", height=_size(chart, "height", 320) + 20)


def _size(chart, name: str, default: int) -> int:
    """The chart's own height in pixels.

    Streamlit 1.67 sizes the element itself and ignores the chart's height (a layered heatmap collapses to a
    few pixels, bar labels get dropped), so the pages pass this plus room for the title, axes and legend.
    """
    value = getattr(chart, name, None)
    return value if isinstance(value, int) else default


def comparison(comp) -> None:
    """The PLC comparison: share of each class in each misconception, the trend over days, examples."""
    shared = comp.shared()
    if shared:
        st.markdown("**Seen in every class:** " + "; ".join(md(s) for s in shared))
    heat = charts.heatmap(comp)
    st.altair_chart(heat, width="stretch", height=_size(heat, "height", 120) + 150)
    trend = comp.trend
    if trend is not None and len(trend) and trend["date"].nunique() > 1:
        st.markdown("**Over time**")
        chart = charts.trend_chart(comp)
        st.altair_chart(chart, width="stretch", height=_size(chart, "height", 240) + 120)
    if comp.examples:
        with st.expander("Example responses for each row"):
            for name, examples in comp.examples.items():
                if examples:
                    st.markdown(f"**{md(name)}**")
                    st.markdown("\n".join(f"- {md(e)}" for e in examples))
