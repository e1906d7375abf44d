"""``feedback-assistant teach`` then ``analyze``: the groups a teacher corrected carry to the next class."""

from __future__ import annotations

import pandas as pd
import pytest
from test_memory import COMMON, QUESTION, TIMES, TOPS

from feedback_assistant import cli

STEM = "Before adding, make the pieces the same size: what do 1/2 and 1/3 look like in sixths?"


def _write(path, texts, groups=None, question=QUESTION, **extra):
    frame = pd.DataFrame(
        {"Student": [f"{path.stem} student {i}" for i in range(len(texts))], "Question": question, "Response": texts}
    )
    if groups is not None:
        frame["Group"] = groups
    for col, values in extra.items():
        frame[col] = values
    frame.to_csv(path, index=False)
    return path


def _teach(tmp_path, db, *more, embedder, teacher="Ms A"):
    labelled = _write(
        tmp_path / "period1.csv",
        TOPS[:4] + COMMON[:4] + [""],
        groups=["Added tops and bottoms"] * 4 + ["Common denominator"] * 4 + [""],
        Status=["misconception"] * 4 + ["on target"] * 4 + [""],
        Stem=[STEM] * 4 + [""] * 5,
    )
    argv = [
        "teach",
        str(labelled),
        "--response-col",
        "Response",
        "--question-col",
        "Question",
        "--group-col",
        "Group",
        "--status-col",
        "Status",
        "--stem-col",
        "Stem",
        "--section",
        "Period 1",
        "--date",
        "2026-11-19",
        "--teacher",
        teacher,
        "--db",
        db,
        *more,
    ]
    return cli.main(argv, embedder=embedder)


def _analyze(tmp_path, db, out, *more, embedder, teacher="Ms A"):
    # the same question, typed slightly differently in period 2's file
    p2 = _write(tmp_path / "period2.csv", TOPS[4:] + COMMON[4:] + TIMES, question="what is 1/2 + 1/3?  explain")
    argv = [
        "analyze",
        str(p2),
        "--out",
        str(out),
        "--response-col",
        "Response",
        "--question-col",
        "Question",
        "--student-col",
        "Student",
        "--section",
        "Period 2",
        "--teacher",
        teacher,
        "--db",
        db,
        *more,
    ]
    return cli.main(argv, embedder=embedder)


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'history.sqlite'}"


def test_teach_then_analyze_carries_the_corrected_groups_and_stems(tmp_path, db, fake_embedder, capsys):
    assert _teach(tmp_path, db, embedder=fake_embedder) == 0
    assert "Taught 8 responses in 2 groups for 1 question(s)" in capsys.readouterr().out
    assert _analyze(tmp_path, db, tmp_path / "out", embedder=fake_embedder) == 0
    printed = capsys.readouterr().out
    assert "Learned from 8 corrected responses (Period 1, 11/19); 2 group(s) carried over" in printed
    groups = pd.read_csv(tmp_path / "out" / "groups.csv", keep_default_na=False)
    carried = groups[groups["carried_over"]].set_index("label")
    assert set(carried.index) == {"Added tops and bottoms", "Common denominator"}
    assert carried.loc["Added tops and bottoms", "stem"] == STEM
    assert carried.loc["Added tops and bottoms", "size"] == 2
    assert carried.loc["Common denominator", "status"].startswith("on target")
    new = groups[~groups["carried_over"] & (groups["group_id"] >= 0)]
    assert len(new) >= 1  # the multiply-across students were taught nothing: a new group, not absorbed
    responses = pd.read_csv(tmp_path / "out" / "responses.csv", keep_default_na=False)
    times = responses[responses["Response"].isin(TIMES)]
    assert not times["group_label"].isin(carried.index).any()


def test_analyze_no_memory_and_another_teacher_start_from_scratch(tmp_path, db, fake_embedder):
    assert _teach(tmp_path, db, embedder=fake_embedder) == 0
    assert _analyze(tmp_path, db, tmp_path / "off", "--no-memory", embedder=fake_embedder) == 0
    assert not pd.read_csv(tmp_path / "off" / "groups.csv")["carried_over"].any()
    assert _analyze(tmp_path, db, tmp_path / "b", embedder=fake_embedder, teacher="Mr B") == 0
    assert not pd.read_csv(tmp_path / "b" / "groups.csv")["carried_over"].any()


def test_teach_from_an_edited_responses_csv(tmp_path, db, fake_embedder):
    """The round trip the issue names: analyze, fix group_label in a spreadsheet, teach, analyze the next class."""
    p1 = _write(tmp_path / "p1.csv", TOPS[:4] + COMMON[:4])
    args = ["--response-col", "Response", "--question-col", "Question", "--teacher", "Ms A", "--db", db]
    assert (
        cli.main(
            ["analyze", str(p1), "--out", str(tmp_path / "o1"), "--student-col", "Student", *args],
            embedder=fake_embedder,
        )
        == 0
    )
    responses = pd.read_csv(tmp_path / "o1" / "responses.csv", keep_default_na=False)
    responses["group_label"] = ["adds tops and bottoms"] * 4 + ["same-size pieces"] * 4
    responses.to_csv(tmp_path / "o1" / "responses.csv", index=False)
    assert (
        cli.main(
            ["teach", str(tmp_path / "o1" / "responses.csv"), "--group-col", "group_label", *args],
            embedder=fake_embedder,
        )
        == 0
    )
    assert _analyze(tmp_path, db, tmp_path / "o2", embedder=fake_embedder) == 0
    groups = pd.read_csv(tmp_path / "o2" / "groups.csv", keep_default_na=False)
    assert {"adds tops and bottoms", "same-size pieces"} <= set(groups.loc[groups["carried_over"], "label"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--group-col", "Nope"], "has no column called 'Nope'. Pass --group-col"),
        (["--group-col", "Empty"], "the group column 'Empty' is empty for every response"),
        (["--status-col", "Missing"], "has no column called 'Missing'. Pass --status-col"),
    ],
)
def test_teach_bad_input_exits_2_with_one_line(tmp_path, db, fake_embedder, capsys, change, message):
    path = _write(tmp_path / "labelled.csv", TOPS[:3], groups=["a", "b", "a"], Empty=["", " ", ""])
    argv = [
        "teach",
        str(path),
        "--response-col",
        "Response",
        "--question-col",
        "Question",
        "--group-col",
        "Group",
        "--db",
        db,
        *change,
    ]
    assert cli.main(argv, embedder=fake_embedder) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert TOPS[0] not in err  # no student words in an error


def test_teach_missing_file_and_missing_option_exit_2(tmp_path, db, fake_embedder, capsys):
    assert (
        cli.main(
            ["teach", str(tmp_path / "nope.csv"), "--response-col", "R", "--question-col", "Q", "--group-col", "G"],
            embedder=fake_embedder,
        )
        == 2
    )
    assert "was not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main(["teach", str(tmp_path / "nope.csv"), "--response-col", "R"], embedder=fake_embedder)
    assert exc.value.code == 2


def test_a_shared_question_reaches_a_colleague_without_student_text(tmp_path, db, fake_embedder, capsys):
    from feedback_assistant.storage import Store
    from feedback_assistant.storage_memory import MemoryStore

    assert _teach(tmp_path, db, embedder=fake_embedder) == 0
    assert _analyze(tmp_path, db, tmp_path / "b0", "--plc-memory", embedder=fake_embedder, teacher="Mr B") == 0
    assert not pd.read_csv(tmp_path / "b0" / "groups.csv")["carried_over"].any()  # nothing shared yet
    assert cli.main(["share-memory", "--question", QUESTION, "--teacher", "Ms A", "--db", db]) == 0
    with Store(db) as store:
        shared = MemoryStore(store).load_shared(QUESTION, exclude="Mr B")
    assert shared.size == 8 and set(shared.texts) == {""}  # names, stems and vectors; never a response's words
    assert shared.group("Added tops and bottoms").stem == STEM
    assert _analyze(tmp_path, db, tmp_path / "b1", embedder=fake_embedder, teacher="Mr B") == 0
    assert not pd.read_csv(tmp_path / "b1" / "groups.csv")["carried_over"].any()  # only when asked for
    assert _analyze(tmp_path, db, tmp_path / "b2", "--plc-memory", embedder=fake_embedder, teacher="Mr B") == 0
    groups = pd.read_csv(tmp_path / "b2" / "groups.csv", keep_default_na=False)
    assert "Added tops and bottoms" in set(groups.loc[groups["carried_over"], "label"])
    assert cli.main(["share-memory", "--question", QUESTION, "--stop", "--teacher", "Ms A", "--db", db]) == 0
    with Store(db) as store:
        assert MemoryStore(store).load_shared(QUESTION, exclude="Mr B") is None
    capsys.readouterr()
    assert cli.main(["share-memory", "--question", "never taught", "--teacher", "Ms A", "--db", db]) == 2
    assert "taught no groups" in capsys.readouterr().err


def test_analyze_no_save_uses_memory_but_never_creates_a_history(tmp_path, db, fake_embedder):
    fresh = tmp_path / "fresh.sqlite"
    assert _analyze(tmp_path, f"sqlite:///{fresh}", tmp_path / "o", "--no-save", embedder=fake_embedder) == 0
    assert not fresh.exists()
    assert _teach(tmp_path, db, embedder=fake_embedder) == 0
    assert _analyze(tmp_path, db, tmp_path / "o2", "--no-save", embedder=fake_embedder) == 0
    assert pd.read_csv(tmp_path / "o2" / "groups.csv")["carried_over"].any()


def test_teaching_the_feedback_column_never_sends_a_period_1_students_words_to_period_2(
    tmp_path, db, fake_embedder, capsys
):
    """README's round trip with ``--stem-col feedback``: the feedback column holds each student's filled feedback
    (which quotes them); what is kept is the template, or nothing, never a Period 1 student's words."""
    from feedback_assistant.text import shared_span

    p1 = _write(tmp_path / "p1.csv", TOPS[:4] + COMMON[:4])
    args = ["--response-col", "Response", "--question-col", "Question", "--teacher", "Ms A", "--db", db]
    out1 = tmp_path / "o1"
    assert (
        cli.main(["analyze", str(p1), "--out", str(out1), "--student-col", "Student", *args], embedder=fake_embedder)
        == 0
    )
    responses = pd.read_csv(out1 / "responses.csv", keep_default_na=False)
    assert responses["feedback"].str.contains("“").any()  # the filled feedback quotes its student
    teach = ["teach", str(out1 / "responses.csv"), "--group-col", "group_label", "--stem-col", "feedback", *args]
    assert cli.main(teach, embedder=fake_embedder) == 0
    capsys.readouterr()
    assert _analyze(tmp_path, db, tmp_path / "o2", embedder=fake_embedder) == 0
    p2 = pd.read_csv(tmp_path / "o2" / "responses.csv", keep_default_na=False)
    assert p2["feedback"].str.strip().ne("").any()
    leaks = [
        (fb, words)
        for fb, own in zip(p2["feedback"], p2["Response"], strict=True)
        for words in TOPS[:4] + COMMON[:4]
        if (span := shared_span(fb, words)) and not shared_span(span, own)
    ]
    assert leaks == []
    groups = pd.read_csv(tmp_path / "o2" / "groups.csv", keep_default_na=False)
    assert groups["carried_over"].any()  # the names still carried over


def test_a_stem_quoting_a_student_is_templated_or_dropped_with_a_notice(tmp_path, db, fake_embedder, capsys):
    """A stem that is one member's filled feedback goes back to its template; a stem quoting a classmate in
    other words is dropped (name and status kept) and the teacher is told which group, in one line."""
    from feedback_assistant.storage import Store
    from feedback_assistant.storage_memory import MemoryStore

    quoted = f"Compare with “{COMMON[1]}” — is that right?"  # a classmate in another group
    texts = TOPS[:4] + COMMON[:4]
    path = _write(
        tmp_path / "p1.csv",
        texts,
        groups=["tops"] * 4 + ["common"] * 4,
        Status=["misconception"] * 4 + ["on target"] * 4,
        Stem=[quoted] * 4 + [f"You wrote “{COMMON[0]}” — good."] * 4,
    )
    argv = ["teach", str(path), "--response-col", "Response", "--question-col", "Question", "--group-col", "Group"]
    argv += ["--status-col", "Status", "--stem-col", "Stem", "--teacher", "Ms A", "--db", db]
    assert cli.main(argv, embedder=fake_embedder) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'tops'" in err and "'common'" not in err
    with Store(db, teacher="Ms A") as store:
        memory = MemoryStore(store).load("Ms A", QUESTION)
    assert memory is not None
    stems = {g.label: (g.status, g.stem) for g in memory.groups}
    assert stems["tops"] == ("misconception", "")
    assert stems["common"] == ("on target", "You wrote “{own_words}” — good.")


def test_a_stem_quoting_an_ungrouped_classmate_is_not_kept(tmp_path):
    """The check covers every response of the class, not only the grouped ones (``record(texts=...)``)."""
    from test_memory import _examples

    from feedback_assistant.memory import TaughtGroup
    from feedback_assistant.storage import Store
    from feedback_assistant.storage_memory import MemoryStore

    with Store(f"sqlite:///{tmp_path / 'h.sqlite'}") as store:
        memory = MemoryStore(store)
        stem = f"Someone wrote “{TIMES[1]}” — is that the same?"
        kept = memory.record(
            "Ms A",
            QUESTION,
            "P1",
            "d1",
            _examples(TOPS[:2], "tops"),
            [TaughtGroup("tops", "misconception", stem)],
            texts=TOPS[:2] + TIMES[1:2],
        )
        assert kept.dropped == ("tops",) and "'tops'" in (kept.notice or "")
        loaded = memory.load("Ms A", QUESTION)
        assert loaded is not None and [g.stem for g in loaded.groups] == [""]


def test_a_quoting_stem_kept_by_an_older_version_is_not_used(tmp_path):
    """Memory saved before stems were checked: the next class gets the template or no stem, never the words."""
    import sqlalchemy as sa
    from test_memory import _examples

    from feedback_assistant import storage_schema as t
    from feedback_assistant.storage import Store
    from feedback_assistant.storage_memory import MemoryStore

    with Store(f"sqlite:///{tmp_path / 'h.sqlite'}") as store:
        memory = MemoryStore(store)
        memory.record("Ms A", QUESTION, "P1", "d1", _examples(TOPS[:2], "tops") + _examples(COMMON[:2], "common"))
        with store.engine.begin() as conn:  # what an older version stored from `teach --stem-col feedback`
            conn.execute(sa.update(t.memory_groups).values(stem=f"You wrote “{TOPS[0]}” — check it."))
        stems = {g.label: g.stem for g in memory.load("Ms A", QUESTION).groups}
    assert stems == {"tops": "You wrote “{own_words}” — check it.", "common": ""}
