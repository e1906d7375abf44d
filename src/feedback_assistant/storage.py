"""History that is never lost: every analysis, edit and approval, in SQLite (default) or PostgreSQL.

``Store()`` opens ``$FEEDBACK_ASSISTANT_HOME/feedback.sqlite`` (else
``~/.feedback_assistant/feedback.sqlite``), or the URL in ``FEEDBACK_ASSISTANT_DB``, or the URL / file path
it is given (``postgresql+psycopg2://...`` for a team's shared server), and brings its schema up to date
with the Alembic migrations shipped in ``feedback_assistant/migrations`` before anything else.

Crash safety: every public write is one transaction, committed before the call returns; SQLite runs in WAL
mode with ``synchronous=FULL`` and takes the write lock at the start of a write (``BEGIN IMMEDIATE``) so two
app sessions writing to the same file wait for each other (up to ``BUSY_TIMEOUT_S``) instead of failing or
corrupting it. Killing the process mid-save loses at most the save in progress, never one that returned.

Sections: ``save_analysis`` stores one exit ticket per section. When ``section`` is given, every response
goes under it; otherwise each response goes under its own ``Response.section`` (responses without one under
``UNNAMED_SECTION``), with rows renumbered so each ticket's ``Analysis`` is complete on its own
(``Response.row`` = position in that ticket's frame). ``save_analysis`` returns the first ticket's id;
``save_analysis_by_section`` returns every id by section name.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from . import storage_schema as t
from .records import (
    APPROVED,
    UNGROUPED,
    Analysis,
    ColumnMap,
    FeedbackAssistantError,
    FeedbackStem,
    NotFoundError,
    QuestionResult,
    RowAccountingError,
)
from .storage_codec import (
    UNNAMED_SECTION,
    delete_result,
    frame_from_text,
    frame_to_text,
    load_result,
    normalise_date,
    question_key,
    split_by_section,
    unblob,
    write_result,
)
from .storage_library import SqlLibraryStore

__all__ = [
    "BUSY_TIMEOUT_S",
    "UNNAMED_SECTION",
    "SqlLibraryStore",
    "StorageError",
    "Store",
    "TicketSummary",
    "default_url",
    "display_url",
    "normalise_date",
    "resolve_url",
    "split_by_section",
]

BUSY_TIMEOUT_S = 30
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_MIGRATION_LOCK = 7_311_004  # pg_advisory_xact_lock key: one migrator at a time on a shared server


class StorageError(FeedbackAssistantError):
    """The history database cannot be opened or written."""


@dataclass(frozen=True, slots=True)
class TicketSummary:
    """One saved exit ticket, for the history list.

    Attributes:
        id: ticket id to pass to ``Store.load_analysis``.
        teacher: the teacher who owns the section.
        section: the section (class period).
        date: the ticket's date, ISO ``YYYY-MM-DD`` when it could be read as a date.
        source_name: the file it came from.
        questions: the questions, in ticket order.
        n_responses: responses over all questions (blank ones included).
        n_approved: approved feedback stems over all questions.
    """

    id: int
    teacher: str
    section: str
    date: str
    source_name: str
    questions: tuple[str, ...]
    n_responses: int
    n_approved: int


# ----------------------------------------------------------------------------------------------- opening


def default_url() -> str:
    """The SQLite file used when no URL is given (``FEEDBACK_ASSISTANT_DB`` overrides it)."""
    home = os.environ.get("FEEDBACK_ASSISTANT_HOME")
    folder = Path(home) if home else Path.home() / ".feedback_assistant"
    return f"sqlite:///{(folder / 'feedback.sqlite').expanduser().resolve()}"


def resolve_url(url: str | None = None) -> str:
    """Turn ``url`` (a URL, a file path or None) into a SQLAlchemy URL, creating the SQLite folder."""
    url = url or os.environ.get("FEEDBACK_ASSISTANT_DB") or default_url()
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return url


def display_url(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for display
        return "(the database)"


def alembic_config(url: str):
    """An Alembic ``Config`` for the migrations shipped in the package (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _enable_wal(cur) -> None:
    """Switch the SQLite file to write-ahead logging (kept in the file), waiting while another process holds it.

    Changing the journal mode needs the file to itself and SQLite does not wait for it (busy_timeout does not
    apply), so two programs opening a new history file at once would fail with "database is locked": retry.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _make_engine(url: str) -> sa.Engine:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    kwargs: dict = {"connect_args": {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}}
    if parsed.database in (None, "", ":memory:"):
        kwargs["poolclass"] = sa.pool.StaticPool
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised on every SQLite connection
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        _enable_wal(cur)
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised on every SQLite transaction
        # Writers take the lock up front, so a read-then-write never fails half-way on a busy database.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("fa_read") else "BEGIN IMMEDIATE")

    return engine


# ----------------------------------------------------------------------------------------------- the store


class Store:
    """The history database. Cheap to open; safe to open in several processes at once.

    Args:
        url: SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg2://user:pw@host/db``) or a file path;
            default ``FEEDBACK_ASSISTANT_DB`` or the SQLite file in the data folder.

    Raises:
        StorageError: the database cannot be reached or brought up to date.
    """

    def __init__(self, url: str | None = None):
        try:
            self.url = resolve_url(url)
        except OSError as exc:
            raise StorageError(
                f"could not create the folder for the history database ({exc.strerror}: {exc.filename}). "
                "Pass --db with a folder you can write to."
            ) from exc
        self.engine = _make_engine(self.url)
        try:
            self._upgrade()
        except StorageError:
            self.engine.dispose()
            raise
        except sa.exc.OperationalError as exc:
            self.engine.dispose()
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise StorageError(
                f"could not open the history database {display_url(self.url)} ({reason}). Check that the "
                "file's folder is writable or that the database server is running, or pass --db with another "
                "location."
            ) from exc

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({display_url(self.url)!r})"

    # -- plumbing

    def _upgrade(self) -> None:
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        cfg = alembic_config(self.url)
        script = ScriptDirectory.from_config(cfg)
        heads = set(script.get_heads())
        with self._read() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
        if current == heads:
            return
        known = {rev.revision for rev in script.walk_revisions()}
        if current - known:
            raise StorageError(
                f"the history database {display_url(self.url)} was written by a newer version of "
                "feedback-assistant; update feedback-assistant to open it (nothing was changed)."
            )
        with self.engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE = one migrator at a time
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
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
        with self.engine.begin() as conn:
            yield conn

    def _insert(self, table: sa.Table):
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def _get_or_create(self, conn, table: sa.Table, keys: dict) -> int:
        where = sa.and_(*(table.c[k] == v for k, v in keys.items()))
        found = conn.execute(sa.select(table.c.id).where(where)).scalar()
        if found is not None:
            return found
        conn.execute(self._insert(table).values(**keys).on_conflict_do_nothing())
        return conn.execute(sa.select(table.c.id).where(where)).scalar_one()

    def _question_id(self, conn, text: str, topic: str | None) -> int:
        h = question_key(text, topic)
        qid = conn.execute(sa.select(t.questions.c.id).where(t.questions.c.text_hash == h)).scalar()
        if qid is None:
            conn.execute(
                self._insert(t.questions).values(text_hash=h, text=text, topic=topic).on_conflict_do_nothing()
            )
            qid = conn.execute(sa.select(t.questions.c.id).where(t.questions.c.text_hash == h)).scalar_one()
        if topic:
            conn.execute(sa.update(t.questions).where(t.questions.c.id == qid).values(topic=topic))
        return qid

    def _ticket_question(self, conn, ticket_id: int, question: str) -> int:
        tq = conn.execute(
            sa.select(t.ticket_questions.c.id)
            .join(t.questions, t.questions.c.id == t.ticket_questions.c.question_id)
            .where(
                t.ticket_questions.c.ticket_id == ticket_id,
                t.questions.c.text == question,
            )
        ).scalar()
        if tq is None:
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
        return tq

    def _require_ticket(self, conn, ticket_id: int) -> None:
        if conn.execute(sa.select(t.tickets.c.id).where(t.tickets.c.id == ticket_id)).scalar() is None:
            raise NotFoundError(
                f"exit ticket {ticket_id} is not in the history (it may have been forgotten); "
                "pick one from the list of saved tickets."
            )

    def save_analysis(
        self,
        analysis: Analysis,
        *,
        section: str | None,
        teacher: str,
        date: str | None,
        topic: str | None = None,
    ) -> int:
        """Save an analysed ticket (one transaction) and return its id (the first section's, when several).

        Args:
            analysis: the analysed ticket.
            section: the class to file it under; None = each response's own section (see module docstring).
            teacher: the teacher who owns the section(s).
            date: the ticket's date; None = the responses' date column, else today.
            topic: standard/topic tag for the questions (kept on the question for later tickets too).

        Returns:
            the id of the (first) saved ticket.
        """
        return next(
            iter(
                self.save_analysis_by_section(
                    analysis, section=section, teacher=teacher, date=date, topic=topic
                ).values()
            )
        )

    def save_analysis_by_section(
        self,
        analysis: Analysis,
        *,
        section: str | None,
        teacher: str,
        date: str | None,
        topic: str | None = None,
    ) -> dict[str, int]:
        """Like ``save_analysis``, returning section name -> ticket id for every section saved."""
        teacher = (teacher or "").strip()
        if not teacher:
            raise StorageError("a teacher name is needed to save the history; pass --teacher YOUR NAME.")
        topic = topic.strip() if topic and topic.strip() else None
        parts = split_by_section(analysis, section)
        ids: dict[str, int] = {}
        with self._write() as conn:
            teacher_id = self._get_or_create(conn, t.teachers, {"name": teacher})
            for name, part in parts.items():
                section_id = self._get_or_create(conn, t.sections, {"teacher_id": teacher_id, "name": name})
                day = date
                if day is None:
                    day = next((r.date for res in part.results for r in res.responses if r.date), None)
                ticket_id = conn.execute(
                    t.tickets.insert().values(
                        section_id=section_id,
                        date=normalise_date(day),
                        source_name=analysis.source_name or "",
                        columns={k: getattr(part.columns, k) for k in ColumnMap.__slots__},
                        frame=frame_to_text(part.frame),
                    )
                ).inserted_primary_key[0]
                for position, result in enumerate(part.results):
                    tq = conn.execute(
                        t.ticket_questions.insert().values(
                            ticket_id=ticket_id,
                            question_id=self._question_id(conn, result.question, topic),
                            position=position,
                            answer_key=result.key,
                        )
                    ).inserted_primary_key[0]
                    write_result(conn, tq, result)
                ids[name] = ticket_id
        return ids

    def save_result(self, ticket_id: int, result: QuestionResult) -> None:
        """Replace one question's groups, stems, plan, overrides and labels after edits (one transaction).

        Raises:
            NotFoundError: no such ticket, or the ticket has no such question.
            RowAccountingError: ``result`` does not hold exactly the responses saved for that question.
        """
        with self._write() as conn:
            tq = self._ticket_question(conn, ticket_id, result.question)
            saved = set(
                conn.execute(
                    sa.select(t.responses.c.row).where(t.responses.c.ticket_question_id == tq)
                ).scalars()
            )
            given = {r.row for r in result.responses}
            if saved != given:
                raise RowAccountingError(
                    f"the edited question {result.question!r} has {len(given)} responses but {len(saved)} "
                    f"were saved for exit ticket {ticket_id}; reopen the ticket and edit it again."
                )
            delete_result(conn, tq)
            conn.execute(
                sa.update(t.ticket_questions)
                .where(t.ticket_questions.c.id == tq)
                .values(answer_key=result.key)
            )
            write_result(conn, tq, result)

    def save_stem(self, ticket_id: int, question: str, stem: FeedbackStem) -> None:
        """Save one stem edit or approval, committed before this returns.

        Raises:
            NotFoundError: no such ticket, question or group.
        """
        with self._write() as conn:
            tq = self._ticket_question(conn, ticket_id, question)
            if stem.group_id == UNGROUPED:  # the check-in stem of the responses in no group
                known = conn.execute(
                    sa.select(t.responses.c.id).where(
                        t.responses.c.ticket_question_id == tq, t.responses.c.label == UNGROUPED
                    )
                ).first()
            else:
                known = conn.execute(
                    sa.select(t.groups.c.group_id).where(
                        t.groups.c.ticket_question_id == tq, t.groups.c.group_id == stem.group_id
                    )
                ).first()
            if known is None:
                raise NotFoundError(
                    f"question {question!r} of exit ticket {ticket_id} has no group "
                    f"{stem.group_id}; reopen the ticket to see its groups."
                )
            position = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(t.stems.c.position) + 1, 0)).where(
                    t.stems.c.ticket_question_id == tq
                )
            ).scalar_one()
            values = {
                "text": stem.text,
                "state": stem.state,
                "drafted": stem.drafted,
                "kind": stem.kind,
                "from_library": bool(stem.from_library),
                "updated_at": sa.func.now(),
            }
            stmt = self._insert(t.stems).values(
                ticket_question_id=tq, group_id=stem.group_id, position=position, **values
            )
            conn.execute(
                stmt.on_conflict_do_update(index_elements=["ticket_question_id", "group_id"], set_=values)
            )

    # -- reading

    def list_tickets(self, teacher: str | None = None, section: str | None = None) -> list[TicketSummary]:
        """Saved tickets, newest date first (then newest saved first)."""
        q = (
            sa.select(
                t.tickets.c.id,
                t.teachers.c.name.label("teacher"),
                t.sections.c.name.label("section"),
                t.tickets.c.date,
                t.tickets.c.source_name,
            )
            .join(t.sections, t.sections.c.id == t.tickets.c.section_id)
            .join(t.teachers, t.teachers.c.id == t.sections.c.teacher_id)
            .order_by(t.tickets.c.date.desc(), t.tickets.c.id.desc())
        )
        if teacher is not None:
            q = q.where(t.teachers.c.name == teacher)
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
            n_resp = dict(
                conn.execute(
                    sa.select(tq.c.ticket_id, sa.func.count(t.responses.c.id))
                    .join(t.responses, t.responses.c.ticket_question_id == tq.c.id)
                    .where(tq.c.ticket_id.in_(ids))
                    .group_by(tq.c.ticket_id)
                ).all()
            )
            n_appr = dict(
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
                teacher=r.teacher,
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
        """Reopen a saved ticket exactly as last saved: groups, stems, plan, overrides and vectors.

        Raises:
            NotFoundError: no such ticket.
        """
        with self._read() as conn:
            self._require_ticket(conn, ticket_id)
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
        return Analysis(
            frame=frame_from_text(ticket.frame, all_responses),
            columns=columns,
            results=tuple(results),
            source_name=ticket.source_name,
        )

    def sections(self, teacher: str | None = None) -> list[str]:
        """Names of the saved sections (sorted)."""
        q = sa.select(t.sections.c.name).distinct().order_by(t.sections.c.name)
        if teacher is not None:
            q = q.join(t.teachers, t.teachers.c.id == t.sections.c.teacher_id).where(
                t.teachers.c.name == teacher
            )
        with self._read() as conn:
            return list(conn.execute(q).scalars())

    def teachers(self) -> list[str]:
        """Names of the teachers with saved sections (sorted)."""
        with self._read() as conn:
            return list(conn.execute(sa.select(t.teachers.c.name).order_by(t.teachers.c.name)).scalars())

    def questions(self, topic: str | None = None) -> list[str]:
        """Texts of the questions on saved tickets (optionally only those tagged ``topic``, any case)."""
        q = (
            sa.select(t.questions.c.text)
            .distinct()
            .where(t.questions.c.id.in_(sa.select(t.ticket_questions.c.question_id)))
            .order_by(t.questions.c.text)
        )
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

    def group_records(self, *, question: str | None = None, topic: str | None = None) -> list[dict]:
        """Every saved group of a question or topic (any case), with its section, owner, date and centroid.

        Used by ``compare``. Each dict has: ticket_id, teacher, section, date, question, question_id,
        group_id, label, status, rows, representatives, centroid (ndarray (dim,) or None), n_responses
        (responses to that question on that ticket), members ({row: (student, text)}). Tickets with the
        question but no group still appear once with ``group_id`` = ``UNGROUPED`` so their responses count in
        the denominators.
        """
        q = (
            sa.select(
                t.ticket_questions.c.id.label("tq"),
                t.tickets.c.id.label("ticket_id"),
                t.teachers.c.name.label("teacher"),
                t.sections.c.name.label("section"),
                t.tickets.c.date,
                t.questions.c.text.label("question"),
                t.questions.c.id.label("question_id"),
            )
            .join(t.tickets, t.tickets.c.id == t.ticket_questions.c.ticket_id)
            .join(t.sections, t.sections.c.id == t.tickets.c.section_id)
            .join(t.teachers, t.teachers.c.id == t.sections.c.teacher_id)
            .join(t.questions, t.questions.c.id == t.ticket_questions.c.question_id)
            .order_by(t.tickets.c.date, t.tickets.c.id, t.ticket_questions.c.position)
        )
        if question is not None:
            q = q.where(t.questions.c.text == question)
        if topic is not None:
            q = q.where(sa.func.lower(t.questions.c.topic) == topic.strip().lower())
        out = []
        with self._read() as conn:
            for tq in conn.execute(q).all():
                members = {
                    r.row: (r.student, r.text)
                    for r in conn.execute(
                        sa.select(t.responses.c.row, t.responses.c.student, t.responses.c.text).where(
                            t.responses.c.ticket_question_id == tq.tq
                        )
                    )
                }
                base = {
                    "ticket_id": tq.ticket_id,
                    "teacher": tq.teacher,
                    "section": tq.section,
                    "date": tq.date,
                    "question": tq.question,
                    "question_id": tq.question_id,
                    "n_responses": len(members),
                    "members": members,
                }
                gs = conn.execute(
                    sa.select(t.groups)
                    .where(t.groups.c.ticket_question_id == tq.tq)
                    .order_by(t.groups.c.position)
                ).all()
                if not gs:
                    out.append(
                        {
                            **base,
                            "group_id": UNGROUPED,
                            "label": "",
                            "status": "",
                            "rows": [],
                            "representatives": [],
                            "centroid": None,
                        }
                    )
                for g in gs:
                    out.append(
                        {
                            **base,
                            "group_id": g.group_id,
                            "label": g.label,
                            "status": g.status,
                            "rows": list(g.rows),
                            "representatives": list(g.representatives),
                            "centroid": unblob(g.centroid),
                        }
                    )
        return out

    # -- forgetting

    def forget(self, section: str, teacher: str | None = None) -> dict[str, int]:
        """Delete a class completely (one transaction) and return rows deleted per table.

        Deletes the section's tickets, responses, groups, stems, plans (groups and members), overrides and
        the section row, then questions no other ticket asks. Misconception-library entries are kept,
        unlinked from the section: they hold no student words or names, only the teacher's approved label
        and stem, the group's answer and a centre vector (see ``SqlLibraryStore``).

        Raises:
            NotFoundError: no section of that name (the message lists the saved ones).
        """
        with self._write() as conn:
            q = sa.select(t.sections.c.id).where(t.sections.c.name == section)
            if teacher is not None:
                q = q.join(t.teachers, t.teachers.c.id == t.sections.c.teacher_id).where(
                    t.teachers.c.name == teacher
                )
            section_ids = list(conn.execute(q).scalars())
            if not section_ids:
                known = list(
                    conn.execute(
                        sa.select(t.sections.c.name).distinct().order_by(t.sections.c.name)
                    ).scalars()
                )
                raise NotFoundError(
                    f"no saved section is called {section!r}; saved sections are: "
                    + (", ".join(repr(k) for k in known) if known else "(none yet)")
                )
            ticket_ids = sa.select(t.tickets.c.id).where(t.tickets.c.section_id.in_(section_ids))
            tq_ids = sa.select(t.ticket_questions.c.id).where(t.ticket_questions.c.ticket_id.in_(ticket_ids))
            plan_ids = sa.select(t.plans.c.id).where(t.plans.c.ticket_question_id.in_(tq_ids))
            pg_ids = sa.select(t.plan_groups.c.id).where(t.plan_groups.c.plan_id.in_(plan_ids))
            question_ids = set(
                conn.execute(
                    sa.select(t.ticket_questions.c.question_id).where(
                        t.ticket_questions.c.ticket_id.in_(ticket_ids)
                    )
                ).scalars()
            )
            counts: dict[str, int] = {}

            def delete(name: str, stmt) -> None:
                counts[name] = counts.get(name, 0) + (conn.execute(stmt).rowcount or 0)

            delete(
                "plan members", sa.delete(t.plan_members).where(t.plan_members.c.plan_group_id.in_(pg_ids))
            )
            delete("plan groups", sa.delete(t.plan_groups).where(t.plan_groups.c.plan_id.in_(plan_ids)))
            delete("plans", sa.delete(t.plans).where(t.plans.c.ticket_question_id.in_(tq_ids)))
            for name, table in (
                ("overrides", t.overrides),
                ("feedback stems", t.stems),
                ("groups", t.groups),
                ("responses", t.responses),
            ):
                delete(name, sa.delete(table).where(table.c.ticket_question_id.in_(tq_ids)))
            delete(
                "ticket questions",
                sa.delete(t.ticket_questions).where(t.ticket_questions.c.ticket_id.in_(ticket_ids)),
            )
            delete("exit tickets", sa.delete(t.tickets).where(t.tickets.c.section_id.in_(section_ids)))
            delete(
                "library links",
                sa.delete(t.library_sources).where(t.library_sources.c.section_id.in_(section_ids)),
            )
            delete("sections", sa.delete(t.sections).where(t.sections.c.id.in_(section_ids)))
            if question_ids:
                still = sa.select(t.ticket_questions.c.question_id)
                delete(
                    "questions",
                    sa.delete(t.questions).where(
                        t.questions.c.id.in_(question_ids), t.questions.c.id.not_in(still)
                    ),
                )
        return {k: v for k, v in counts.items() if v}

    def forget_section(self, name: str, teacher: str | None = None) -> int:
        """Delete a class completely (see ``forget``); returns the number of rows deleted."""
        return sum(self.forget(name, teacher=teacher).values())

    def count_rows(self, table: str) -> int:
        """Rows in one table (for checks and tests)."""
        with self._read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(t.metadata.tables[table])).scalar_one()


def iter_tables() -> Iterable[str]:
    """Names of the tables the store keeps (for checks and tests)."""
    return tuple(t.metadata.tables)
