"""The PLC: reading groups across teachers, and setting up a shared PostgreSQL server where the database enforces
that each teacher's classes are theirs.

``setup_plc(admin_url, teachers)`` (the ``plc-setup`` command) brings the schema up to date and then:

- turns on row-level security on every table holding a class's data (``storage_schema.OWNED_TABLES``) with
  one policy, ``owner = current_user``: a teacher's role reads, changes and deletes only its own rows, whatever
  SQL it sends (the ``teachers`` list is readable by all; a role may add only itself);
- creates a login role per teacher (password generated unless given) in the group role ``fa_plc_teacher``,
  which gets just the table rights the tool needs (no access to ``settings``);
- creates the pseudonymised views ``plc_ticket_questions``, ``plc_groups`` and ``plc_responses`` (owned by
  the administrator, so they see past row-level security) showing other teachers' classes with each student
  replaced by HMAC-SHA256(secret, owner, section, student), computed in SQL from the secret in ``settings``
  (which teachers cannot read). They carry group names, statuses, counts and approved stems, never a
  response's text: a student's words reach only their own teacher. ``storage_records.pseudonym`` turns the
  digest into the shown name, the same one a SQLite history shows.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from . import storage_schema as t
from .feedback import as_template
from .records import APPROVED, UNGROUPED
from .storage_codec import unblob
from .storage_records import GroupRecord, pseudonym

GROUP_ROLE = "fa_plc_teacher"
_IPAD, _OPAD = 0x36, 0x5C


# ----------------------------------------------------------------------------------------------- reading


def _filters(question: str | None, topic: str | None, text_col, topic_col) -> list:
    where = []
    if question is not None:
        where.append(text_col == question)
    if topic is not None:
        where.append(sa.func.lower(topic_col) == topic.strip().lower())
    return where


def _tq_query(question: str | None, topic: str | None):
    where = _filters(question, topic, t.questions.c.text, t.questions.c.topic)
    return (
        sa.select(
            t.ticket_questions.c.id.label("tq"),
            t.tickets.c.id.label("ticket_id"),
            t.tickets.c.owner.label("owner"),
            t.sections.c.name.label("section"),
            t.tickets.c.date,
            t.questions.c.text.label("question"),
            t.questions.c.id.label("question_id"),
        )
        .join(t.tickets, t.tickets.c.id == t.ticket_questions.c.ticket_id)
        .join(t.sections, t.sections.c.id == t.tickets.c.section_id)
        .join(t.questions, t.questions.c.id == t.ticket_questions.c.question_id)
        .where(*where)
        .order_by(t.tickets.c.date, t.tickets.c.id, t.ticket_questions.c.position)
    )


def _records(tq, members: dict, groups: list, own: bool, stems: dict | None = None) -> list[GroupRecord]:
    base = dict(
        ticket_id=tq.ticket_id,
        teacher=tq.owner,
        section=tq.section,
        date=tq.date,
        question=tq.question,
        question_id=tq.question_id,
        n_responses=len(members),
        members=members,
        own=own,
    )
    if not groups:
        return [
            GroupRecord(**base, group_id=UNGROUPED, label="", status="", rows=(), representatives=(), centroid=None)
        ]
    return [
        GroupRecord(
            **base,
            group_id=g.group_id,
            label=g.label,
            status=g.status,
            rows=tuple(g.rows),
            representatives=tuple(g.representatives) if own else (),
            centroid=unblob(g.centroid),
            stem=(stems or {}).get(g.group_id, ""),
        )
        for g in groups
    ]


def read_all(conn, question: str | None, topic: str | None, teacher: str, pseudonymise) -> list[GroupRecord]:
    """Group records from the base tables: ``teacher``'s with names and responses, the rest through
    ``pseudonymise`` and without response text."""
    out = []
    for tq in conn.execute(_tq_query(question, topic)).all():
        own = tq.owner == teacher
        responses = conn.execute(
            sa.select(t.responses.c.row, t.responses.c.student, t.responses.c.text).where(
                t.responses.c.ticket_question_id == tq.tq
            )
        ).all()
        members = {
            r.row: (r.student, r.text) if own else (pseudonymise(tq.owner, tq.section, r.student), "")
            for r in responses
        }
        groups = conn.execute(
            sa.select(t.groups).where(t.groups.c.ticket_question_id == tq.tq).order_by(t.groups.c.position)
        ).all()
        stems = dict(
            conn.execute(
                sa.select(t.stems.c.group_id, t.stems.c.text).where(
                    t.stems.c.ticket_question_id == tq.tq, t.stems.c.state == str(APPROVED)
                )
            ).all()
        )
        if not own:  # an approved stem that quotes one of that teacher's students is not shown to others
            texts = [r.text for r in responses]
            stems = {gid: as_template(stem, texts) or "" for gid, stem in stems.items()}
        out += _records(tq, members, groups, own, stems)
    return out


_v_tq = sa.table(
    "plc_ticket_questions",
    *(sa.column(c) for c in ("tq", "ticket_id", "owner", "section", "date", "question", "question_id", "topic")),
)
_v_groups = sa.table(
    "plc_groups",
    *(sa.column(c) for c in ("ticket_question_id", "group_id", "position", "label", "status", "stem")),
    sa.column("rows", sa.JSON),
    sa.column("centroid", sa.LargeBinary),
)
_v_resp = sa.table("plc_responses", *(sa.column(c) for c in ("ticket_question_id", "row", "student_key")))


def read_others(conn, question: str | None, topic: str | None) -> list[GroupRecord]:
    """Other teachers' group records through the pseudonymised views (a PLC role's only way to them)."""
    cond = _filters(question, topic, _v_tq.c.question, _v_tq.c.topic)
    q = sa.select(_v_tq).where(*cond).order_by(_v_tq.c.date, _v_tq.c.ticket_id)
    out = []
    for tq in conn.execute(q).all():
        members = {
            r.row: (pseudonym(r.student_key), "")
            for r in conn.execute(
                sa.select(_v_resp.c.row, _v_resp.c.student_key).where(_v_resp.c.ticket_question_id == tq.tq)
            )
        }
        groups = conn.execute(
            sa.select(
                _v_groups.c.group_id,
                _v_groups.c.label,
                _v_groups.c.status,
                _v_groups.c.rows,
                _v_groups.c.centroid,
                _v_groups.c.stem,
            )
            .where(_v_groups.c.ticket_question_id == tq.tq)
            .order_by(_v_groups.c.position)
        ).all()
        stems = {g.group_id: g.stem or "" for g in groups}
        out += _records(tq, members, groups, own=False, stems=stems)
    return out


# ----------------------------------------------------------------------------------------------- set-up


def _pads(secret: str) -> tuple[str, str]:
    """HMAC-SHA256's inner and outer padded keys (hex) for ``secret`` (UTF-8, at most 64 bytes)."""
    key = secret.encode("utf-8")
    if len(key) > 64:
        raise ValueError("the pseudonym secret must be at most 64 bytes")
    key = key.ljust(64, b"\x00")
    return bytes(b ^ _IPAD for b in key).hex(), bytes(b ^ _OPAD for b in key).hex()


def _quote(conn, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _views_sql(ipad: str, opad: str) -> list[str]:
    message = "convert_to(r.owner || chr(31) || s.name || chr(31) || r.student, 'UTF8')"
    digest = f"encode(sha256(decode('{opad}', 'hex') || sha256(decode('{ipad}', 'hex') || {message})), 'hex')"
    return [
        "DROP VIEW IF EXISTS plc_shared_memory",
        "DROP VIEW IF EXISTS plc_responses",
        "DROP VIEW IF EXISTS plc_groups",
        "DROP VIEW IF EXISTS plc_ticket_questions",
        """CREATE VIEW plc_ticket_questions AS
           SELECT tq.id AS tq, tk.id AS ticket_id, tk.owner, s.name AS section, tk.date,
                  q.text AS question, q.id AS question_id, q.topic
           FROM ticket_questions tq JOIN tickets tk ON tk.id = tq.ticket_id
           JOIN sections s ON s.id = tk.section_id JOIN questions q ON q.id = tq.question_id
           WHERE tq.owner <> current_user""",
        # no response text in any view: names, statuses, counts (rows) and the approved stem only
        f"""CREATE VIEW plc_groups AS
           SELECT g.ticket_question_id, g.group_id, g.position, g.label, g.status, g.rows, g.centroid,
                  fs.text AS stem
           FROM response_groups g LEFT JOIN feedback_stems fs ON fs.ticket_question_id = g.ticket_question_id
                AND fs.group_id = g.group_id AND fs.state = '{APPROVED}'
           WHERE g.owner <> current_user""",
        f"""CREATE VIEW plc_responses AS
           SELECT r.ticket_question_id, r.row, {digest} AS student_key
           FROM responses r JOIN ticket_questions tq ON tq.id = r.ticket_question_id
           JOIN tickets tk ON tk.id = tq.ticket_id JOIN sections s ON s.id = tk.section_id
           WHERE r.owner <> current_user""",
        # what a teacher shares of a question's memory (storage_memory.MemoryStore.share): names, stems, chosen
        # answers and vectors - never a response's text, a student or a class
        """CREATE VIEW plc_shared_memory AS
           SELECT g.owner, g.question_key, g.label, g.status, g.stem, g.stem_approved, e.id AS example_id,
                  e.answer, e.vector
           FROM memory_groups g JOIN memory_examples e ON e.group_id = g.id
           WHERE g.shared AND g.owner <> current_user""",
    ]


def setup_plc(admin_url: str, teachers: list[str], passwords: dict | None = None) -> dict[str, str]:
    """Make the PostgreSQL database at ``admin_url`` a PLC store (see the module docstring). Idempotent.

    Args:
        admin_url: a URL whose role owns the database (and may create roles).
        teachers: one login role per teacher, named as given.
        passwords: teacher -> password; teachers not in it get a generated one (existing roles keep theirs
            unless one is given).

    Returns:
        teacher -> the password set now ('' when an existing role kept its password).

    Raises:
        StorageError: not PostgreSQL, or the role may not create roles.
    """
    from .storage import SECRET_KEY, StorageError, Store

    store = Store(admin_url)
    try:
        if store.dialect != "postgresql":
            raise StorageError("plc-setup needs a PostgreSQL database URL (postgresql+psycopg2://...).")
        passwords = dict(passwords or {})
        out: dict[str, str] = {}
        with store.engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO settings (key, value) VALUES (:k, :v) ON CONFLICT (key) DO NOTHING"),
                {"k": SECRET_KEY, "v": secrets.token_hex(32)},
            )
            secret = conn.execute(sa.text("SELECT value FROM settings WHERE key = :k"), {"k": SECRET_KEY}).scalar_one()
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
            group = _quote(conn, GROUP_ROLE)
            if not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": GROUP_ROLE}).first():
                conn.execute(sa.text(f"CREATE ROLE {group} NOLOGIN"))
            for table in t.OWNED_TABLES:
                name = _quote(conn, table.name)
                conn.execute(sa.text(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY"))
                conn.execute(sa.text(f"DROP POLICY IF EXISTS fa_own ON {name}"))
                conn.execute(
                    sa.text(
                        f"CREATE POLICY fa_own ON {name} USING (owner = current_user) WITH CHECK (owner = current_user)"
                    )
                )
                conn.execute(sa.text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {group}"))
                if "shared" in table.c:  # e.g. taught groups a teacher chose to share with the PLC
                    conn.execute(sa.text(f"DROP POLICY IF EXISTS fa_shared ON {name}"))
                    conn.execute(sa.text(f"CREATE POLICY fa_shared ON {name} FOR SELECT USING (shared)"))
            conn.execute(sa.text("ALTER TABLE teachers ENABLE ROW LEVEL SECURITY"))
            for policy, sql in (
                ("fa_read", "FOR SELECT USING (true)"),
                ("fa_add_self", "FOR INSERT WITH CHECK (name = current_user)"),
                ("fa_change_self", "FOR UPDATE USING (name = current_user) WITH CHECK (name = current_user)"),
                ("fa_delete_self", "FOR DELETE USING (name = current_user)"),
            ):
                conn.execute(sa.text(f"DROP POLICY IF EXISTS {policy} ON teachers"))
                conn.execute(sa.text(f"CREATE POLICY {policy} ON teachers {sql}"))
            conn.execute(sa.text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON teachers TO {group}"))
            conn.execute(sa.text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON questions TO {group}"))
            conn.execute(sa.text(f"GRANT SELECT ON alembic_version TO {group}"))
            conn.execute(sa.text(f"REVOKE ALL ON settings FROM {group}"))
            conn.execute(sa.text(f"GRANT USAGE ON SCHEMA {_quote(conn, schema)} TO {group}"))
            conn.execute(sa.text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {_quote(conn, schema)} TO {group}"))
            for sql in _views_sql(*_pads(secret)):
                conn.execute(sa.text(sql))
            for view in ("plc_ticket_questions", "plc_groups", "plc_responses", "plc_shared_memory"):
                conn.execute(sa.text(f"GRANT SELECT ON {view} TO {group}"))
            for name in teachers:
                name = name.strip()
                if not name:
                    continue
                role = _quote(conn, name)
                exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}).first()
                password = passwords.get(name) or ("" if exists else secrets.token_urlsafe(18))
                if not exists:
                    conn.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
                if password:
                    conn.execute(sa.text(f"ALTER ROLE {role} PASSWORD :p").bindparams(p=password))
                conn.execute(sa.text(f"GRANT {group} TO {role}"))
                conn.execute(
                    sa.text("INSERT INTO teachers (name) VALUES (:n) ON CONFLICT (name) DO NOTHING"), {"n": name}
                )
                out[name] = password
        return out
    finally:
        store.close()


def teacher_url(admin_url: str, teacher: str, password: str) -> str:
    """``admin_url`` with the teacher's login instead of the administrator's."""
    url = sa.engine.make_url(admin_url).set(username=teacher, password=password or None)
    return url.render_as_string(hide_password=False)
