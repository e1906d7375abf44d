"""Tests for reasoning_match: moving a response to another answer's group when its reasoning belongs there."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_assistant.reasoning_match import _evidence, reassign_across_answers
from feedback_assistant.records import UNGROUPED


def _blob(centre: np.ndarray, n: int, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    x = centre[None, :] + noise * rng.standard_normal((n, len(centre)))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _two_answers(
    extra: np.ndarray, says: str = "so the answer is 4"
) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """Six responses chose "4" (near e0), six chose "6" (near e1), plus one extra response that chose "6" and
    whose text ``says`` its answer (by default "4", the other chosen answer)."""
    rng = np.random.default_rng(0)
    d = 8
    e0, e1 = np.eye(d)[0], np.eye(d)[1]
    emb = np.vstack([_blob(e0, 6, rng), _blob(e1, 6, rng), extra[None, :] / np.linalg.norm(extra)])
    answers = ["4"] * 6 + ["6"] * 7
    labels = np.array([0] * 6 + [1] * 7)
    texts = [f"response {chr(97 + i)}" for i in range(len(answers) - 1)] + [f"response z {says}"]
    return texts, emb, answers, labels


NEAR_4 = np.eye(8)[0] + 0.02 * np.eye(8)[2]


def test_a_response_stating_the_other_answer_with_its_reasoning_moves():
    texts, emb, answers, labels = _two_answers(NEAR_4)
    out, conf = reassign_across_answers(texts, emb, answers, labels, text_weight=0.0)
    assert out[-1] == 0
    assert conf[-1] == 1.0  # (1 + all its neighbours under "4") / 2
    np.testing.assert_array_equal(out[:-1], labels[:-1])


def test_borderline_response_stays():
    texts, emb, answers, labels = _two_answers(np.eye(8)[0] + np.eye(8)[1])  # halfway between the answers
    out, conf = reassign_across_answers(texts, emb, answers, labels, text_weight=0.0)
    np.testing.assert_array_equal(out, labels)
    assert conf[-1] < 1.0


@pytest.mark.parametrize(
    "blocker",
    [{"min_stated_margin": 5.0}, {"min_stated_vote": 1.01}, {"min_target_size": 7}, {"min_stated_margin": None}],
    ids=["margin too small", "too few neighbours there", "target group too small", "rule off"],
)
def test_a_threshold_blocks_a_move_the_statement_would_make(blocker):
    texts, emb, answers, labels = _two_answers(NEAR_4)
    moved, _ = reassign_across_answers(texts, emb, answers, labels, text_weight=0.0)
    assert not np.array_equal(moved, labels)  # without the threshold the student moves
    out, _ = reassign_across_answers(texts, emb, answers, labels, text_weight=0.0, **blocker)
    np.testing.assert_array_equal(out, labels)


def test_moves_into_the_subgroup_holding_its_neighbours():
    texts, emb, answers, labels = _two_answers(NEAR_4)
    labels = labels.copy()
    labels[:6] = [5, 5, 5, 5, 5, 7]  # answer "4" already split into groups 5 and 7
    out, _ = reassign_across_answers(texts, emb, answers, labels, text_weight=0.0)
    assert out[-1] == 5


def test_result_does_not_depend_on_row_order():
    rng = np.random.default_rng(3)
    d = 6
    emb = np.vstack([_blob(np.eye(d)[j], 7, rng, noise=0.4) for j in range(3)])
    options = ["10", "20", "30"]
    answers = [a for a in options for _ in range(7)]
    labels = np.repeat([0, 1, 2], 7)
    texts = [f"I added {i % 4} and {i % 3} so the answer is {options[(i // 7 + 1 + i % 2) % 3]}" for i in range(21)]
    emb[4] = emb[4 + 7]  # a duplicate pair under different answers creates a tie
    out, conf = reassign_across_answers(texts, emb, answers, labels, min_stated_margin=0.0, min_stated_vote=0.0)
    assert not np.array_equal(out, labels)  # some move, so the order of the moves is tested
    for seed in range(5):
        perm = np.random.default_rng(seed).permutation(len(answers))
        out_p, conf_p = reassign_across_answers(
            [texts[i] for i in perm],
            emb[perm],
            [answers[i] for i in perm],
            labels[perm],
            min_stated_margin=0.0,
            min_stated_vote=0.0,
        )
        np.testing.assert_array_equal(out_p, out[perm])
        np.testing.assert_allclose(conf_p, conf[perm])


MOVER = "120 divided by 5 is 24, times 3 so the answer is 72"


def _fractions_class(extra_text: str, extra_near_right: bool):
    """Six chose 72 ("a fifth is 24, times 3 is 72"), six chose 24 ("a fifth of 120 is 24"), one more 24."""
    rng = np.random.default_rng(5)
    e0, e1 = np.eye(8)[0], np.eye(8)[1]
    right = [f"120 divided by 5 is 24 and 24 times 3 makes 72{'!' * i}" for i in range(6)]
    wrong = [f"a fifth of 120 is 24{'!' * i}" for i in range(6)]
    extra = (e0 if extra_near_right else e1) + 0.02 * np.eye(8)[2]
    emb = np.vstack([_blob(e0, 6, rng), _blob(e1, 6, rng), extra[None, :] / np.linalg.norm(extra)])
    return right + wrong + [extra_text], emb, ["72"] * 6 + ["24"] * 7, np.array([3] * 6 + [8] * 7)


def test_response_stating_another_chosen_answer_with_matching_reasoning_moves():
    texts, emb, answers, labels = _fractions_class(MOVER, True)
    out, conf = reassign_across_answers(texts, emb, answers, labels)
    assert out[-1] == 3
    assert 0.5 < conf[-1] <= 1.0
    np.testing.assert_array_equal(out[:-1], labels[:-1])


def test_stating_another_answer_is_not_enough_when_the_reasoning_matches_its_own():
    texts, emb, answers, labels = _fractions_class("a fifth of 120 is 24 so the answer is 72", False)
    ev = _evidence(texts, emb, answers, labels)
    assert ev.partitions[ev.stated[-1]] == "72" and ev.stated_margin[-1] < 0
    out, _ = reassign_across_answers(texts, emb, answers, labels)
    np.testing.assert_array_equal(out, labels)


def test_reasoning_alone_moves_nobody():
    texts, emb, answers, labels = _fractions_class("120 divided by 5 is 24 and 24 times 3", True)
    out, _ = reassign_across_answers(texts, emb, answers, labels)
    np.testing.assert_array_equal(out, labels)
    texts, emb, answers, labels = _two_answers(NEAR_4, says="")  # its neighbours all chose "4", it says nothing
    out, _ = reassign_across_answers(texts, emb, answers, labels, text_weight=0.0)
    np.testing.assert_array_equal(out, labels)


def test_stated_rule_is_row_order_invariant():
    texts, emb, answers, labels = _fractions_class(MOVER, True)
    out, conf = reassign_across_answers(texts, emb, answers, labels)
    perm = np.random.default_rng(2).permutation(len(texts))
    out_p, conf_p = reassign_across_answers(
        [texts[i] for i in perm], emb[perm], [answers[i] for i in perm], labels[perm]
    )
    np.testing.assert_array_equal(out_p, out[perm])
    np.testing.assert_allclose(conf_p, conf[perm])


def test_text_similarity_moves_a_response_the_embedding_alone_cannot_place(fake_embedder):
    texts = (
        ["I added the tops and added the bottoms to get 5/7"] * 4
        + ["I multiplied across to get 6/12"] * 4
        + ["I added the tops and added the bottoms to get 5/7"]
    )
    answers = ["5/7"] * 4 + ["6/12"] * 5
    labels = np.array([0] * 4 + [1] * 5)
    emb = fake_embedder.encode(texts)
    out, _ = reassign_across_answers(texts, emb, answers, labels, k=3)
    assert out[-1] == 0
    np.testing.assert_array_equal(out[:-1], labels[:-1])


def test_ungrouped_rows_are_left_alone_and_do_not_vote():
    extra = np.eye(8)[0] + 0.02 * np.eye(8)[2]
    texts, emb, answers, labels = _two_answers(extra)
    labels = labels.copy()
    labels[:6] = UNGROUPED  # nobody grouped under "4" any more: the extra response has nowhere to go
    out, conf = reassign_across_answers(texts, emb, answers, labels, text_weight=0.0)
    np.testing.assert_array_equal(out, labels)
    assert (conf[:6] == 0).all()


def test_single_answer_class_never_moves():
    rng = np.random.default_rng(1)
    emb = _blob(np.eye(4)[0], 5, rng)
    out, conf = reassign_across_answers(["a"] * 5, emb, ["x"] * 5, np.zeros(5, dtype=int))
    np.testing.assert_array_equal(out, np.zeros(5))
    assert (conf == 1.0).all()


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_tiny_classes(n):
    emb = np.eye(4)[:n] if n else np.zeros((0, 4))
    answers = ["a", "b", "b"][:n]
    labels = np.array([0, 1, 1][:n], dtype=int)
    out, conf = reassign_across_answers([f"t{i}" for i in range(n)], emb, answers, labels)
    assert out.shape == (n,) and conf.shape == (n,)
    assert set(out.tolist()) <= set(labels.tolist())
    assert ((conf >= 0) & (conf <= 1)).all()


def test_evidence_reports_the_stated_answer_vote_and_margin():
    texts, emb, answers, labels = _two_answers(NEAR_4)
    ev = _evidence(texts, emb, answers, labels, k=5, text_weight=0.0)
    assert ev.partitions == ("4", "6")
    assert ev.stated[-1] == 0 and ev.stated_share[-1] == 1.0 and ev.stated_label[-1] == 0
    assert ev.stated_margin[-1] > 0.5
    assert ev.own_share[6] == 1.0 and ev.stated[6] == -1  # its 5 neighbours all chose "6"; it states nothing


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="one row per response"):
        reassign_across_answers(["a", "b"], np.eye(2), ["x"], np.array([0, 0]))


def test_large_questions_query_only_stated_answers_and_move_the_same_students():
    texts, emb, answers, labels = _fractions_class(MOVER, True)
    full, full_conf = reassign_across_answers(texts, emb, answers, labels)
    fast, fast_conf = reassign_across_answers(texts, emb, answers, labels, full_evidence_max=2)
    np.testing.assert_array_equal(fast, full)
    assert fast_conf[-1] == full_conf[-1]  # the moved student was measured
    assert np.isnan(fast_conf[:-1]).any()  # students who state no other answer are not measured at scale
