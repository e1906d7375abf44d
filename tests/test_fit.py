"""The ``check`` flag: no praise for a student whose own response does not fit their on-target group."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_assistant import fit
from feedback_assistant.export import feedback_drafts_frame, responses_frame, student_feedback_frame
from feedback_assistant.feedback import CHECK_TEXT, ON_TARGET_LEAD
from feedback_assistant.pipeline import assemble
from feedback_assistant.records import APPROVED, Analysis, ColumnMap, Response
from feedback_assistant.review import (
    CHECK,
    approve_stem,
    confirm_response,
    feedback_for,
    feedback_rows,
    move_response,
    set_override,
)

QUESTION = "What is 1/3 + 1/6?"
# (group, text): group 0 is on target (answer 1/2), group 1 a misconception (2/9). Row 4 gives the right answer
# with the misconception's reasoning and wording: it must not be told "that reasoning works".
CLASS = [
    (0, "1/2 because 1/3 is 2/6 and 2/6 + 1/6 = 3/6 = 1/2"),
    (0, "I changed 1/3 to 2/6, added 1/6 to get 3/6 which is 1/2"),
    (0, "common denominator 6 so 2/6 + 1/6 = 3/6 = 1/2"),
    (0, "1/2 since 1/3 = 2/6 and then 3/6 simplifies to 1/2"),
    (0, "1/2 because I added the tops and added the bottoms 1 plus 1 and 3 plus 6"),
    (1, "2/9 because I added the tops and added the bottoms"),
    (1, "2/9 because 1 plus 1 and 3 plus 6, added the tops and the bottoms"),
    (1, "2/9, add the tops then add the bottoms"),
    (1, "2/9 i added the tops and added the bottoms"),
]


def vectors(texts: list[str]) -> np.ndarray:
    """Two directions: 'common denominator' reasoning and 'added tops and bottoms' reasoning."""
    out = []
    for t in texts:
        v = np.array([1.0, 0.1, 0.0]) if "/6" in t and "tops" not in t else np.array([0.1, 1.0, 0.0])
        out.append(v / np.linalg.norm(v))
    return np.vstack(out)


@pytest.fixture
def result():
    responses = [
        Response(row=i, source_row=i, student=f"S{i}", question=QUESTION, text=t) for i, (_, t) in enumerate(CLASS)
    ]
    labels = [g for g, _ in CLASS]
    return assemble(QUESTION, responses, labels, [0.9] * len(CLASS), vectors([t for _, t in CLASS]), key="1/2")


def test_right_answer_wrong_reason_is_flagged_and_gets_no_praise(result):
    flags = fit.check_flags(result)
    assert flags[4] and not any(flags[:4])
    rows = feedback_rows(result)
    assert rows[4].state == CHECK and rows[4].check
    assert rows[4].text.startswith("You wrote “1/2 because I added the tops") and "reasoning works" not in rows[4].text
    assert "can you explain your thinking" in rows[4].text and "Show how you got 1/2" in rows[4].text
    assert all(ON_TARGET_LEAD in fb.text for fb in rows[:4])


def test_a_flagged_student_gets_no_approved_text_until_the_teacher_decides(result):
    approved = approve_stem(result, 0)
    assert feedback_for(approved, 0, approved_only=True).startswith("You wrote")
    assert feedback_for(approved, 4, approved_only=True) is None  # approving the group does not approve a check
    confirmed = confirm_response(approved, 4)
    assert not fit.check_flags(confirmed)[4]
    assert ON_TARGET_LEAD in feedback_for(confirmed, 4, approved_only=True)
    moved = move_response(approved, 4, 1)
    assert not fit.check_flags(moved)[4] and "now check" in feedback_for(moved, 4)
    own = set_override(approved, 4, "See me tomorrow about adding fractions.")
    assert not fit.check_flags(own)[4]
    assert feedback_for(own, 4, approved_only=True) == "See me tomorrow about adding fractions."


def test_check_column_in_the_exports(result):
    import pandas as pd

    frame = pd.DataFrame({"Name": [f"S{i}" for i in range(len(CLASS))], "Response": [t for _, t in CLASS]})
    analysis = Analysis(
        frame=frame, columns=ColumnMap(response="Response", student="Name"), results=(approve_stem(result, 0),)
    )
    out = responses_frame(analysis)
    assert list(out["check"]) == [0, 0, 0, 0, 1, 0, 0, 0, 0]
    drafts = feedback_drafts_frame(analysis)
    assert drafts.loc[4, "state"] == CHECK and drafts.loc[4, "feedback"].startswith("You wrote")
    lms = student_feedback_frame(analysis)
    assert lms.loc[4, "feedback"] == "" and lms.loc[4, "state"] == CHECK
    assert lms.loc[0, "state"] == APPROVED and lms.loc[0, "feedback"]


def test_signals_and_rule(result):
    s = fit.fit_signals(result)
    assert list(s.on_target) == [True] * 5 + [False] * 4
    assert s.margin[4] < fit.CHECK_MARGIN < min(s.margin[:4])
    assert s.other_share[4] >= fit.CHECK_SHARE > max(s.other_share[:4])
    # every signal off: nobody is flagged but students who say they do not know
    off = fit.flags_from(s, -np.inf, -np.inf, 0.0, 2.0, 2.0, False)
    assert not off.any()
    assert CHECK_TEXT.count("{own_words}") == 1


def _signals(n: int, score: list[float], dont_know: set[int] = frozenset()) -> fit.FitSignals:
    """Signals of a class of ``n`` on-target students whose ``check_score`` is ``score`` (via ``other_share``)."""
    zeros = np.zeros(n)
    return fit.FitSignals(
        on_target=np.ones(n, dtype=bool),
        misconception=np.zeros(n, dtype=bool),
        states_other=np.zeros(n, dtype=bool),
        dont_know=np.array([i in dont_know for i in range(n)]),
        margin=zeros,
        reasoning_margin=zeros,
        other_share=np.array(score, dtype=float),
        confidence=np.full(n, 0.9),
    )


def test_cap_keeps_the_most_misplaced_and_every_dont_know():
    n = 20  # cap 0.15 -> at most 3 of 20
    score = [0.1 * (i % 10) for i in range(n)]
    s = _signals(n, score, dont_know={0})
    everyone = np.ones(n, dtype=bool)
    capped = fit.cap_flags(everyone, s, 0.15)
    assert capped.sum() == 3 and capped[0]  # the student who said "I don't know" always stays
    assert list(np.flatnonzero(capped)) == [0, 9, 19]  # then the highest scores (ties: the earlier row)
    few = np.zeros(n, dtype=bool)
    few[[3, 4]] = True
    assert list(fit.cap_flags(few, s, 0.15)) == list(few)  # under the cap nothing changes
    assert fit.cap_flags(everyone, _signals(n, score, dont_know=set(range(5))), 0.15).sum() == 5


def test_a_clean_class_is_barely_flagged_and_a_decision_brings_up_no_new_flag():
    # two right-answer-wrong-reason students in a class of 10: the cap (15 %, one student) keeps the worse one
    rows = [*CLASS, (0, "1/2 i added the tops and the bottoms, 1 plus 1 and 3 plus 6")]
    responses = [
        Response(row=i, source_row=i, student=f"S{i}", question=QUESTION, text=t) for i, (_, t) in enumerate(rows)
    ]
    r = assemble(QUESTION, responses, [g for g, _ in rows], [0.9] * len(rows), vectors([t for _, t in rows]), key="1/2")
    s = fit.fit_signals(r)
    uncapped = fit.flags_from(s)
    assert uncapped[4] and uncapped[9]  # the rule alone flags both
    flags = fit.check_flags(r)
    assert sum(flags) == 1 and (flags[4] or flags[9])
    kept = 4 if flags[4] else 9
    after = fit.check_flags(confirm_response(r, kept))
    assert not any(after)  # confirming the flagged student does not flag the other one instead
