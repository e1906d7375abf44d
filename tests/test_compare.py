"""PLC comparison across sections, teachers and dates; charts; the compare and forget commands."""

from __future__ import annotations

import dataclasses
import io
import re

import numpy as np
import pandas as pd
import pytest
from storage_helpers import DIM, QUESTION, db_url_fixture, direction, make_analysis, store_fixture  # noqa: F401 - fixtures

from feedback_assistant import charts
from feedback_assistant.compare import NOT_GROUPED, align, compare
from feedback_assistant.records import APPROVED, NotFoundError
from feedback_assistant.storage import GroupRecord, Store

TOPS, BIGGER, RIGHT = "added tops and bottoms", "bigger denominator means bigger", "common denominator"
PSEUDONYM = re.compile(r"Student [A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}")


def _relabel(analysis, old: str, new: str):
    """The same analysis with one group label changed (another teacher's wording for the same idea)."""
    r = analysis.results[0]
    groups = tuple(dataclasses.replace(g, label=new) if g.label == old else g for g in r.groups)
    return dataclasses.replace(analysis, results=(dataclasses.replace(r, groups=groups),))


@pytest.fixture
def two_sections(store):
    """Period 1 (Ms. Rivera, Monday) and Period 3 (Mr. Lee, Wednesday, his own label for the same idea)."""
    p1 = make_analysis("Period 1", {"tops": 6, "bigger": 2, "right": 4}, prefix="r", seed=1)
    p3 = _relabel(
        make_analysis("Period 3", {"tops": 3, "right": 6}, prefix="l", seed=2, blanks=0),
        TOPS,
        "adds numerators and adds denominators",
    )
    store.save_analysis(p1, section=None, teacher="Ms. Rivera", date="2026-11-16", topic="5.NF.1")
    store.save_analysis(p3, section=None, teacher="Mr. Lee", date="2026-11-18")
    return store


def test_two_sections_on_different_days_share_a_misconception(two_sections):
    c = compare(two_sections, question=QUESTION)
    assert c.sections == ("Period 1", "Period 3")
    assert list(c.prevalence.columns) == ["Period 1", "Period 3"]
    # Different labels, same meaning (centroids align): one row, seen in both sections.
    assert c.shared() == [TOPS, RIGHT]
    tops = next(r for r in c.rows if r.name == TOPS)
    assert set(tops.labels) == {TOPS, "adds numerators and adds denominators"} and tops.n_students == 9
    assert c.prevalence.loc[TOPS, "Period 1"] == pytest.approx(6 / 13)  # 13 responses, one blank
    assert c.prevalence.loc[TOPS, "Period 3"] == pytest.approx(3 / 9)
    assert c.prevalence.loc[BIGGER, "Period 3"] == 0
    assert c.prevalence.loc[NOT_GROUPED, "Period 1"] == pytest.approx(1 / 13)
    np.testing.assert_allclose(c.prevalence.sum(axis=0), 1.0)  # every response accounted for
    assert list(c.counts.sum(axis=0)) == [13, 9]
    assert [r.status for r in c.rows][:2] == ["misconception", "misconception"]

    spec = charts.heatmap(c).to_dict()
    cells = {(d["section"], d["misconception"]) for d in next(iter(spec["datasets"].values()))}
    assert {("Period 1", TOPS), ("Period 3", TOPS), ("Period 1", RIGHT), ("Period 3", RIGHT)} <= cells


def test_trend_follows_a_section_over_days(store):
    for day, n_tops, n_right in (("2026-11-16", 6, 2), ("2026-11-17", 3, 5), ("2026-11-18", 1, 7)):
        store.save_analysis(
            make_analysis("P1", {"tops": n_tops, "right": n_right}, blanks=0, seed=n_tops),
            section=None,
            teacher="A",
            date=day,
        )
    c = compare(store, question=QUESTION)
    tops = c.trend[c.trend["misconception"] == TOPS]
    assert list(tops["date"]) == ["2026-11-16", "2026-11-17", "2026-11-18"]
    assert list(tops["share"]) == pytest.approx([6 / 8, 3 / 8, 1 / 8])
    assert c.trend.groupby(["date", "section"])["share"].sum().tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert charts.trend_chart(c).to_dict()["mark"]["type"] == "line"


def test_examples_hide_names_from_other_teachers(two_sections):
    theirs = compare(two_sections.as_teacher("Ms. Rivera"), question=QUESTION)
    assert theirs.viewer == "Ms. Rivera"
    examples = theirs.examples[TOPS]
    assert {e.section for e in examples} == {"Period 1", "Period 3"}  # spread over classes
    for e in examples:
        if e.section == "Period 1":
            assert e.student.startswith("rTops Student")  # her own class: real names and words
            assert e.text and str(e) == f"{e.student} ({e.section}, {e.date}): {e.text}"
        else:  # Mr. Lee's class: the group only, never his students' words
            assert (e.student, e.text, e.students) == ("", "", 3)
            assert str(e) == f"{e.section}, {e.date}: 3 student(s); feedback: (none approved)"
    anonymous = compare(two_sections.as_teacher("Someone else"), question=QUESTION)
    assert all(not e.student and not e.text for exs in anonymous.examples.values() for e in exs)
    records = two_sections.as_teacher("Someone else").group_records(question=QUESTION)
    assert all(not r.representatives for r in records)
    assert all(text == "" and PSEUDONYM.fullmatch(who) for r in records for who, text in r.members.values())
    lee = two_sections.pseudonym("Mr. Lee", "Period 3", "lTops Student 0")
    assert lee == two_sections.pseudonym("Mr. Lee", "Period 3", "lTops Student 0")  # stable
    assert lee != two_sections.pseudonym("Mr. Lee", "Period 1", "lTops Student 0")
    assert lee in {who for r in records for who, _ in r.members.values()}


def test_another_teachers_examples_carry_the_approved_stem_and_no_response(two_sections):
    lee = two_sections.as_teacher("Mr. Lee")
    [ticket] = [t.id for t in lee.list_tickets(section="Period 3")]
    result = lee.load_analysis(ticket).results[0]
    stem = "Draw both fractions: are the pieces the same size? You chose {answer}."
    approved = dataclasses.replace(result.stems[0], text=stem, state=APPROVED)
    lee.save_result(ticket, dataclasses.replace(result, stems=(approved, *result.stems[1:])), version=0)
    seen = compare(two_sections.as_teacher("Ms. Rivera"), question=QUESTION)
    his = [e for exs in seen.examples.values() for e in exs if e.section == "Period 3"]
    assert his and all(e.text == "" and e.student == "" for e in his)
    assert stem in {e.stem for e in his}
    mine = [e for exs in seen.examples.values() for e in exs if e.section == "Period 1"]
    assert mine and all(e.text for e in mine)  # her own class keeps its examples
    quoted = max((r.text for r in result.responses), key=len)  # a teacher pasting a student's words in a stem
    assert len(quoted.split()) >= 4
    result = lee.load_analysis(ticket).results[0]
    approved = dataclasses.replace(result.stems[0], text=f"Compare with “{quoted}”.", state=APPROVED)
    lee.save_result(ticket, dataclasses.replace(result, stems=(approved, *result.stems[1:])), version=1)
    seen = compare(two_sections.as_teacher("Ms. Rivera"), question=QUESTION)
    his = [e for exs in seen.examples.values() for e in exs if e.section == "Period 3"]
    assert his and not any(quoted in e.stem for e in his)


def test_a_roster_cannot_reverse_pseudonyms_without_the_stores_secret(two_sections, tmp_path):
    """Hashing every name of the roster the way the tool does, but without this store's secret, finds no one."""
    shown = {
        who for r in two_sections.as_teacher("X").group_records(question=QUESTION) for who, _ in r.members.values()
    }
    roster = [f"lTops Student {k}" for k in range(3)] + [f"rTops Student {k}" for k in range(6)]
    other_store = Store(str(tmp_path / "other.sqlite"))  # another secret
    guesses = {
        other_store.pseudonym(o, s, n)
        for o in ("Ms. Rivera", "Mr. Lee")
        for s in ("Period 1", "Period 3")
        for n in roster
    }
    assert shown and not shown & guesses


def test_a_topic_compares_several_questions(store):
    q2 = "Add 1/3 + 1/6."
    store.save_analysis(
        make_analysis("P1", {"tops": 2, "right": 2}),
        section=None,
        teacher="A",
        date="2026-11-16",
        topic="5.NF.1",
    )
    store.save_analysis(
        make_analysis("P2", {"tops": 4}, question=q2, blanks=0),
        section=None,
        teacher="B",
        date="2026-11-17",
        topic="5.nf.1",
    )
    store.save_analysis(
        make_analysis("P3", {"bigger": 4}, question="Unrelated?"),
        section=None,
        teacher="C",
        date="2026-11-17",
        topic="other",
    )
    c = compare(store, topic="5.nf.1")
    assert c.topic.lower() == "5.nf.1" and c.sections == ("P1", "P2")
    assert c.prevalence.loc[TOPS].tolist() == pytest.approx([2 / 5, 1.0])
    assert BIGGER not in c.prevalence.index


def test_alignment_keeps_different_ideas_apart():
    def g(tid, label, status, meaning, n=3, group_id=0, centroid=None):
        return GroupRecord(
            ticket_id=tid,
            teacher="T",
            section="P",
            date="2026-11-16",
            question="q",
            question_id=1,
            group_id=group_id,
            label=label,
            status=status,
            rows=tuple(range(n)),
            representatives=(),
            centroid=direction(meaning) if centroid is None else centroid,
            n_responses=n,
        )

    near_right = direction("tops") * 0.95 + direction("right") * 0.31
    rows = align(
        [
            g(1, "a", "misconception", "tops"),
            g(2, "b", "misconception", "bigger"),
            g(3, "c", "on target", "tops", centroid=near_right / np.linalg.norm(near_right)),
            g(4, "A!", "misconception", "bigger"),
        ]
    )
    assert sorted(sorted(x.label for x in r) for r in rows) == [["A!", "a"], ["b"], ["c"]]
    # Two groups of the same ticket never merge by centroid alone.
    same_ticket = align([g(1, "x", "misconception", "tops"), g(1, "y", "misconception", "tops", group_id=1)])
    assert len(same_ticket) == 2


def test_unknown_question_or_topic_lists_what_is_saved(two_sections):
    with pytest.raises(NotFoundError, match=r"no saved exit ticket asks 'Q9'. Saved questions are: 'What is"):
        compare(two_sections, question="Q9")
    with pytest.raises(
        NotFoundError, match="no saved question is tagged with the topic 'x'. Saved topics are: '5.NF.1'"
    ):
        compare(two_sections, topic="x")
    assert compare(two_sections, question="1/2 + 1/4").question == QUESTION  # a piece of the text is enough
    assert compare(two_sections).question == QUESTION  # only one question saved


def test_charts_for_one_question():
    result = make_analysis("P1", {"tops": 3, "right": 2}).results[0]
    sizes = charts.group_sizes_chart(result).to_dict()
    bars = next(iter(sizes["datasets"].values()))
    assert [(b["group"], b["size"]) for b in bars] == [(TOPS, 3), (RIGHT, 2), (NOT_GROUPED, 1)]
    coords = np.random.default_rng(0).normal(size=(len(result.responses), 2))
    points = next(iter(charts.response_map(result, coords).to_dict()["datasets"].values()))
    assert [p["text"] for p in points] == [r.text for r in result.responses]
    with pytest.raises(ValueError, match=r"coords must have shape \(6, 2\)"):
        charts.response_map(result, coords[:, :1])


def _run(argv, capsys):
    from feedback_assistant.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_compare_command_prints_and_writes(two_sections, tmp_path, capsys, monkeypatch):
    formula = make_analysis("Period 5", {"tops": 3}, prefix="f", blanks=0)
    r = formula.results[0]
    risky = tuple(dataclasses.replace(x, text=f"=1+2 is how I added ({x.row})") for x in r.responses)
    groups = tuple(dataclasses.replace(g, representatives=(risky[0].text,)) for g in r.groups)
    formula = dataclasses.replace(formula, results=(dataclasses.replace(r, responses=risky, groups=groups),))
    two_sections.save_analysis(formula, teacher="Ms. Park", date="2026-11-19")
    out = tmp_path / "plc"
    code, stdout, err = _run(
        ["compare", "--question", "1/2 + 1/4", "--db", two_sections.url, "--out", str(out)], capsys
    )
    assert code == 0, err
    examples = pd.read_csv(out / "examples.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert set(examples["student"]) == {""} and set(examples["response"]) == {""}  # the login owns none of these
    assert examples["students"].astype(int).gt(0).all() and "approved_stem" in examples
    monkeypatch.setenv("FEEDBACK_ASSISTANT_TEACHER", "Ms. Park")  # her own class keeps its examples
    code, stdout, err = _run(
        ["compare", "--question", "1/2 + 1/4", "--db", two_sections.url, "--out", str(out)], capsys
    )
    assert code == 0, err
    assert "Period 1" in stdout and "Period 3" in stdout and TOPS in stdout
    assert f"Shared by every section: {TOPS}" in stdout
    prevalence = pd.read_csv(out / "prevalence.csv", index_col=0, encoding="utf-8-sig")
    assert list(prevalence.columns) == ["Period 1", "Period 3", "Period 5"]
    assert len(pd.read_csv(out / "trend.csv", encoding="utf-8-sig")) == 3 * len(prevalence)
    html = (out / "heatmap.html").read_text()
    assert "Period 3" in html and TOPS in html
    examples = pd.read_csv(out / "examples.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    others = examples[examples["section"] != "Period 5"]
    assert len(others) and set(others["student"]) == {""} and set(others["response"]) == {""}
    assert not examples["response"].str.match(r"\s*[=+\-@]").any()  # a formula stays text in a spreadsheet
    assert (examples["response"].str.contains("=1+2", regex=False)).any()

    code, _, err = _run(["compare", "--question", "nope", "--db", two_sections.url], capsys)
    assert code == 2 and err.startswith("error: no saved exit ticket asks 'nope'") and err.count("\n") == 1
    with pytest.raises(SystemExit) as exited:  # no free-text viewer
        _run(["compare", "--viewer", "Mr. Lee", "--db", two_sections.url], capsys)
    assert exited.value.code == 2 and "unrecognized arguments: --viewer" in capsys.readouterr().err


def test_forget_command(two_sections, capsys):
    url = two_sections.url
    lee = ["--db", url, "--teacher", "Mr. Lee"]
    code, _, err = _run(["forget", "--section", "Period 9", *lee, "--yes"], capsys)
    assert code == 2 and "you have no saved class called 'Period 9'; your saved classes are: 'Period 3'" in err
    code, _, err = _run(["forget", "--section", "Period 1", *lee, "--yes"], capsys)  # Ms. Rivera's class
    assert code == 2 and "you have no saved class called 'Period 1'" in err
    code, out, err = _run(["forget", "--section", "Period 3", *lee], capsys)  # no terminal, no --yes
    assert code == 2 and "add --yes to confirm" in err
    assert "Forgetting Mr. Lee's class 'Period 3'" in out and "deletes: 1 exit ticket, 9 responses" in out
    assert two_sections.as_teacher("Mr. Lee").sections() == ["Period 3"]  # asked, nothing deleted
    code, out, _ = _run(["forget", "--section", "Period 3", *lee, "--yes"], capsys)
    assert code == 0 and "Deleted 'Period 3': 1 exit ticket, 9 responses" in out
    assert two_sections.as_teacher("Mr. Lee").sections() == []
    assert two_sections.as_teacher("Ms. Rivera").sections() == ["Period 1"]
    assert compare(two_sections, question=QUESTION).sections == ("Period 1",)


class _Terminal(io.StringIO):
    """stdin as a teacher at a terminal: typed answers, and isatty() true."""

    def isatty(self) -> bool:
        return True


def test_forget_at_a_terminal_asks_first(two_sections, capsys, monkeypatch):
    lee = ["forget", "--section", "Period 3", "--db", two_sections.url, "--teacher", "Mr. Lee"]
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    code, out, _ = _run(lee, capsys)
    assert code == 0 and "Delete it? [y/N]" in out and "Nothing was deleted." in out
    assert two_sections.as_teacher("Mr. Lee").sections() == ["Period 3"]
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    code, out, _ = _run(lee, capsys)
    assert code == 0 and "Deleted 'Period 3'" in out
    assert two_sections.as_teacher("Mr. Lee").sections() == []
    assert two_sections.as_teacher("Ms. Rivera").sections() == ["Period 1"]


def test_untitled_single_question_tickets_are_kept_apart_by_topic(store):
    """One-question files with no question column are saved under question "": topics keep them apart."""
    for section, topic, plan in (
        ("P1", "fractions", {"tops": 3}),
        ("P2", "fractions", {"tops": 2, "right": 2}),
        ("P3", "seasons", {"bigger": 4}),
    ):
        [ticket] = store.save_analysis(
            make_analysis(section, plan, question=""), date="2026-11-16", topic=topic
        ).values()
    result = store.load_analysis(ticket).results[0]
    stem = dataclasses.replace(result.stems[0], text="ok", state=APPROVED)
    store.save_result(ticket, dataclasses.replace(result, stems=(stem, *result.stems[1:])), version=0)
    assert store.list_tickets(section="P3")[0].n_approved == 1
    c = compare(store, topic="fractions")
    assert c.sections == ("P1", "P2") and c.shared() == [TOPS]
    assert compare(store, topic="seasons").sections == ("P3",)
    with pytest.raises(
        NotFoundError,
        match="each had one untitled question, on different topics; compare them "
        "by --topic instead. Saved topics are: 'fractions', 'seasons'",
    ):
        compare(store, question="")


def test_compare_out_is_written_whole_or_not_at_all(two_sections, tmp_path, capsys, monkeypatch):
    import errno

    import feedback_assistant.spreadsheet as spreadsheet

    argv = ["compare", "--question", "1/2 + 1/4", "--db", two_sections.url, "--out"]
    a_file = tmp_path / "plc.csv"
    a_file.write_text("mine")
    code, _, err = _run([*argv, str(a_file)], capsys)
    assert code == 2 and "is a file, not a folder" in err and err.count("\n") == 1
    assert a_file.read_text() == "mine"
    out = tmp_path / "plc"
    assert _run([*argv, str(out)], capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = spreadsheet.write_csv

    def full_disk(frame, path):
        if str(path).endswith("trend.csv"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(frame, path)

    monkeypatch.setattr(spreadsheet, "write_csv", full_disk)
    code, _, err = _run([*argv, str(out)], capsys)
    assert code == 2 and "is full, so the results were not written" in err and err.count("\n") == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
