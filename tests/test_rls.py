"""A PLC on PostgreSQL: two teachers, two database roles, and the database itself keeps each class its teacher's.

Needs the PostgreSQL server CI starts (``FA_TEST_POSTGRES_URL``, a role that may create roles); skipped without it.
Each test gets its own schema and its own two login roles.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
import sqlalchemy as sa
from storage_helpers import QUESTION, make_analysis

from feedback_assistant.compare import compare
from feedback_assistant.records import NotFoundError
from feedback_assistant.storage import StorageError, Store
from feedback_assistant.storage_plc import setup_plc, teacher_url
from feedback_assistant.storage_records import pseudonym

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("FA_TEST_POSTGRES_URL"),
        reason="set FA_TEST_POSTGRES_URL (see scripts/start_postgres.sh) to run against PostgreSQL",
    ),
]
PSEUDONYM = re.compile(r"Student [A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}")


@pytest.fixture
def plc():
    """(admin URL, {teacher: their URL}) for a fresh PLC schema with teachers A and B."""
    base = os.environ["FA_TEST_POSTGRES_URL"]
    tag = uuid.uuid4().hex[:8]
    schema = f"fa_plc_{tag}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin_url = base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
    names = [f"fa_a_{tag}", f"fa_b_{tag}"]
    try:
        made = setup_plc(admin_url, names)
        assert set(made) == set(names) and all(made.values())
        yield admin_url, {n: teacher_url(admin_url, n, made[n]) for n in names}
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            for n in names:
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{n}"'))
        admin.dispose()


def _two_classes(plc):
    admin_url, urls = plc
    a_name, b_name = urls
    a, b = Store(urls[a_name]), Store(urls[b_name])
    assert (a.teacher, a.plc, b.teacher) == (a_name, True, b_name)
    [a_ticket] = a.save_analysis(
        make_analysis("Period 3", {"tops": 4, "right": 3}, prefix="alice-"), date="2026-11-20"
    ).values()
    [b_ticket] = b.save_analysis(
        make_analysis("Period 3", {"tops": 2, "bigger": 3}, prefix="bob-", seed=2), date="2026-11-21"
    ).values()
    return a, b, a_ticket, b_ticket


def test_each_role_lists_opens_and_forgets_only_its_own_classes(plc):
    a, b, a_ticket, b_ticket = _two_classes(plc)
    assert [t.id for t in a.list_tickets()] == [a_ticket] and [t.id for t in b.list_tickets()] == [b_ticket]
    with pytest.raises(NotFoundError, match="not in your history"):
        b.load_analysis(a_ticket)
    with pytest.raises(StorageError, match="you are connected to the PLC server as"):
        Store(b.url, teacher=a.teacher)  # naming a colleague does not make you them
    b.forget("Period 3", cache=False)  # B's own "Period 3"; A's class of the same name stays
    assert b.list_tickets() == [] and [t.id for t in a.list_tickets()] == [a_ticket]
    assert a.load_analysis(a_ticket).results[0].responses[0].student.startswith("alice-")


def test_hand_written_sql_cannot_read_change_or_delete_a_colleagues_rows(plc):
    a, b, a_ticket, _ = _two_classes(plc)
    with b.engine.begin() as conn:
        students = set(conn.execute(sa.text("SELECT student FROM responses")).scalars())
        assert students and all(s.startswith("bob-") for s in students)
        assert conn.execute(sa.text("SELECT count(*) FROM tickets WHERE id = :t"), {"t": a_ticket}).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM plan_members WHERE student LIKE 'alice-%'")).scalar() == 0
        changed = conn.execute(
            sa.text("UPDATE responses SET text = 'overwritten' WHERE owner = :a"), {"a": a.teacher}
        ).rowcount
        deleted = conn.execute(sa.text("DELETE FROM tickets WHERE id = :t"), {"t": a_ticket}).rowcount
        deleted += conn.execute(sa.text("DELETE FROM responses WHERE student LIKE 'alice-%'")).rowcount
        assert (changed, deleted) == (0, 0)
    for sql in (
        "UPDATE responses SET owner = current_user",  # take A's rows over: they are invisible, so none move
        "SELECT value FROM settings",  # the pseudonym secret
    ):
        with b.engine.begin() as conn:
            if sql.startswith("SELECT"):
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    conn.execute(sa.text(sql))
            else:
                conn.execute(sa.text(sql))
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), b.engine.begin() as conn:
        conn.execute(  # a row slipped in under A's name is refused
            sa.text(
                "INSERT INTO sections (teacher_id, name, owner) SELECT id, 'Planted', :a FROM teachers WHERE name = :a"
            ),
            {"a": a.teacher},
        )
    mine = a.load_analysis(a_ticket).results[0]
    assert mine.responses[0].student.startswith("alice-") and "overwritten" not in {r.text for r in mine.responses}


def test_colleagues_classes_are_seen_only_pseudonymised_in_the_comparison(plc):
    admin_url, _ = plc
    a, b, _, _ = _two_classes(plc)
    seen_by_b = compare(b, question=QUESTION)
    assert len(seen_by_b.sections) == 2  # both teachers' "Period 3" (named apart by teacher)
    examples = [e for exs in seen_by_b.examples.values() for e in exs]
    theirs = [e for e in examples if a.teacher in e.section]
    assert theirs and all(e.student == "" and e.text == "" and e.students > 0 for e in theirs)  # no words
    assert all(e.student.startswith("bob-") and e.text for e in examples if a.teacher not in e.section)
    assert not any("alice" in e.student for e in examples)
    records = [r for r in b.group_records(question=QUESTION) if not r.own]
    assert records and all(not r.representatives for r in records)
    assert all(text == "" and PSEUDONYM.fullmatch(who) for r in records for who, text in r.members.values())
    with b.engine.begin() as conn:
        view_names = set(conn.execute(sa.text("SELECT student_key FROM plc_responses")).scalars())
        assert "student" not in conn.execute(sa.text("SELECT * FROM plc_responses LIMIT 1")).keys()
        for view in ("plc_responses", "plc_groups"):  # no response text in any PLC view
            columns = set(conn.execute(sa.text(f"SELECT * FROM {view} LIMIT 1")).keys())
            assert not columns & {"text", "representatives", "student"}, view
    # The pseudonyms the server computes are the ones the tool computes with the PLC's secret.
    admin = Store(admin_url)
    expected = admin.pseudonym(a.teacher, "Period 3", "alice-Tops Student 0")
    assert expected in {pseudonym(k) for k in view_names}  # SQL HMAC == Python HMAC


def test_plc_setup_command_prints_each_login_and_refuses_sqlite(plc, tmp_path, capsys):
    from feedback_assistant.cli import main

    admin_url, urls = plc
    assert main(["plc-setup", "--db", admin_url, "--teacher", next(iter(urls))]) == 0  # again: idempotent
    out = capsys.readouterr().out
    assert "login already existed" in out
    assert main(["plc-setup", "--db", str(tmp_path / "x.sqlite"), "--teacher", "x"]) == 2
    assert "needs a PostgreSQL database URL" in capsys.readouterr().err


def test_the_app_acts_as_the_database_login_whatever_name_is_typed(plc, monkeypatch):
    from feedback_assistant_app import state

    _, urls = plc
    a_name, _ = urls
    monkeypatch.setenv("FEEDBACK_ASSISTANT_DB", urls[a_name])
    monkeypatch.setenv("FEEDBACK_ASSISTANT_TEACHER", "typed on the Upload page")
    store = state.history()
    assert store.plc and store.teacher == a_name
    assert state.history("someone else").teacher == a_name
