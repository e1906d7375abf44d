"""Sharing a question's memory on a PLC's PostgreSQL server: colleagues get names, stems and vectors, never text.

Needs ``FA_TEST_POSTGRES_URL`` (see scripts/start_postgres.sh); skipped without it.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from test_memory import QUESTION, TOPS, _fake
from test_rls import plc  # noqa: F401 - fixture: a fresh PLC schema with two teacher roles

from feedback_assistant.memory import TaughtGroup
from feedback_assistant.storage import Store
from feedback_assistant.storage_memory import Example, MemoryStore

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get("FA_TEST_POSTGRES_URL"), reason="set FA_TEST_POSTGRES_URL"),
]


def test_a_shared_question_reaches_the_colleague_without_student_text(plc):  # noqa: F811
    _admin, urls = plc
    a_name, b_name = urls
    a, b = Store(urls[a_name]), Store(urls[b_name])
    try:
        examples = [Example(t, "2/5", v, "tops") for t, v in zip(TOPS[:3], _fake(TOPS[:3]), strict=True)]
        MemoryStore(a).record(
            a.teacher,
            QUESTION,
            "Period 1",
            "2026-11-19",
            examples,
            [TaughtGroup("tops", "misconception", "Same-size pieces first.", True)],
        )
        assert MemoryStore(b).load_shared(QUESTION, exclude=b.teacher) is None  # not shared yet
        assert MemoryStore(a).share(a.teacher, QUESTION) == 1
        shared = MemoryStore(b).load_shared(QUESTION, exclude=b.teacher)
        assert shared is not None and shared.size == 3 and set(shared.texts) == {""}
        assert shared.group("tops").stem == "Same-size pieces first." and shared.answers == ("2/5",) * 3
        assert MemoryStore(b).load(b.teacher, QUESTION) is None
        with b.engine.connect() as conn:  # the database itself keeps A's students' words from B
            assert conn.execute(sa.text("SELECT count(*) FROM memory_examples")).scalar_one() == 0
            columns = [c["name"] for c in sa.inspect(conn).get_columns("plc_shared_memory")]
            assert "text" not in columns and "section_id" not in columns
    finally:
        a.close()
        b.close()
