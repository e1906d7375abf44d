"""The analyze command's contract: files, columns, exit codes."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from conftest import SAMPLES

from feedback_assistant import cli
from feedback_assistant.records import UNGROUPED
from feedback_assistant.tickets import read_tickets

SAMPLE_FILES = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".csv", ".xlsx"))


def test_there_are_at_least_four_sample_files():
    assert len(SAMPLE_FILES) >= 4


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.name)
def test_analyze_every_sample_rows_in_equal_rows_out(sample, tmp_path, fake_embedder, capsys):
    out = tmp_path / "out"
    assert cli.main(["analyze", str(sample), "--out", str(out)], embedder=fake_embedder) == 0
    tickets = read_tickets(sample)
    responses = pd.read_csv(out / "responses.csv", dtype=str, keep_default_na=False)
    assert len(responses) == len(tickets.frame)
    assert list(responses.columns[: len(tickets.frame.columns)]) == list(tickets.frame.columns)
    for col in ("group_id", "group_label", "feedback", "next_step"):
        assert col in responses.columns
    ids = responses["group_id"].astype(int)
    assert (ids >= UNGROUPED).all()
    steps = responses["next_step"]
    assert steps.str.startswith("reteach: ").any() and (steps == "extension").any()
    assert set(steps[ids == UNGROUPED]) <= {"check-in"}
    groups = pd.read_csv(out / "groups.csv", dtype=str, keep_default_na=False)
    assert {"question", "group_id", "label", "size"} <= set(groups.columns)
    assert (groups["label"].str.len() > 0).all()
    plan = pd.read_csv(out / "plan.csv", dtype=str, keep_default_na=False)
    assert len(plan) == len(tickets.frame)
    assert "Analysed" in capsys.readouterr().out


def test_the_analysis_is_saved_to_history(tmp_path, fake_embedder):
    from feedback_assistant.storage import Store

    sample = SAMPLES / "hs_social_studies.csv"
    assert (
        cli.main(
            ["analyze", str(sample), "--out", str(tmp_path / "o"), "--section", "P2", "--teacher", "Ms K"],
            embedder=fake_embedder,
        )
        == 0
    )
    tickets = Store().list_tickets(teacher="Ms K")
    assert [t.section for t in tickets] == ["P2"]


def test_missing_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert cli.main(["analyze", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was not found" in err[0]


def test_unknown_column_names_the_columns(tmp_path, fake_embedder, capsys):
    code = cli.main(
        ["analyze", str(SAMPLES / "hs_social_studies.csv"), "--out", str(tmp_path / "o"), "--response-col", "Essay"],
        embedder=fake_embedder,
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Essay" in err[0] and "Response" in err[0]


def test_usage_error_exits_2_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "feedback_assistant.cli", "analyze"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "--out" in proc.stderr


def test_help_does_not_load_the_model():
    code = "import sys; from feedback_assistant import cli; cli.build_parser(); print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"


def test_an_unforeseen_reader_failure_is_bad_input_not_a_crash(tmp_path, monkeypatch, capsys):
    path = tmp_path / "odd.csv"
    path.write_text("Student,Response\nA,x\n")

    def explode(*_, **__):
        raise KeyError("something no rule foresaw")

    monkeypatch.setattr("feedback_assistant.tickets.read_tickets", explode)
    assert cli.main(["analyze", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not be read as an exit ticket" in err[0]
