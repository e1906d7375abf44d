"""Exports: the tables and the printable handout a teacher takes away.

* ``responses.csv`` - the ticket as read, plus ``group_id``, ``group_label``, ``check`` (1 = look at this
  student first), ``feedback`` (the current text, draft or approved) and ``next_step``;
* ``groups.csv`` - one row per group (and one for the not-grouped responses) with its stem; ``status`` says
  "(suggested)" unless an answer key or the teacher confirmed it;
* ``plan.csv`` - one row per student per question: tomorrow's group;
* ``feedback.csv`` - APPROVED feedback only, ready to paste into an LMS: one row per student per question
  (rows in = rows out) with the student identifier columns the input had (name, e-mail, id), ``question``,
  ``feedback`` and ``state``; a student whose feedback is not approved has an EMPTY feedback cell and state
  ``draft`` (the group's stem is a draft) or ``check`` (flagged: the teacher must look at them first);
* ``feedback_drafts.csv`` - the same rows with the text each student would get now and its ``state``
  (``approved``/``draft``/``check``) plus ``row``: the teacher may edit the text, set ``state`` to
  ``approved`` in a spreadsheet and pass the file to ``feedback-assistant approve`` (``approve_drafts``);
* ``rosters.csv`` - one row per next-day group with its students;
* ``handout.html`` - a one-page printable summary (groups, stems, students, the day's top misconceptions).

Every CSV goes through ``spreadsheet.write_csv`` (formula-injection safe); every value in the handout is
HTML-escaped. Per-student text comes from ``review.feedback_rows`` only (the one renderer).
"""

from __future__ import annotations

import html
import re
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd

from .feedback import ANSWER, OWN_WORDS
from .planning import student_name
from .records import (
    APPROVED,
    DRAFT,
    NOT_GROUPED,
    RETEACH,
    UNGROUPED,
    Analysis,
    ColumnMap,
    FeedbackAssistantError,
    QuestionResult,
)
from .review import CHECK, feedback_rows, next_steps
from .spreadsheet import write_csv
from .tickets import SHEET_COLUMN

SUGGESTED = "suggested"
STATE_COLUMN = "state"
FEEDBACK_STATES = (APPROVED, DRAFT, CHECK)

BLANK_LABEL = "blank"
NOT_GROUPED_LABEL = NOT_GROUPED
UNGROUPED_ROW_LABEL = f"{NOT_GROUPED} / blank"
N_REPRESENTATIVES = 3


def _label_of(result: QuestionResult, i: int) -> str:
    gid = result.labels[i]
    if gid == UNGROUPED:
        return BLANK_LABEL if result.responses[i].is_blank else NOT_GROUPED_LABEL
    return next((g.label for g in result.groups if g.group_id == gid), NOT_GROUPED_LABEL)


def responses_frame(analysis: Analysis) -> pd.DataFrame:
    """The ticket as read (all rows, all columns) plus group_id, group_label, feedback and next_step.

    Columns are aligned by ``Response.row`` (the frame's position); rows of questions that were not analysed
    get empty values.
    """
    frame = analysis.frame.copy().reset_index(drop=True)
    n = len(frame)
    gid: list = [pd.NA] * n
    label: list = [""] * n
    check: list = [pd.NA] * n
    text: list = [""] * n
    step: list = [""] * n
    for result in analysis.results:
        steps = next_steps(result)
        for i, fb in enumerate(feedback_rows(result)):
            row = fb.response.row
            gid[row] = result.labels[i]
            label[row] = _label_of(result, i)
            check[row] = int(fb.check)
            text[row] = fb.text
            step[row] = steps[i]
    frame["group_id"] = pd.array(gid, dtype="Int64")
    frame["group_label"] = label
    frame["check"] = pd.array(check, dtype="Int64")
    frame["feedback"] = text
    frame["next_step"] = step
    return frame


def status_text(status: str, confirmed: bool) -> str:
    """A group's status as exports show it: "on target" when an answer key or the teacher confirmed it, else
    "on target (suggested)"."""
    return status if confirmed or not status else f"{status} ({SUGGESTED})"


def groups_frame(analysis: Analysis) -> pd.DataFrame:
    """One row per group per question, then one for the question's not-grouped and blank responses.

    Columns: question, group_id, label, size, share, status, status_confirmed, answer, representative_1..3,
    stem, stem_state, from_library, carried_over (the name, status and stem came from the teacher's memory of
    an earlier class and wait for the teacher's confirmation).
    """
    rows = []
    for result in analysis.results:
        n = len(result.responses) or 1
        stems = {s.group_id: s for s in result.stems}
        for g in result.groups:
            reps = list(g.representatives[:N_REPRESENTATIVES]) + [""] * (N_REPRESENTATIVES - len(g.representatives))
            stem = stems.get(g.group_id)
            rows.append(
                {
                    "question": result.question,
                    "group_id": g.group_id,
                    "label": g.label,
                    "size": g.size,
                    "share": round(g.size / n, 3),
                    "status": status_text(g.status, g.status_confirmed),
                    "status_confirmed": g.status_confirmed,
                    "answer": g.answer or "",
                    **{f"representative_{k + 1}": reps[k] for k in range(N_REPRESENTATIVES)},
                    "stem": stem.text if stem else "",
                    "stem_state": stem.state if stem else "",
                    "from_library": bool(stem and stem.from_library),
                    "carried_over": g.carried_over,
                }
            )
        loose = [r for r, x in zip(result.responses, result.labels, strict=True) if x == UNGROUPED]
        if loose:
            texts = list(dict.fromkeys(" ".join(r.text.split()) for r in loose if not r.is_blank))
            reps = texts[:N_REPRESENTATIVES] + [""] * (N_REPRESENTATIVES - len(texts[:N_REPRESENTATIVES]))
            stem = stems.get(UNGROUPED)
            rows.append(
                {
                    "question": result.question,
                    "group_id": UNGROUPED,
                    "label": UNGROUPED_ROW_LABEL,
                    "size": len(loose),
                    "share": round(len(loose) / n, 3),
                    "status": "",
                    "status_confirmed": False,
                    "answer": "",
                    **{f"representative_{k + 1}": reps[k] for k in range(N_REPRESENTATIVES)},
                    "stem": stem.text if stem else "",
                    "stem_state": stem.state if stem else "",
                    "from_library": bool(stem and stem.from_library),
                    "carried_over": False,
                }
            )
    columns = [
        "question",
        "group_id",
        "label",
        "size",
        "share",
        "status",
        "status_confirmed",
        "answer",
        *[f"representative_{k + 1}" for k in range(N_REPRESENTATIVES)],
        "stem",
        "stem_state",
        "from_library",
        "carried_over",
    ]
    return pd.DataFrame(rows, columns=columns)


def plan_frame(analysis: Analysis) -> pd.DataFrame:
    """One row per student per question: question, plan_group, kind, focus, student, row."""
    rows = []
    for result in analysis.results:
        for pg in result.plan.groups:
            for student, row in zip(pg.students, pg.rows, strict=True):
                rows.append(
                    {
                        "question": result.question,
                        "plan_group": pg.name,
                        "kind": pg.kind,
                        "focus": pg.focus,
                        "student": student,
                        "row": row,
                    }
                )
    return pd.DataFrame(rows, columns=["question", "plan_group", "kind", "focus", "student", "row"])


_ID_WORDS = frozenset({"id", "name", "email", "mail", "student", "username", "user", "login", "sis", "pupil"})


def identifier_columns(frame: pd.DataFrame, columns: ColumnMap) -> list[str]:
    """The input's columns that identify a student (name, e-mail, id, class), other than the student column.

    A column counts when a word of its header is one of name / e-mail / id / student / user / login (headers
    are split on spaces, punctuation and camelCase: "Email Address", "student_id", "LastName") and it plays no
    other role (response, question, answer, key, date), or when it names the student's class: the section
    column, and the ``Sheet`` column the workbook reader adds (with several periods in one file, the period
    is what tells two "Sam"s apart). Columns are kept in the file's order.
    """
    roles = {
        c
        for c in (
            columns.response,
            columns.student,
            columns.question,
            columns.date,
            columns.answer,
            columns.key,
        )
        if c
    }
    out = []
    for col in frame.columns:
        if col in roles:
            continue
        words = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(col)).lower().replace("e-mail", "email")
        if col in (columns.section, SHEET_COLUMN) or _ID_WORDS & set(re.split(r"[^a-z0-9]+", words)):
            out.append(col)
    return out


def feedback_drafts_frame(analysis: Analysis) -> pd.DataFrame:
    """Every student's feedback as it stands, for review in a spreadsheet (``feedback_drafts.csv``).

    Columns: ``row`` (the response's row in the long table: keep it), ``student``, the input's other identifier
    columns (``identifier_columns``), ``question``, ``group``, ``check`` (1 = look at this student), ``state``
    (approved / draft / check) and ``feedback`` (the text the student would get now).
    """
    frame = analysis.frame.reset_index(drop=True)
    ids = identifier_columns(frame, analysis.columns)
    rows = []
    for result in analysis.results:
        for i, fb in enumerate(feedback_rows(result)):
            r = fb.response
            rows.append(
                {
                    "row": r.row,
                    "student": student_name(r),
                    **{c: _cell(frame, r.row, c) for c in ids},
                    "question": result.question,
                    "group": _label_of(result, i),
                    "check": int(fb.check),
                    STATE_COLUMN: fb.state,
                    "feedback": fb.text,
                }
            )
    columns = ["row", "student", *ids, "question", "group", "check", STATE_COLUMN, "feedback"]
    return pd.DataFrame(rows, columns=columns)


_LMS_DROP = ("row", "group", "check")


def _cell(frame: pd.DataFrame, row: int, column: str) -> object:
    """A frame cell as written ("" for a missing one)."""
    value: object = frame.at[row, column]
    return "" if pd.isna(value) else value  # type: ignore[call-overload]  # any cell value is a scalar


def student_feedback_frame(analysis: Analysis, approved_only: bool = True) -> pd.DataFrame:
    """Per-student feedback ready to paste into an LMS (``feedback.csv``): approved text only.

    One row per student per question (rows in = rows out): ``student``, the input's other identifier columns,
    ``question``, ``feedback`` and ``state``. A student whose feedback is not approved keeps the row with an
    empty feedback cell and state ``draft`` or ``check``.

    Args:
        analysis: the analysis.
        approved_only: False fills every cell with the current draft (for previews only; never for students).
    """
    drafts = feedback_drafts_frame(analysis)
    if approved_only:
        drafts.loc[drafts[STATE_COLUMN] != APPROVED, "feedback"] = ""
    return _lms_columns(drafts)


def _lms_columns(drafts: pd.DataFrame) -> pd.DataFrame:
    """Identifier columns, question, feedback, state (the drafts' working columns dropped)."""
    keep = [c for c in drafts.columns if c not in (*_LMS_DROP, STATE_COLUMN)]
    return drafts[[*keep, STATE_COLUMN]].reset_index(drop=True)


class DraftsFileError(FeedbackAssistantError):
    """A reviewed ``feedback_drafts.csv`` cannot be used to approve feedback."""


def approve_drafts(drafts: pd.DataFrame) -> pd.DataFrame:
    """The ``feedback.csv`` a reviewed ``feedback_drafts.csv`` gives: rows the teacher set to ``approved``
    keep their (possibly edited) text; every other row keeps an empty feedback cell and its state.

    Raises:
        DraftsFileError: a needed column is missing, a state is not approved/draft/check, or an approved row
            has no text.
    """
    needed = ["student", "question", STATE_COLUMN, "feedback"]
    missing = [c for c in needed if c not in drafts.columns]
    if missing:
        raise DraftsFileError(
            f"The drafts file has no {', '.join(repr(c) for c in missing)} column; columns are: "
            f"{', '.join(map(str, drafts.columns))}. Use the feedback_drafts.csv that analyze wrote, and only edit "
            "its 'state' and 'feedback' cells."
        )
    out = drafts.copy()
    state = out[STATE_COLUMN].fillna("").astype(str).str.strip().str.lower()
    bad = sorted(set(state) - set(FEEDBACK_STATES))
    if bad:
        rows = [int(i) + 2 for i in out.index[state.isin(bad)][:5]]
        raise DraftsFileError(
            f"The 'state' column must say approved, draft or check; rows {rows} of the drafts file say something "
            "else. Fix those cells and run approve again."
        )
    text = out["feedback"].fillna("").astype(str).str.strip()
    empty = (state == APPROVED) & (text == "")
    if empty.any():
        rows = [int(i) + 2 for i in out.index[empty][:5]]
        raise DraftsFileError(
            f"Rows {rows} of the drafts file are approved but their feedback is empty. Type the feedback or set "
            "the state back to draft."
        )
    out[STATE_COLUMN] = state
    out["feedback"] = text.where(state == APPROVED, "")
    return _lms_columns(out)


def rosters_frame(analysis: Analysis) -> pd.DataFrame:
    """One row per next-day group: question, plan_group, kind, focus, size, students ("; "-separated)."""
    rows = []
    for result in analysis.results:
        for pg in result.plan.groups:
            rows.append(
                {
                    "question": result.question,
                    "plan_group": pg.name,
                    "kind": pg.kind,
                    "focus": pg.focus,
                    "size": len(pg.rows),
                    "students": "; ".join(pg.students),
                }
            )
    return pd.DataFrame(rows, columns=["question", "plan_group", "kind", "focus", "size", "students"])


_CSS = """
body{font:10pt/1.25 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;margin:14px;max-width:1000px}
h1{font-size:14pt;margin:0 0 2px}
h2{font-size:10.5pt;margin:8px 0 2px;border-bottom:1px solid #999}
.meta{color:#444;margin:0 0 4px}
.warn{color:#8a5a00;font-weight:600}
p.line{margin:2px 0}
.whole{background:#fff3cd;border:1px solid #e0b000;padding:1px 6px}
table{border-collapse:collapse;width:100%;margin:2px 0 3px}
th,td{border:1px solid #bbb;padding:1px 4px;vertical-align:top;text-align:left}
th{background:#eee}
.st{white-space:nowrap}
.draft{color:#8a5a00;font-size:85%}
.ok{color:#1b6e20;font-size:85%}
.ph{color:#555;font-style:italic}
.n{text-align:right;white-space:nowrap}
.class{break-before:page}
.class:first-of-type{break-before:auto}
@page{size:portrait;margin:8mm}
@media print{
 body{margin:0;max-width:none;font-size:7.5pt;line-height:1.2}
 h1{font-size:11pt}
 h2{font-size:8.5pt;margin-top:5px;break-after:avoid}
 tr{break-inside:avoid}
 .whole,th{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""
PLACEHOLDER_SHOWN = {ANSWER: "[their answer]", OWN_WORDS: "[their words]"}


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _stem_html(text: str) -> str:
    """A stem for the teacher's eyes: escaped, placeholders shown as what each student will see there."""
    out = _e(text)
    for ph, shown in PLACEHOLDER_SHOWN.items():
        out = out.replace(_e(ph), f'<span class="ph">{_e(shown)}</span>')
    return out


def _common(values) -> str | None:
    found = Counter(str(v).strip() for v in values if v is not None and str(v).strip())
    return found.most_common(1)[0][0] if found else None


_TIME_ZONE = re.compile(r"\s+[A-Z]{2,5}$")


def _day(values) -> str | None:
    """The most common calendar day among date / timestamp cells ("2026/11/18 10:02:13 AM EST" -> 2026-11-18);
    a cell that is no date is kept as written."""
    days = []
    for v in values:
        text = str(v).strip() if v is not None else ""
        if not text:
            continue
        with warnings.catch_warnings():  # "could not infer format": one cell at a time, on purpose
            warnings.simplefilter("ignore")
            when = pd.to_datetime(_TIME_ZONE.sub("", text), errors="coerce")
        days.append(text if pd.isna(when) else when.date().isoformat())
    return _common(days)


def _classes(analysis: Analysis) -> list[tuple[str | None, set[int]]]:
    """(section name or None, response rows) per class, in order of first appearance (one class when the file
    names no sections)."""
    rows: dict[str | None, set[int]] = {}
    for result in analysis.results:
        for r in result.responses:
            section = str(r.section).strip() if r.section is not None and str(r.section).strip() else None
            rows.setdefault(section, set()).add(r.row)
    if len(rows) > 1 and None in rows:  # rows without a section join the first named class's page
        loose = rows.pop(None)
        rows[next(iter(rows))] |= loose
    return list(rows.items()) or [(None, set())]


def _question_html(result: QuestionResult, keep: set[int]) -> tuple[list[str], bool]:
    """The handout block of one question for one class: (html parts, whether any stem shown is a draft)."""
    responses = [r for r in result.responses if r.row in keep]
    n = len(responses) or 1
    parts = [f"<h2>{_e(result.question or 'Responses')}</h2>"]
    top = [(label, k) for label, k in result.plan.top_misconceptions[:3]]
    whole = result.plan.whole_class_reteach
    line = []
    if top:
        line.append("<b>Showed up most:</b> " + "; ".join(f"{_e(label)} ({k})" for label, k in top))
    if whole:
        line.append(f'<span class="whole"><b>Most of the class</b> shares “{_e(whole)}”: reteach it to all.</span>')
    if line:
        parts.append(f'<p class="line">{" · ".join(line)}</p>')
    stems = {s.group_id: s for s in result.stems}
    lab = dict(zip((r.row for r in result.responses), result.labels, strict=True))
    size = Counter(lab[r.row] for r in responses)
    parts.append('<table><tr><th>Group</th><th>Status</th><th class="n">Students</th><th>Feedback</th></tr>')
    rows = [(g.group_id, g.label, status_text(g.status, g.status_confirmed)) for g in result.groups]
    rows.append((UNGROUPED, UNGROUPED_ROW_LABEL, "check-in"))
    any_draft = False
    for gid, label, status in rows:
        k = size.get(gid, 0)
        if not k:
            continue
        stem = stems.get(gid)
        state = ""
        if stem is not None:
            approved = stem.state == APPROVED
            any_draft |= not approved
            state = '<span class="ok">approved</span>' if approved else '<span class="draft">draft</span>'
        parts.append(
            f"<tr><td>{_e(label)}</td><td class='st'>{_e(status)}</td><td class='n'>{k} ({k / n:.0%})</td>"
            f"<td>{_stem_html(stem.text) if stem else ''} {state}</td></tr>"
        )
    parts.append("</table>")
    flagged = [fb.response for fb in feedback_rows(result) if fb.check and fb.response.row in keep]
    if flagged:
        names = ", ".join(student_name(r) for r in flagged)
        parts.append(f'<p class="line"><b>Check first</b> (answer fits, reasoning may not): {_e(names)}</p>')
    plan = []
    for pg in result.plan.groups:
        students = [s for s, row in zip(pg.students, pg.rows, strict=False) if row in keep]
        if students:
            focus = f" <i>({_e(pg.focus)})</i>" if pg.kind != RETEACH and pg.focus else ""
            plan.append(f"<b>{_e(pg.name)}</b>{focus}: {_e(', '.join(students))}")
    if plan:
        parts.append('<p class="line"><b>Tomorrow:</b> ' + " · ".join(plan) + "</p>")
    return parts, any_draft


def handout_html(
    analysis: Analysis, title: str | None = None, *, class_name: str | None = None, date: str | None = None
) -> str:
    """A printable summary for the teacher, one page per class (Letter or A4, up to about 3 questions of 30
    students): per question the top misconceptions, every group with its status (confirmed or suggested), size
    and stem (placeholders shown as "[their words]"), who to check first, and tomorrow's groups.

    Args:
        analysis: the analysis.
        title: the heading of every page (default "<class> — <date>").
        class_name: the class when the file names no section (default: the file's section column, else the
            file name).
        date: the ticket's date (default: the file's date column, else today).

    Returns:
        a complete HTML document (inline CSS, ``@page`` and ``@media print``); every value is escaped. "Drafts not
        approved" is said on a class's page only when some feedback shown there is still a draft.
    """
    import datetime as dt

    all_responses = [r for result in analysis.results for r in result.responses]
    day = date or _day(r.date for r in all_responses) or dt.date.today().isoformat()
    fallback = class_name or Path(analysis.source_name or "Exit ticket").stem
    pages = []
    for section, keep in _classes(analysis):
        name = class_name or section or fallback
        heading = title or f"{name} — {day}"
        blocks, drafts = [], False
        for result in analysis.results:
            parts, some = _question_html(result, keep)
            blocks += parts
            drafts |= some
        note = (
            ' <span class="warn">Feedback marked draft has not been approved: it is not ready for students.</span>'
            if drafts
            else " All feedback shown is approved."
        )
        meta = f"{len(keep)} responses · {len(analysis.results)} question(s) · {analysis.source_name or ''}"
        pages.append(
            f'<section class="class"><h1>{_e(heading)}</h1><p class="meta">{_e(meta.rstrip(" ·"))}.{note}</p>'
            + "\n".join(blocks)
            + "</section>"
        )
    doc_title = title or f"{class_name or fallback} — {day}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{_e(doc_title)}</title>",
            f"<style>{_CSS}</style></head><body>",
            *pages,
            "</body></html>",
        ]
    )


OUTPUT_FILES = {
    "responses": "responses.csv",
    "groups": "groups.csv",
    "plan": "plan.csv",
    "feedback": "feedback.csv",
    "feedback_drafts": "feedback_drafts.csv",
    "rosters": "rosters.csv",
    "handout": "handout.html",
}


def write_outputs(
    analysis: Analysis, out_dir: str | Path, *, class_name: str | None = None, date: str | None = None
) -> dict[str, Path]:
    """Write every export into ``out_dir`` (created if needed); ``class_name``/``date`` title the handout.

    Returns:
        name -> path for responses, groups, plan, feedback (approved only), feedback_drafts, rosters and
        handout.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / file for name, file in OUTPUT_FILES.items()}
    write_csv(responses_frame(analysis), paths["responses"])
    write_csv(groups_frame(analysis), paths["groups"])
    write_csv(plan_frame(analysis), paths["plan"])
    write_csv(student_feedback_frame(analysis), paths["feedback"])
    write_csv(feedback_drafts_frame(analysis), paths["feedback_drafts"])
    write_csv(rosters_frame(analysis), paths["rosters"])
    paths["handout"].write_text(handout_html(analysis, class_name=class_name, date=date), encoding="utf-8")
    return paths
