"""Approving feedback outside the app: ``feedback-assistant approve FOLDER_OR_DRAFTS_CSV``.

``analyze`` writes ``feedback_drafts.csv`` (every student's feedback as it stands, with a ``state`` column) and a
``feedback.csv`` that holds approved text only. A teacher opens the drafts in a spreadsheet, edits any text, sets
``state`` to ``approved`` for what may go out, saves, and runs ``approve``:

1. ``feedback.csv`` is written beside the drafts file from the approved rows only (``export.approve_drafts``);
   every other student keeps an empty feedback cell and their state.
2. When ``analyze`` saved the analysis to the history (it leaves ``saved.json`` in the folder: the database, the
   teacher and the saved ticket per section), the approvals are written there too, through the public ``Store``
   API, so the app shows them: a group whose every (unflagged) student was approved with the drafted text gets
   its stem approved; any other approved student (edited text, a flagged student, or part of a group) gets the
   text as their personal feedback (an override). Saved students are matched by question and student name;
   a name that is not unique in its question is left for the app and counted in the summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .export import OUTPUT_FILES, STATE_COLUMN, DraftsFileError, approve_drafts
from .planning import student_name
from .records import APPROVED, QuestionResult
from .review import approve_stem, feedback_rows, set_override
from .spreadsheet import needs_neutralising, write_csv

SAVED_FILE = "saved.json"
"""Written by ``analyze`` beside its outputs when it saved the analysis: where ``approve`` finds it again."""


@dataclass(frozen=True, slots=True)
class ApprovalSummary:
    """What ``approve_folder`` did.

    Attributes:
        feedback_path: the ``feedback.csv`` written.
        approved: students (rows) with approved feedback.
        total: rows in the drafts file.
        questions_saved: saved questions updated in the history (0 when nothing was saved).
        unmatched: approved rows that could not be matched to one saved student.
    """

    feedback_path: Path
    approved: int
    total: int
    questions_saved: int = 0
    unmatched: int = 0


def drafts_path(path: str | Path) -> Path:
    """The drafts CSV: ``path`` itself, or ``feedback_drafts.csv`` inside the folder ``path``.

    Raises:
        DraftsFileError: nothing is there.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / OUTPUT_FILES["feedback_drafts"]
    if not p.is_file():
        raise DraftsFileError(
            f"'{p}' was not found. Pass the folder analyze wrote (it holds {OUTPUT_FILES['feedback_drafts']}) "
            "or the drafts file itself."
        )
    return p


def read_drafts(path: str | Path) -> pd.DataFrame:
    """The reviewed drafts file as text cells (a spreadsheet's save as CSV UTF-8, with or without a BOM).

    Raises:
        DraftsFileError: the file is missing or is not a CSV.
    """
    p = drafts_path(path)
    try:
        return pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DraftsFileError(
            f"'{p.name}' could not be read as a CSV ({type(exc).__name__}). Save it from your spreadsheet as "
            "'CSV UTF-8' and run approve again."
        ) from exc


def remember_saved(
    out_dir: str | Path, *, db: str | None, teacher: str, tickets: dict[str, int], rows: int | None = None
) -> Path:
    """Write ``saved.json`` into ``out_dir``: where the analysis was saved and how many rows its drafts file has
    (no student data)."""
    path = Path(out_dir) / SAVED_FILE
    info = {"db": db, "teacher": teacher, "tickets": tickets, "rows": rows}
    path.write_text(json.dumps(info, indent=1), encoding="utf-8")
    return path


def apply_approvals(result: QuestionResult, approved: dict[int, str], undecided: set[int]) -> QuestionResult:
    """The result with the teacher's approvals from a drafts file.

    Args:
        result: one saved question.
        approved: response row -> the approved text.
        undecided: rows the teacher left as draft/check (an approved stem of their group is taken back).

    Returns:
        the new result: a group whose every unflagged, not personalised student is approved with the text they
        would get anyway gets its stem approved; other approved students get their text as an override.
    """
    rows = feedback_rows(result)
    overrides = {row for row, _ in result.overrides}
    by_group: dict[int, list] = {}
    for fb in rows:
        if not fb.check and fb.response.row not in overrides:
            by_group.setdefault(fb.group_id, []).append(fb)
    stem_ids = {s.group_id for s in result.stems}
    personal: dict[int, str] = {}
    for gid, members in by_group.items():
        same = [fb for fb in members if approved.get(fb.response.row) == fb.text.strip()]
        if gid in stem_ids and len(same) == len(members):
            result = approve_stem(result, gid)
        else:
            if gid in stem_ids and any(fb.response.row in undecided for fb in members):
                result = approve_stem(result, gid, approved=False)
            personal.update((fb.response.row, fb.text) for fb in same)
    for fb in rows:
        text = approved.get(fb.response.row)
        if text is not None and (text != fb.text.strip() or fb.check or fb.response.row in overrides):
            personal[fb.response.row] = text
    for row, text in personal.items():
        result = set_override(result, row, text)
    return result


def _as_typed(cell: str) -> str:
    """A cell as the student or teacher typed it: the ``'`` our CSV writer put before a formula start removed."""
    return cell[1:] if cell.startswith("'") and needs_neutralising(cell[1:]) else cell


def _check_owner(folder: Path, db: str | None, teacher: str | None) -> None:
    """Refuse a folder whose saved analysis is another teacher's class (``teacher`` resolved as every command
    does: ``--teacher``, ``FEEDBACK_ASSISTANT_TEACHER``, the login; on a PLC server the database login)."""
    info = json.loads((folder / SAVED_FILE).read_text(encoding="utf-8"))
    from .storage import Store

    with Store(db or info.get("db"), teacher=teacher) as store:
        you = store.teacher
    owner = info.get("teacher")
    if owner is not None and owner != you:
        raise DraftsFileError(
            f"this folder's analysis was saved as {owner}'s class and you are {you}: nothing was approved or "
            "saved. Run approve as that teacher (--teacher), or pass --no-save to write feedback.csv only."
        )


def _update_store(folder: Path, drafts: pd.DataFrame, db: str | None, teacher: str | None) -> tuple[int, int]:
    """Write the approvals into the saved analysis named by ``saved.json``: (questions updated, unmatched rows)."""
    info = json.loads((folder / SAVED_FILE).read_text(encoding="utf-8"))
    if info.get("rows") is not None and int(info["rows"]) != len(drafts):
        raise DraftsFileError(
            f"{SAVED_FILE} in this folder belongs to another analysis ({info['rows']} rows, the drafts file has "
            f"{len(drafts)}). Nothing was saved to your history; feedback.csv was written. Run analyze again into "
            "an empty folder, or pass --no-save."
        )
    from .storage import Store

    state = drafts[STATE_COLUMN].str.strip().str.lower()
    text = drafts["feedback"].map(_as_typed).str.strip()
    wanted = {
        (_as_typed(q), _as_typed(s)): (st, t)
        for q, s, st, t in zip(drafts["question"], drafts["student"], state, text, strict=True)
    }
    matched: set[tuple[str, str]] = set()
    updated = 0
    with Store(db or info.get("db"), teacher=teacher) as store:
        for ticket in info.get("tickets", {}).values():
            analysis = store.load_analysis(int(ticket))
            versions = store.versions(int(ticket))
            for result in analysis.results:
                names = [student_name(r) for r in result.responses]
                approved, undecided = {}, set()
                for r, name in zip(result.responses, names, strict=True):
                    key = (result.question, name)
                    if key not in wanted or names.count(name) != 1:
                        continue
                    matched.add(key)
                    st, t = wanted[key]
                    if st == APPROVED:
                        approved[r.row] = t
                    else:
                        undecided.add(r.row)
                new = apply_approvals(result, approved, undecided)
                if new != result:
                    store.save_result(int(ticket), new, version=versions[result.question])
                    updated += 1
    unmatched = sum(1 for k, (st, _) in wanted.items() if st == APPROVED and k not in matched)
    return updated, unmatched


def approve_folder(
    path: str | Path, *, db: str | None = None, save: bool = True, teacher: str | None = None
) -> ApprovalSummary:
    """Approve from a reviewed drafts file: write ``feedback.csv`` beside it and update the saved analysis.

    Args:
        path: the folder ``analyze`` wrote, or the drafts file.
        db: the history's URL (default: the one ``saved.json`` names).
        save: also save the approvals to the history.
        teacher: who is approving (``--teacher``); None: ``FEEDBACK_ASSISTANT_TEACHER``, else the login.

    Raises:
        DraftsFileError: the drafts file is missing, unreadable or holds a bad state / an empty approved text, or
            the saved analysis is another teacher's class.
    """
    source = drafts_path(path)
    drafts = read_drafts(source)
    saved = save and (source.parent / SAVED_FILE).exists()
    if saved:
        _check_owner(source.parent, db, teacher)
    feedback = approve_drafts(drafts)
    out = source.parent / OUTPUT_FILES["feedback"]
    write_csv(feedback, out)
    updated = unmatched = 0
    if saved:
        updated, unmatched = _update_store(source.parent, drafts, db, teacher)
    return ApprovalSummary(
        feedback_path=out,
        approved=int((feedback[STATE_COLUMN] == APPROVED).sum()),
        total=len(feedback),
        questions_saved=updated,
        unmatched=unmatched,
    )


__all__ = [
    "SAVED_FILE",
    "ApprovalSummary",
    "apply_approvals",
    "approve_folder",
    "drafts_path",
    "read_drafts",
    "remember_saved",
]
