"""Altair charts for the app and exports: comparison heatmap and trend, group sizes, the response map.

Altair is imported inside each function, so importing this module costs nothing. Every chart shows student
text only where the caller passes it (``response_map``); comparison charts carry no names.
"""

from __future__ import annotations

import numpy as np

from .records import NOT_GROUPED, UNGROUPED, QuestionResult

_STATUS_COLOURS = {"misconception": "#d95f02", "unclear": "#7570b3", "on target": "#1b9e77", NOT_GROUPED: "#999999"}


def heatmap(comparison):
    """Section x misconception heatmap of the share of students.

    Args:
        comparison: a ``compare.Comparison``.

    Returns:
        an Altair layered chart (rectangles coloured by share, with the percentage written in each cell).
    """
    import altair as alt
    import pandas as pd

    prev = comparison.prevalence
    counts = comparison.counts
    data = pd.DataFrame(
        [
            {
                "misconception": m,
                "section": s,
                "share": float(prev.loc[m, s]),
                "students": int(counts.loc[m, s]),
            }
            for m in prev.index
            for s in prev.columns
        ],
        columns=["misconception", "section", "share", "students"],
    )
    order = list(prev.index)
    base = alt.Chart(data).encode(
        x=alt.X("section:N", title="Section", sort=list(prev.columns)),
        y=alt.Y("misconception:N", title=None, sort=order),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("share:Q", title="Share of students", scale=alt.Scale(scheme="oranges", domain=[0, 1])),
        tooltip=[
            alt.Tooltip("section:N"),
            alt.Tooltip("misconception:N"),
            alt.Tooltip("share:Q", format=".0%"),
            alt.Tooltip("students:Q"),
        ],
    )
    text = base.mark_text(baseline="middle").encode(
        text=alt.Text("share:Q", format=".0%"),
        color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("black")),
    )
    title = comparison.question or (f"Topic {comparison.topic}" if comparison.topic else "Untitled question")
    return (rect + text).properties(
        title=_short(title), width=max(120, 90 * len(prev.columns)), height=max(60, 28 * len(order))
    )


_LOW, _HIGH = (255, 245, 235), (127, 39, 4)  # the ends of the "oranges" scheme


def _orange(share: float) -> str:
    share = min(max(float(share), 0.0), 1.0)
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(_LOW, _HIGH, strict=True))


def heatmap_html(comparison) -> str:
    """The section x misconception heatmap as one self-contained HTML page: a static table, no script.

    Every name (question, sections, misconception labels) is HTML-escaped, so a section called
    ``</script><script>...`` is text; the page loads nothing from the network.

    Args:
        comparison: a ``compare.Comparison``.

    Returns:
        the page, as text (UTF-8).
    """
    from html import escape

    prev, counts = comparison.prevalence, comparison.counts
    title = comparison.question or (f"Topic {comparison.topic}" if comparison.topic else "Untitled question")
    head = "".join(f"<th scope='col'>{escape(str(s))}</th>" for s in prev.columns)
    rows = []
    for m in prev.index:
        cells = []
        for s in prev.columns:
            share, n = float(prev.loc[m, s]), int(counts.loc[m, s])
            colour = "#fff" if share > 0.5 else "#000"
            cells.append(
                f"<td style='background:{_orange(share)};color:{colour}' "
                f"title='{escape(str(s))}: {n} student{'s' if n != 1 else ''}'>{share:.0%}</td>"
            )
        rows.append(f"<tr><th scope='row'>{escape(str(m))}</th>{''.join(cells)}</tr>")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{escape(_short(title))}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}"
        "th,td{border:1px solid #ddd;padding:.4em .7em}td{text-align:center;min-width:5em}"
        "th[scope=row]{text-align:left;font-weight:normal;max-width:28em}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>Share of each section's students in each misconception.</p>"
        f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</body></html>\n"
    )


def trend_chart(comparison):
    """Share of students per misconception over the ticket dates, one line per section.

    Returns:
        an Altair line chart (x date, y share, colour misconception, dash section); the ``Not grouped`` row is
        left out.
    """
    import altair as alt

    data = comparison.trend
    data = data[data["misconception"] != NOT_GROUPED]
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("date:N", title="Date", sort=None),
            y=alt.Y(
                "share:Q",
                title="Share of students",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("misconception:N", title="Misconception"),
            strokeDash=alt.StrokeDash("section:N", title="Section"),
            tooltip=[
                "date:N",
                "section:N",
                "misconception:N",
                alt.Tooltip("share:Q", format=".0%"),
                "students:Q",
                "responses:Q",
            ],
        )
        .properties(title="Over time", width=420, height=240)
    )


def group_sizes_chart(result: QuestionResult):
    """Bar chart of group sizes for one question, coloured by status; not-grouped responses get their own bar.

    Returns:
        an Altair bar chart.
    """
    import altair as alt
    import pandas as pd

    rows = [{"group": g.label or f"Group {g.group_id}", "size": g.size, "status": g.status} for g in result.groups]
    n_ungrouped = sum(1 for lab in result.labels if lab == UNGROUPED)
    if n_ungrouped:
        rows.append({"group": NOT_GROUPED, "size": n_ungrouped, "status": NOT_GROUPED})
    data = pd.DataFrame(rows, columns=["group", "size", "status"])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("size:Q", title="Students"),
            y=alt.Y("group:N", title=None, sort=list(data["group"])),
            color=alt.Color(
                "status:N",
                title="Status",
                scale=alt.Scale(domain=list(_STATUS_COLOURS), range=list(_STATUS_COLOURS.values())),
            ),
            tooltip=["group:N", "size:Q", "status:N"],
        )
        .properties(width=360, height=max(60, 26 * len(data)))
    )


def response_map(result: QuestionResult, coords: np.ndarray):
    """2-D map of one question's responses, coloured by group, with the response text on hover.

    Args:
        result: the question.
        coords: shape (n, 2), one point per response in ``result.responses`` order (e.g. from ``projection``).

    Returns:
        an Altair scatter chart.

    Raises:
        ValueError: ``coords`` is not (n, 2) for the n responses.
    """
    import altair as alt
    import pandas as pd

    coords = np.asarray(coords, dtype=float)
    if coords.shape != (len(result.responses), 2):
        raise ValueError(
            f"coords must have shape ({len(result.responses)}, 2), one point per response; got {coords.shape}"
        )
    names = {g.group_id: g.label or f"Group {g.group_id}" for g in result.groups}
    data = pd.DataFrame(
        {
            "x": coords[:, 0],
            "y": coords[:, 1],
            "group": [names.get(lab, NOT_GROUPED) for lab in result.labels],
            "text": [r.text for r in result.responses],
        }
    )
    return (
        alt.Chart(data)
        .mark_circle(size=70, opacity=0.8)
        .encode(
            x=alt.X("x:Q", axis=None),
            y=alt.Y("y:Q", axis=None),
            color=alt.Color("group:N", title="Group"),
            tooltip=[alt.Tooltip("group:N"), alt.Tooltip("text:N", title="Response")],
        )
        .properties(width=420, height=320)
    )


def _short(text: str, n: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"
