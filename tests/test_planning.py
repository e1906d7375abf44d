"""Tomorrow's plan: reteach, extension and check-in groups, every student exactly once."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_assistant.planning import MIXED, make_plan, move_in_plan, student_name
from feedback_assistant.records import (
    CHECK_IN,
    EXTENSION,
    MISCONCEPTION,
    ON_TARGET,
    RETEACH,
    UNCLEAR,
    UNGROUPED,
    Group,
    NotFoundError,
    Response,
)


def build(sizes_status, n_blank=1, n_loose=1):
    """Responses, labels and groups: sizes_status is [(size, status, label)] for groups 0, 1, ..."""
    responses, labels, groups = [], [], []
    for gid, (size, status, label) in enumerate(sizes_status):
        rows = []
        for _ in range(size):
            row = len(responses)
            responses.append(Response(row=row, source_row=row, student=f"S{row}", question="Q", text=f"{label} {row}"))
            labels.append(gid)
            rows.append(row)
        groups.append(Group(question="Q", group_id=gid, label=label, rows=tuple(rows), status=status))
    for k in range(n_blank + n_loose):
        row = len(responses)
        responses.append(
            Response(
                row=row,
                source_row=row,
                student=f"S{row}",
                question="Q",
                text="" if k < n_blank else "something else",
                is_blank=k < n_blank,
            )
        )
        labels.append(UNGROUPED)
    return responses, labels, groups


def placed_rows(plan):
    return sorted(r for pg in plan.groups for r in pg.rows)


def test_every_student_is_in_exactly_one_group():
    responses, labels, groups = build(
        [
            (8, ON_TARGET, "ok"),
            (4, MISCONCEPTION, "added tops"),
            (3, MISCONCEPTION, "counted shaded"),
            (2, UNCLEAR, "vague"),
        ]
    )
    plan = make_plan("Q", responses, labels, groups)
    assert placed_rows(plan) == [r.row for r in responses]
    kinds = {pg.kind for pg in plan.groups}
    assert kinds == {RETEACH, EXTENSION, CHECK_IN}
    for pg in plan.groups:
        assert len(pg.students) == len(pg.rows) <= 6


def test_one_reteach_group_per_misconception_and_check_in_for_the_rest():
    responses, labels, groups = build(
        [
            (5, ON_TARGET, "ok"),
            (4, MISCONCEPTION, "added tops"),
            (3, MISCONCEPTION, "counted shaded"),
            (2, UNCLEAR, "vague"),
        ]
    )
    plan = make_plan("Q", responses, labels, groups)
    reteach = [pg for pg in plan.groups if pg.kind == RETEACH]
    assert [pg.focus for pg in reteach] == ["added tops", "counted shaded"]
    assert reteach[0].name == "Reteach: added tops"
    check_in = [pg for pg in plan.groups if pg.kind == CHECK_IN]
    blank_and_loose = [r.row for r, x in zip(responses, labels, strict=True) if x == UNGROUPED]
    assert set(blank_and_loose) | set(groups[3].rows) == {r for pg in check_in for r in pg.rows}


def test_big_groups_are_split_into_near_equal_parts():
    responses, labels, groups = build([(13, ON_TARGET, "ok"), (7, MISCONCEPTION, "added tops")], 0, 0)
    plan = make_plan("Q", responses, labels, groups, max_group_size=6)
    sizes = {pg.name: len(pg.rows) for pg in plan.groups}
    assert sizes == {
        "Reteach: added tops (1)": 4,
        "Reteach: added tops (2)": 3,
        "Extension (1)": 5,
        "Extension (2)": 4,
        "Extension (3)": 4,
    }
    small = make_plan("Q", responses, labels, groups, max_group_size=20)
    assert [pg.name for pg in small.groups] == ["Reteach: added tops", "Extension"]


def test_small_misconceptions_pool_into_a_mixed_reteach_without_vectors():
    responses, labels, groups = build(
        [
            (5, ON_TARGET, "ok"),
            (4, MISCONCEPTION, "big one"),
            (1, MISCONCEPTION, "tiny a"),
            (2, MISCONCEPTION, "tiny b"),
        ],
        0,
        0,
    )
    plan = make_plan("Q", responses, labels, groups)
    mixed = [pg for pg in plan.groups if pg.name == f"Reteach: {MIXED}"]
    assert len(mixed) == 1 and sorted(mixed[0].source_groups) == [2, 3]
    assert "tiny a" in mixed[0].focus and "tiny b" in mixed[0].focus


def test_small_misconception_joins_the_nearest_alike_group_with_vectors():
    responses, labels, groups = build(
        [
            (5, ON_TARGET, "ok"),
            (4, MISCONCEPTION, "big a"),
            (3, MISCONCEPTION, "big b"),
            (2, MISCONCEPTION, "small"),
        ],
        0,
        0,
    )
    directions = {0: [1, 0, 0], 1: [0, 1, 0], 2: [0, 0, 1], 3: [0, 0.2, 1]}
    vectors = np.array([directions[g] for g in labels], dtype=float)
    plan = make_plan("Q", responses, labels, groups, vectors=vectors)
    big_b = next(pg for pg in plan.groups if pg.name == "Reteach: big b")
    assert big_b.focus == "big b; small"
    assert set(big_b.source_groups) == {2, 3} and len(big_b.rows) == 5
    assert not any(MIXED in pg.name for pg in plan.groups)


def test_top_misconceptions_and_whole_class_reteach():
    responses, labels, groups = build(
        [(3, ON_TARGET, "ok"), (9, MISCONCEPTION, "most"), (4, MISCONCEPTION, "some")], 0, 0
    )
    plan = make_plan("Q", responses, labels, groups)
    assert plan.top_misconceptions == (("most", 9), ("some", 4))
    assert plan.whole_class_reteach == "most"
    responses, labels, groups = build([(8, ON_TARGET, "ok"), (5, MISCONCEPTION, "half-ish")], 0, 0)
    assert make_plan("Q", responses, labels, groups).whole_class_reteach is None


def test_move_in_plan_moves_one_student_and_drops_empty_groups():
    responses, labels, groups = build([(3, ON_TARGET, "ok"), (3, MISCONCEPTION, "wrong")], 0, 1)
    plan = make_plan("Q", responses, labels, groups)
    loose = responses[-1]
    moved = move_in_plan(plan, loose, "Extension")
    ext = next(pg for pg in moved.groups if pg.name == "Extension")
    assert loose.row in ext.rows and "S6" in ext.students
    assert not any(pg.kind == CHECK_IN for pg in moved.groups)  # it was the only check-in student
    assert placed_rows(moved) == placed_rows(plan)


def test_move_in_plan_to_an_unknown_group_says_which_exist():
    responses, labels, groups = build([(3, ON_TARGET, "ok")], 0, 0)
    plan = make_plan("Q", responses, labels, groups)
    with pytest.raises(NotFoundError, match="no group called 'Lunch'.*Extension"):
        move_in_plan(plan, responses[0], "Lunch")


def test_student_name_falls_back_to_the_file_row():
    assert student_name(Response(row=0, source_row=4, student="", question="Q", text="x")) == "row 6"
    assert student_name(Response(row=0, source_row=4, student=" Zoë ", question="Q", text="x")) == "Zoë"


def test_a_ticket_from_several_periods_gets_groups_within_each_period():
    from feedback_assistant.planning import make_plan
    from feedback_assistant.records import MISCONCEPTION, ON_TARGET, Group, Response

    sections = ["P1", "P3", "P1", "P3", "P1", "P3", "P1", "P3"]
    responses = [
        Response(row=i, source_row=i, student=f"S{i}", question="q", text=f"t{i}", section=sec)
        for i, sec in enumerate(sections)
    ]
    labels = [0, 0, 0, 0, 1, 1, 1, 1]
    groups = [
        Group("q", 0, "tilt", (0, 1, 2, 3), status=ON_TARGET),
        Group("q", 1, "distance from the sun", (4, 5, 6, 7), status=MISCONCEPTION),
    ]
    plan = make_plan("q", responses, labels, groups, min_group_size=2)
    for pg in plan.groups:
        assert len({sections[r] for r in pg.rows}) == 1, pg
        assert pg.name.startswith(sections[pg.rows[0]] + " · ")
    assert sorted(r for pg in plan.groups for r in pg.rows) == list(range(8))
