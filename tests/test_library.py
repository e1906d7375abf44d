"""The misconception library: approved labels and stems kept and offered to the next class."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from feedback_assistant.library import (
    JsonLibraryStore,
    LibraryEntry,
    LibraryError,
    LibraryStore,
    MisconceptionLibrary,
    default_library_path,
    topic_of,
)
from feedback_assistant.pipeline import assemble
from feedback_assistant.records import APPROVED, DRAFT, MISCONCEPTION, ON_TARGET, Group, Response
from feedback_assistant.review import approve_stem, edit_stem, rename_group

QUESTION = "What is 1/3 + 1/6?"
YESTERDAY = [
    (0, "1/2 because 1/3 is 2/6 and 2/6 + 1/6 = 3/6 = 1/2"),
    (0, "I changed 1/3 to 2/6 and added 1/6 to get 3/6 = 1/2"),
    (0, "1/3 = 2/6 so 2/6 + 1/6 = 3/6 which is 1/2"),
    (1, "2/9 because I added the tops and added the bottoms"),
    (1, "2/9 because you add the tops and add the bottoms"),
    (1, "2/9 I added the tops and the bottoms"),
]
TODAY = [  # another section: other students, the same misconception in slightly different words
    (0, "2/9 because I added the tops and added the bottoms together"),
    (0, "2/9 you add the tops and you add the bottoms"),
    (0, "2/9 since I added the tops and the bottoms"),
    (1, "1/2 because 1/3 is 2/6 and 2/6 + 1/6 = 3/6 so 1/2"),
    (1, "changed 1/3 to 2/6 then added 1/6 to get 3/6 = 1/2"),
    (1, "1/3 = 2/6 and 2/6 + 1/6 = 3/6 which is 1/2"),
]


def entry(label="added tops and bottoms", topic="t", centroid=(1.0, 0.0), answer="2/9", text="Check the bottoms."):
    return LibraryEntry(
        topic=topic,
        question="q",
        label=label,
        text=text,
        status=MISCONCEPTION,
        answer=answer,
        centroid=centroid,
        approved_at="2026-11-21T15:00:00+00:00",
    )


def analyse(rows, embedder, library=None, prefix="S"):
    responses = [
        Response(row=i, source_row=i, student=f"{prefix}{i}", question=QUESTION, text=t)
        for i, (_, t) in enumerate(rows)
    ]
    labels = [g for g, _ in rows]
    vectors = embedder.encode([r.text for r in responses])
    return assemble(QUESTION, responses, labels, [1.0] * len(rows), vectors, library=library)


def test_json_store_round_trip_replaces_same_label_and_filters_topic(tmp_path):
    store = JsonLibraryStore(tmp_path / "lib.json")
    assert isinstance(store, LibraryStore)
    assert store.load("t") == []
    store.save([entry(), entry(label="other"), entry(topic="u")])
    store.save([entry(text="Newer words.")])
    loaded = store.load("t")
    assert sorted(e.label for e in loaded) == ["added tops and bottoms", "other"]
    assert next(e for e in loaded if e.label == "added tops and bottoms").text == "Newer words."
    assert loaded[0].centroid == (1.0, 0.0)
    assert [e.topic for e in store.load("u")] == ["u"]


def test_default_store_lives_in_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FEEDBACK_ASSISTANT_HOME", str(tmp_path / "home"))
    assert default_library_path() == tmp_path / "home" / "library.json"
    JsonLibraryStore().save([entry()])
    assert json.loads((tmp_path / "home" / "library.json").read_text())["entries"][0]["label"] == entry().label


def test_a_damaged_file_says_what_to_do(tmp_path):
    path = tmp_path / "lib.json"
    path.write_text("{not json")
    with pytest.raises(LibraryError, match="damaged.*Rename or delete it"):
        JsonLibraryStore(path).load("t")


def test_suggest_matches_by_centre_one_entry_per_group(tmp_path):
    store = JsonLibraryStore(tmp_path / "lib.json")
    store.save([entry(topic="q", centroid=(1.0, 0.0))])
    lib = MisconceptionLibrary(store)
    groups = [
        Group(question="q", group_id=0, label="a", rows=(0, 1)),
        Group(question="q", group_id=1, label="b", rows=(2, 3)),
    ]
    vectors = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0], [0.1, 0.99]])
    got = lib.suggest("q", groups, [0, 0, 1, 1], vectors)
    assert set(got) == {0}
    far = lib.suggest("q", groups, [1, 1, 0, 0], vectors)
    assert set(far) == {1}
    assert lib.suggest("another question", groups, [0, 0, 1, 1], vectors) == {}


def test_a_matching_answer_lowers_the_bar(tmp_path):
    store = JsonLibraryStore(tmp_path / "lib.json")
    angle = np.deg2rad(28)  # cosine 0.88: below 0.90, above 0.90 - 0.05
    store.save([entry(topic="q", centroid=(1.0, 0.0), answer="2/9")])
    lib = MisconceptionLibrary(store)
    vectors = np.array([[np.cos(angle), np.sin(angle)]] * 2)
    same = [Group(question="q", group_id=0, label="x", rows=(0, 1), answer="2/9")]
    other = [Group(question="q", group_id=0, label="x", rows=(0, 1), answer="5")]
    assert set(lib.suggest("q", same, [0, 0], vectors)) == {0}
    assert lib.suggest("q", other, [0, 0], vectors) == {}
    no_answer = [Group(question="q", group_id=0, label="x", rows=(0, 1))]
    assert lib.suggest("q", no_answer, [0, 0], vectors) == {}


def test_different_answers_never_match(tmp_path):
    store = JsonLibraryStore(tmp_path / "lib.json")
    store.save([entry(topic="q", centroid=(1.0, 0.0), answer="2/9")])
    lib = MisconceptionLibrary(store)
    vectors = np.array([[1.0, 0.0], [1.0, 0.0]])
    other = [Group(question="q", group_id=0, label="x", rows=(0, 1), answer="2/6")]
    assert lib.suggest("q", other, [0, 0], vectors) == {}


def test_remember_keeps_only_approved_stems(fake_embedder):
    lib = MisconceptionLibrary()
    result = analyse(YESTERDAY, fake_embedder)
    assert lib.remember(result) == []
    result = approve_stem(result, 1)
    when = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)
    (saved,) = lib.remember(result, now=when)
    assert saved.topic == topic_of(QUESTION) and saved.approved_at == "2026-11-21T15:00:00+00:00"
    assert len(saved.centroid) == fake_embedder.dim
    assert np.isclose(np.linalg.norm(saved.centroid), 1.0)
    assert lib.store.load(topic_of(QUESTION)) == [saved]


def test_an_approved_stem_carries_to_the_next_class(fake_embedder):
    lib = MisconceptionLibrary()
    yesterday = analyse(YESTERDAY, fake_embedder)
    yesterday = rename_group(yesterday, 1, "added tops and bottoms")
    yesterday = edit_stem(yesterday, 1, "You added the bottoms too. Would 1/2 + 1/2 be 2/4?", approve=True)
    lib.remember(yesterday)

    today = analyse(TODAY, fake_embedder, library=lib, prefix="T")
    carried = next(s for s in today.stems if s.group_id == 0)  # today's "added tops" group has id 0
    assert carried.text == "You added the bottoms too. Would 1/2 + 1/2 be 2/4?"
    assert carried.from_library and carried.state == DRAFT
    assert next(g for g in today.groups if g.group_id == 0).label == "added tops and bottoms"
    other = next(s for s in today.stems if s.group_id == 1)
    assert not other.from_library
    assert next(g for g in today.groups if g.group_id == 1).status == ON_TARGET


def test_library_status_does_not_override_an_answer_key(fake_embedder, tmp_path):
    store = JsonLibraryStore(tmp_path / "lib.json")
    lib = MisconceptionLibrary(store)
    yesterday = analyse(YESTERDAY, fake_embedder)
    lib.remember(approve_stem(approve_stem(yesterday, 0), 1))
    responses = [
        Response(row=i, source_row=i, student=f"T{i}", question=QUESTION, text=t) for i, (_, t) in enumerate(TODAY)
    ]
    vectors = fake_embedder.encode([r.text for r in responses])
    today = assemble(QUESTION, responses, [g for g, _ in TODAY], [1.0] * 6, vectors, key="1/2", library=lib)
    statuses = {g.group_id: (g.status, g.status_confirmed) for g in today.groups}
    assert statuses == {0: (MISCONCEPTION, True), 1: (ON_TARGET, True)}
    assert all(s.from_library for s in today.stems)
    assert all(s.state != APPROVED for s in today.stems)
