"""Forgetting a class: every row of it in every table, library wording that quotes its students, cached vectors.

``Store.forget`` owns the transaction; ``delete_class`` decides what goes. Tables added by later migrations are
found by their foreign keys: any table referencing ``sections``, ``tickets`` or ``ticket_questions`` loses the
rows of the forgotten class too (e.g. a learner's memory examples), counted under the table's name.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from . import storage_schema as t
from .records import NotFoundError

QUOTE_WORDS = 5  # an entry sharing this many consecutive words with a response quotes it
QUOTE_CHARS = 12  # ... or containing a whole response at least this long
_PARENTS = {"sections", "tickets", "ticket_questions"}
_CORE = {  # the tables delete_class handles by name
    t.tickets.name,
    t.ticket_questions.name,
    t.responses.name,
    t.groups.name,
    t.stems.name,
    t.plans.name,
    t.plan_groups.name,
    t.plan_members.name,
    t.overrides.name,
    t.sections.name,
    t.library_sources.name,
    t.library_entries.name,
    t.questions.name,
    t.teachers.name,
    t.settings.name,
}


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", str(text).casefold())


def _shingles(text: str) -> set[tuple[str, ...]]:
    w = _words(text)
    return {tuple(w[i : i + QUOTE_WORDS]) for i in range(len(w) - QUOTE_WORDS + 1)}


def quotes(entry_text: str, texts: list[str], shingles: set) -> bool:
    """True when ``entry_text`` contains one of ``texts`` (long enough) or ``QUOTE_WORDS`` words in a row."""
    folded = " ".join(_words(entry_text))
    for text in texts:
        needle = " ".join(_words(text))
        if len(needle) >= QUOTE_CHARS and needle in folded:
            return True
    return bool(_shingles(entry_text) & shingles)


def _dependents(conn) -> list[tuple[str, str, str]]:
    """(table, column, parent table) for the other tables keyed to a class's rows (e.g. memory examples)."""
    inspector = sa.inspect(conn)
    out = []
    for name in inspector.get_table_names():
        if name in _CORE or name == "alembic_version":
            continue
        for fk in inspector.get_foreign_keys(name):
            if fk["referred_table"] in _PARENTS and len(fk["constrained_columns"]) == 1:
                out.append((name, fk["constrained_columns"][0], fk["referred_table"]))
    return out


def delete_class(conn, store, section: str, day: str | None) -> tuple[dict[str, int], list[str]]:
    """Delete the teacher's class ``section`` (only day ``day`` when given) inside ``conn``'s transaction.

    Returns:
        (what -> rows deleted, in the order a teacher reads them; the class's response texts).

    Raises:
        NotFoundError: the teacher has no such class, or no ticket of it that day.
    """
    mine = t.sections.c.owner == store.teacher
    section_ids = list(conn.execute(sa.select(t.sections.c.id).where(t.sections.c.name == section, mine)).scalars())
    if not section_ids:
        known = list(
            conn.execute(sa.select(t.sections.c.name).where(mine).distinct().order_by(t.sections.c.name)).scalars()
        )
        raise NotFoundError(
            f"you have no saved class called {section!r}; your saved classes are: "
            + (", ".join(repr(k) for k in known) if known else "(none yet)")
        )
    tickets = sa.select(t.tickets.c.id).where(
        t.tickets.c.section_id.in_(section_ids), t.tickets.c.owner == store.teacher
    )
    if day is not None:
        days = sorted(set(conn.execute(sa.select(t.tickets.c.date).where(t.tickets.c.id.in_(tickets))).scalars()))
        tickets = tickets.where(t.tickets.c.date == day)
    ticket_ids = list(conn.execute(tickets).scalars())
    if day is not None and not ticket_ids:
        raise NotFoundError(f"your class {section!r} has no exit ticket dated {day}; its dates are: " + ", ".join(days))
    tq_ids = list(
        conn.execute(sa.select(t.ticket_questions.c.id).where(t.ticket_questions.c.ticket_id.in_(ticket_ids))).scalars()
    )
    texts = [
        x
        for x in conn.execute(
            sa.select(t.responses.c.text).where(t.responses.c.ticket_question_id.in_(tq_ids)).distinct()
        ).scalars()
        if str(x).strip()
    ]
    question_ids = set(
        conn.execute(sa.select(t.ticket_questions.c.question_id).where(t.ticket_questions.c.id.in_(tq_ids))).scalars()
    )
    counts: dict[str, int] = {}

    def delete(name: str, stmt) -> None:
        n = conn.execute(stmt).rowcount or 0
        if n:
            counts[name] = counts.get(name, 0) + n

    ids = {"sections": section_ids, "tickets": ticket_ids, "ticket_questions": tq_ids}
    whole = (
        day is None
        or not conn.execute(
            sa.select(t.tickets.c.id).where(t.tickets.c.section_id.in_(section_ids), t.tickets.c.id.not_in(ticket_ids))
        ).first()
    )
    extra = []
    for table, column, parent in _dependents(conn):
        if parent == "sections" and not whole:
            continue
        extra.append((table, column, parent))
    # Children before parents; the counts are re-ordered for the teacher at the end.
    plan_ids = sa.select(t.plans.c.id).where(t.plans.c.ticket_question_id.in_(tq_ids))
    pg_ids = sa.select(t.plan_groups.c.id).where(t.plan_groups.c.plan_id.in_(plan_ids))
    mg, me = t.memory_groups, t.memory_examples
    me_of_class = (
        me.c.section_id.in_(section_ids) if whole else sa.and_(me.c.section_id.in_(section_ids), me.c.date == day)
    )
    taught = set(conn.execute(sa.select(me.c.group_id).where(me_of_class).distinct()).scalars())
    for table, column, parent in extra:
        tbl = sa.Table(table, sa.MetaData(), autoload_with=conn)
        label = "memory examples" if "memory" in table or "example" in table else f"{table.replace('_', ' ')} rows"
        delete(label, sa.delete(tbl).where(tbl.c[column].in_(ids[parent])))
    if not whole:  # one day of a class: the examples the teacher's corrections of that day left in memory go too
        me = t.memory_examples
        delete("memory examples", sa.delete(me).where(me.c.section_id.in_(section_ids), me.c.date == day))
    # Taught groups only this class fed go with it; any of the teacher's taught stems quoting its students too.
    if taught:
        delete(
            "taught groups",
            sa.delete(mg).where(
                mg.c.id.in_(taught), mg.c.id.not_in(sa.select(me.c.group_id)), mg.c.owner == store.teacher
            ),
        )
    delete("plan members", sa.delete(t.plan_members).where(t.plan_members.c.plan_group_id.in_(pg_ids)))
    delete("plan groups", sa.delete(t.plan_groups).where(t.plan_groups.c.plan_id.in_(plan_ids)))
    delete("plans", sa.delete(t.plans).where(t.plans.c.ticket_question_id.in_(tq_ids)))
    for name, child in (
        ("overrides", t.overrides),
        ("feedback stems", t.stems),
        ("groups", t.groups),
        ("responses", t.responses),
    ):
        delete(name, sa.delete(child).where(child.c.ticket_question_id.in_(tq_ids)))
    delete("ticket questions", sa.delete(t.ticket_questions).where(t.ticket_questions.c.id.in_(tq_ids)))
    delete("exit tickets", sa.delete(t.tickets).where(t.tickets.c.id.in_(ticket_ids)))
    # Library wording of this teacher that quotes one of the class's students goes too.
    shingles = set().union(*(_shingles(x) for x in texts)) if texts else set()
    e = t.library_entries
    quoting = [
        row.id
        for row in conn.execute(sa.select(e.c.id, e.c.text, e.c.label).where(e.c.owner.in_([store.teacher, ""])))
        if texts and (quotes(row.text, texts, shingles) or quotes(row.label, texts, shingles))
    ]
    quoting_memory = [
        row.id
        for row in conn.execute(sa.select(mg.c.id, mg.c.stem, mg.c.label).where(mg.c.owner == store.teacher))
        if texts and (quotes(row.stem, texts, shingles) or quotes(row.label, texts, shingles))
    ]
    if quoting_memory:
        delete("memory examples", sa.delete(me).where(me.c.group_id.in_(quoting_memory)))
        delete("taught groups quoting students", sa.delete(mg).where(mg.c.id.in_(quoting_memory)))
    if quoting:
        delete("library links", sa.delete(t.library_sources).where(t.library_sources.c.entry_id.in_(quoting)))
        delete("library entries quoting students", sa.delete(e).where(e.c.id.in_(quoting)))
    if whole:
        delete("library links", sa.delete(t.library_sources).where(t.library_sources.c.section_id.in_(section_ids)))
        delete("classes", sa.delete(t.sections).where(t.sections.c.id.in_(section_ids)))
    if question_ids and not store.plc:  # on a PLC server other teachers' tickets are invisible: keep questions
        still = sa.select(t.ticket_questions.c.question_id)
        delete(
            "questions",
            sa.delete(t.questions).where(t.questions.c.id.in_(question_ids), t.questions.c.id.not_in(still)),
        )
    order = [
        "exit tickets",
        "responses",
        "groups",
        "feedback stems",
        "memory examples",
        "library entries quoting students",
    ]
    ordered = {k: counts[k] for k in order if k in counts}
    ordered.update({k: v for k, v in counts.items() if k not in ordered})
    return ordered, texts


def forget_cached_embeddings(texts: list[str], cache=None, *, dry_run: bool = False) -> int:
    """Delete (or count) the cached embeddings of ``texts``; returns how many there were."""
    if cache is False or not texts:
        return 0
    from .embedding import EmbeddingCache

    cache = cache or EmbeddingCache()
    return cache.discard(texts, dry_run=dry_run)
