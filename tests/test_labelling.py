"""Group labels, representatives, answers and statuses."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_assistant.labelling import (
    DONT_KNOW_LABEL,
    STOP_WORDS,
    describe_groups,
    group_centroids,
    response_answer,
    stem,
    tokens,
)
from feedback_assistant.records import MISCONCEPTION, ON_TARGET, UNCLEAR, UNGROUPED, Response

# (group, text) - the planted groups of a "what fraction is NOT shaded? (6 of 9 shaded)" ticket
FRACTIONS = [
    (0, "1/3 because 3 of the 9 parts are not shaded and 3/9 simplifies to 1/3"),
    (0, "3 out of 9 are not shaded, that simplifies to 1/3"),
    (0, "1/3 since 3/9 simplified is 1/3"),
    (0, "not shaded is 3/9 which simplifies to 1/3"),
    (0, "1/3, I divided 3/9 by 3 to simplify"),
    (1, "3/9 because 3 are not shaded"),
    (1, "3/9 since three boxes are not shaded out of 9"),
    (1, "3/9 because 3 not shaded and 9 in all"),
    (2, "6/9 because 6 parts are shaded out of 9"),
    (2, "6/9, I counted the shaded parts"),
    (2, "6/9 because the shaded part is 6"),
    (3, "idk"),
    (3, "i don't know"),
    (UNGROUPED, ""),
]


def make(rows, question="Q1", answers=None):
    """Responses and labels from (group, text) pairs."""
    responses = [
        Response(
            row=i,
            source_row=i,
            student=f"S{i}",
            question=question,
            text=t,
            is_blank=not t.strip(),
            answer=None if answers is None else answers[i],
        )
        for i, (_, t) in enumerate(rows)
    ]
    return responses, [g for g, _ in rows]


def by_id(groups):
    return {g.group_id: g for g in groups}


def test_every_group_gets_a_label_terms_and_members(fake_embedder):
    responses, labels = make(FRACTIONS)
    vectors = fake_embedder.encode([r.text for r in responses])
    groups = describe_groups("Q1", responses, labels, vectors)
    assert sorted(g.group_id for g in groups) == [0, 1, 2, 3]
    for g in groups:
        assert g.label.strip()
        assert g.rows == tuple(i for i, x in enumerate(labels) if x == g.group_id)
        assert 1 <= len(g.representatives) <= 3
        members = {responses[r].text for r in g.rows}
        assert set(g.representatives) <= members
    assert all(UNGROUPED != g.group_id for g in groups)
    assert len({g.label for g in groups}) == len(groups)


def test_label_uses_the_groups_words_and_answer_not_stop_words(fake_embedder):
    responses, labels = make(FRACTIONS)
    groups = by_id(describe_groups("Q1", responses, labels, fake_embedder.encode([r.text for r in responses])))
    assert groups[1].label.startswith("3/9 — ")
    assert "not shaded" in groups[1].label
    assert groups[2].label.startswith("6/9 — ") and "shaded" in groups[2].label
    assert "not" not in groups[2].label
    for g in groups.values():
        words = [w for w in tokens(g.label)]
        assert not all(w in STOP_WORDS for w in words)
    assert groups[3].label == DONT_KNOW_LABEL


def test_representatives_are_closest_to_the_centre():
    rows = [(0, "alpha"), (0, "beta"), (0, "gamma"), (0, "delta")]
    responses, labels = make(rows)
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.95, 0.05]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    (g,) = describe_groups("Q", responses, labels, vectors)
    assert "gamma" not in g.representatives
    assert len(g.representatives) == 3


def test_key_decides_status_and_confirms_it(fake_embedder):
    responses, labels = make(FRACTIONS)
    vectors = fake_embedder.encode([r.text for r in responses])
    groups = by_id(describe_groups("Q1", responses, labels, vectors, key="1/3"))
    assert (groups[0].status, groups[0].status_confirmed) == (ON_TARGET, True)
    assert (groups[1].status, groups[1].status_confirmed) == (MISCONCEPTION, True)
    assert groups[2].status == MISCONCEPTION
    assert groups[3].status == UNCLEAR and not groups[3].status_confirmed


def test_without_key_the_largest_group_with_the_common_answer_is_proposed_on_target(fake_embedder):
    responses, labels = make(FRACTIONS)
    groups = by_id(describe_groups("Q1", responses, labels, fake_embedder.encode([r.text for r in responses])))
    assert groups[0].status == ON_TARGET and groups[0].answer == "1/3"
    assert groups[1].status == MISCONCEPTION and groups[2].status == MISCONCEPTION
    assert not any(g.status_confirmed for g in groups.values())


def test_the_common_wrong_answer_is_proposed_when_no_key():
    # most of the class says 6/9: without a key that is what the tool proposes, for the teacher to confirm
    rows = [(0, "6/9 shaded ones")] * 5 + [(1, "1/3 not shaded simplified")] * 2
    responses, labels = make(rows)
    groups = by_id(describe_groups("Q", responses, labels, None))
    assert groups[0].status == ON_TARGET and not groups[0].status_confirmed


def test_explanations_without_answers_propose_the_largest_group(fake_embedder):
    rows = [(0, "the earth is tilted toward the sun in summer")] * 4 + [(1, "earth is closer to the sun")] * 2
    rows += [(2, "idk"), (2, "not sure lol")]
    responses, labels = make(rows)
    groups = by_id(describe_groups("Why seasons?", responses, labels, None))
    assert groups[0].status == ON_TARGET
    assert groups[1].status == MISCONCEPTION
    assert groups[2].status == UNCLEAR
    assert groups[0].answer is None


def test_a_sentence_key_proposes_the_most_similar_group():
    rows = [(0, "the tilt of the axis makes sunlight more direct")] * 3 + [(1, "the earth is closer to the sun")] * 4
    responses, labels = make(rows)
    groups = by_id(
        describe_groups(
            "Why seasons?",
            responses,
            labels,
            None,
            key="Seasons happen because the tilt of the axis changes how direct sunlight is",
        )
    )
    assert groups[0].status == ON_TARGET and groups[1].status == MISCONCEPTION
    assert not groups[0].status_confirmed


def test_chosen_answer_column_wins_and_empty_cells_are_not_read_from_text():
    r1 = Response(row=0, source_row=0, student="a", question="q", text="I think 5", answer="\\( \\frac{1}{3} \\)")
    r2 = Response(row=1, source_row=1, student="b", question="q", text="3/9 because 3 are not shaded")
    assert response_answer(r1) == "1/3"
    assert response_answer(r2) == "3/9"
    assert response_answer(r2, from_text=False) is None
    rows = [(0, "I did it in my head, 1/2"), (0, "it is 1/2")]
    responses, labels = make(rows, answers=["1/2", None])
    (g,) = describe_groups("q", responses, labels, None)
    assert g.answer == "1/2"


def test_group_centroids_are_unit_means():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    c = group_centroids([0, 0, UNGROUPED], vectors)
    assert set(c) == {0}
    assert np.allclose(c[0], np.array([1.0, 1.0]) / np.sqrt(2))
    assert group_centroids([0], None) == {}


def test_stem_joins_word_forms():
    assert stem("simplified") == stem("simplifies") == stem("simplify")
    assert stem("tops") == "top" and stem("3/9") == "3/9"


def test_labels_do_not_change_when_rows_are_reordered(fake_embedder):
    responses, labels = make(FRACTIONS)
    order = list(reversed(range(len(FRACTIONS))))
    shuffled, shuffled_labels = make([FRACTIONS[i] for i in order])
    a = by_id(describe_groups("Q1", responses, labels, fake_embedder.encode([r.text for r in responses])))
    b = by_id(describe_groups("Q1", shuffled, shuffled_labels, fake_embedder.encode([r.text for r in shuffled])))
    assert {g: a[g].label for g in a} == {g: b[g].label for g in b}
    assert {g: a[g].status for g in a} == {g: b[g].status for g in b}


def test_mismatched_labels_are_refused():
    responses, _ = make(FRACTIONS)
    with pytest.raises(ValueError, match="labels has 2 entries"):
        describe_groups("Q1", responses, [0, 0], None)
