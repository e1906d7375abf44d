"""Approval means approval: feedback.csv holds approved text only; `approve` turns a reviewed drafts file into it."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from conftest import SAMPLES

from feedback_assistant import cli
from feedback_assistant.approval import SAVED_FILE, apply_approvals
from feedback_assistant.records import APPROVED

SAMPLE = SAMPLES / "grade5_fractions.csv"


def read(path) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(path.read_text(encoding="utf-8-sig")), dtype=str, keep_default_na=False)


@pytest.fixture
def analysed(tmp_path, fake_embedder):
    out = tmp_path / "out"
    db = f"sqlite:///{tmp_path / 'history.db'}"
    args = ["analyze", str(SAMPLE), "--out", str(out), "--db", db, "--teacher", "Ms T"]
    assert cli.main(args, embedder=fake_embedder) == 0
    return out, db


def test_analyze_writes_drafts_and_an_approved_only_feedback_file(analysed):
    out, _ = analysed
    feedback, drafts = read(out / "feedback.csv"), read(out / "feedback_drafts.csv")
    assert len(feedback) == len(drafts) == 90  # rows in = rows out
    assert (feedback.feedback == "").all()  # nothing approved yet: nothing for students
    assert set(feedback.state) <= {"draft", "check"} and set(drafts.state) <= {"draft", "check"}
    assert (drafts.feedback != "").all() and {"row", "student", "question", "check", "state"} <= set(drafts.columns)
    assert json.loads((out / SAVED_FILE).read_text())["teacher"] == "Ms T"


def test_approve_writes_approved_rows_and_saves_them(analysed, capsys):
    out, db = analysed
    drafts = read(out / "feedback_drafts.csv")
    q1 = drafts.question == drafts.question.iloc[0]
    drafts.loc[q1 & (drafts.state == "draft"), "state"] = "approved"
    edited = drafts.index[q1][0]
    drafts.loc[edited, ["state", "feedback"]] = ["approved", "See me at lunch, we'll draw it together."]
    drafts.to_csv(out / "feedback_drafts.csv", index=False)
    capsys.readouterr()
    assert cli.main(["approve", str(out), "--teacher", "Ms T"]) == 0
    said = capsys.readouterr().out
    assert "Approved feedback for" in said and "Saved the approvals of 1 question(s)" in said
    feedback = read(out / "feedback.csv")
    approved = feedback[feedback.state == "approved"]
    assert len(approved) == int((drafts.state == "approved").sum()) and (approved.feedback != "").all()
    assert (feedback[feedback.state != "approved"].feedback == "").all()
    assert feedback.loc[edited, "feedback"] == "See me at lunch, we'll draw it together."

    from feedback_assistant.storage import Store

    info = json.loads((out / SAVED_FILE).read_text())
    with Store(db, teacher="Ms T") as store:
        saved = store.load_analysis(next(iter(info["tickets"].values())))
    first = saved.results[0]
    assert any(s.state == APPROVED for s in first.stems)
    assert "See me at lunch, we'll draw it together." in dict(first.overrides).values()
    assert all(s.state != APPROVED for r in saved.results[1:] for s in r.stems)


def test_approve_refuses_a_bad_drafts_file_in_one_line(analysed, tmp_path, capsys):
    out, _ = analysed
    drafts = read(out / "feedback_drafts.csv")
    drafts.loc[3, "state"] = "ok"
    drafts.to_csv(out / "feedback_drafts.csv", index=False)
    assert cli.main(["approve", str(out), "--no-save"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "approved, draft or check" in err and "[5]" in err
    assert cli.main(["approve", str(tmp_path / "nowhere")]) == 2
    assert "was not found" in capsys.readouterr().err


def test_apply_approvals_approves_a_whole_group_or_personalises(fake_embedder):
    from feedback_assistant.pipeline import assemble
    from feedback_assistant.records import Response
    from feedback_assistant.review import feedback_rows

    texts = ["1/2 since 2/6+1/6=3/6", "3/6 is 1/2", "1/2 because 3/6 = 1/2", "2/9 added tops", "2/9 tops and bottoms"]
    responses = [Response(row=i, source_row=i, student=f"S{i}", question="Q", text=t) for i, t in enumerate(texts)]
    result = assemble("Q", responses, [0, 0, 0, 1, 1], [1.0] * 5, fake_embedder.encode(texts), key="1/2")
    rows = {fb.response.row: fb.text for fb in feedback_rows(result)}
    whole = apply_approvals(result, {0: rows[0], 1: rows[1], 2: rows[2]}, set())
    assert [s.state for s in whole.stems] == [APPROVED, "draft"] and whole.overrides == ()
    part = apply_approvals(result, {3: rows[3]}, {4})
    assert all(s.state == "draft" for s in part.stems) and part.overrides == ((3, rows[3]),)


def test_a_stale_saved_json_is_not_applied_to_another_ticket(analysed, fake_embedder, capsys):
    out, _ = analysed
    other = SAMPLES / "grade8_ela_google_forms.csv"
    assert cli.main(["analyze", str(other), "--out", str(out), "--no-save"], embedder=fake_embedder) == 0
    capsys.readouterr()
    assert cli.main(["approve", str(out), "--teacher", "Ms T"]) == 2
    err = capsys.readouterr().err
    assert "belongs to another analysis" in err and "Nothing was saved" in err


def test_approve_acts_as_the_current_teacher_and_refuses_anothers_class(analysed, capsys, monkeypatch):
    """Mr B (by the environment, as every command resolves it) may not approve into Ms T's saved class."""
    out, db = analysed
    drafts = read(out / "feedback_drafts.csv")
    drafts.loc[drafts.state == "draft", "state"] = "approved"
    drafts.to_csv(out / "feedback_drafts.csv", index=False)
    monkeypatch.setenv("FEEDBACK_ASSISTANT_TEACHER", "Mr B")
    capsys.readouterr()
    assert cli.main(["approve", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Ms T's class" in err and "you are Mr B" in err
    assert not (out / "feedback.csv").read_text(encoding="utf-8-sig").count("approved")  # nothing written either
    from feedback_assistant.storage import Store

    info = json.loads((out / SAVED_FILE).read_text())
    with Store(db, teacher="Ms T") as store:
        saved = store.load_analysis(next(iter(info["tickets"].values())))
    assert all(s.state != APPROVED for r in saved.results for s in r.stems)
    monkeypatch.setenv("FEEDBACK_ASSISTANT_TEACHER", "Ms T")  # the class's own teacher may
    assert cli.main(["approve", str(out)]) == 0
