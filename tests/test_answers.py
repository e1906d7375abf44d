"""Answer normalisation, matching and extraction of the final answer from free text."""

from __future__ import annotations

import pytest

from feedback_assistant.answers import answers_match, extract_final_answer, normalise_answer


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"\( \frac{1}{3} \)", "1/3"),
        (r"\( 3 \frac{1}{3} \)", "3 1/3"),
        (r"\( \frac{2}{3} \div \frac{1}{3} \)", "2/3÷1/3"),
        (r"\( \frac{1}{3} \times \frac{2}{3} \)", "1/3×2/3"),
        (r"\( 48 \) hours", "48 hours"),
        ("  Not   enough information. ", "not enough information"),
        ("0.50", "0.5"),
        (".5", "0.5"),
        ("12.0", "12"),
        ("1,000", "1000"),
        ("one third", "1/3"),
        ("Twelve!", "12"),
        ("1 / 2", "1/2"),
        ("-3", "-3"),
        ("", ""),
    ],
)
def test_normalise_answer(raw, expected):
    assert normalise_answer(raw) == expected


def test_normalise_is_idempotent():
    for raw in [r"\( 3 \frac{1}{3} \)", "0.50", "one third", r"\( 48 \) hours", "x = 4"]:
        once = normalise_answer(raw)
        assert normalise_answer(once) == once


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (r"\( \frac{1}{3} \)", "1/3"),
        ("12", "12.0"),
        ("0.5", ".50"),
        (r"\( 48 \) hours", "48"),
        ("Not enough information", "not enough information."),
        ("one third", "1/3"),
    ],
)
def test_answers_that_match(a, b):
    assert answers_match(a, b)
    assert answers_match(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1/3", "3/9"),  # equal value, but not the simplest form the question asked for
        ("1/2", "0.5"),  # a fraction is not matched to a decimal: the key decides the representation
        ("48 hours", "64"),
        ("6.2", "6.02"),
        ("4", None),
        (None, None),
        ("", ""),
    ],
)
def test_answers_that_do_not_match(a, b):
    assert not answers_match(a, b)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the answer is 12 because 12 x 2 is 24", "12"),
        ("I took 5 from 9 and got 4.", "4"),
        ("2x5=10 and 3x5=15 so it is 10/15", "10/15"),
        ("because you minus 9 from 24 and you get 15", "15"),
        ("i think it is 1/3", "1/3"),
        ("3 1/3", "3 1/3"),
        ("ten plus five is fifteen and nine minus five equals four", "4"),
        ("I chose not enough information because the picture is cut off", "not enough information"),
    ],
)
def test_extract_final_answer(text, expected):
    assert extract_final_answer(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "because I think so", "i don't know"])
def test_extract_final_answer_none_when_no_answer(text):
    assert extract_final_answer(text) is None
