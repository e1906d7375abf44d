"""Hand-built analyses for the storage, comparison and crash-safety tests (no model, no clustering).

Vectors are built from a few fixed "meaning" directions plus noise, so groups that share a misconception have
near-identical centroids across sections while different misconceptions are far apart.
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pandas as pd
import pytest

from feedback_assistant.records import (
    APPROVED,
    CHECK_IN,
    DRAFT,
    MISCONCEPTION,
    ON_TARGET,
    RETEACH,
    UNGROUPED,
    Analysis,
    ColumnMap,
    FeedbackStem,
    Group,
    Plan,
    PlanGroup,
    QuestionResult,
    Response,
)

DIM = 16
QUESTION = "What is 1/2 + 1/4? Explain."

# meaning name -> (label, status, example texts)
MEANINGS = {
    "tops": (
        "added tops and bottoms",
        MISCONCEPTION,
        ["I added 1+1 and 2+4 so 2/6", "add the tops and the bottoms: 2/6", "2/6 because 1+1 and 2+4"],
    ),
    "bigger": (
        "bigger denominator means bigger",
        MISCONCEPTION,
        ["1/4 is bigger since 4 > 2", "4 is more than 2 so quarter wins", "bigger bottom bigger piece"],
    ),
    "right": (
        "common denominator",
        ON_TARGET,
        ["1/2 = 2/4 so 2/4 + 1/4 = 3/4", "change 1/2 to 2/4 then add: 3/4", "3/4 using fourths"],
    ),
}


def direction(meaning: str, dim: int = DIM) -> np.ndarray:
    """A fixed unit vector per meaning; different meanings are orthogonal."""
    v = np.zeros(dim)
    v[list(MEANINGS).index(meaning) * 5] = 1.0
    return v


def make_analysis(
    section: str | None,
    plan: dict[str, int],
    *,
    question: str = QUESTION,
    date: str | None = None,
    seed: int = 0,
    blanks: int = 1,
    prefix: str = "",
    with_section_column: bool = True,
    approve: tuple[str, ...] = (),
) -> Analysis:
    """An analysed one-question ticket.

    Args:
        section: written in every response's ``section`` (None = no section column).
        plan: meaning name -> number of students giving that kind of answer.
        question: the question text.
        date: written in every response's ``date``.
        seed: noise seed.
        blanks: blank responses added at the end (ungrouped).
        prefix: prefix for student names.
        with_section_column: whether the frame has a section column.
        approve: meanings whose stems are approved.

    Returns:
        an ``Analysis`` with one ``QuestionResult`` whose groups, stems, plan and vectors are consistent.
    """
    rng = np.random.default_rng(seed)
    responses, labels, vectors, conf = [], [], [], []
    groups, stems = [], []
    row = 0
    for gid, (meaning, count) in enumerate(plan.items()):
        label, status, texts = MEANINGS[meaning]
        rows = []
        for k in range(count):
            name = f"{prefix}{meaning.title()} Student {k}"
            responses.append(
                Response(
                    row=row,
                    source_row=row,
                    student=name,
                    question=question,
                    text=texts[k % len(texts)] + ("" if k < len(texts) else f" ({k})"),
                    section=section,
                    date=date,
                )
            )
            labels.append(gid)
            conf.append(0.9)
            v = direction(meaning) + 0.05 * rng.standard_normal(DIM)
            vectors.append(v / np.linalg.norm(v))
            rows.append(row)
            row += 1
        groups.append(
            Group(
                question=question,
                group_id=gid,
                label=label,
                rows=tuple(rows),
                representatives=tuple(texts[:2]),
                status=status,
                status_confirmed=False,
                answer="2/6" if meaning == "tops" else None,
                terms=tuple(label.split()[:2]),
            )
        )
        drafted = f"Let's look again at {label}."
        stems.append(
            FeedbackStem(
                question=question,
                group_id=gid,
                text=drafted,
                state=APPROVED if meaning in approve else DRAFT,
                drafted=drafted,
                kind="misconception" if status == MISCONCEPTION else "extension",
            )
        )
    for b in range(blanks):
        responses.append(
            Response(
                row=row,
                source_row=row,
                student=f"{prefix}Blank Student {b}",
                question=question,
                text="",
                section=section,
                date=date,
                is_blank=True,
            )
        )
        labels.append(UNGROUPED)
        conf.append(0.0)
        vectors.append(np.full(DIM, 1.0 / np.sqrt(DIM)))
        row += 1
    if blanks:
        checkin = "Come see me: let's talk about your answer."
        stems.append(FeedbackStem(question=question, group_id=UNGROUPED, text=checkin, drafted=checkin, kind="explain"))
    plan_groups = tuple(
        PlanGroup(
            question=question,
            name=f"Reteach: {g.label}",
            kind=RETEACH,
            students=tuple(responses[r].student for r in g.rows),
            rows=g.rows,
            source_groups=(g.group_id,),
            focus=g.label,
        )
        for g in groups
        if g.status == MISCONCEPTION
    ) + (
        PlanGroup(
            question=question,
            name="Check-in",
            kind=CHECK_IN,
            students=tuple(r.student for r in responses if r.is_blank),
            rows=tuple(r.row for r in responses if r.is_blank),
        ),
    )
    result = QuestionResult(
        question=question,
        responses=tuple(responses),
        labels=tuple(labels),
        confidence=tuple(conf),
        groups=tuple(groups),
        stems=tuple(stems),
        plan=Plan(
            question=question,
            groups=plan_groups,
            top_misconceptions=tuple((g.label, g.size) for g in groups if g.status == MISCONCEPTION),
        ),
        key="3/4",
        overrides=((0, "See me at lunch."),) if responses else (),
        vectors=np.asarray(vectors, dtype=np.float32),
    )
    data = {"Student": [r.student for r in responses], "Response": [r.text for r in responses]}
    if with_section_column:
        data["Section"] = [r.section for r in responses]
    frame = pd.DataFrame(data)
    columns = ColumnMap(response="Response", student="Student", section="Section" if with_section_column else None)
    return Analysis(frame=frame, columns=columns, results=(result,), source_name=f"{section or 'ticket'}.csv")


def combine(*analyses: Analysis) -> Analysis:
    """One ticket holding several sections' responses (one question), rows renumbered."""
    import dataclasses

    results, frames, offset = [], [], 0
    responses, labels, conf, groups, stems, vecs, plan_groups, overrides = [], [], [], [], [], [], [], []
    next_gid = 0
    for a in analyses:
        r = a.results[0]
        shift = {x.row: x.row + offset for x in r.responses}
        gid_map = {g.group_id: next_gid + i for i, g in enumerate(r.groups)}
        next_gid += len(r.groups)
        responses += [dataclasses.replace(x, row=shift[x.row]) for x in r.responses]
        labels += [gid_map.get(lab, UNGROUPED) for lab in r.labels]
        conf += list(r.confidence)
        groups += [
            dataclasses.replace(g, group_id=gid_map[g.group_id], rows=tuple(shift[x] for x in g.rows)) for g in r.groups
        ]
        stems += [dataclasses.replace(s, group_id=gid_map[s.group_id]) for s in r.stems if s.group_id != UNGROUPED]
        if any(s.group_id == UNGROUPED for s in r.stems) and not any(s.group_id == UNGROUPED for s in stems):
            stems.append(next(s for s in r.stems if s.group_id == UNGROUPED))  # one check-in stem per question
        vecs.append(r.vectors)
        plan_groups += [
            dataclasses.replace(
                p,
                rows=tuple(shift[x] for x in p.rows),
                source_groups=tuple(gid_map[x] for x in p.source_groups),
            )
            for p in r.plan.groups
        ]
        overrides += [(shift[x], text) for x, text in r.overrides]
        frames.append(a.frame)
        offset += len(r.responses)
    q = analyses[0].results[0].question
    results.append(
        QuestionResult(
            question=q,
            responses=tuple(responses),
            labels=tuple(labels),
            confidence=tuple(conf),
            groups=tuple(groups),
            stems=tuple(stems),
            plan=Plan(question=q, groups=tuple(plan_groups)),
            key="3/4",
            overrides=tuple(overrides),
            vectors=np.vstack(vecs),
        )
    )
    return Analysis(
        frame=pd.concat(frames, ignore_index=True),
        columns=analyses[0].columns,
        results=tuple(results),
        source_name="all-sections.csv",
    )


def backend_params() -> list:
    """pytest params for the ``db_url`` fixture: sqlite always, postgres when FA_TEST_POSTGRES_URL is set."""
    pg = pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not os.environ.get("FA_TEST_POSTGRES_URL"),
                reason="set FA_TEST_POSTGRES_URL (see scripts/start_postgres.sh) to run against PostgreSQL",
            ),
        ],
    )
    return ["sqlite", pg]


@pytest.fixture(name="db_url", params=backend_params())
def db_url_fixture(request, tmp_path):
    """A fresh, empty database URL: a SQLite file, or a new schema on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'feedback.sqlite'}"
        return
    import sqlalchemy as sa

    base = os.environ["FA_TEST_POSTGRES_URL"]
    schema = f"fa_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(name="store")
def store_fixture(db_url):
    from feedback_assistant.storage import Store

    s = Store(db_url)
    yield s
    s.close()


def count_rows(store, table: str) -> int:
    """Rows in one table of the store, every teacher's (a check for tests: reads the tables directly)."""
    import sqlalchemy as sa

    from feedback_assistant import storage_schema

    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(storage_schema.metadata.tables[table])).scalar_one()


def save(store, analysis, *, teacher: str = "T", section: str | None = None, date: str | None = None, **kw) -> int:
    """Save ``analysis`` for ``teacher`` and return the (first) ticket id."""
    ids = store.as_teacher(teacher).save_analysis(analysis, section=section, date=date, **kw)
    return next(iter(ids.values()))
