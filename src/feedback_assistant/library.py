"""The misconception library: approved labels and stems, kept per question or topic and offered again.

When the teacher approves a group's stem, ``remember`` keeps the group's label, stem text, status, answer and
centre (the unit mean of its response vectors). Next time the same question (or topic) is analysed,
``suggest`` matches each new group to a kept entry — by the cosine of their centres (>= ``threshold``, 0.90),
or a slightly lower cosine (>= ``threshold - answer_bonus``, 0.85) when their answers match; a group and an
entry with different answers never match — so tomorrow's class and the next section start from yesterday's
approved words. Each entry goes to at most one group, best matches first. Suggestions stay drafts until the
teacher approves them (``FeedbackStem.from_library=True``).

Why these numbers: on MAP math explanations (two simulated 60-student sections per question, groups of >= 3 by
gold misconception and answer), the centres of the same misconception in two sections had cosine median 0.965
(5th percentile 0.851); different misconceptions median 0.815, 95th percentile 0.916, and all of those with
the same answer (only 2 pairs) were at 0.75. At 0.90 with no answers, 83% of true pairs match and 11% of
different pairs would (before the one-to-one assignment); with matching answers at 0.85, 95% match and none of
the different pairs.

Storage is a small ``LibraryStore`` protocol; ``JsonLibraryStore`` keeps entries in
``$FEEDBACK_ASSISTANT_HOME/library.json`` (default ``~/.feedback_assistant/library.json``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .answers import answers_match
from .embedding import default_cache_dir
from .labelling import group_centroids
from .records import APPROVED, UNGROUPED, FeedbackAssistantError, Group, QuestionResult

DEFAULT_THRESHOLD = 0.9
ANSWER_BONUS = 0.05
LIBRARY_FILE = "library.json"
FORMAT_VERSION = 1


class LibraryError(FeedbackAssistantError):
    """The misconception library file cannot be read or written."""


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    """One approved label and stem, kept for next time.

    Attributes:
        topic: what the entry is filed under (the question text unless the teacher gave a topic).
        question: the question it was approved for.
        label: the group label the teacher approved.
        text: the approved stem text.
        status: the group's status when approved.
        answer: the group's answer, if any.
        centroid: the group's centre, unit length (``()`` when no vectors were known).
        approved_at: when it was approved, ISO 8601 UTC.
    """

    topic: str
    question: str
    label: str
    text: str
    status: str
    answer: str | None
    centroid: tuple[float, ...]
    approved_at: str


@runtime_checkable
class LibraryStore(Protocol):
    """Where library entries live."""

    def load(self, topic: str) -> list[LibraryEntry]:
        """All entries filed under ``topic`` (exact match), oldest first."""
        ...

    def save(self, entries: Sequence[LibraryEntry]) -> None:
        """Keep entries; each replaces any stored entry with the same ``topic`` and ``label``."""
        ...


def default_library_path() -> Path:
    """``$FEEDBACK_ASSISTANT_HOME/library.json`` (or ``~/.feedback_assistant/library.json``)."""
    return default_cache_dir().parent / LIBRARY_FILE


def _entry_from_dict(d: dict) -> LibraryEntry:
    return LibraryEntry(
        topic=str(d["topic"]),
        question=str(d.get("question", "")),
        label=str(d["label"]),
        text=str(d["text"]),
        status=str(d.get("status", "")),
        answer=d.get("answer"),
        centroid=tuple(float(x) for x in d.get("centroid", ())),
        approved_at=str(d.get("approved_at", "")),
    )


class JsonLibraryStore:
    """Library entries in one JSON file, written atomically.

    Args:
        path: the file; default ``default_library_path()`` (resolved when first used).
    """

    def __init__(self, path: str | Path | None = None):
        self.path = path

    def _path(self) -> Path:
        return Path(self.path) if self.path else default_library_path()

    def _read(self) -> list[LibraryEntry]:
        path = self._path()
        if not path.exists():
            return []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return [_entry_from_dict(d) for d in data["entries"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise LibraryError(
                f"The misconception library file {path} is damaged and cannot be read. Rename or delete it "
                "to start a new library (your exit tickets are not affected)."
            ) from exc

    def load(self, topic: str) -> list[LibraryEntry]:
        return [e for e in self._read() if e.topic == topic]

    def save(self, entries: Sequence[LibraryEntry]) -> None:
        if not entries:
            return
        new = {(e.topic, e.label): e for e in entries}
        kept = [e for e in self._read() if (e.topic, e.label) not in new]
        path = self._path()
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"version": FORMAT_VERSION, "entries": [asdict(e) for e in kept + list(new.values())]}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".library-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, ensure_ascii=False, indent=1)
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise LibraryError(f"Could not save the misconception library to {path}: {exc.strerror}.") from exc


def topic_of(question: str, topic: str | None = None) -> str:
    """The topic entries are filed under: the given topic, else the question with white space folded."""
    chosen = topic if topic is not None and topic.strip() else question
    return " ".join(str(chosen).split())


class MisconceptionLibrary:
    """Approved labels and stems, remembered and suggested.

    Args:
        store: a ``LibraryStore``; default a ``JsonLibraryStore`` at the default path.
        threshold: least centroid cosine for a match.
        answer_bonus: how much lower the cosine may be when the group's answer matches the entry's.
    """

    def __init__(
        self,
        store: LibraryStore | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        answer_bonus: float = ANSWER_BONUS,
    ):
        self.store = store if store is not None else JsonLibraryStore()
        self.threshold = threshold
        self.answer_bonus = answer_bonus

    def _score(self, entry: LibraryEntry, group: Group, centroid: np.ndarray | None) -> float | None:
        """Match score (cosine) of an entry to a group, or None when they do not match."""
        same_answer = answers_match(entry.answer, group.answer)
        if entry.answer and group.answer and not same_answer:
            return None
        if centroid is None or len(entry.centroid) != len(centroid):
            # No comparable centres (another embedder): only an exact label with the same answer matches.
            return 0.0 if same_answer and entry.label == group.label else None
        cos = float(np.dot(np.asarray(entry.centroid, dtype=float), centroid))
        needed = self.threshold - (self.answer_bonus if same_answer else 0.0)
        return cos if cos >= needed else None

    def suggest(
        self,
        question: str,
        groups: Sequence[Group],
        labels: Sequence[int],
        vectors: np.ndarray | None,
        topic: str | None = None,
    ) -> dict[int, LibraryEntry]:
        """The kept entry that best fits each group, one entry per group at most, best matches first.

        Args:
            question: the question.
            groups: its groups.
            labels: shape (n,), group id per response.
            vectors: shape (n, dim) embeddings aligned with ``labels``, or None.
            topic: file entries under this topic instead of the question.

        Returns:
            group id -> the matching ``LibraryEntry`` (groups with no match are absent).
        """
        entries = self.store.load(topic_of(question, topic))
        if not entries or not groups:
            return {}
        centroids = group_centroids(labels, vectors)
        pairs = []
        for gi, g in enumerate(groups):
            for ei, e in enumerate(entries):
                score = self._score(e, g, centroids.get(g.group_id))
                if score is not None:
                    pairs.append((-score, gi, -ei, g.group_id, ei))
        out: dict[int, LibraryEntry] = {}
        used: set[int] = set()
        for _neg, _gi, _nei, gid, ei in sorted(pairs):
            if gid not in out and ei not in used:
                out[gid] = entries[ei]
                used.add(ei)
        return out

    def remember(
        self, result: QuestionResult, topic: str | None = None, now: dt.datetime | None = None
    ) -> list[LibraryEntry]:
        """Keep every approved stem of a result's groups (the check-in stem is not kept: it has no group
        centre).

        Args:
            result: the question after the teacher's review.
            topic: file entries under this topic instead of the question.
            now: the approval time (default: now, UTC).

        Returns:
            the entries saved.
        """
        when = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
        centroids = group_centroids(result.labels, result.vectors)
        groups = {g.group_id: g for g in result.groups}
        entries = []
        for stem in result.stems:
            g = groups.get(stem.group_id)
            if stem.state != APPROVED or stem.group_id == UNGROUPED or g is None:
                continue
            c = centroids.get(g.group_id)
            entries.append(
                LibraryEntry(
                    topic=topic_of(result.question, topic),
                    question=result.question,
                    label=g.label,
                    text=stem.text,
                    status=g.status,
                    answer=g.answer,
                    centroid=tuple(float(x) for x in c) if c is not None else (),
                    approved_at=when,
                )
            )
        self.store.save(entries)
        return entries
