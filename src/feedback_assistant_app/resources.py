"""Things loaded once per server process: the embedding model and the history store."""

from __future__ import annotations

import os

import streamlit as st


@st.cache_resource(show_spinner="Loading the language model (only the first time)…")
def embedder():
    """The bundled sentence model, loaded once for every session of this server."""
    from feedback_assistant import pipeline

    model = pipeline.default_embedder()
    warm = getattr(model, "warm_up", None)
    if callable(warm):
        warm()
    else:
        from feedback_assistant.embedding import load_model

        load_model(getattr(model, "model_path", None))
    return model


@st.cache_resource(show_spinner=False)
def _store_for(home: str, url: str):
    try:
        from feedback_assistant.storage import Store
    except ImportError:
        return None
    return Store(url or None)


def store():
    """The history store (SQLite in the data folder unless ``FEEDBACK_ASSISTANT_DB`` names another database).

    Returns None when this build has no storage layer. Keyed on the data folder, so tests that each use their
    own folder get their own store.
    """
    return _store_for(
        os.environ.get("FEEDBACK_ASSISTANT_HOME", ""), os.environ.get("FEEDBACK_ASSISTANT_DB", "")
    )
