"""History storage: save, reopen, edit, forget; the same tests on SQLite and (when available) PostgreSQL."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sqlalchemy as sa
from storage_helpers import QUESTION, combine, db_url_fixture, make_analysis, store_fixture  # noqa: F401 - fixtures

from feedback_assistant import storage_schema
from feedback_assistant.records import (
    APPROVED,
    DRAFT,
    UNGROUPED,
    FeedbackStem,
    NotFoundError,
    RowAccountingError,
)
from feedback_assistant.storage import (
    UNNAMED_SECTION,
    SqlLibraryStore,
    StorageError,
    Store,
    default_url,
    resolve_url,
)


def _fields(result):
    return {f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.name != "vectors"}


def test_migrations_create_exactly_the_schema_storage_uses(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), storage_schema.metadata)
    assert diffs == []


def test_saved_analysis_reopens_exactly(store):
    analysis = make_analysis("Period 1", {"tops": 4, "right": 5}, date="2026-11-20", approve=("tops",))
    ticket = store.save_analysis(analysis, section=None, teacher="Ms. Rivera", date=None, topic="5.NF.1")
    again = store.load_analysis(ticket)
    assert len(again.results) == 1
    before, after = analysis.results[0], again.results[0]
    assert _fields(after) == _fields(before)
    np.testing.assert_allclose(after.vectors, before.vectors, rtol=0, atol=1e-7)
    assert again.columns == analysis.columns
    assert again.source_name == analysis.source_name
    assert again.frame.equals(analysis.frame)
    [summary] = store.list_tickets()
    assert (summary.id, summary.teacher, summary.section, summary.date) == (
        ticket,
        "Ms. Rivera",
        "Period 1",
        "2026-11-20",
    )
    assert summary.questions == (QUESTION,)
    assert (summary.n_responses, summary.n_approved) == (10, 1)
    assert store.topics() == ["5.NF.1"] and store.questions(topic="5.NF.1") == [QUESTION]


def test_section_argument_overrides_and_missing_section_gets_a_name(store):
    a = make_analysis(None, {"tops": 2}, with_section_column=False)
    store.save_analysis(a, section=None, teacher="T", date="2026-11-20")
    store.save_analysis(a, section="  Period 4 ", teacher="T", date="2026-11-21")
    assert store.sections() == sorted([UNNAMED_SECTION, "Period 4"])


def test_each_section_of_a_mixed_file_gets_its_own_ticket(store):
    p2 = make_analysis("P2", {"tops": 3, "right": 2}, prefix="a", approve=("tops",))
    p3 = make_analysis("P3", {"bigger": 2, "right": 4}, prefix="b", blanks=2)
    mixed = combine(p2, p3)
    ids = store.save_analysis_by_section(mixed, section=None, teacher="Mr. Lee", date="2026-11-21")
    assert list(ids) == ["P2", "P3"]
    assert store.save_analysis(mixed, section=None, teacher="Mr. Lee", date="2026-11-22") in [
        t.id for t in store.list_tickets(section="P2")
    ]
    total = 0
    for name, ticket in ids.items():
        part = store.load_analysis(ticket)
        result = part.results[0]
        total += len(result.responses)
        assert {r.section for r in result.responses} == {name}
        assert [r.row for r in result.responses] == list(range(len(result.responses)))
        assert len(part.frame) == len(result.responses)
        assert list(part.frame["Student"]) == [r.student for r in result.responses]
        for g in result.groups:
            members = {result.responses[r].student for r in g.rows}
            assert all(result.labels[r] == g.group_id for r in g.rows)
            assert len(members) == g.size
        for pg in result.plan.groups:
            assert [result.responses[r].student for r in pg.rows] == list(pg.students)
        checkin = {UNGROUPED} if UNGROUPED in result.labels else set()  # blanks keep their check-in stem
        assert {s.group_id for s in result.stems} == {g.group_id for g in result.groups} | checkin
    assert total == len(mixed.results[0].responses)  # rows in = rows out
    p3_result = store.load_analysis(ids["P3"]).results[0]
    assert {g.label for g in p3_result.groups} == {"bigger denominator means bigger", "common denominator"}


def test_date_defaults_to_the_file_then_today(store):
    import datetime as dt

    a = make_analysis("P1", {"tops": 2}, date="11/20/2026")
    b = make_analysis("P1", {"tops": 2})
    store.save_analysis(a, section=None, teacher="T", date=None)
    store.save_analysis(b, section=None, teacher="T", date=None)
    assert sorted(t.date for t in store.list_tickets()) == sorted(["2026-11-20", dt.date.today().isoformat()])


def test_an_approved_stem_survives_reopening_the_store(db_url):
    first = Store(db_url)
    ticket = first.save_analysis(
        make_analysis("P1", {"tops": 3, "bigger": 2}), section=None, teacher="T", date="2026-11-20"
    )
    result = first.load_analysis(ticket).results[0]
    stem = result.stems[0]
    edited = dataclasses.replace(
        stem, text="Add the parts, not the wholes: rewrite 1/2 in fourths.", state=APPROVED
    )
    first.save_stem(ticket, QUESTION, edited)
    first.close()

    second = Store(db_url)  # the teacher comes back tomorrow
    [summary] = second.list_tickets(teacher="T")
    assert summary.n_approved == 1
    reopened = second.load_analysis(summary.id).results[0]
    saved = {s.group_id: s for s in reopened.stems}
    assert saved[stem.group_id].text == edited.text
    assert saved[stem.group_id].state == APPROVED
    assert saved[stem.group_id].drafted == stem.drafted  # the tool's draft is kept beside the edit
    assert saved[result.stems[1].group_id].state == DRAFT
    second.close()


def test_save_stem_refuses_unknown_ticket_question_or_group(store):
    ticket = store.save_analysis(
        make_analysis("P1", {"tops": 2}), section=None, teacher="T", date="2026-11-20"
    )
    stem = FeedbackStem(question=QUESTION, group_id=0, text="x", state=APPROVED)
    with pytest.raises(NotFoundError, match="exit ticket 999 is not in the history"):
        store.save_stem(999, QUESTION, stem)
    with pytest.raises(NotFoundError, match="has no question 'Q9'; its questions are"):
        store.save_stem(ticket, "Q9", dataclasses.replace(stem, question="Q9"))
    with pytest.raises(NotFoundError, match="has no group 7"):
        store.save_stem(ticket, QUESTION, dataclasses.replace(stem, group_id=7))
    # The check-in stem (responses in no group) is saved only where some response is in no group.
    store.save_stem(ticket, QUESTION, dataclasses.replace(stem, group_id=UNGROUPED, text="See me."))
    assert store.load_analysis(ticket).results[0].stems[-1].text == "See me."
    full = store.save_analysis(
        make_analysis("P1", {"tops": 2}, blanks=0), section=None, teacher="T", date=None
    )
    with pytest.raises(NotFoundError, match="has no group -1"):
        store.save_stem(full, QUESTION, dataclasses.replace(stem, group_id=UNGROUPED))
    with pytest.raises(NotFoundError, match="exit ticket 999"):
        store.load_analysis(999)


def test_save_result_replaces_a_questions_edits_atomically(store):
    ticket = store.save_analysis(
        make_analysis("P1", {"tops": 3, "bigger": 2, "right": 3}),
        section=None,
        teacher="T",
        date="2026-11-20",
    )
    result = store.load_analysis(ticket).results[0]
    keep, gone = result.groups[0], result.groups[1]
    merged = dataclasses.replace(keep, label="adds across", rows=tuple(sorted(keep.rows + gone.rows)))
    labels = tuple(keep.group_id if lab == gone.group_id else lab for lab in result.labels)
    edited = dataclasses.replace(
        result,
        labels=labels,
        groups=(merged, result.groups[2]),
        stems=tuple(s for s in result.stems if s.group_id != gone.group_id),
        overrides=((1, "Come see me."), (2, "Nice try!")),
    )
    store.save_result(ticket, edited)
    again = store.load_analysis(ticket).results[0]
    assert _fields(again) == _fields(edited)
    assert store.count_rows("response_groups") == 2

    short = dataclasses.replace(
        edited,
        responses=edited.responses[:-1],
        labels=edited.labels[:-1],
        confidence=edited.confidence[:-1],
        vectors=None,
    )
    with pytest.raises(RowAccountingError, match="has 8 responses but 9 were saved"):
        store.save_result(ticket, short)
    assert _fields(store.load_analysis(ticket).results[0]) == _fields(edited)  # nothing half-written


def test_forget_leaves_no_row_of_the_section(store):
    keep = make_analysis("Period 1", {"tops": 3, "right": 3}, prefix="k")
    gone = make_analysis(
        "Period 2",
        {"tops": 2, "bigger": 3},
        prefix="g",
        approve=("tops",),
        question="Which is bigger, 1/3 or 1/4?",
    )
    kept_id = store.save_analysis(keep, section=None, teacher="A", date="2026-11-20")
    store.save_analysis(gone, section=None, teacher="A", date="2026-11-20")
    store.save_analysis(gone, section=None, teacher="A", date="2026-11-21")
    lib = SqlLibraryStore(store, section="Period 2", teacher="A")
    from feedback_assistant.library import LibraryEntry

    lib.save(
        [
            LibraryEntry(
                topic="t",
                question="q",
                label="added tops",
                text="Add parts.",
                status="misconception",
                answer="2/6",
                centroid=(1.0, 0.0),
                approved_at="2026-11-20T10:00:00+00:00",
            )
        ]
    )
    before = {name: store.count_rows(name) for name in storage_schema.metadata.tables}

    deleted = store.forget_section("Period 2")

    after = {name: store.count_rows(name) for name in storage_schema.metadata.tables}
    assert deleted == sum(before.values()) - sum(after.values())
    assert store.sections() == ["Period 1"]
    assert [t.section for t in store.list_tickets()] == ["Period 1"]
    assert store.questions() == [QUESTION]  # the forgotten class's only question went with it
    with store.engine.connect() as conn:
        for table in (storage_schema.responses, storage_schema.plan_members):
            students = set(conn.execute(sa.select(table.c.student)).scalars())
            assert students and not any(s.startswith("g") for s in students)
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(storage_schema.library_sources)).scalar() == 0
        )
    assert after["library_entries"] == 1  # no student text in it: the teacher's wording is kept
    assert _fields(store.load_analysis(kept_id).results[0]) == _fields(keep.results[0])
    with pytest.raises(
        NotFoundError, match="no saved section is called 'Period 2'; saved sections are: 'Period 1'"
    ):
        store.forget_section("Period 2")


def test_library_store_keeps_one_entry_per_topic_and_label(store):
    from feedback_assistant.library import LibraryEntry, LibraryStore, MisconceptionLibrary

    lib = SqlLibraryStore(store)
    assert isinstance(lib, LibraryStore)
    e = LibraryEntry(
        topic="5.NF.1",
        question=QUESTION,
        label="added tops and bottoms",
        text="Draft one.",
        status="misconception",
        answer="2/6",
        centroid=(0.6, 0.8),
        approved_at="2026-11-20",
    )
    lib.save([e, dataclasses.replace(e, label="bigger bottom", centroid=())])
    lib.save([dataclasses.replace(e, text="Better wording.")])
    got = SqlLibraryStore(Store(store.url)).load("5.NF.1")
    assert [(x.label, x.text) for x in got] == [
        ("added tops and bottoms", "Better wording."),
        ("bigger bottom", "Draft one."),
    ]
    assert got[0].centroid == pytest.approx((0.6, 0.8)) and got[1].centroid == ()
    assert lib.load("other topic") == []
    suggested = MisconceptionLibrary(lib).suggest(QUESTION, [], [], None, topic="5.NF.1")
    assert suggested == {}


def test_default_location_follows_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FEEDBACK_ASSISTANT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FEEDBACK_ASSISTANT_DB", raising=False)
    assert default_url() == f"sqlite:///{(tmp_path / 'home' / 'feedback.sqlite').resolve()}"
    s = Store()
    s.save_analysis(make_analysis("P1", {"tops": 1}), section=None, teacher="T", date="2026-11-20")
    assert (tmp_path / "home" / "feedback.sqlite").exists()
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    monkeypatch.setenv("FEEDBACK_ASSISTANT_DB", str(tmp_path / "team.sqlite"))
    assert resolve_url() == f"sqlite:///{(tmp_path / 'team.sqlite').resolve()}"
    assert resolve_url("postgres://u:p@127.0.0.1/db") == "postgresql://u:p@127.0.0.1/db"


def test_empty_teacher_name_is_refused(store):
    with pytest.raises(StorageError, match="a teacher name is needed"):
        store.save_analysis(make_analysis("P1", {"tops": 1}), section=None, teacher="  ", date=None)


def test_unreachable_server_says_what_to_check():
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        StorageError,
        match=r"could not open the history database postgresql\+psycopg2://fa:\*\*\*"
        r"@127.0.0.1.*database server is running",
    ):
        Store(f"postgresql+psycopg2://fa:secret@127.0.0.1:{port}/fa")


def test_a_newer_database_is_left_alone(store):
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StorageError, match="written by a newer version of feedback-assistant; update"):
        Store(store.url)


def test_unwritable_folder_says_so(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="could not create the folder for the history database"):
        Store(str(blocker / "sub" / "feedback.sqlite"))


def test_migrations_go_down_and_up_again(store):
    from alembic import command

    from feedback_assistant.storage import alembic_config

    store.save_analysis(make_analysis("P1", {"tops": 1}), section=None, teacher="T", date="2026-11-20")
    cfg = alembic_config(store.url)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert "tickets" not in sa.inspect(store.engine).get_table_names()
    again = Store(store.url)
    assert again.list_tickets() == [] and "tickets" in sa.inspect(again.engine).get_table_names()
    again.close()
