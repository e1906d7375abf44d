"""History that is never lost and belongs to its teacher: every analysis, edit and approval, in SQLite or PostgreSQL.

``Store(url, teacher=...)`` opens ``$FEEDBACK_ASSISTANT_HOME/feedback.sqlite`` (else
``~/.feedback_assistant/feedback.sqlite``), or the URL in ``FEEDBACK_ASSISTANT_DB``, or the URL / file path it
is given, brings its schema up to date with the Alembic migrations in ``feedback_assistant/migrations``, and
acts for one teacher: the one named, else ``FEEDBACK_ASSISTANT_TEACHER``, else the login name. On a PLC's
PostgreSQL server set up with ``plc-setup`` the teacher is the database role connected, whatever is passed,
and row-level security makes the server itself refuse every other teacher's student rows.

Owner: every row of a class carries its teacher (``owner``). Listing, reopening, editing, forgetting and
exporting act on the current teacher's classes only; a colleague's class is visible only through
``group_records`` (the PLC comparison), with students pseudonymised (``storage_records.pseudonym``).

One write path: ``save_analysis`` files a new ticket (one per section); each later edit of a question is
``save_result(ticket_id, result, version=...)``: one small transaction that writes only the rows that changed
and raises ``StaleEditError`` ("this class changed in another window — reload to see it") when another window
saved that question since ``version`` was read, instead of silently overwriting it.

Crash safety: every public write is one transaction, committed before the call returns; SQLite runs in WAL
mode with ``synchronous=FULL`` and ``secure_delete``, and takes the write lock at the start of a write
(``BEGIN IMMEDIATE``), so two processes writing to one file wait for each other (up to ``BUSY_TIMEOUT_S``).
Killing the process mid-save loses at most the save in progress, never one that returned. A damaged SQLite
file is moved aside with a clear message, never replaced or written into (``storage_open``).

Sections: when ``section`` is given every response goes under it; otherwise each response goes under its
own ``Response.section`` (``UNNAMED_SECTION`` without one), rows renumbered so each ticket's ``Analysis`` is
complete on its own.
"""

from __future__ import annotations

import getpass
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from . import storage_schema as t
from .records import (
    APPROVED,
    Analysis,
    ColumnMap,
    NotFoundError,
    QuestionResult,
    RowAccountingError,
)
from .storage_codec import (
    UNNAMED_SECTION,
    frame_from_text,
    frame_to_text,
    load_result,
    normalise_date,
    question_key,
    saved_labels,
    split_by_section,
    update_result,
    write_result,
)
from .storage_library import SqlLibraryStore
from .storage_open import (
    BUSY_TIMEOUT_S,
    DamagedHistoryError,
    StorageError,
    default_url,
    display_url,
    file_damage,
    is_damage,
    make_engine,
    move_aside,
    resolve_url,
    sqlite_path,
)
from .storage_records import ForgetReport, GroupRecord, TicketSummary, pseudonym, pseudonym_key

__all__ = [
    "BUSY_TIMEOUT_S",
    "UNNAMED_SECTION",
    "DamagedHistoryError",
    "ForgetReport",
    "GroupRecord",
    "SqlLibraryStore",
    "StaleEditError",
    "StorageError",
    "Store",
    "TicketSummary",
    "current_teacher",
    "default_url",
    "display_url",
    "normalise_date",
    "resolve_url",
    "split_by_section",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_MIGRATION_LOCK = 7_311_004  # pg_advisory_xact_lock key: one migrator at a time on a shared server
SECRET_KEY = "pseudonym_secret"
STALE_MESSAGE = "this class changed in another window — reload to see it; this change was not saved."


class StaleEditError(StorageError):
    """The question was saved from another window (or the CLI) since this copy was read."""


def current_teacher(explicit: str | None = None) -> str:
    """Who is using the tool: ``explicit`` (``--teacher``, the app's field), else ``FEEDBACK_ASSISTANT_TEACHER``,
    else the login name."""
    for name in (explicit, os.environ.get("FEEDBACK_ASSISTANT_TEACHER")):
        if name and str(name).strip():
            return str(name).strip()
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name on some systems
        return "Teacher"


def alembic_config(url: str):
    """An Alembic ``Config`` for the migrations shipped in the package (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Store:
    """The history database, acting for one teacher. Cheap to open; safe to open in several processes at once.

    Args:
        url: SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg2://user:pw@host/db``) or a file path;
            default ``FEEDBACK_ASSISTANT_DB`` or the SQLite file in the data folder.
        teacher: whose classes this store reads and writes (see ``current_teacher``); on a PLC server the
            connected database role, and naming anyone else is refused.

    Raises:
        StorageError: the database cannot be reached, is damaged (``DamagedHistoryError``: moved aside), or
            cannot be brought up to date; a PLC role named another teacher.
    """

    def __init__(self, url: str | None = None, *, teacher: str | None = None, _engine: sa.Engine | None = None):
        try:
            self.url = resolve_url(url)
        except OSError as exc:
            raise StorageError(
                f"could not create the folder for the history database ({exc.strerror}: {exc.filename}). "
                "Pass --db with a folder you can write to."
            ) from exc
        self._path = sqlite_path(self.url)
        if _engine is not None:  # as_teacher: same database, another teacher
            self.engine, self._owns_engine = _engine, False
        else:
            self._check_file()
            self.engine, self._owns_engine = make_engine(self.url), True
            self._opening = True  # damage found while opening moves the file aside (see below)
            try:
                self._upgrade()
            except StorageError:
                self.engine.dispose()
                raise
            except sa.exc.DatabaseError as exc:
                self.engine.dispose()
                if self._path is not None and is_damage(exc):
                    raise move_aside(self._path, "SQLite reports it malformed") from exc
                reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
                raise StorageError(
                    f"could not open the history database {display_url(self.url)} ({reason}). Check that the "
                    "file's folder is writable or that the database server is running, or pass --db with "
                    "another location."
                ) from exc
        self._opening = False
        self.role, self.plc = self._whoami()
        if self.plc:
            if teacher and teacher.strip() and teacher.strip() != self.role:
                raise StorageError(
                    f"you are connected to the PLC server as {self.role!r}: your classes are saved under that "
                    f"name, and {teacher.strip()!r}'s are not yours to open. Connect with that teacher's own "
                    "login instead."
                )
            self.teacher: str = str(self.role)  # PLC mode is PostgreSQL: there is always a role
        else:
            self.teacher = current_teacher(teacher)
        self._secret: str | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def as_teacher(self, teacher: str) -> Store:
        """The same database acting for ``teacher`` (refused on a PLC server: there the login decides)."""
        return Store(self.url, teacher=teacher, _engine=self.engine)

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({display_url(self.url)!r}, teacher={self.teacher!r})"

    # -- plumbing

    def _check_file(self) -> None:
        if self._path is None:
            return
        reason = file_damage(self._path)
        if reason:
            raise move_aside(self._path, reason)

    def _upgrade(self) -> None:
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        cfg = alembic_config(self.url)
        script = ScriptDirectory.from_config(cfg)
        heads = set(script.get_heads())
        damage = None
        with self._read() as conn:
            try:
                if self._path is not None and self._path.exists() and self._path.stat().st_size:
                    if conn.exec_driver_sql("PRAGMA quick_check").scalars().all() != ["ok"]:
                        damage = "SQLite's own check found damaged pages"
                current = set(MigrationContext.configure(conn).get_current_heads())
            except sa.exc.DatabaseError as exc:
                if self._path is None or not is_damage(exc):
                    raise
                damage = "SQLite reports it malformed"
        if damage:
            assert self._path is not None  # damage is only ever found in a SQLite file
            self.engine.dispose()
            raise move_aside(self._path, damage)
        if current == heads:
            return
        known = {rev.revision for rev in script.walk_revisions()}
        if current - known:
            raise StorageError(
                f"the history database {display_url(self.url)} was written by a newer version of "
                "feedback-assistant; update feedback-assistant to open it (nothing was changed)."
            )
        try:
            with self.engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE = one migrator at a time
                if self.dialect == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except sa.exc.ProgrammingError as exc:
            if "permission denied" in str(exc) or "must be owner" in str(exc):
                raise StorageError(
                    f"the PLC database {display_url(self.url)} needs updating and your login may not change "
                    "it: ask whoever set it up to run `feedback-assistant plc-setup` again."
                ) from exc
            raise

    def _whoami(self) -> tuple[str | None, bool]:
        """(database role, PLC mode): PLC mode = PostgreSQL with row-level security on the tickets table."""
        if self.dialect != "postgresql":
            return None, False
        with self._read() as conn:
            role = conn.execute(sa.text("SELECT current_user")).scalar_one()
            rls = conn.execute(
                sa.text("SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass('tickets')")
            ).scalar()
        return role, bool(rls)

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self._errors(), self.engine.connect() as conn:
            conn = conn.execution_options(fa_read=True)
            if self.dialect == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            try:
                yield conn
            finally:
                conn.rollback()

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One transaction: committed when the block ends, rolled back on any error."""
        with self._errors(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.DatabaseError as exc:
            if self._path is not None and is_damage(exc) and not getattr(self, "_opening", False):
                raise StorageError(
                    f"the history file {self._path} is damaged (SQLite reports it malformed); nothing more was "
                    "written to it. Close the app and run it again: the damaged file will be moved aside and "
                    "kept, and a new history started."
                ) from exc
            if "row-level security" in str(exc) or "permission denied" in str(exc):
                raise StorageError(
                    "the PLC server refused: that class is not yours. Only its own teacher can change it."
                ) from exc
            raise

    def _insert(self, table: sa.Table):
        from sqlalchemy.dialects import postgresql, sqlite

        return postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table)

    def _get_or_create(self, conn, table: sa.Table, keys: dict, extra: dict | None = None) -> int:
        where = sa.and_(*(table.c[k] == v for k, v in keys.items()))
        found = conn.execute(sa.select(table.c.id).where(where)).scalar()
        if found is not None:
            return found
        conn.execute(self._insert(table).values(**keys, **(extra or {})).on_conflict_do_nothing())
        return conn.execute(sa.select(table.c.id).where(where)).scalar_one()

    def _question_id(self, conn, text: str, topic: str | None) -> int:
        h = question_key(text, topic)
        qid = conn.execute(sa.select(t.questions.c.id).where(t.questions.c.text_hash == h)).scalar()
        if qid is None:
            conn.execute(self._insert(t.questions).values(text_hash=h, text=text, topic=topic).on_conflict_do_nothing())
            qid = conn.execute(sa.select(t.questions.c.id).where(t.questions.c.text_hash == h)).scalar_one()
        if topic:
            conn.execute(sa.update(t.questions).where(t.questions.c.id == qid).values(topic=topic))
        return qid

    def _mine(self, table: sa.Table):
        return table.c.owner == self.teacher

    def _ticket_question(self, conn, ticket_id: int, question: str) -> tuple[int, int]:
        """(ticket question id, version) of one of the teacher's tickets."""
        row = conn.execute(
            sa.select(t.ticket_questions.c.id, t.ticket_questions.c.version)
            .join(t.questions, t.questions.c.id == t.ticket_questions.c.question_id)
            .where(
                t.ticket_questions.c.ticket_id == ticket_id,
                t.questions.c.text == question,
                self._mine(t.ticket_questions),
            )
        ).first()
        if row is None:
            self._require_ticket(conn, ticket_id)
            asked = (
                conn.execute(
                    sa.select(t.questions.c.text)
                    .join(t.ticket_questions)
                    .where(t.ticket_questions.c.ticket_id == ticket_id)
                    .order_by(t.ticket_questions.c.position)
                )
                .scalars()
                .all()
            )
            raise NotFoundError(
                f"exit ticket {ticket_id} has no question {question!r}; its questions are: "
                + "; ".join(repr(q) for q in asked)
            )
        return row.id, row.version

    def _require_ticket(self, conn, ticket_id: int) -> None:
        found = conn.execute(
            sa.select(t.tickets.c.id).where(t.tickets.c.id == ticket_id, self._mine(t.tickets))
        ).scalar()
        if found is None:  # another teacher's ticket reads exactly like a missing one
            raise NotFoundError(
                f"exit ticket {ticket_id} is not in your history (it may have been forgotten); "
                "pick one from the list of your saved tickets."
            )

    # -- saving

    def save_analysis(
        self,
        analysis: Analysis,
        *,
        section: str | None = None,
        date: str | None = None,
        topic: str | None = None,
        teacher: str | None = None,
    ) -> dict[str, int]:
        """Save an analysed ticket for the current teacher (one transaction): one ticket per section.

        Args:
            analysis: the analysed ticket.
            section: the class to file it under; None = each response's own section (see module docstring).
            date: the ticket's date; None = the responses' date column, else today.
            topic: standard/topic tag for the questions (kept on the question for later tickets too).
            teacher: save for this teacher instead (same as ``as_teacher(teacher).save_analysis``).

        Returns:
            section name -> ticket id, in the file's order. Every question starts at version 0.
        """
        if teacher is not None:
            if not teacher.strip():
                raise StorageError("a teacher name is needed to save the history; pass --teacher YOUR NAME.")
            if teacher.strip() != self.teacher:
                return self.as_teacher(teacher).save_analysis(analysis, section=section, date=date, topic=topic)
        topic = topic.strip() if topic and topic.strip() else None
        parts = split_by_section(analysis, section)
        ids: dict[str, int] = {}
        owner = self.teacher
        with self._write() as conn:
            teacher_id = self._get_or_create(conn, t.teachers, {"name": owner})
            for name, part in parts.items():
                section_id = self._get_or_create(
                    conn, t.sections, {"teacher_id": teacher_id, "name": name}, {"owner": owner}
                )
                day = date
                if day is None:
                    day = next((r.date for res in part.results for r in res.responses if r.date), None)
                ticket_id = conn.execute(
                    t.tickets.insert().values(
                        section_id=section_id,
                        owner=owner,
                        date=normalise_date(day),
                        source_name=analysis.source_name or "",
                        columns={k: getattr(part.columns, k) for k in ColumnMap.__slots__},
                        frame=frame_to_text(part.frame),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
                for position, result in enumerate(part.results):
                    tq = conn.execute(
                        t.ticket_questions.insert().values(
                            ticket_id=ticket_id,
                            owner=owner,
                            question_id=self._question_id(conn, result.question, topic),
                            position=position,
                            answer_key=result.key,
                        )
                    ).inserted_primary_key[0]  # type: ignore[index]
                    write_result(conn, tq, result, owner)
                ids[name] = ticket_id
        return ids

    def save_result(self, ticket_id: int, result: QuestionResult, *, version: int) -> int:
        """Save the teacher's edit of one question: only the rows that changed, in one transaction.

        Args:
            ticket_id: the teacher's saved ticket.
            result: the edited question (same responses as saved).
            version: the question's version when this copy was read (``open_ticket`` / the last return value).

        Returns:
            the question's new version.

        Raises:
            StaleEditError: another window saved this question since ``version``; nothing was written.
            NotFoundError: no such ticket of this teacher, or no such question on it.
            RowAccountingError: ``result`` does not hold exactly the responses saved for that question.
        """
        with self._write() as conn:
            tq, saved_version = self._ticket_question(conn, ticket_id, result.question)
            bumped = conn.execute(
                sa.update(t.ticket_questions)
                .where(t.ticket_questions.c.id == tq, t.ticket_questions.c.version == int(version))
                .values(version=t.ticket_questions.c.version + 1, answer_key=result.key)
            ).rowcount
            if bumped != 1:
                raise StaleEditError(STALE_MESSAGE)
            labels = saved_labels(conn, tq)
            saved, given = set(labels), {r.row for r in result.responses}
            if saved != given or len(given) != len(result.responses):
                raise RowAccountingError(
                    f"the edited question {result.question!r} has {len(result.responses)} responses but "
                    f"{len(saved)} were saved for exit ticket {ticket_id}; reopen the ticket and edit it again."
                )
            update_result(conn, tq, result, self.teacher, labels)
        return int(version) + 1

    def versions(self, ticket_id: int) -> dict[str, int]:
        """Question text -> its current version, for one of the teacher's tickets."""
        with self._read() as conn:
            self._require_ticket(conn, ticket_id)
            return self._versions(conn, ticket_id)

    def _versions(self, conn, ticket_id: int) -> dict[str, int]:
        return dict(
            conn.execute(
                sa.select(t.questions.c.text, t.ticket_questions.c.version)
                .join(t.questions, t.questions.c.id == t.ticket_questions.c.question_id)
                .where(t.ticket_questions.c.ticket_id == ticket_id)
                .order_by(t.ticket_questions.c.position)
            ).all()
        )

    # -- reading (the current teacher's classes)

    def list_tickets(self, section: str | None = None, *, teacher: str | None = None) -> list[TicketSummary]:
        """The teacher's saved tickets, newest date first (then newest saved first)."""
        if teacher is not None and teacher.strip() != self.teacher:
            return self.as_teacher(teacher).list_tickets(section)
        q = (
            sa.select(
                t.tickets.c.id,
                t.sections.c.name.label("section"),
                t.tickets.c.date,
                t.tickets.c.source_name,
            )
            .join(t.sections, t.sections.c.id == t.tickets.c.section_id)
            .where(self._mine(t.tickets))
            .order_by(t.tickets.c.date.desc(), t.tickets.c.id.desc())
        )
        if section is not None:
            q = q.where(t.sections.c.name == section)
        with self._read() as conn:
            rows = conn.execute(q).all()
            ids = [r.id for r in rows]
            if not ids:
                return []
            tq = t.ticket_questions
            qs: dict[int, list[str]] = {i: [] for i in ids}
            for tid, text in conn.execute(
                sa.select(tq.c.ticket_id, t.questions.c.text)
                .join(t.questions, t.questions.c.id == tq.c.question_id)
                .where(tq.c.ticket_id.in_(ids))
                .order_by(tq.c.ticket_id, tq.c.position)
            ):
                qs[tid].append(text)
            n_resp: dict[int, int] = dict(
                conn.execute(
                    sa.select(tq.c.ticket_id, sa.func.count(t.responses.c.id))
                    .join(t.responses, t.responses.c.ticket_question_id == tq.c.id)
                    .where(tq.c.ticket_id.in_(ids))
                    .group_by(tq.c.ticket_id)
                ).all()
            )
            n_appr: dict[int, int] = dict(
                conn.execute(
                    sa.select(tq.c.ticket_id, sa.func.count(t.stems.c.id))
                    .join(t.stems, t.stems.c.ticket_question_id == tq.c.id)
                    .where(tq.c.ticket_id.in_(ids), t.stems.c.state == APPROVED)
                    .group_by(tq.c.ticket_id)
                ).all()
            )
        return [
            TicketSummary(
                id=r.id,
                teacher=self.teacher,
                section=r.section,
                date=r.date,
                source_name=r.source_name,
                questions=tuple(qs[r.id]),
                n_responses=int(n_resp.get(r.id, 0)),
                n_approved=int(n_appr.get(r.id, 0)),
            )
            for r in rows
        ]

    def load_analysis(self, ticket_id: int) -> Analysis:
        """Reopen one of the teacher's tickets exactly as last saved: groups, stems, plan, overrides, vectors.

        Raises:
            NotFoundError: no such ticket among the teacher's (another teacher's ticket is not found either).
        """
        return self.open_ticket(ticket_id)[0]

    def open_ticket(self, ticket_id: int) -> tuple[Analysis, dict[str, int]]:
        """``load_analysis`` and ``versions`` read together (one snapshot): the base for editing the ticket.

        Reading them apart could pair an older copy with a newer version, and a save of that copy would then pass
        the version check.
        """
        with self._read() as conn:
            self._require_ticket(conn, ticket_id)
            versions = self._versions(conn, ticket_id)
            ticket = conn.execute(sa.select(t.tickets).where(t.tickets.c.id == ticket_id)).one()
            tqs = conn.execute(
                sa.select(t.ticket_questions.c.id, t.ticket_questions.c.answer_key, t.questions.c.text)
                .join(t.questions, t.questions.c.id == t.ticket_questions.c.question_id)
                .where(t.ticket_questions.c.ticket_id == ticket_id)
                .order_by(t.ticket_questions.c.position)
            ).all()
            results = [load_result(conn, row.id, row.text, row.answer_key) for row in tqs]
        all_responses = [r for res in results for r in res.responses]
        columns = ColumnMap(**{k: v for k, v in (ticket.columns or {}).items() if k in ColumnMap.__slots__})
        analysis = Analysis(
            frame=frame_from_text(ticket.frame, all_responses),
            columns=columns,
            results=tuple(results),
            source_name=ticket.source_name,
        )
        return analysis, versions

    def sections(self) -> list[str]:
        """Names of the teacher's saved sections (sorted)."""
        q = sa.select(t.sections.c.name).where(self._mine(t.sections)).distinct().order_by(t.sections.c.name)
        with self._read() as conn:
            return list(conn.execute(q).scalars())

    # -- the PLC: every teacher's questions and groups, other teachers' students pseudonymised

    def questions(self, topic: str | None = None) -> list[str]:
        """Texts of the questions on saved tickets, any teacher's (optionally only those tagged ``topic``)."""
        q = sa.select(t.questions.c.text).distinct().order_by(t.questions.c.text)
        if not self.plc:  # under row-level security the teacher sees only their own ticket questions
            q = q.where(t.questions.c.id.in_(sa.select(t.ticket_questions.c.question_id)))
        if topic is not None:
            q = q.where(sa.func.lower(t.questions.c.topic) == topic.strip().lower())
        with self._read() as conn:
            return list(conn.execute(q).scalars())

    def topics(self) -> list[str]:
        """Standard/topic tags in use (sorted)."""
        with self._read() as conn:
            return list(
                conn.execute(
                    sa.select(t.questions.c.topic)
                    .where(t.questions.c.topic.is_not(None))
                    .distinct()
                    .order_by(t.questions.c.topic)
                ).scalars()
            )

    def pseudonym(self, owner: str, section: str, student: str) -> str:
        """How a student of another teacher's class is shown (keyed by the store's secret)."""
        return pseudonym(pseudonym_key(self._pseudonym_secret(), owner, section, student))

    def _pseudonym_secret(self) -> str:
        if self._secret is None:
            with self._write() as conn:
                conn.execute(
                    self._insert(t.settings)
                    .values(key=SECRET_KEY, value=secrets.token_hex(32))
                    .on_conflict_do_nothing()
                )
                self._secret = conn.execute(
                    sa.select(t.settings.c.value).where(t.settings.c.key == SECRET_KEY)
                ).scalar_one()
        return self._secret

    def group_records(self, *, question: str | None = None, topic: str | None = None) -> list[GroupRecord]:
        """Every saved group of a question or topic (any case), across teachers, for the PLC comparison.

        The teacher's own classes carry real student names; other teachers' classes carry pseudonyms (on a
        PLC server they are read through the pseudonymised ``plc_*`` views, the only way a role can see them).
        Tickets with the question but no group appear once with ``group_id`` = ``UNGROUPED``.
        """
        from . import storage_plc

        pseudonymise = None if self.plc else self.pseudonym
        if pseudonymise is not None:
            self._pseudonym_secret()  # before the read: a new secret is written in its own transaction
        with self._read() as conn:
            records = storage_plc.read_all(conn, question, topic, self.teacher, pseudonymise)
            if self.plc:  # row-level security hid the others: read them pseudonymised through the views
                records += storage_plc.read_others(conn, question, topic)
        return sorted(records, key=lambda r: (r.date, r.ticket_id))

    # -- the misconception library (for ``SqlLibraryStore``)

    def load_library(self, topic: str) -> list:
        """Library entries filed under ``topic``: every teacher's approved wording (no student names)."""
        from .storage_library import load_entries

        with self._read() as conn:
            return load_entries(conn, topic)

    def save_library(self, entries, *, section: str | None = None) -> None:
        """Keep the teacher's library entries (one transaction), linked to their ``section`` when given."""
        from .storage_library import save_entries

        if not entries:
            return
        with self._write() as conn:
            section_id = None
            if section is not None:
                section_id = conn.execute(
                    sa.select(t.sections.c.id).where(t.sections.c.name == section, self._mine(t.sections))
                ).scalar()
            save_entries(conn, self._insert, entries, owner=self.teacher, section_id=section_id)

    # -- forgetting

    def forget(self, section: str, *, date: str | None = None, dry_run: bool = False, cache=None) -> ForgetReport:
        """Delete one of the teacher's classes (or one day of it) from every table, in one transaction.

        Deletes its tickets, responses, groups, stems, plans, overrides, any later table keyed to them (e.g.
        the learner's memory examples), the teacher's library entries that quote its students, and the cached
        embeddings of its responses; then the section itself when no ticket is left and questions no ticket
        asks. Deleted bytes are overwritten (``secure_delete``) and the write-ahead log is emptied.

        Args:
            section: the class, as saved.
            date: only the tickets of that day (any form ``normalise_date`` reads).
            dry_run: count what would be deleted, delete nothing.
            cache: the ``EmbeddingCache`` to clean (default: the one in the data folder; False to skip).

        Raises:
            NotFoundError: the teacher has no class (or no ticket that day) of that name; the message lists theirs.
        """
        from . import storage_forget

        class _DryRun(Exception):
            pass

        day = normalise_date(date) if date else None
        report = None
        try:
            with self._write() as conn:
                counts, texts = storage_forget.delete_class(conn, self, section, day)
                report = ForgetReport(self.teacher, section, day, counts, done=not dry_run)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        assert report is not None  # set in the transaction (a failure there raises)
        cached = storage_forget.forget_cached_embeddings(texts, cache, dry_run=dry_run)
        if cached:
            report.counts["cached embeddings"] = cached
        if not dry_run and self.dialect == "sqlite":
            raw = self.engine.raw_connection()  # outside any transaction: old page images leave the WAL file
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
            finally:
                raw.close()
        return report
