"""History storage: save, reopen, edit, forget, owner scoping and damage; on SQLite and (when set) PostgreSQL."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import sqlalchemy as sa
from storage_helpers import (  # noqa: F401 - fixtures
    QUESTION,
    combine,
    count_rows,
    db_url_fixture,
    make_analysis,
    save,
    store_fixture,
)

from feedback_assistant import storage_schema
from feedback_assistant.library import LibraryEntry
from feedback_assistant.records import APPROVED, DRAFT, UNGROUPED, NotFoundError, RowAccountingError
from feedback_assistant.storage import (
    UNNAMED_SECTION,
    SqlLibraryStore,
    StaleEditError,
    StorageError,
    Store,
    current_teacher,
    default_url,
    resolve_url,
)


def _fields(result):
    return {f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.name != "vectors"}


def _approve(result, group_id: int, text: str):
    stems = tuple(
        dataclasses.replace(s, text=text, state=APPROVED) if s.group_id == group_id else s for s in result.stems
    )
    return dataclasses.replace(result, stems=stems)


def test_migrations_create_exactly_the_schema_storage_uses(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), storage_schema.metadata)
    assert diffs == []


def test_saved_analysis_reopens_exactly(store):
    analysis = make_analysis("Period 1", {"tops": 4, "right": 5}, date="2026-11-20", approve=("tops",))
    ids = store.as_teacher("Ms. Rivera").save_analysis(analysis, topic="5.NF.1")
    assert list(ids) == ["Period 1"]
    mine = store.as_teacher("Ms. Rivera")
    again = mine.load_analysis(ids["Period 1"])
    assert len(again.results) == 1
    before, after = analysis.results[0], again.results[0]
    assert _fields(after) == _fields(before)
    np.testing.assert_allclose(after.vectors, before.vectors, rtol=0, atol=1e-7)
    assert again.columns == analysis.columns
    assert again.source_name == analysis.source_name
    assert again.frame.equals(analysis.frame)
    [summary] = mine.list_tickets()
    assert (summary.id, summary.teacher, summary.section, summary.date) == (
        ids["Period 1"],
        "Ms. Rivera",
        "Period 1",
        "2026-11-20",
    )
    assert summary.questions == (QUESTION,)
    assert (summary.n_responses, summary.n_approved) == (10, 1)
    assert store.topics() == ["5.NF.1"] and store.questions(topic="5.NF.1") == [QUESTION]
    assert mine.versions(ids["Period 1"]) == {QUESTION: 0}


def test_every_row_of_a_class_carries_its_teacher(store):
    save(store, make_analysis("P1", {"tops": 3, "bigger": 2}), teacher="Ms A")
    save(store, make_analysis("P1", {"tops": 2}, prefix="b"), teacher="Mr B")
    with store.engine.connect() as conn:
        for table in storage_schema.OWNED_TABLES:
            owners = set(conn.execute(sa.select(table.c.owner)).scalars())
            assert owners <= {"Ms A", "Mr B"}, table.name
        assert set(conn.execute(sa.select(storage_schema.responses.c.owner)).scalars()) == {"Ms A", "Mr B"}


def test_a_teacher_lists_reopens_and_edits_only_their_own_classes(store):
    a_id = save(store, make_analysis("Period 3", {"tops": 3, "right": 2}, prefix="a"), teacher="Ms A")
    b_id = save(store, make_analysis("Period 3", {"bigger": 2, "right": 2}, prefix="b"), teacher="Mr B")
    a, b = store.as_teacher("Ms A"), store.as_teacher("Mr B")
    assert [t.id for t in a.list_tickets()] == [a_id] and [t.id for t in b.list_tickets()] == [b_id]
    assert a.sections() == ["Period 3"] == b.sections()
    with pytest.raises(NotFoundError, match=f"exit ticket {b_id} is not in your history"):
        a.load_analysis(b_id)
    theirs = b.load_analysis(b_id).results[0]
    with pytest.raises(NotFoundError, match="not in your history"):
        a.save_result(b_id, _approve(theirs, theirs.groups[0].group_id, "mine now"), version=0)
    assert b.load_analysis(b_id).results[0] == theirs


def test_section_argument_overrides_and_missing_section_gets_a_name(store):
    a = make_analysis(None, {"tops": 2}, with_section_column=False)
    assert list(store.save_analysis(a, date="2026-11-20")) == [UNNAMED_SECTION]
    store.save_analysis(a, section="  Period 4 ", date="2026-11-21")
    assert store.sections() == sorted([UNNAMED_SECTION, "Period 4"])


def test_each_section_of_a_mixed_file_gets_its_own_ticket(store):
    p2 = make_analysis("P2", {"tops": 3, "right": 2}, prefix="a", approve=("tops",))
    p3 = make_analysis("P3", {"bigger": 2, "right": 4}, prefix="b", blanks=2)
    mixed = combine(p2, p3)
    ids = store.save_analysis(mixed, date="2026-11-21")
    assert list(ids) == ["P2", "P3"]
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

    store.save_analysis(make_analysis("P1", {"tops": 2}, date="11/20/2026"))
    store.save_analysis(make_analysis("P1", {"tops": 2}))
    assert sorted(t.date for t in store.list_tickets()) == sorted(["2026-11-20", dt.date.today().isoformat()])


def test_an_approved_stem_survives_reopening_the_store(db_url):
    first = Store(db_url, teacher="T")
    [ticket] = first.save_analysis(make_analysis("P1", {"tops": 3, "bigger": 2}), date="2026-11-20").values()
    result = first.load_analysis(ticket).results[0]
    stem = result.stems[0]
    text = "Add the parts, not the wholes: rewrite 1/2 in fourths."
    assert first.save_result(ticket, _approve(result, stem.group_id, text), version=0) == 1
    first.close()

    second = Store(db_url, teacher="T")  # the teacher comes back tomorrow
    [summary] = second.list_tickets()
    assert summary.n_approved == 1
    reopened = second.load_analysis(summary.id).results[0]
    saved = {s.group_id: s for s in reopened.stems}
    assert saved[stem.group_id].text == text and saved[stem.group_id].state == APPROVED
    assert saved[stem.group_id].drafted == stem.drafted  # the tool's draft is kept beside the edit
    assert saved[result.stems[1].group_id].state == DRAFT
    assert second.versions(summary.id) == {QUESTION: 1}
    second.close()


def test_two_windows_editing_one_class_never_lose_an_edit(store):
    """Window 1 approves group 0, window 2 (holding the old copy) approves group 1: window 2 is told to reload."""
    [ticket] = store.save_analysis(make_analysis("P1", {"tops": 3, "bigger": 2, "right": 2})).values()
    one = store.load_analysis(ticket).results[0]
    two = store.load_analysis(ticket).results[0]
    v = store.versions(ticket)[QUESTION]
    assert store.save_result(ticket, _approve(one, 0, "first window"), version=v) == v + 1
    with pytest.raises(StaleEditError, match="this class changed in another window — reload to see it"):
        store.save_result(ticket, _approve(two, 1, "second window"), version=v)
    saved = {s.group_id: s for s in store.load_analysis(ticket).results[0].stems}
    assert (saved[0].state, saved[0].text) == (APPROVED, "first window")  # nothing silently overwritten
    assert saved[1].state == DRAFT
    reloaded = store.load_analysis(ticket).results[0]  # after reloading, the second edit goes through
    store.save_result(ticket, _approve(reloaded, 1, "second window"), version=store.versions(ticket)[QUESTION])
    saved = {s.group_id: s for s in store.load_analysis(ticket).results[0].stems}
    assert saved[0].text == "first window" and saved[1].text == "second window"


def test_an_edit_writes_only_the_rows_it_changes(store):
    from sqlalchemy import event

    [ticket] = store.save_analysis(make_analysis("P1", {"tops": 30, "bigger": 20, "right": 30})).values()
    result = store.load_analysis(ticket).results[0]
    writes: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _log(conn, cursor, statement, params, context, executemany):
        found = re.match(r"\s*(INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)", statement)
        if found:
            writes.append(f"{found[1].split()[0]} {found[2]}")

    store.save_result(ticket, _approve(result, 1, "Bigger bottoms mean smaller pieces."), version=0)
    event.remove(store.engine, "before_cursor_execute", _log)
    assert sorted(writes) == ["UPDATE feedback_stems", "UPDATE ticket_questions"]


def test_save_result_replaces_a_questions_edits_atomically(store):
    [ticket] = store.save_analysis(make_analysis("P1", {"tops": 3, "bigger": 2, "right": 3})).values()
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
    assert store.save_result(ticket, edited, version=0) == 1
    again = store.load_analysis(ticket).results[0]
    assert _fields(again) == _fields(edited)
    assert count_rows(store, "response_groups") == 2

    short = dataclasses.replace(
        edited,
        responses=edited.responses[:-1],
        labels=edited.labels[:-1],
        confidence=edited.confidence[:-1],
        vectors=None,
    )
    with pytest.raises(RowAccountingError, match="has 8 responses but 9 were saved"):
        store.save_result(ticket, short, version=1)
    assert _fields(store.load_analysis(ticket).results[0]) == _fields(edited)  # nothing half-written
    assert store.versions(ticket) == {QUESTION: 1}  # the refused save did not count


def test_save_result_refuses_unknown_ticket_or_question(store):
    [ticket] = store.save_analysis(make_analysis("P1", {"tops": 2})).values()
    result = store.load_analysis(ticket).results[0]
    with pytest.raises(NotFoundError, match="exit ticket 999 is not in your history"):
        store.save_result(999, result, version=0)
    with pytest.raises(NotFoundError, match="has no question 'Q9'; its questions are"):
        store.save_result(ticket, dataclasses.replace(result, question="Q9"), version=0)
    with pytest.raises(NotFoundError, match="exit ticket 999"):
        store.load_analysis(999)


def _library_entry(text: str, label: str = "added tops") -> LibraryEntry:
    return LibraryEntry(
        topic="t",
        question="q",
        label=label,
        text=text,
        status="misconception",
        answer="2/6",
        centroid=(1.0, 0.0),
        approved_at="2026-11-20T10:00:00+00:00",
    )


def test_forget_leaves_no_row_of_the_class_and_says_first_what_it_deletes(store, tmp_path):
    from feedback_assistant.embedding import EmbeddingCache, normalise_text

    a = store.as_teacher("A")
    keep = make_analysis("Period 1", {"tops": 3, "right": 3}, prefix="k")
    gone = make_analysis(
        "Period 2", {"tops": 2, "bigger": 3}, prefix="g", approve=("tops",), question="Which is bigger, 1/3 or 1/4?"
    )
    [kept_id] = a.save_analysis(keep, date="2026-11-20").values()
    a.save_analysis(gone, date="2026-11-20")
    a.save_analysis(gone, date="2026-11-21")
    other = save(store, make_analysis("Period 2", {"tops": 2}, prefix="o"), teacher="B")  # same name, B's class
    quoted = gone.results[0].responses[0].text  # "I added 1+1 and 2+4 so 2/6"
    SqlLibraryStore(a, section="Period 2").save(
        [_library_entry(f'As one of you wrote, "{quoted}": add the parts.'), _library_entry("Add parts.", "plain")]
    )
    cache = EmbeddingCache(tmp_path / "cache")
    texts = [r.text for r in gone.results[0].responses if r.text]
    cache.put_many("all-MiniLM-L6-v2", {normalise_text(x): np.ones(4, np.float32) for x in texts + ["unrelated"]})
    before = {name: count_rows(store, name) for name in storage_schema.metadata.tables}

    plan = a.forget("Period 2", dry_run=True, cache=cache)
    assert not plan.done
    assert plan.counts["exit tickets"] == 2 and plan.counts["responses"] == 12
    assert plan.counts["library entries quoting students"] == 1
    assert plan.counts["cached embeddings"] == len(set(texts))
    assert list(plan.counts)[:2] == ["exit tickets", "responses"]
    assert {name: count_rows(store, name) for name in storage_schema.metadata.tables} == before  # dry run

    done = a.forget("Period 2", cache=cache)
    after = {name: count_rows(store, name) for name in storage_schema.metadata.tables}
    assert done.counts == plan.counts | {} and done.done
    assert done.total - done.counts["cached embeddings"] == sum(before.values()) - sum(after.values())
    assert a.sections() == ["Period 1"] and [t.section for t in a.list_tickets()] == ["Period 1"]
    assert store.as_teacher("B").list_tickets()[0].id == other  # B's "Period 2" is untouched
    assert QUESTION in store.questions()
    with store.engine.connect() as conn:
        for table in (storage_schema.responses, storage_schema.plan_members):
            students = set(conn.execute(sa.select(table.c.student)).scalars())
            assert students and not any(s.startswith("g") for s in students)
        assert [e.label for e in a.load_library("t")] == ["plain"]  # the quoting entry went, the other stays
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1 if store.dialect == "sqlite" else True
    assert cache.get_many("all-MiniLM-L6-v2", [normalise_text(x) for x in texts]) == {}
    assert set(cache.get_many("all-MiniLM-L6-v2", ["unrelated"])) == {"unrelated"}
    assert _fields(a.load_analysis(kept_id).results[0]) == _fields(keep.results[0])
    with pytest.raises(
        NotFoundError, match="you have no saved class called 'Period 2'; your saved classes are: 'Period 1'"
    ):
        a.forget("Period 2")


def test_forget_one_day_keeps_the_other_days(store):
    for day in ("2026-11-20", "2026-11-21"):
        store.save_analysis(make_analysis("P1", {"tops": 2}), date=day)
    report = store.forget("P1", date="11/21/2026", cache=False)
    assert report.counts["exit tickets"] == 1 and "classes" not in report.counts
    assert [t.date for t in store.list_tickets()] == ["2026-11-20"]
    with pytest.raises(NotFoundError, match="has no exit ticket dated 2026-11-22; its dates are: 2026-11-20"):
        store.forget("P1", date="2026-11-22")


def test_forgotten_student_text_leaves_no_bytes_in_the_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    store = Store(url, teacher="T")
    secret = "Zanzibar-quokka-7781 my mom says we are moving"
    a = make_analysis("P1", {"tops": 3})
    r = a.results[0]
    responses = (dataclasses.replace(r.responses[0], text=secret), *r.responses[1:])
    store.save_analysis(dataclasses.replace(a, results=(dataclasses.replace(r, responses=responses),)))
    store.forget("P1", cache=False)
    store.close()
    for path in tmp_path.glob("h.sqlite*"):
        assert b"Zanzibar-quokka" not in path.read_bytes(), path.name


def test_library_store_keeps_one_entry_per_teacher_topic_and_label(store):
    from feedback_assistant.library import LibraryStore, MisconceptionLibrary

    lib = SqlLibraryStore(store)
    assert isinstance(lib, LibraryStore)
    e = dataclasses.replace(_library_entry("Draft one.", "added tops and bottoms"), topic="5.NF.1", centroid=(0.6, 0.8))
    lib.save([e, dataclasses.replace(e, label="bigger bottom", centroid=())])
    lib.save([dataclasses.replace(e, text="Better wording.")])
    got = SqlLibraryStore(Store(store.url, teacher=store.teacher)).load("5.NF.1")
    assert [(x.label, x.text) for x in got] == [
        ("added tops and bottoms", "Better wording."),
        ("bigger bottom", "Draft one."),
    ]
    assert got[0].centroid == pytest.approx((0.6, 0.8)) and got[1].centroid == ()
    SqlLibraryStore(store.as_teacher("Someone else")).save([dataclasses.replace(e, text="Theirs.")])
    assert count_rows(store, "library_entries") == 3  # a colleague's same label does not overwrite mine
    assert lib.load("other topic") == []
    assert MisconceptionLibrary(lib).suggest(QUESTION, [], [], None, topic="5.NF.1") == {}


def test_the_teacher_is_the_login_unless_named(monkeypatch, tmp_path):
    import getpass

    monkeypatch.delenv("FEEDBACK_ASSISTANT_TEACHER", raising=False)
    assert current_teacher() == getpass.getuser()
    assert current_teacher("  Ms K ") == "Ms K"
    monkeypatch.setenv("FEEDBACK_ASSISTANT_TEACHER", "Mr J")
    assert current_teacher() == "Mr J" and Store(str(tmp_path / "x.sqlite")).teacher == "Mr J"


def test_default_location_follows_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FEEDBACK_ASSISTANT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FEEDBACK_ASSISTANT_DB", raising=False)
    assert default_url() == f"sqlite:///{(tmp_path / 'home' / 'feedback.sqlite').resolve()}"
    s = Store()
    s.save_analysis(make_analysis("P1", {"tops": 1}), date="2026-11-20")
    assert (tmp_path / "home" / "feedback.sqlite").exists()
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    monkeypatch.setenv("FEEDBACK_ASSISTANT_DB", str(tmp_path / "team.sqlite"))
    assert resolve_url() == f"sqlite:///{(tmp_path / 'team.sqlite').resolve()}"
    assert resolve_url("postgres://u:p@127.0.0.1/db") == "postgresql+psycopg2://u:p@127.0.0.1/db"  # our driver
    assert resolve_url("postgresql://u:p@127.0.0.1/db") == "postgresql+psycopg2://u:p@127.0.0.1/db"
    assert resolve_url("postgresql+psycopg://u:p@127.0.0.1/db") == "postgresql+psycopg://u:p@127.0.0.1/db"


def test_empty_teacher_name_is_refused(store):
    with pytest.raises(StorageError, match="a teacher name is needed"):
        store.save_analysis(make_analysis("P1", {"tops": 1}), teacher="  ")


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


def test_a_missing_database_driver_names_the_package(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_psycopg2(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name.split(".")[0] == "psycopg2":  # the driver, not SQLAlchemy's dialect module
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", no_psycopg2)
    with pytest.raises(StorageError, match=r"needs the Python package 'psycopg2-binary'.*pip install psycopg2-binary"):
        Store("postgresql+psycopg2://fa:secret@127.0.0.1:1/fa")
    for bare in ("postgresql://fa:secret@127.0.0.1:1/fa", "postgres://fa:secret@127.0.0.1:1/fa"):
        # no driver in the URL: the project's own (psycopg2), not SQLAlchemy's default (psycopg 3)
        with pytest.raises(StorageError, match=r"needs the Python package 'psycopg2-binary'") as raised:
            Store(bare)
        assert "psycopg[binary]" not in str(raised.value) and "secret" not in str(raised.value)


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

    store.save_analysis(make_analysis("P1", {"tops": 1}), date="2026-11-20")
    cfg = alembic_config(store.url)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert "tickets" not in sa.inspect(store.engine).get_table_names()
    again = Store(store.url)
    assert again.list_tickets() == [] and "tickets" in sa.inspect(again.engine).get_table_names()
    again.close()


def test_a_history_from_before_owners_gets_each_rows_teacher(tmp_path):
    from alembic import command

    from feedback_assistant.storage import alembic_config

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    Store(url).close()
    engine = sa.create_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
        conn.exec_driver_sql("INSERT INTO teachers (name) VALUES ('Ms Old')")
        conn.exec_driver_sql("INSERT INTO sections (teacher_id, name) VALUES (1, 'P1')")
        conn.exec_driver_sql("INSERT INTO tickets (section_id, date, columns) VALUES (1, '2026-11-01', '{}')")
    engine.dispose()
    store = Store(url, teacher="Ms Old")
    assert [t.section for t in store.list_tickets()] == ["P1"]
    assert store.as_teacher("Someone").list_tickets() == []
    store.close()


def _history_with_data(tmp_path):
    path = tmp_path / "feedback.sqlite"
    store = Store(str(path), teacher="T")
    for i in range(3):
        store.save_analysis(make_analysis(f"P{i}", {"tops": 20, "bigger": 20, "right": 20}, seed=i))
    store.close()
    return path


def _damage(path, how: str) -> None:
    import os
    import time

    data = path.read_bytes()
    if how == "0 bytes":
        path.write_bytes(b"")
        old = time.time() - 60
        os.utime(path, (old, old))
    elif how == "half":
        path.write_bytes(data[: len(data) // 2])
    elif how == "bad header":
        path.write_bytes(b"\x00" * 16 + data[16:])
    elif how == "one bad page":
        page = int.from_bytes(data[16:18], "big")
        n = len(data) // page
        k = n // 2  # a page in the middle: its b-tree header becomes garbage
        path.write_bytes(data[: k * page] + bytes([0xA5]) * page + data[(k + 1) * page :])
    elif how == "a text file":
        path.write_text("Period 3 notes: remember to bring the fraction strips.\n" * 50)


@pytest.mark.parametrize("how", ["0 bytes", "half", "bad header", "one bad page", "a text file"])
def test_a_damaged_history_is_moved_aside_never_replaced_or_written(tmp_path, how):
    path = _history_with_data(tmp_path)
    _damage(path, how)
    damaged = path.read_bytes()
    with pytest.raises(
        StorageError,
        match=r"the history file .* is damaged \(.+\)\. It was moved aside to "
        r"feedback\.sqlite\.damaged-[0-9-]+ in the same folder; nothing in it was deleted",
    ) as err:
        Store(str(path), teacher="T")
    kept = err.value.kept_as
    assert kept.exists() and kept.read_bytes() == damaged  # kept byte for byte
    assert not path.exists()  # nothing new was written in its place by this call
    fresh = Store(str(path), teacher="T")  # the next run starts a new history beside the kept one
    assert fresh.list_tickets() == []
    fresh.close()
    assert kept.read_bytes() == damaged


def test_the_cli_reports_a_damaged_history_and_does_not_write_into_it(tmp_path, capsys, fake_embedder):
    from conftest import SAMPLES

    from feedback_assistant import cli

    path = _history_with_data(tmp_path)
    _damage(path, "one bad page")
    code = cli.main(
        ["analyze", str(SAMPLES / "hs_social_studies.csv"), "--out", str(tmp_path / "o"), "--db", str(path)],
        embedder=fake_embedder,
    )
    err = capsys.readouterr().err
    assert code == 2 and "is damaged" in err and "moved aside" in err and err.count("\n") == 1


@pytest.mark.parametrize("how", ["a text file", "one bad page"])
def test_a_damaged_embedding_cache_is_rebuilt_with_a_notice(tmp_path, how, caplog):
    import logging

    from feedback_assistant.embedding import EmbeddingCache

    cache = EmbeddingCache(tmp_path)
    vectors = {f"response {i} " + "x" * 200: np.full(384, i, np.float32) for i in range(200)}
    cache.put_many("m", vectors)
    _damage(tmp_path / "embeddings.sqlite", how)
    with caplog.at_level(logging.WARNING, logger="feedback_assistant.embedding"):
        got = cache.get_many("m", list(vectors))  # damaged: a miss, never an error that stops the run
        cache.put_many("m", vectors)
    assert len(got) < len(vectors)
    assert "embedding cache" in caplog.text and "started again" in caplog.text
    again = cache.get_many("m", list(vectors))
    assert set(again) == set(vectors) and np.array_equal(
        again["response 7 " + "x" * 200], vectors["response 7 " + "x" * 200]
    )


def test_forget_takes_the_classs_taught_groups_and_any_taught_stem_quoting_its_students(store):
    a = store.as_teacher("A")
    p1 = make_analysis("P1", {"tops": 3}, prefix="one-")
    a.save_analysis(p1, date="2026-11-20")
    a.save_analysis(make_analysis("P2", {"right": 3}, prefix="two-"), date="2026-11-20")
    quoted = p1.results[0].responses[0].text
    mg, me = storage_schema.memory_groups, storage_schema.memory_examples
    with store.engine.begin() as conn:
        sections = dict(conn.execute(sa.select(storage_schema.sections.c.name, storage_schema.sections.c.id)).all())
        ids = {}
        for label, stem in (
            ("only P1", "Add the parts."),
            ("quotes", f'You wrote "{quoted}": look again.'),
            ("both", "Ok."),
        ):
            ids[label] = conn.execute(
                sa.insert(mg).values(owner="A", question_key="q", label=label, status="misconception", stem=stem)
            ).inserted_primary_key[0]
        for label, section in (("only P1", "P1"), ("quotes", "P2"), ("both", "P1"), ("both", "P2")):
            conn.execute(
                sa.insert(me).values(
                    owner="A",
                    group_id=ids[label],
                    section_id=sections[section],
                    question_key="q",
                    date="2026-11-20",
                    text="x",
                    vector=b"\0\0\0\0",
                )
            )
    report = a.forget("P1", cache=False)
    assert report.counts["taught groups"] == 1 and report.counts["taught groups quoting students"] == 1
    assert report.counts["memory examples"] == 3  # two of P1, and the quoting group's example from P2
    with store.engine.connect() as conn:
        assert set(conn.execute(sa.select(mg.c.label)).scalars()) == {"both"}
        assert conn.execute(sa.select(sa.func.count()).select_from(me)).scalar() == 1


def test_forget_removes_cached_embeddings_of_a_schools_own_model_too(tmp_path, monkeypatch):
    from feedback_assistant.embedding import EmbeddingCache, MiniLMEmbedder, normalise_text

    folder = tmp_path / "models" / "district-model"
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text("[]")
    (folder / "model.safetensors").write_bytes(b"weights")
    monkeypatch.setenv("FEEDBACK_ASSISTANT_MODELS", str(tmp_path / "models"))
    name = MiniLMEmbedder(cache=False, model_path="models/district-model", dtype="float32").name
    store = Store(str(tmp_path / "h.sqlite"), teacher="T")
    analysis = make_analysis("P1", {"tops": 3})
    store.save_analysis(analysis)
    cache = EmbeddingCache(tmp_path / "cache")
    texts = [normalise_text(r.text) for r in analysis.results[0].responses if r.text]
    cache.put_many(name, {x: np.ones(4, np.float32) for x in texts})
    assert store.forget("P1", cache=cache).counts["cached embeddings"] == len(set(texts))
    assert cache.get_many(name, texts) == {}
