"""Drafted feedback stems."""

from __future__ import annotations

from dataclasses import replace

from feedback_assistant.feedback import (
    ANSWER,
    CHECK_IN_TEXT,
    CHECK_TEXT,
    EXPLAIN,
    MISCONCEPTION_KIND,
    ON_TARGET_LEAD,
    OWN_WORDS,
    checkin_stem,
    checking_question,
    draft_stem,
    draft_stems,
    extension_question,
    fill,
    quote,
)
from feedback_assistant.labelling import DONT_KNOW_LABEL
from feedback_assistant.records import DRAFT, MISCONCEPTION, ON_TARGET, UNCLEAR, UNGROUPED, Group, StemKind


def group(status, answer, reps, label="group", question="What fraction is NOT shaded? (6 of 9 shaded)", gid=0):
    return Group(
        question=question,
        group_id=gid,
        label=label,
        rows=tuple(range(len(reps))),
        representatives=tuple(reps),
        status=status,
        answer=answer,
    )


def test_misconception_stem_is_a_template_that_quotes_nobody_and_asks_a_checking_question():
    reps = ["3/9 because 3 are not shaded", "3/9 three are not shaded"]
    g = group(MISCONCEPTION, "3/9", reps, label="3/9 — not shaded")
    stem = draft_stem(g, key="1/3")
    assert stem.kind == MISCONCEPTION_KIND and stem.state == DRAFT and stem.drafted == stem.text
    assert OWN_WORDS in stem.text and ANSWER in stem.text
    assert "can {answer} be simplified?" in stem.text
    assert not any(rep in stem.text for rep in reps) and "not shaded" not in stem.text  # nobody's words
    assert "1/3" not in stem.text  # the key is never given away
    assert "good job" not in stem.text.lower()
    mine = fill(stem.text, "3/9 cause I counted the white ones", "3/9", "not shaded")
    assert mine == "You wrote “3/9 cause I counted the white ones” — now check: can 3/9 be simplified?"


def test_fill_puts_in_only_the_students_own_answer_and_words():
    template = f"You wrote “{OWN_WORDS}”. Is {ANSWER} right? Keep {{braces}} the teacher typed."
    out = fill(
        template, "well first I looked at the picture and counted every part then 3 are not shaded", "3/9", "not shaded"
    )
    assert out.startswith("You wrote “…") and "not shaded" in out and "Is 3/9 right?" in out
    assert "{braces}" in out
    assert fill(template, "no answer here", None) == (
        "You wrote “no answer here”. Is your answer right? Keep {braces} the teacher typed."
    )
    assert "{" not in fill(CHECK_TEXT, "", None) and "“" not in fill(CHECK_TEXT, "", None)
    assert fill("Nice work today.", "mine", "5") == "Nice work today."  # the teacher's words stay as typed


def test_checking_question_follows_how_the_answer_relates_to_the_key():
    assert "other part" in checking_question("2/3", "1/3")
    assert "top" in checking_question("3/1", "1/3") and "bottom" in checking_question("3/1", "1/3")
    assert "sign" in checking_question("-5", "5")
    assert "place value" in checking_question("300", "30")
    assert "close" in checking_question("31", "30")
    for answer, key in [("2/3", "1/3"), ("300", "30"), ("3/9", "1/3")]:
        assert key not in checking_question(answer, key).replace(answer, "")


def test_checking_question_names_a_misconception_in_the_groups_words():
    added = ["2/9 because 1+1=2 and 3+6=9", "i added the tops and then added the bottoms, 2/9"]
    assert "bottom numbers" in checking_question("2/9", None, added, "What is 1/3 + 1/6?")
    bigger = ["3/8 because 8 is bigger than 5", "3/8 has more pieces"]
    assert "pieces" in checking_question("3/8", None, bigger, "Which is bigger, 3/8 or 3/5?")
    essay = ["he is just sad", "it is about a sad man"]
    assert "evidence" in checking_question(None, None, essay, "What is the theme?")


def test_on_target_stem_asks_an_extension_question_that_fits_the_answer():
    g = group(ON_TARGET, "1/3", ["3/9 simplifies to 1/3"], label="1/3 — simplifies")
    stem = draft_stem(replace(g, status_confirmed=True))
    assert stem.kind == StemKind.EXTENSION
    assert f"{ON_TARGET_LEAD} Then try" in stem.text and "3/9 simplifies" not in stem.text
    assert "reasoning works" not in stem.text  # confirmed on target vouches for the answer, never the reasoning
    assert "show 1/3 another way" in fill(stem.text, "i simplified 3/9 to 1/3", "1/3")
    suggested = draft_stem(g)  # no key and not confirmed by the teacher: no praise
    assert "reasoning works" not in suggested.text and "can you say why that works? Then try" in suggested.text
    assert "decimal" in extension_question("1/3")
    assert "fraction" in extension_question("0.25")
    assert "between" in extension_question("3/5", "Which is bigger, 3/8 or 3/5?")
    assert "new problem" in extension_question("12")
    assert "classmate" in extension_question(None)


def test_unclear_stem_asks_to_explain():
    g = group(UNCLEAR, None, ["the rectangle is shy"], label="rectangle is shy")
    stem = draft_stem(g)
    assert stem.kind == EXPLAIN and "explain" in stem.text and "rectangle is shy" not in stem.text
    assert "“the rectangle is shy”" in fill(stem.text, "the rectangle is shy", None)
    unsure = draft_stem(group(UNCLEAR, None, ["idk", "not sure"], label=DONT_KNOW_LABEL))
    assert unsure.kind == EXPLAIN and "weren't sure" in unsure.text


def test_word_answers_fill_in_as_the_students_own_answer():
    g = group(MISCONCEPTION, "same", ["they are the same because both have 3"], label="same — both have 3")
    text = fill(draft_stem(g).text, "they are the same size", "same")
    assert text.startswith("You wrote “they are the same size” — now check:")


def test_check_in_stem_is_for_ungrouped_responses():
    stem = checkin_stem("Q")
    assert stem.group_id == UNGROUPED and stem.text == CHECK_IN_TEXT and stem.kind == EXPLAIN
    groups = (group(ON_TARGET, "1/3", ["1/3"]), group(MISCONCEPTION, "6/9", ["6/9 shaded"], gid=1))
    assert [s.group_id for s in draft_stems("Q", groups)] == [0, 1]
    assert [s.group_id for s in draft_stems("Q", groups, has_ungrouped=True)] == [0, 1, UNGROUPED]


def test_quote_clips_long_responses_around_the_phrase():
    text = "well first I looked at the picture and counted every part then I saw 3 are not shaded out of 9 total"
    q = quote(text, "not shaded", max_words=6)
    assert "not shaded" in q and q.startswith("…") and len(q.strip("…").split()) == 6
    assert quote("short one.") == "short one"
