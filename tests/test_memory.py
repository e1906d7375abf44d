"""Memory per question: the learner, carrying taught groups to the next class, and the memory tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import FakeEmbedder

from feedback_assistant import pipeline
from feedback_assistant.clustering import MisconceptionClusterer
from feedback_assistant.memory import (
    MemoryLearner,
    QuestionMemory,
    TaughtClass,
    TaughtGroup,
    carry_over,
    confirm_carried_over,
    question_key,
)
from feedback_assistant.records import APPROVED, DRAFT, UNGROUPED, NotFoundError, Status
from feedback_assistant.tickets import read_tickets

QUESTION = "What is 1/2 + 1/3? Explain."
TOPS = [
    "I added the tops and the bottoms so 2/5",
    "add tops 1+1 and bottoms 2+3 makes 2/5",
    "tops added and bottoms added gives 2/5",
    "just add the top numbers and bottom numbers 2/5",
    "I added tops together and bottoms together 2/5",
    "the tops add to 2 the bottoms add to 5 so 2/5",
]
COMMON = [
    "common denominator is 6 so 3/6 + 2/6 = 5/6",
    "I changed both to sixths with a common denominator, 5/6",
    "make a common denominator of 6 then add 3/6 and 2/6 to get 5/6",
    "use common denominator 6: 3/6 plus 2/6 is 5/6",
    "common denominator six, three sixths and two sixths is five sixths 5/6",
    "both fractions over a common denominator 6 gives 5/6",
]
TIMES = [
    "multiply across the numerators and multiply the denominators 1/6",
    "I multiplied straight across to get 1/6",
    "multiplying straight across gives 1/6",
    "times them straight across for 1/6",
]


def _fake(texts):
    return FakeEmbedder().encode(list(texts))


def _memory(texts, labels, answers=None, groups=(), classes=()):
    return QuestionMemory(
        question=question_key(QUESTION),
        texts=tuple(texts),
        answers=tuple(answers) if answers is not None else tuple(None for _ in texts),
        labels=tuple(labels),
        vectors=_fake(texts),
        groups=tuple(groups),
        classes=tuple(classes),
    )


class DictMemory:
    """A memory source over a dict, keyed like the store (``question_key``)."""

    def __init__(self, memories):
        self.memories = {m.question: m for m in memories}

    def lookup(self, question):
        return self.memories.get(question_key(question))


def test_question_key_ignores_case_spacing_and_punctuation():
    assert question_key("  What is 1/2 + 1/3?  Explain.") == question_key("what is 1 2 1 3 explain")
    assert question_key("Q1") != question_key("Q2")


def test_learner_assigns_taught_groups_and_leaves_an_untaught_misconception_unmatched():
    taught = TOPS[:4] + COMMON[:4]
    labels = ["added tops and bottoms"] * 4 + ["common denominator"] * 4
    learner = MemoryLearner().fit(taught, _fake(taught), labels)
    new = TOPS[4:] + COMMON[4:] + TIMES
    pred, fit = learner.predict(new, _fake(new))
    names = [learner.classes_[p] if p != UNGROUPED else None for p in pred]
    assert names[:2] == ["added tops and bottoms"] * 2
    assert names[2:4] == ["common denominator"] * 2
    assert names[4:] == [None] * len(TIMES)  # never taught: left to the clusterer, not absorbed
    assert np.all(fit[:4] >= 0.4) and np.all(fit[4:] == 0)


def test_without_the_novelty_check_the_untaught_misconception_is_absorbed():
    """The open-set check is what keeps the untaught responses out (the test above would fail without it)."""
    taught = TOPS[:4] + COMMON[:4]
    labels = ["tops"] * 4 + ["common"] * 4
    learner = MemoryLearner(novelty=None, min_fit=0.0).fit(taught, _fake(taught), labels)
    pred, _ = learner.predict(TIMES, _fake(TIMES))
    assert (pred != UNGROUPED).all()


def test_with_answers_each_taught_answer_gets_its_group_and_a_new_answer_stays_new():
    taught = TOPS[:3] + COMMON[:3]
    answers = ["2/5"] * 3 + ["5/6"] * 3
    labels = ["tops"] * 3 + ["common"] * 3
    learner = MemoryLearner().fit(taught, _fake(taught), labels, answers)
    new = ["whatever I think", "no idea really", "something else"]
    pred, fit = learner.predict(new, _fake(new), ["2/5", "5/6", "1/6"])
    assert [learner.classes_[p] for p in pred[:2]] == ["tops", "common"]
    assert pred[2] == UNGROUPED and fit[2] == 0


def test_carry_over_forms_a_new_group_for_responses_nobody_taught():
    memory = _memory(
        TOPS[:4] + COMMON[:4],
        ["tops"] * 4 + ["common"] * 4,
        groups=[TaughtGroup("tops", "misconception"), TaughtGroup("common", "on target")],
    )
    new = TOPS[4:] + COMMON[4:] + TIMES
    co = carry_over(memory, new, _fake(new), None, MisconceptionClusterer())
    labels = co.clustering.labels
    tops_id = next(g for g, t in co.taught.items() if t.label == "tops")
    common_id = next(g for g, t in co.taught.items() if t.label == "common")
    assert set(labels[:2]) == {tops_id} and set(labels[2:4]) == {common_id}
    times = set(labels[4:].tolist())
    assert not times & set(co.taught)  # the untaught misconception is its own (new) group
    assert times != {UNGROUPED}
    assert len(labels) == len(new)


def _ticket(tmp_path, texts, name="p2.csv", answers=None):
    frame = pd.DataFrame({"Student": [f"S{i}" for i in range(len(texts))], "Question": QUESTION, "Response": texts})
    if answers is not None:
        frame["Answer"] = answers
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return read_tickets(
        path,
        response_col="Response",
        question_col="Question",
        student_col="Student",
        answer_col="Answer" if answers is not None else None,
    )


def test_the_next_class_gets_the_taught_name_status_and_stem_marked_carried_over(tmp_path):
    taught_stem = "Fractions need the same size pieces before you add them. Try sixths."
    memory = _memory(
        TOPS[:4] + COMMON[:4],
        ["Added tops and bottoms"] * 4 + ["Common denominator"] * 4,
        groups=[
            TaughtGroup("Added tops and bottoms", "misconception", taught_stem, True),
            TaughtGroup("Common denominator", "on target"),
        ],
        classes=[TaughtClass("Period 2", "2026-11-19", 8)],
    )
    tickets = _ticket(tmp_path, TOPS[4:] + COMMON[4:] + TIMES + [""])
    analysis = pipeline.analyze(tickets, embedder=FakeEmbedder(), memory=DictMemory([memory]))
    result = analysis.results[0]
    assert result.learned_from == "Learned from 8 corrected responses (Period 2, 11/19)"
    by_label = {g.label: g for g in result.groups}
    tops = by_label["Added tops and bottoms"]
    assert tops.carried_over and tops.status == Status.MISCONCEPTION
    assert {result.responses[i].text for i, g in enumerate(result.labels) if g == tops.group_id} == set(TOPS[4:])
    stem = next(s for s in result.stems if s.group_id == tops.group_id)
    assert stem.text == taught_stem and stem.state == DRAFT  # the teacher confirms it
    assert by_label["Common denominator"].carried_over
    assert by_label["Common denominator"].status == Status.ON_TARGET
    new = [g for g in result.groups if not g.carried_over]
    assert new and all(g.label not in ("Added tops and bottoms", "Common denominator") for g in new)
    pipeline.check_rows(QUESTION, len(result.responses), result)
    planned = {pg.focus for pg in result.plan.groups}
    assert "Added tops and bottoms" in " ".join(planned)

    confirmed = confirm_carried_over(result, tops.group_id)
    g = next(g for g in confirmed.groups if g.group_id == tops.group_id)
    assert not g.carried_over and g.status_confirmed
    assert next(s for s in confirmed.stems if s.group_id == tops.group_id).state == APPROVED
    with pytest.raises(NotFoundError, match="no group 99"):
        confirm_carried_over(result, 99)


def test_memory_can_be_turned_off_and_another_question_is_untouched(tmp_path):
    memory = _memory(TOPS[:4], ["Added tops and bottoms"] * 4)
    tickets = _ticket(tmp_path, TOPS[4:] + COMMON)
    off = pipeline.analyze(tickets, embedder=FakeEmbedder(), memory=None).results[0]
    assert off.learned_from == "" and not any(g.carried_over for g in off.groups)
    other = QuestionMemory("another question", memory.texts, memory.answers, memory.labels, memory.vectors)
    elsewhere = pipeline.analyze(tickets, embedder=FakeEmbedder(), memory=DictMemory([other])).results[0]
    assert not any(g.carried_over for g in elsewhere.groups)


def test_a_new_group_never_shares_a_taught_name(tmp_path):
    from feedback_assistant.memory import apply_taught

    tickets = _ticket(tmp_path, TOPS + COMMON)
    result = pipeline.analyze(tickets, embedder=FakeEmbedder()).results[0]
    first, second = result.groups[0], result.groups[1]
    taught = {first.group_id: TaughtGroup(second.label, "misconception")}
    parts = pipeline.DEFAULT_STAGES
    out = apply_taught(result, taught, "Learned from 1 corrected response", parts.drafter, parts.planner)
    labels = [g.label for g in out.groups]
    assert len(labels) == len(set(labels))
    assert next(g for g in out.groups if g.group_id == second.group_id).label == f"{second.label} (new)"


def test_summary_lists_the_latest_classes():
    m = _memory(TOPS[:2], ["a", "a"], classes=[TaughtClass("P1", "2026-11-18", 1), TaughtClass("P2", "2026-11-19", 1)])
    assert m.summary() == "Learned from 2 corrected responses (P1, 11/18; P2, 11/19)"
    shared = m.shareable()
    assert shared.texts == ("", "") and shared.labels == m.labels and shared.classes[0].section == ""


# ------------------------------------------------------------------------------------------ the memory tables


@pytest.fixture
def memory_store(tmp_path):
    from feedback_assistant.storage import Store
    from feedback_assistant.storage_memory import MemoryStore

    store = Store(f"sqlite:///{tmp_path / 'h.sqlite'}")
    yield MemoryStore(store)
    store.close()


def _examples(texts, label):
    from feedback_assistant.storage_memory import Example

    return [Example(t, None, v, label) for t, v in zip(texts, _fake(texts), strict=True)]


def test_recording_a_class_again_replaces_its_examples(memory_store):
    ex = _examples(TOPS[:3], "tops")
    memory_store.record("Ms A", QUESTION, "P1", "2026-11-18", ex, [TaughtGroup("tops", "misconception", "Stem", True)])
    memory_store.record("Ms A", QUESTION, "P1", "2026-11-18", ex[:2], [TaughtGroup("tops", "misconception")])
    memory_store.record("Ms A", QUESTION, "P2", "2026-11-19", _examples(COMMON[:2], "common"))
    m = memory_store.load("Ms A", "what is 1/2 + 1/3?  explain")
    assert m.size == 4 and m.labels.count("tops") == 2
    assert m.group("tops") == TaughtGroup("tops", "misconception", "", False)
    assert [(c.section, c.date, c.examples) for c in m.classes] == [("P1", "2026-11-18", 2), ("P2", "2026-11-19", 2)]
    np.testing.assert_allclose(m.vectors[0], _fake([TOPS[0]])[0], rtol=1e-6)


def test_memory_is_per_teacher(memory_store):
    memory_store.record("Ms A", QUESTION, "P1", "2026-11-18", _examples(TOPS[:3], "tops"))
    assert memory_store.load("Mr B", QUESTION) is None
    assert memory_store.load("Ms A", "another question") is None


def test_teach_keeps_the_status_and_stem_already_taught(memory_store):
    memory_store.record(
        "Ms A",
        QUESTION,
        "P1",
        "d1",
        _examples(TOPS[:2], "tops"),
        [TaughtGroup("tops", "misconception", "My stem", True)],
    )
    memory_store.record("Ms A", QUESTION, "P2", "d2", _examples(TOPS[2:4], "tops"), keep_taught=True)
    assert memory_store.load("Ms A", QUESTION).group("tops").stem == "My stem"


def test_renaming_a_taught_group_renames_it_in_every_class(memory_store):
    memory_store.record("Ms A", QUESTION, "P1", "d1", _examples(TOPS[:2], "tops"))
    memory_store.record("Ms A", QUESTION, "P2", "d2", _examples(TOPS[2:4], "adds tops"))
    memory_store.rename("Ms A", QUESTION, "tops", "adds tops")
    m = memory_store.load("Ms A", QUESTION)
    assert set(m.labels) == {"adds tops"} and [g.label for g in m.groups] == ["adds tops"]


def test_forgetting_a_class_removes_its_examples_and_unused_groups(memory_store):
    memory_store.record("Ms A", QUESTION, "P1", "d1", _examples(TOPS[:2], "tops"))
    memory_store.record("Ms A", QUESTION, "P2", "d2", _examples(COMMON[:2], "common"))
    assert memory_store.forget_class("Ms A", "P1") == 2
    m = memory_store.load("Ms A", QUESTION)
    assert set(m.labels) == {"common"} and [g.label for g in m.groups] == ["common"]


def test_store_forget_of_a_section_deletes_its_memory_examples(memory_store):
    memory_store.record("Ms A", QUESTION, "P1", "d1", _examples(TOPS[:2], "tops"))
    memory_store.record("Ms A", QUESTION, "P2", "d2", _examples(COMMON[:2], "common"))
    from feedback_assistant.storage import Store

    with Store(memory_store.store.url, teacher="Ms A") as store:
        store.forget("P1", cache=False)
    assert set(memory_store.load("Ms A", QUESTION).labels) == {"common"}
    assert memory_store.count() == 2


def test_examples_from_an_edited_result_keep_the_teachers_stem(tmp_path):
    from feedback_assistant.review import edit_stem
    from feedback_assistant.storage_memory import examples_from_result

    result = pipeline.analyze(_ticket(tmp_path, TOPS + COMMON + [""]), embedder=FakeEmbedder()).results[0]
    gid = result.groups[0].group_id
    edited = edit_stem(result, gid, "Teacher's words", approve=True)
    examples, groups = examples_from_result(edited)
    assert len(examples) == sum(1 for g in edited.labels if g != UNGROUPED)
    assert all(e.text for e in examples)  # the blank response is not an example
    assert groups[0] == TaughtGroup(edited.groups[0].label, str(edited.groups[0].status), "Teacher's words", True)
    assert all(g.stem == "" for g in groups[1:])  # untouched drafts are not taught


def test_with_answers_the_clusterers_groups_take_their_taught_names_one_each():
    taught = TOPS[:3] + COMMON[:3]
    memory = _memory(
        taught,
        ["tops"] * 3 + ["common"] * 3,
        answers=["2/5"] * 3 + ["5/6"] * 3,
        groups=[TaughtGroup("tops", "misconception"), TaughtGroup("common", "on target")],
    )
    new = TOPS[3:] + COMMON[3:] + TIMES
    answers = ["2/5"] * 3 + ["5/6"] * 3 + ["1/6"] * len(TIMES)
    co = carry_over(memory, new, _fake(new), answers, MisconceptionClusterer(reassign=False))
    labels = co.clustering.labels
    names = {g: t.label for g, t in co.taught.items()}
    assert {names.get(g) for g in labels[:3]} == {"tops"} and {names.get(g) for g in labels[3:6]} == {"common"}
    assert not set(labels[6:].tolist()) & set(co.taught)  # an answer nobody taught stays a new group
    assert len(set(co.taught.values())) == len(co.taught)  # each taught group names one group at most


def test_forgetting_one_day_of_a_class_removes_that_days_examples_only(tmp_path):
    from feedback_assistant.storage import Store
    from feedback_assistant.storage_memory import MemoryStore

    analysis = pipeline.analyze(_ticket(tmp_path, TOPS + COMMON), embedder=FakeEmbedder())
    with Store(f"sqlite:///{tmp_path / 'h.sqlite'}", teacher="Ms A") as store:
        memory = MemoryStore(store)
        for day in ("2026-11-18", "2026-11-19"):
            store.save_analysis(analysis, section="P1", date=day)
            memory.record_result("Ms A", "P1", day, analysis.results[0])
        assert {c.date for c in memory.load("Ms A", QUESTION).classes} == {"2026-11-18", "2026-11-19"}
        report = store.forget("P1", date="2026-11-18", cache=False)
        assert {c.date for c in memory.load("Ms A", QUESTION).classes} == {"2026-11-19"}
        assert memory.count("Ms A") == sum(1 for g in analysis.results[0].labels if g != UNGROUPED)
        assert report.counts.get("memory examples")


def test_a_carried_over_group_stays_marked_when_the_class_is_reopened(tmp_path):
    from feedback_assistant.storage import Store

    memory = _memory(TOPS[:4], ["Added tops and bottoms"] * 4, groups=[TaughtGroup("Added tops and bottoms")])
    analysis = pipeline.analyze(
        _ticket(tmp_path, TOPS[4:] + COMMON), embedder=FakeEmbedder(), memory=DictMemory([memory])
    )
    assert any(g.carried_over for g in analysis.results[0].groups)
    with Store(f"sqlite:///{tmp_path / 'h.sqlite'}", teacher="Ms A") as store:
        ids = store.save_analysis(analysis, section="P2", date="2026-11-20")
        reopened = store.load_analysis(next(iter(ids.values())))
    carried = [g.label for g in reopened.results[0].groups if g.carried_over]
    assert carried == ["Added tops and bottoms"]


class _SwitchClusterer:
    """Groups by answer; with ``reassign`` on, the responses saying "tops" join answer 2/5's group."""

    def __init__(self, reassign: bool = False):
        self.reassign = reassign

    def cluster(self, texts, embeddings, answers=None, key=None):
        from feedback_assistant.records import Clustering

        keys = ["2/5" if self.reassign and "tops" in t else a for t, a in zip(texts, answers, strict=True)]
        labels = np.unique(keys, return_inverse=True)[1]
        return Clustering(labels, np.ones(len(texts)))


@pytest.mark.parametrize(("tops_answer", "expected"), [("5/6", True), ("2/5", False)])
def test_the_correction_step_is_used_only_where_it_wins_on_the_teachers_own_examples(tops_answer, expected):
    from feedback_assistant.memory import choose_correction

    # the teacher grouped every "tops" response together, whatever answer two of them chose
    texts = TOPS[:4] + COMMON[:4]
    answers = ["2/5", "2/5", tops_answer, tops_answer] + ["5/6"] * 4
    memory = _memory(texts, ["tops"] * 4 + ["common"] * 4, answers=answers)
    chosen = choose_correction(memory, _SwitchClusterer(reassign=not expected))
    assert chosen.reassign is expected
    no_text = QuestionMemory(memory.question, ("",) * 8, memory.answers, memory.labels, memory.vectors)
    unchanged = _SwitchClusterer()
    assert choose_correction(no_text, unchanged) is unchanged  # shared memory has no text to check on
