"""Turning the shared records into database rows and back, and splitting a ticket by section.

``storage.Store`` decides when (one transaction per public call); this module decides what: ``write_result`` /
``load_result`` / ``update_result`` for one question of one ticket, ``split_by_section`` for files that hold
several classes. Vectors are stored as little-endian float32 bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import sqlalchemy as sa

from . import storage_schema as t
from .records import (
    UNGROUPED,
    Analysis,
    FeedbackStem,
    Group,
    Plan,
    PlanGroup,
    QuestionResult,
    Response,
    RowAccountingError,
)

UNNAMED_SECTION = "Unnamed section"
"""Where responses go that have no section (no section column and no --section)."""

# ----------------------------------------------------------------------------------------------- helpers


def blob(vector) -> bytes | None:
    return None if vector is None else np.ascontiguousarray(vector, dtype="<f4").tobytes()


def unblob(data: bytes | None) -> np.ndarray | None:
    return None if data is None else np.frombuffer(data, dtype="<f4").copy()


def unblob_rows(blobs: Sequence[bytes | None]) -> np.ndarray | None:
    """The stored vectors as one (n, dim) array, or None when there are none or any row has none."""
    vecs = [unblob(b) for b in blobs]
    if not vecs or any(v is None for v in vecs):
        return None
    return np.vstack([v for v in vecs if v is not None])


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def question_key(text: str, topic: str | None) -> str:
    """The identity of a question across tickets: its text, or for an untitled question ("" - a file with one
    question and no question column) its topic, so untitled tickets of different topics stay apart."""
    if str(text).strip():
        return text_hash(text)
    return text_hash("\x00untitled\x00" + (topic or "").strip().lower())


def normalise_date(value) -> str:
    """An ISO date (``YYYY-MM-DD``) when ``value`` reads as one, else ``value`` as written."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return dt.date.today().isoformat()
    text = str(value).strip()
    if not text:
        return dt.date.today().isoformat()
    try:
        import pandas as pd

        return pd.Timestamp(text).date().isoformat()
    except (ValueError, TypeError, OverflowError):
        return text


def frame_to_text(frame) -> str | None:
    if frame is None or not hasattr(frame, "to_dict"):
        return None
    data = frame.to_dict(orient="split")
    return json.dumps({"columns": [str(c) for c in data["columns"]], "data": data["data"]}, default=str)


def frame_from_text(text: str | None, responses: list[Response]):
    import pandas as pd

    if text is None:
        rows = sorted(responses, key=lambda r: r.row)
        return pd.DataFrame(
            {
                "student": [r.student for r in rows],
                "question": [r.question for r in rows],
                "response": [r.text for r in rows],
            }
        )
    data = json.loads(text)
    return pd.DataFrame(data["data"], columns=data["columns"])


def _centroid(result: QuestionResult, group: Group) -> bytes | None:
    if result.vectors is None or not group.rows:
        return None
    position = {r.row: i for i, r in enumerate(result.responses)}
    idx = [position[r] for r in group.rows if r in position]
    if not idx:
        return None
    c = np.asarray(result.vectors, dtype=np.float64)[idx].mean(axis=0)
    norm = np.linalg.norm(c)
    return blob(c / norm if norm > 0 else c)


# ----------------------------------------------------------------------------------------------- splitting


def _section_of(response: Response) -> str:
    value = response.section
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return UNNAMED_SECTION
    return str(value).strip() or UNNAMED_SECTION


def _remap_result(result: QuestionResult, keep: set[int], new_row: dict[int, int]) -> QuestionResult:
    """The part of ``result`` whose response rows are in ``keep``, with rows renumbered by ``new_row``."""
    idx = [i for i, r in enumerate(result.responses) if r.row in keep]
    responses = tuple(replace(result.responses[i], row=new_row[result.responses[i].row]) for i in idx)
    texts = {r.text for r in responses}
    groups, kept_ids = [], set()
    for g in result.groups:
        rows = tuple(new_row[r] for r in g.rows if r in keep)
        if not rows:
            continue
        reps = tuple(x for x in g.representatives if x in texts)
        if not reps:
            by_row = {r.row: r.text for r in responses}
            reps = tuple(by_row[r] for r in rows[:3])
        groups.append(replace(g, rows=rows, representatives=reps))
        kept_ids.add(g.group_id)
    size = {g.label: 0 for g in groups}
    for g in groups:
        size[g.label] += g.size
    plan_groups = []
    for pg in result.plan.groups:
        pairs = [(s, r) for s, r in zip(pg.students, pg.rows, strict=False) if r in keep]
        if pairs:
            plan_groups.append(
                replace(pg, students=tuple(s for s, _ in pairs), rows=tuple(new_row[r] for _, r in pairs))
            )
    top = tuple((label, size[label]) for label, _ in result.plan.top_misconceptions if size.get(label))
    vectors = None if result.vectors is None else np.asarray(result.vectors)[idx]
    return replace(
        result,
        responses=responses,
        labels=tuple(result.labels[i] for i in idx),
        confidence=tuple(result.confidence[i] for i in idx),
        groups=tuple(groups),
        stems=tuple(
            s
            for s in result.stems
            if s.group_id in kept_ids or (s.group_id == UNGROUPED and UNGROUPED in (result.labels[i] for i in idx))
        ),
        plan=replace(result.plan, groups=tuple(plan_groups), top_misconceptions=top),
        overrides=tuple((new_row[r], text) for r, text in result.overrides if r in keep),
        vectors=vectors,
    )


def split_by_section(analysis: Analysis, section: str | None = None) -> dict[str, Analysis]:
    """One ``Analysis`` per section (see the module docstring), each with rows renumbered from 0.

    Args:
        analysis: the analysed ticket.
        section: put everything under this section instead of the responses' own sections.

    Returns:
        section name -> that section's analysis, in order of first appearance.
    """
    if section is not None and str(section).strip():
        return {str(section).strip(): analysis}
    order: dict[str, list[int]] = {}
    for result in analysis.results:
        for r in result.responses:
            order.setdefault(_section_of(r), []).append(r.row)
    if len(order) <= 1:
        return {next(iter(order), UNNAMED_SECTION): analysis}
    frame = analysis.frame
    out = {}
    for name, rows in order.items():
        rows = sorted(set(rows))
        keep, new_row = set(rows), {old: new for new, old in enumerate(rows)}
        sub = frame
        if frame is not None and hasattr(frame, "iloc") and len(frame) > max(rows):
            sub = frame.iloc[rows].reset_index(drop=True)
        out[name] = replace(
            analysis, frame=sub, results=tuple(_remap_result(r, keep, new_row) for r in analysis.results)
        )
    return out


# ----------------------------------------------------------------------------------------------- rows


def write_result(conn, tq: int, result: QuestionResult, owner: str) -> None:
    """Insert a question's responses, groups, stems, plan and overrides under ticket question ``tq``."""
    vectors = None if result.vectors is None else np.asarray(result.vectors)
    if vectors is not None and len(vectors) != len(result.responses):
        raise RowAccountingError(
            f"question {result.question!r} has {len(result.responses)} responses but "
            f"{len(vectors)} vectors; re-run the analysis."
        )
    if result.responses:
        conn.execute(
            t.responses.insert(),
            [
                {
                    "ticket_question_id": tq,
                    "owner": owner,
                    "row": r.row,
                    "source_row": r.source_row,
                    "student": str(r.student),
                    "text": str(r.text),
                    "answer": r.answer,
                    "section": None if r.section is None else str(r.section),
                    "date": None if r.date is None else str(r.date),
                    "is_blank": bool(r.is_blank),
                    "label": int(result.labels[i]),
                    "confidence": float(result.confidence[i]),
                    "vector": None if vectors is None else blob(vectors[i]),
                }
                for i, r in enumerate(result.responses)
            ],
        )
    if result.groups:
        conn.execute(
            t.groups.insert(),
            [
                {"ticket_question_id": tq, "owner": owner, **_group_row(result, g, i)}
                for i, g in enumerate(result.groups)
            ],
        )
    if result.stems:
        conn.execute(
            t.stems.insert(),
            [{"ticket_question_id": tq, "owner": owner, **_stem_row(s, i)} for i, s in enumerate(result.stems)],
        )
    _write_plan(conn, tq, result.plan, owner)
    _write_overrides(conn, tq, result.overrides, owner)


def _group_row(result: QuestionResult, g: Group, position: int, centroid=True) -> dict:
    row = {
        "group_id": g.group_id,
        "position": position,
        "label": g.label,
        "rows": [int(x) for x in g.rows],
        "representatives": list(g.representatives),
        "status": g.status,
        "status_confirmed": bool(g.status_confirmed),
        "answer": g.answer,
        "terms": list(g.terms),
        "carried_over": bool(g.carried_over),
    }
    if centroid:
        row["centroid"] = _centroid(result, g)
    return row


def _stem_row(s: FeedbackStem, position: int) -> dict:
    return {
        "group_id": s.group_id,
        "position": position,
        "text": s.text,
        "state": s.state,
        "drafted": s.drafted,
        "kind": s.kind,
        "from_library": bool(s.from_library),
    }


def _write_overrides(conn, tq: int, overrides, owner: str) -> None:
    if overrides:
        conn.execute(
            t.overrides.insert(),
            [
                {"ticket_question_id": tq, "owner": owner, "position": i, "row": int(r), "text": text}
                for i, (r, text) in enumerate(overrides)
            ],
        )


def _write_plan(conn, tq: int, plan: Plan, owner: str) -> None:
    plan_id = conn.execute(
        t.plans.insert().values(
            ticket_question_id=tq,
            owner=owner,
            top_misconceptions=[[label, int(n)] for label, n in plan.top_misconceptions],
            whole_class_reteach=plan.whole_class_reteach,
        )
    ).inserted_primary_key[0]
    for i, pg in enumerate(plan.groups):
        pg_id = conn.execute(
            t.plan_groups.insert().values(
                plan_id=plan_id,
                owner=owner,
                position=i,
                name=pg.name,
                kind=pg.kind,
                focus=pg.focus,
                source_groups=[int(x) for x in pg.source_groups],
            )
        ).inserted_primary_key[0]
        members = list(zip(pg.students, pg.rows, strict=False))
        if members:
            conn.execute(
                t.plan_members.insert(),
                [
                    {"plan_group_id": pg_id, "owner": owner, "position": j, "student": str(s), "row": int(r)}
                    for j, (s, r) in enumerate(members)
                ],
            )


def _delete_plan(conn, tq: int) -> None:
    plan_ids = sa.select(t.plans.c.id).where(t.plans.c.ticket_question_id == tq)
    pg_ids = sa.select(t.plan_groups.c.id).where(t.plan_groups.c.plan_id.in_(plan_ids))
    conn.execute(sa.delete(t.plan_members).where(t.plan_members.c.plan_group_id.in_(pg_ids)))
    conn.execute(sa.delete(t.plan_groups).where(t.plan_groups.c.plan_id.in_(plan_ids)))
    conn.execute(sa.delete(t.plans).where(t.plans.c.ticket_question_id == tq))


def _raw(conn, sql: str, params: tuple) -> list[tuple]:
    """Plain tuples from the driver, inside ``conn``'s transaction (thousands of rows without Row objects)."""
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(sql.replace("?", "%s") if conn.dialect.name == "postgresql" else sql, params)
        return cur.fetchall()
    finally:
        cur.close()


def saved_labels(conn, tq: int) -> dict[int, tuple[int, float]]:
    """row -> (label, confidence) of the responses saved under ticket question ``tq``."""
    return {
        row: (label, conf)
        for row, label, conf in _raw(
            conn, "SELECT row, label, confidence FROM responses WHERE ticket_question_id = ?", (tq,)
        )
    }


def update_result(
    conn, tq: int, result: QuestionResult, owner: str, saved: dict[int, tuple[int, float]] | None = None
) -> dict[str, int]:
    """Write only what differs between the saved question ``tq`` and ``result`` (the teacher's edit).

    Responses get their label and confidence updated where they changed; groups and stems are inserted,
    updated or deleted one by one (by group id); the plan and the overrides are rewritten only when they
    changed. The caller checks that ``result`` holds the saved responses and owns the transaction.

    Returns:
        rows written per kind (for tests and the benchmark).
    """
    changed: dict[str, int] = {}
    saved_resp = saved if saved is not None else saved_labels(conn, tq)
    updates = [
        {"b_row": r.row, "b_label": int(lab), "b_conf": float(conf)}
        for r, lab, conf in zip(result.responses, result.labels, result.confidence, strict=True)
        if saved_resp[r.row] != (int(lab), float(conf))
    ]
    if updates:
        conn.execute(
            sa.update(t.responses)
            .where(t.responses.c.ticket_question_id == tq, t.responses.c.row == sa.bindparam("b_row"))
            .values(label=sa.bindparam("b_label"), confidence=sa.bindparam("b_conf")),
            updates,
        )
        changed["responses"] = len(updates)
    question = result.question
    vectors_needed = result.vectors is None
    if vectors_needed and result.groups:
        resp = (
            conn.execute(
                sa.select(t.responses.c.vector)
                .where(t.responses.c.ticket_question_id == tq)
                .order_by(t.responses.c.row)
            )
            .scalars()
            .all()
        )
        stacked = unblob_rows(resp)
        if stacked is not None:
            result = replace(result, vectors=stacked)
    old_groups = {g.group_id: (i, g) for i, g in enumerate(load_groups(conn, tq, question))}
    new_groups = {g.group_id: (i, g) for i, g in enumerate(result.groups)}
    gone = [gid for gid in old_groups if gid not in new_groups]
    if gone:
        conn.execute(sa.delete(t.groups).where(t.groups.c.ticket_question_id == tq, t.groups.c.group_id.in_(gone)))
    for gid, (i, g) in new_groups.items():
        if gid not in old_groups:
            conn.execute(t.groups.insert().values(ticket_question_id=tq, owner=owner, **_group_row(result, g, i)))
        elif old_groups[gid] != (i, g):
            values = _group_row(result, g, i, centroid=old_groups[gid][1].rows != g.rows)
            conn.execute(
                sa.update(t.groups)
                .where(t.groups.c.ticket_question_id == tq, t.groups.c.group_id == gid)
                .values(**values)
            )
        else:
            continue
        changed["groups"] = changed.get("groups", 0) + 1
    changed["groups"] = changed.get("groups", 0) + len(gone)
    old_stems = {s.group_id: (i, s) for i, s in enumerate(load_stems(conn, tq, question))}
    new_stems = {s.group_id: (i, s) for i, s in enumerate(result.stems)}
    gone = [gid for gid in old_stems if gid not in new_stems]
    if gone:
        conn.execute(sa.delete(t.stems).where(t.stems.c.ticket_question_id == tq, t.stems.c.group_id.in_(gone)))
    for gid, (i, s) in new_stems.items():
        if gid not in old_stems:
            conn.execute(t.stems.insert().values(ticket_question_id=tq, owner=owner, **_stem_row(s, i)))
        elif old_stems[gid] != (i, s):
            conn.execute(
                sa.update(t.stems)
                .where(t.stems.c.ticket_question_id == tq, t.stems.c.group_id == gid)
                .values(**_stem_row(s, i), updated_at=sa.func.now())
            )
        else:
            continue
        changed["feedback stems"] = changed.get("feedback stems", 0) + 1
    changed["feedback stems"] = changed.get("feedback stems", 0) + len(gone)
    if load_plan(conn, tq, question) != result.plan:
        _delete_plan(conn, tq)
        _write_plan(conn, tq, result.plan, owner)
        changed["plans"] = 1
    if load_overrides(conn, tq) != tuple(result.overrides):
        conn.execute(sa.delete(t.overrides).where(t.overrides.c.ticket_question_id == tq))
        _write_overrides(conn, tq, result.overrides, owner)
        changed["overrides"] = len(result.overrides)
    return {k: v for k, v in changed.items() if v}


# -- loading


def load_groups(conn, tq: int, question: str) -> tuple[Group, ...]:
    return tuple(
        Group(
            question=question,
            group_id=g.group_id,
            label=g.label,
            rows=tuple(g.rows),
            representatives=tuple(g.representatives),
            status=g.status,
            status_confirmed=bool(g.status_confirmed),
            answer=g.answer,
            terms=tuple(g.terms),
            carried_over=bool(g.carried_over),
        )
        for g in conn.execute(
            sa.select(t.groups).where(t.groups.c.ticket_question_id == tq).order_by(t.groups.c.position)
        )
    )


def load_stems(conn, tq: int, question: str) -> tuple[FeedbackStem, ...]:
    return tuple(
        FeedbackStem(
            question=question,
            group_id=s.group_id,
            text=s.text,
            state=s.state,
            drafted=s.drafted,
            kind=s.kind,
            from_library=bool(s.from_library),
        )
        for s in conn.execute(sa.select(t.stems).where(t.stems.c.ticket_question_id == tq).order_by(t.stems.c.position))
    )


def load_overrides(conn, tq: int) -> tuple[tuple[int, str], ...]:
    return tuple(
        (o.row, o.text)
        for o in conn.execute(
            sa.select(t.overrides).where(t.overrides.c.ticket_question_id == tq).order_by(t.overrides.c.position)
        )
    )


def load_plan(conn, tq: int, question: str) -> Plan:
    plan_row = conn.execute(sa.select(t.plans).where(t.plans.c.ticket_question_id == tq)).first()
    plan_groups = []
    if plan_row is not None:
        members: dict[int, list[tuple[str, int]]] = {}
        for pg_id, student, row in _raw(  # every member of the plan in one query
            conn,
            "SELECT m.plan_group_id, m.student, m.row FROM plan_members m JOIN plan_groups g "
            "ON g.id = m.plan_group_id WHERE g.plan_id = ? ORDER BY m.plan_group_id, m.position",
            (plan_row.id,),
        ):
            members.setdefault(pg_id, []).append((student, row))
        for pg in conn.execute(
            sa.select(t.plan_groups).where(t.plan_groups.c.plan_id == plan_row.id).order_by(t.plan_groups.c.position)
        ).all():
            got = members.get(pg.id, [])
            plan_groups.append(
                PlanGroup(
                    question=question,
                    name=pg.name,
                    kind=pg.kind,
                    students=tuple(m[0] for m in got),
                    rows=tuple(m[1] for m in got),
                    source_groups=tuple(pg.source_groups),
                    focus=pg.focus,
                )
            )
    return Plan(
        question=question,
        groups=tuple(plan_groups),
        top_misconceptions=tuple((str(a), int(b)) for a, b in (plan_row.top_misconceptions if plan_row else [])),
        whole_class_reteach=plan_row.whole_class_reteach if plan_row else None,
    )


def load_result(conn, tq: int, question: str, key: str | None) -> QuestionResult:
    resp = conn.execute(
        sa.select(t.responses).where(t.responses.c.ticket_question_id == tq).order_by(t.responses.c.row)
    ).all()
    responses = tuple(
        Response(
            row=r.row,
            source_row=r.source_row,
            student=r.student,
            question=question,
            text=r.text,
            answer=r.answer,
            section=r.section,
            date=r.date,
            is_blank=bool(r.is_blank),
        )
        for r in resp
    )
    stacked = unblob_rows([r.vector for r in resp])
    vectors = stacked.astype(np.float32) if stacked is not None else None
    groups = load_groups(conn, tq, question)
    stems = load_stems(conn, tq, question)
    plan = load_plan(conn, tq, question)
    overrides = load_overrides(conn, tq)
    return QuestionResult(
        question=question,
        responses=responses,
        labels=tuple(r.label for r in resp),
        confidence=tuple(float(r.confidence) for r in resp),
        groups=groups,
        stems=stems,
        plan=plan,
        key=key,
        overrides=overrides,
        vectors=vectors,
    )
