"""Things loaded once per server process: the embedding model and the history store; and the pipeline parts.

The pages get every pipeline part from here (``parts()``), so a test can run the whole app with a fast fake
embedder (or any other part) by putting it in ``st.session_state[PARTS_KEY]``, e.g.
``at.session_state[PARTS_KEY] = {"embedder": FakeEmbedder()}``. Nothing else changes for such a session.
"""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from feedback_assistant.embedding import MODEL_ENV, MiniLMEmbedder, local_models

PARTS_KEY = "pipeline_parts"
"""``st.session_state`` key of a dict of parts (``embedder``, ``clusterer``, ``labeller``, ``drafter``,
``planner``) that replace the defaults for this session."""

MODEL_KEY = "model_choice"
"""``st.session_state`` key of the model chosen on the Upload page ("" for the bundled model)."""


@st.cache_resource(show_spinner="Loading the language model (only the first time)…")
def _loaded(model: str) -> MiniLMEmbedder:
    """The sentence model (bundled, or ``models/NAME``), loaded once per server in one dtype."""
    return MiniLMEmbedder(model_path=model or None).warm_up()


def model_choice() -> str:
    """The model for this session: the Upload page's choice, else ``$FEEDBACK_ASSISTANT_MODEL``, else bundled."""
    chosen = st.session_state.get(MODEL_KEY)
    return chosen if chosen is not None else os.environ.get(MODEL_ENV, "")


def model_picker() -> None:
    """The Upload page's model setting; shown only when ``models/`` holds a school's own model folder."""
    choices = local_models()
    if not choices:
        return
    options = ["", *choices]
    if MODEL_KEY not in st.session_state:
        start = model_choice()
        st.session_state[MODEL_KEY] = start if start in options else ""
    st.selectbox(
        "Sentence model",
        options,
        key=MODEL_KEY,
        format_func=lambda m: m or "all-MiniLM-L6-v2 (bundled)",
        help="Your school's models are the folders in models/ (see models/README.md). Each keeps its own cache.",
    )


def embedder() -> Any:
    """The session's embedder: an injected one (``PARTS_KEY``), else the chosen model, loaded once."""
    injected = st.session_state.get(PARTS_KEY, {}).get("embedder")
    return injected if injected is not None else _loaded(model_choice())


def parts() -> dict[str, Any]:
    """Keyword arguments for ``pipeline.analyze``: the embedder and any injected part."""
    injected = dict(st.session_state.get(PARTS_KEY, {}))
    injected["embedder"] = embedder()
    return injected


@st.cache_resource(show_spinner=False)
def _store_for(home: str, url: str):
    from feedback_assistant.storage import Store

    return Store(url or None)


def store():
    """The history store (SQLite in the data folder unless ``FEEDBACK_ASSISTANT_DB`` names another database).

    Keyed on the data folder, so tests that each use their own folder get their own store.
    """
    return _store_for(os.environ.get("FEEDBACK_ASSISTANT_HOME", ""), os.environ.get("FEEDBACK_ASSISTANT_DB", ""))
