"""The shape of the house: one pipeline with parts passed in, the model loaded once, and the models/ folder.

- ``pipeline.analyze`` takes every stage as a part (embedder, clusterer, labeller, drafter, planner) and the
  teacher's edits re-use the parts that built the result;
- the app gets its parts from ``resources``: a test injects the fake embedder and runs upload -> groups ->
  feedback -> export; without one, the model is loaded once, in one dtype;
- ``models/MANIFEST.json`` names the weights the product loads (sha256 checked here), and a school's own
  sentence-transformers folder in ``models/NAME`` is used with ``--model models/NAME`` under its own cache key.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, SAMPLES, FakeEmbedder
from streamlit.testing.v1 import AppTest

from feedback_assistant import cli, embedding, pipeline, review
from feedback_assistant.records import (
    APPROVED,
    UNGROUPED,
    Clusterer,
    Embedder,
    Labeller,
    Planner,
    Status,
    StemDrafter,
)
from feedback_assistant.tickets import read_tickets

APP = str(REPO / "app.py")
SAMPLE = SAMPLES / "grade5_fractions.csv"

# --- one pipeline, parts passed in -------------------------------------------------------------------------


class CountingLabeller(pipeline.PhraseLabeller):
    def __init__(self):
        self.calls = 0

    def describe(self, question, responses, labels, vectors, key=None):
        self.calls += 1
        groups = super().describe(question, responses, labels, vectors, key)
        return tuple(replace(g, label=f"L{g.group_id}") for g in groups)


class ShoutingDrafter(pipeline.TemplateDrafter):
    def draft(self, group, key=None):
        stem = super().draft(group, key)
        return replace(stem, text=stem.text.upper(), drafted=stem.text.upper())

    def check_in(self, question):
        return replace(super().check_in(question), text="CHECK IN", drafted="CHECK IN")


class OneGroupPlanner(pipeline.SmallGroupPlanner):
    def plan(self, question, responses, labels, groups, max_group_size, vectors=None):
        return super().plan(question, responses, labels, groups, max(len(responses), 1), vectors)


def test_the_default_parts_implement_the_protocols():
    assert isinstance(pipeline.default_clusterer(), Clusterer)
    assert isinstance(pipeline.DEFAULT_STAGES.labeller, Labeller)
    assert isinstance(pipeline.DEFAULT_STAGES.drafter, StemDrafter)
    assert isinstance(pipeline.DEFAULT_STAGES.planner, Planner)
    assert isinstance(FakeEmbedder(), Embedder)


def test_analyze_uses_the_parts_it_is_given_and_edits_reuse_them(fake_embedder):
    labeller, drafter, planner = CountingLabeller(), ShoutingDrafter(), OneGroupPlanner()
    analysis = pipeline.analyze(
        read_tickets(SAMPLE), embedder=fake_embedder, labeller=labeller, drafter=drafter, planner=planner
    )
    assert fake_embedder.calls and labeller.calls == len(analysis.results)
    r = analysis.results[0]
    assert [g.label for g in r.groups] == [f"L{g.group_id}" for g in r.groups]
    assert all(s.text == s.text.upper() for s in r.stems)
    assert all(len(pg.rows) <= len(r.responses) for pg in r.plan.groups)
    default = pipeline.analyze(read_tickets(SAMPLE), embedder=FakeEmbedder()).results[0]
    assert len(r.plan.groups) < len(default.plan.groups), "the planner's larger groups were not used"

    big = max(r.groups, key=lambda g: g.size)
    split = review.split_group(r, big.group_id)
    assert labeller.calls == len(analysis.results) + 1, "a split must re-label with the injected labeller"
    new = [g for g in split.groups if g.group_id not in {o.group_id for o in r.groups}]
    assert new and all(g.label.startswith("L") for g in new)
    assert all(s.text == s.text.upper() for s in split.stems), "a split must re-draft with the injected drafter"
    moved = review.move_response(r, r.responses[0].row, UNGROUPED)
    assert next(s for s in moved.stems if s.group_id == UNGROUPED).text == "CHECK IN"


def test_without_parts_the_defaults_build_the_same_result_as_before(fake_embedder):
    tickets = read_tickets(SAMPLE)
    a = pipeline.analyze(tickets, embedder=fake_embedder)
    b = pipeline.analyze(
        tickets,
        embedder=FakeEmbedder(),
        labeller=pipeline.PhraseLabeller(),
        drafter=pipeline.TemplateDrafter(),
        planner=pipeline.SmallGroupPlanner(),
    )
    assert [(x.groups, x.stems, x.plan) for x in a.results] == [(x.groups, x.stems, x.plan) for x in b.results]
    assert all(r.stages is None for r in a.results)  # defaults are not stored: a saved result reloads the same


def test_the_command_line_passes_parts_through(tmp_path, fake_embedder):
    labeller = CountingLabeller()
    code = cli.main(
        ["analyze", str(SAMPLE), "--out", str(tmp_path / "out"), "--no-save"],
        embedder=fake_embedder,
        labeller=labeller,
    )
    assert code == 0 and labeller.calls == 3
    groups = pd.read_csv(tmp_path / "out" / "groups.csv")
    grouped = groups[groups["group_id"] != UNGROUPED]
    assert len(grouped) and grouped["label"].astype(str).str.fullmatch(r"L\d+").all()


# --- the app: parts from resources ---------------------------------------------------------------------------

TICKET = (
    "Student,Response\n"
    + "".join(f"S{i},I added the tops and the bottoms so 2/7\n" for i in range(6))
    + "".join(f"T{i},I made the bottoms the same: 1/3 is 2/6 so 3/6 = 1/2\n" for i in range(6))
    + "U0,\n"
).encode()


def test_upload_groups_feedback_export_with_the_fake_embedder():
    from feedback_assistant_app import downloads
    from feedback_assistant_app.resources import PARTS_KEY
    from feedback_assistant_app.state import WS_KEY

    fake = FakeEmbedder()
    at = AppTest.from_file(APP, default_timeout=10)
    at.session_state[PARTS_KEY] = {"embedder": fake}
    at.run()
    at.file_uploader(key="fa_uploader").set_value(("ticket.csv", TICKET, "text/csv")).run()
    at.button(key="up_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert fake.calls, "the injected embedder was not used"
    assert at.title[0].value == "Groups"
    ws = at.session_state[WS_KEY]
    result = ws.analysis.results[0]
    assert len(result.responses) == 13 and len(result.groups) >= 1

    at.switch_page("pages/feedback.py").run()
    at.button(key="fb_approve_all").click().run()
    assert not at.exception, [e.value for e in at.exception]
    result = at.session_state[WS_KEY].analysis.results[0]
    assert all(s.state == APPROVED for s in result.stems)

    at.switch_page("pages/export.py").run()
    assert not at.exception and "All feedback is approved." in "\n".join(s.value for s in at.success)
    ws = at.session_state[WS_KEY]
    feedback = pd.read_csv(io.BytesIO(downloads.feedback_csv(ws)), encoding="utf-8-sig", keep_default_na=False)
    assert len(feedback) == 13
    expected = [review.feedback_for(result, r.row, approved_only=True) or "" for r in result.responses]
    assert feedback["feedback"].astype(str).tolist() == expected
    assert sum(1 for t in expected if t) >= 12


class _FakeModel:
    """Stands in for a loaded SentenceTransformer."""

    def encode(self, batch, **kwargs):
        return FakeEmbedder(dim=384).encode(list(batch))


def test_the_app_loads_the_model_once_in_one_dtype(monkeypatch):
    from feedback_assistant_app import resources

    loads: list[tuple] = []

    def fake_load(path=None, dtype="float32"):
        loads.append((path, dtype))
        return _FakeModel()

    monkeypatch.setattr(embedding, "load_model", fake_load)
    monkeypatch.setenv("FEEDBACK_ASSISTANT_EMBED_DTYPE", "bfloat16")
    monkeypatch.delenv(embedding.MODEL_ENV, raising=False)
    resources._loaded.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=10)
        at.run()
        at.file_uploader(key="fa_uploader").set_value(("ticket.csv", TICKET, "text/csv")).run()
        at.button(key="up_go").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.title[0].value == "Groups"
    finally:
        resources._loaded.clear()
    assert loads and set(loads) == {(None, "bfloat16")}, loads  # one model, one dtype (the embedder's)


# --- models/ -------------------------------------------------------------------------------------------------


def test_the_manifest_names_the_installed_weights():
    manifest = json.loads((REPO / "models" / "MANIFEST.json").read_text())
    entry = next(m for m in manifest["models"] if m["name"] == manifest["default"])
    assert entry["name"] == embedding.MODEL_NAME
    folder = embedding.bundled_model_path()
    weights = f"{folder}/{entry['weights_file']}"
    assert hashlib.sha256(open(weights, "rb").read()).hexdigest() == entry["sha256"]
    assert embedding.weights_sha256(folder) == entry["sha256"]
    from importlib.metadata import version

    assert version(entry["package"]) == entry["package_version"]
    assert entry["dimension"] == embedding.BUNDLED_DIM and entry["licence"]


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """A ``models/`` folder holding ``tiny``: a random 1-layer BERT (hidden size 16) saved as a sentence model."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    root = tmp_path_factory.mktemp("school")
    raw = root / "raw"
    raw.mkdir()
    words = "[PAD] [UNK] [CLS] [SEP] [MASK] i added the tops and bottoms made same so is 1 2 3 6 7 / = :".split()
    (raw / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizerFast(vocab_file=str(raw / "vocab.txt")).save_pretrained(raw)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(words),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(raw)
    transformer = Transformer(str(raw), max_seq_length=32)
    SentenceTransformer(modules=[transformer, Pooling(16, "mean")], device="cpu").save(str(root / "models" / "tiny"))
    return root / "models"


def test_a_school_model_in_models_is_used_offline_with_its_own_cache_key(tiny_models, monkeypatch, tmp_path):
    monkeypatch.setenv("FEEDBACK_ASSISTANT_MODELS", str(tiny_models))
    assert embedding.local_models() == ["models/tiny"]
    emb = pipeline.default_embedder("models/tiny")
    assert emb.name.startswith("tiny@") and emb.name.split("/")[0] != embedding.MODEL_NAME
    assert emb.name.split("@")[1][:16] == embedding.weights_sha256(tiny_models / "tiny")[:16]
    analysis = pipeline.analyze(read_tickets(SAMPLE), embedder=emb)
    assert sum(len(r.responses) for r in analysis.results) == 90
    assert analysis.results[0].vectors.shape[1] == 16  # the tiny model's vectors, not MiniLM's 384
    cache = embedding.EmbeddingCache()
    text = analysis.results[0].responses[0].text
    assert cache.get_many(emb.name, [embedding.normalise_text(text)])
    assert not cache.get_many(embedding.MODEL_NAME, [embedding.normalise_text(text)])


def test_analyze_on_the_command_line_takes_model(tiny_models, monkeypatch, tmp_path):
    monkeypatch.setenv("FEEDBACK_ASSISTANT_MODELS", str(tiny_models))
    out = tmp_path / "out"
    code = cli.main(["analyze", str(SAMPLE), "--out", str(out), "--no-save", "--model", "models/tiny"])
    assert code == 0
    responses = pd.read_csv(out / "responses.csv")
    assert len(responses) == 90


def test_a_missing_model_folder_is_bad_input_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEEDBACK_ASSISTANT_MODELS", str(tmp_path / "models"))
    (tmp_path / "models" / "empty").mkdir(parents=True)
    code = cli.main(["analyze", str(SAMPLE), "--out", str(tmp_path / "o"), "--no-save", "--model", "models/nope"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "No model folder 'models/nope'" in err
    code = cli.main(["analyze", str(SAMPLE), "--out", str(tmp_path / "o"), "--no-save", "--model", "models/empty"])
    err = capsys.readouterr().err
    assert code == 2 and "not a sentence-transformers model folder" in err
    with pytest.raises(embedding.ModelUnavailableError, match="not a sentence-transformers model"):
        embedding.resolve_model("models/empty")


def test_status_values_are_enum_members_that_equal_their_words(fake_embedder):
    r = pipeline.analyze(read_tickets(SAMPLE), embedder=fake_embedder).results[0]
    assert all(isinstance(g.status, Status) for g in r.groups)
    assert Status.ON_TARGET == "on target" and np.str_("on target") == Status.ON_TARGET


def test_the_upload_page_offers_a_school_model_and_uses_it(tiny_models, monkeypatch):
    from feedback_assistant_app.resources import MODEL_KEY
    from feedback_assistant_app.state import WS_KEY

    monkeypatch.setenv("FEEDBACK_ASSISTANT_MODELS", str(tiny_models))
    monkeypatch.delenv(embedding.MODEL_ENV, raising=False)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.file_uploader(key="fa_uploader").set_value(("ticket.csv", TICKET, "text/csv")).run()
    picker = at.selectbox(key=MODEL_KEY)
    assert picker.options == ["all-MiniLM-L6-v2 (bundled)", "models/tiny"] and picker.value == ""
    picker.set_value("models/tiny").run()
    at.button(key="up_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[WS_KEY].analysis.results[0].vectors.shape[1] == 16  # the tiny model's vectors


def test_without_school_models_the_upload_page_shows_no_model_setting(tmp_path, monkeypatch):
    from feedback_assistant_app.resources import MODEL_KEY

    monkeypatch.setenv("FEEDBACK_ASSISTANT_MODELS", str(tmp_path / "models"))
    at = AppTest.from_file(APP, default_timeout=10)
    at.run()
    at.file_uploader(key="fa_uploader").set_value(("ticket.csv", TICKET, "text/csv")).run()
    assert not [s for s in at.selectbox if s.key == MODEL_KEY]
