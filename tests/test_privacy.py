"""A student's feedback holds only the teacher's words and that student's own words (issue 12, item 1).

For every sample ticket (and, when ``../shared/datasets`` is present, classes drawn from the benchmark data) no
student's feedback may contain a span of 4 or more words from another student's response that is not also in
their own response, whatever the stems say: the drafted templates, and a teacher's edit that keeps the
placeholders.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import DATASETS, SAMPLES

from feedback_assistant import pipeline
from feedback_assistant.feedback import _PATTERNS, ANSWER, CHECK_IN_TEXT, CHECK_TEXT, OWN_WORDS, draft_text
from feedback_assistant.records import APPROVED, Analysis
from feedback_assistant.review import feedback_rows
from feedback_assistant.text import SPAN_WORDS, word_spans

SPAN = SPAN_WORDS
SAMPLE_FILES = sorted(p for p in SAMPLES.glob("*") if p.suffix in {".csv", ".xlsx"})


def spans(text: str) -> set[tuple[str, ...]]:
    return word_spans(text, SPAN)  # the product's own check (memory stems use it too), not a copy


def foreign_spans(analysis: Analysis) -> list[tuple[str, str]]:
    """(student, span) for every >= 4-word span of a classmate's response found in a student's feedback that
    is not in the student's own response (with their own answer beside it), nor in the tool's own fixed wording
    (``tool_words``)."""
    found = []
    others = {r.row: spans(r.text) for r in analysis_responses(analysis)}
    for result in analysis.results:
        fixed = tool_words(result)
        for fb in feedback_rows(result):
            r = fb.response  # their own words, and their own answer next to them ("1/4" + "because the top ...")
            own = spans(r.text) | spans(f"{r.answer or ''} {r.text}") | spans(f"{r.text} {r.answer or ''}")
            for span in spans(fb.text) - own - fixed:
                if any(span in s for row, s in others.items() if row != fb.response.row):
                    found.append((fb.response.student, " ".join(span)))
    return found


def tool_words(result) -> set[tuple[str, ...]]:
    """Spans of the tool's wording when it is given NO student text: each group's stem re-drafted with its
    label, terms and representatives blanked, plus the fixed questions and texts of ``feedback.py``. A coincidence
    ("in its simplest form") is allowed; a stem that quotes a student is not (those words are not here)."""
    words: set[tuple[str, ...]] = set()
    for g in result.groups:
        text, _ = draft_text(replace(g, label="group", representatives=(), terms=()), result.key)
        words |= spans(text.replace(ANSWER, " ").replace(OWN_WORDS, " "))
    for fixed in (CHECK_TEXT, CHECK_IN_TEXT, *(check for _, _, check in _PATTERNS)):
        words |= spans(fixed.replace(ANSWER, " ").replace(OWN_WORDS, " "))
    return words


def analysis_responses(analysis: Analysis):
    return [r for result in analysis.results for r in result.responses]


def teacher_keeps_placeholders(analysis: Analysis) -> Analysis:
    """Every stem edited by a teacher who keeps both placeholders, and approved."""
    results = []
    for result in analysis.results:
        stems = tuple(
            replace(s, text=f"You said {ANSWER}: “{OWN_WORDS}”. Talk to me about it tomorrow.", state=APPROVED)
            for s in result.stems
        )
        results.append(replace(result, stems=stems))
    return replace(analysis, results=tuple(results))


@pytest.fixture(scope="module")
def sample_analyses(real_embedder):
    from feedback_assistant.tickets import read_tickets

    return {p.name: pipeline.analyze(read_tickets(p), embedder=real_embedder) for p in SAMPLE_FILES}


@pytest.mark.parametrize("name", [p.name for p in SAMPLE_FILES])
def test_no_student_reads_a_classmates_words_in_the_samples(name, sample_analyses):
    analysis = sample_analyses[name]
    assert sum(len(r.responses) for r in analysis.results) > 0
    assert foreign_spans(analysis) == []
    assert foreign_spans(teacher_keeps_placeholders(analysis)) == []


def test_the_check_catches_a_stem_that_quotes_a_classmate(sample_analyses):
    """The check above can fail: a stem quoting one student's response is caught for every other member."""
    analysis = sample_analyses["grade5_fractions.csv"]
    result = analysis.results[0]
    group = max(result.groups, key=lambda g: g.size)
    quoted = next(r.text for r in result.responses if r.row == group.rows[0])
    stems = tuple(
        replace(s, text=f"You wrote “{quoted}”.") if s.group_id == group.group_id else s for s in result.stems
    )
    leaky = replace(analysis, results=(replace(result, stems=stems),))
    flagged_or_own = sum(1 for fb in feedback_rows(leaky.results[0]) if fb.check or fb.response.row == group.rows[0])
    assert len(foreign_spans(leaky)) >= group.size - flagged_or_own > 0


def _analysed_classes(classes, embedder, question, answer, response) -> Analysis:
    """Classes (DataFrames) of one dataset analysed as one ticket, students S0, S1, ... in order.

    Args:
        classes: one DataFrame per class (question), taken whole.
        embedder: the embedder.
        question, answer, response: the datasets' names for those columns.
    """
    import tempfile
    from pathlib import Path

    import pandas as pd

    from feedback_assistant.tickets import read_tickets

    frame = pd.concat(classes, ignore_index=True)
    ticket = pd.DataFrame(
        {
            "Student": [f"S{i}" for i in range(len(frame))],
            "Question": frame[question],
            "Answer": frame[answer],
            "Response": frame[response],
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "classes.csv"
        ticket.to_csv(csv, index=False)
        columns = dict(response_col="Response", answer_col="Answer", question_col="Question", student_col="Student")
        return pipeline.analyze(read_tickets(csv, **columns), embedder=embedder)


def test_no_student_reads_a_classmates_words_in_benchmark_classes(real_embedder):
    """Classes of 30 drawn from MAP (answer column and key given): benchmark data, skipped when absent."""
    path = DATASETS / "map_dev.csv"
    if not path.exists():
        pytest.skip("../shared/datasets/map_dev.csv is not here")
    import pandas as pd

    df = pd.read_csv(path, keep_default_na=False, dtype=str)
    classes = [df[df.QuestionId == q].sample(n=30, random_state=7) for q in sorted(df.QuestionId.unique())[:4]]
    analysis = _analysed_classes(classes, real_embedder, "QuestionText", "MC_Answer", "StudentExplanation")
    assert len(analysis.results) == 4
    assert foreign_spans(analysis) == []
    assert foreign_spans(teacher_keeps_placeholders(analysis)) == []


def test_no_student_reads_a_classmates_words_in_our_training_data(real_embedder):
    """Classes of 30 from research/training_data/ (made-up explanations written for this project)."""
    import pandas as pd
    from conftest import REPO

    paths = sorted((REPO / "research" / "training_data").glob("*.csv"))
    if not paths:
        pytest.skip("research/training_data/ is not here")
    df = pd.concat([pd.read_csv(p, keep_default_na=False, dtype=str) for p in paths[:3]], ignore_index=True)
    picked = [df[df.question_id == q].head(30) for q in sorted(df.question_id.unique())[::10][:6]]
    analysis = _analysed_classes(picked, real_embedder, "question", "answer", "explanation")
    assert len(analysis.results) == len(picked)
    assert foreign_spans(analysis) == []
    assert foreign_spans(teacher_keeps_placeholders(analysis)) == []
