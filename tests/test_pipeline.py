"""The pipeline runs the stages in order and accounts for every row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from feedback_assistant import pipeline
from feedback_assistant.records import UNGROUPED, Clustering, RowAccountingError
from feedback_assistant.tickets import read_tickets


def _ticket(tmp_path, rows):
    path = tmp_path / "ticket.csv"
    pd.DataFrame(rows, columns=["Student", "Question", "Answer", "Response"]).to_csv(path, index=False)
    return read_tickets(path)


ROWS = [
    ("Ana", "Q1", "1/3", "3 of 9 are white so 3/9 = 1/3"),
    ("Ben", "Q1", "1/3", "three ninths simplifies to one third"),
    ("Cy", "Q1", "2/3", "6/9 are shaded so 2/3"),
    ("Di", "Q1", "2/3", "6 shaded out of 9 is 2/3"),
    ("Ed", "Q1", "", "   "),
    ("Ana", "Q2", "3/5", "fifths are bigger pieces than eighths"),
    ("Ben", "Q2", "3/8", "8 is bigger than 5 so 3/8"),
    ("Cy", "Q2", "3/5", "fifths are bigger than eighths"),
    ("Di", "Q2", "3/8", "3/8 because 8 is more than 5"),
    ("Ed", "Q2", "3/5", "less pieces means bigger pieces"),
]


def test_every_question_analysed_on_its_own_and_every_row_kept(tmp_path, fake_embedder):
    tickets = _ticket(tmp_path, ROWS)
    stages = []
    analysis = pipeline.analyze(tickets, embedder=fake_embedder, progress=lambda d, t, s: stages.append(s))
    assert [r.question for r in analysis.results] == ["Q1", "Q2"]
    assert sum(len(r.responses) for r in analysis.results) == len(ROWS)
    q1 = analysis.results[0]
    blank = [i for i, r in enumerate(q1.responses) if r.is_blank]
    assert blank == [4] and q1.labels[4] == UNGROUPED
    # Every student is in exactly one next-day group per question.
    for result in analysis.results:
        planned = sorted(row for g in result.plan.groups for row in g.rows)
        assert planned == sorted(r.row for r in result.responses)
    assert pipeline.EMBED_STAGE in stages and stages[-1] == pipeline.GROUP_STAGE
    # Blank texts are embedded like the rest: one encode call for the whole ticket.
    assert len(fake_embedder.calls) == 1 and len(fake_embedder.calls[0]) == len(ROWS)


def test_a_key_for_every_question_and_a_key_per_question(tmp_path, fake_embedder):
    tickets = _ticket(tmp_path, ROWS)
    both = pipeline.analyze(tickets, embedder=fake_embedder, keys={"": "1/3"})
    assert [r.key for r in both.results] == ["1/3", "1/3"]
    one = pipeline.analyze(tickets, embedder=fake_embedder, keys={"Q2": "3/5"})
    assert [r.key for r in one.results] == [None, "3/5"]


def test_only_the_questions_asked_for(tmp_path, fake_embedder):
    analysis = pipeline.analyze(_ticket(tmp_path, ROWS), embedder=fake_embedder, questions=["Q2"])
    assert [r.question for r in analysis.results] == ["Q2"]


class _LosesARow:
    def cluster(self, texts, embeddings, answers=None, key=None):
        n = len(texts) - 1
        return Clustering(labels=np.zeros(n, dtype=int), confidence=np.ones(n))


def test_a_stage_that_loses_a_row_fails_loudly(tmp_path, fake_embedder):
    with pytest.raises(RowAccountingError, match="Nothing was written"):
        pipeline.analyze(_ticket(tmp_path, ROWS), embedder=fake_embedder, clusterer=_LosesARow())


def test_check_rows_refuses_a_plan_that_drops_a_student(tmp_path, fake_embedder):
    result = pipeline.analyze(_ticket(tmp_path, ROWS), embedder=fake_embedder).results[1]
    first = result.plan.groups[0]
    broken_plan = type(result.plan)(
        result.question,
        (type(first)(**{**{f: getattr(first, f) for f in first.__slots__}, "rows": first.rows[1:]}),)
        + result.plan.groups[1:],
    )
    broken = type(result)(**{**{f: getattr(result, f) for f in result.__slots__}, "plan": broken_plan})
    with pytest.raises(RowAccountingError, match="exactly one group"):
        pipeline.check_rows(result.question, len(result.responses), broken)
