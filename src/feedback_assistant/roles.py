"""Which column plays which role: the third step of reading exit tickets.

Given a table of text columns (``grid.Table``), decide the layout — ``long`` (one row per student per
question), ``wide`` (Google / Microsoft Forms: one column per question) or ``canvas`` (Canvas quiz student
analysis) — and the column of each role (response, answer, question, student, section, date, key), in named
steps:

1. ``ColumnFacts`` — each column's header, normalised, and what its first ``SAMPLE`` values look like;
2. ``choose_layout`` — Canvas signature, a question column, or question-like headers;
3. ``long_columns`` — the roles of a long table;
4. ``wide_plan`` — the question columns of a wide table, the multiple-choice answer column paired with each,
   and the people/date columns kept beside them (``tickets`` melts it into a long table).

Headers are matched after ``norm`` (lower case, punctuation and camelCase split to spaces) against the synonym
lists below, earlier entries first; explicit column names from the caller always win. Error messages list the
columns only when the first row looks like a header, so a file without one never echoes a student's row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from .records import ColumnMap, TicketFormatError

LONG, WIDE, CANVAS = "long", "wide", "canvas"
SAMPLE = 2000
"""Rows looked at when judging a column by its content."""

FLAGS = {
    "response_col": "--response-col",
    "answer_col": "--answer-col",
    "question_col": "--question-col",
    "student_col": "--student-col",
    "section_col": "--section-col",
    "date_col": "date_col",  # no CLI flag: only reachable from Python
    "key_col": "key_col",
}

# Header synonyms, compared after _norm() (lower case, punctuation and camelCase split to spaces); earlier
# entries win.
# fmt: off
QUESTION = ("question text", "question", "prompt", "question prompt", "item text", "problem", "task",
             "exit ticket question", "ticket question", "question name", "item", "question number",
             "question id", "item id", "q")
RESPONSE = ("response", "student response", "explanation", "student explanation", "explain your reasoning",
             "explain your answer", "reasoning", "justification", "explain", "reason", "why", "responses",
             "written response", "free response", "open response", "constructed response", "short answer",
             "answer text", "student answer", "your answer", "your response", "student work", "student text",
             "student writing", "text", "exit ticket", "ticket", "comment", "comments", "work")
ANSWER = ("answer", "mc answer", "choice", "answer choice", "selected answer", "selected option", "selected",
           "chosen answer", "student choice", "mc choice", "final answer", "multiple choice", "option",
           "selection", "mc", "letter")
KEY = ("answer key", "key", "correct answer", "correct option", "correct choice", "expected answer",
        "reference answer", "reference answers", "model answer", "target answer", "solution", "correct")
STUDENT = ("student name", "student", "name", "full name", "student full name", "first and last name",
            "your name", "learner", "pupil", "username", "user name", "student email", "email address",
            "email", "e mail address", "e mail", "student id", "student number", "id number", "sis id",
            "sis user id", "login id", "first name", "last name")
SECTION = ("class period", "period", "section", "class section", "course section", "section name", "class",
            "class name", "block", "hour", "homeroom", "course")
DATE = ("date", "ticket date", "date submitted", "submission date", "timestamp", "time stamp",
         "completion time", "submitted at", "submission time", "submitted", "completed", "start time", "time",
         "day")
META = {"id", "timestamp", "time stamp", "start time", "completion time", "last modified time", "email",
         "email address", "e mail", "e mail address", "score", "total score", "total points", "points",
         "quiz feedback", "grade", "username", "submitted", "attempt", "sis id", "section id",
         "section sis id", "n correct", "n incorrect", "user id", "sis user id", "sis login id", "login id",
         "ip address", "duration", "time taken", "status", "row", "row id", "response id", "respondent id",
         "index", "sheet", "sheet name", "tab"}
# fmt: on
# "Points - Q1" / "Feedback - Q1" (Microsoft Forms), "Q1 [Score]" (Google Sheets quizzes): not questions.
_PER_QUESTION_META = re.compile(r"^(points|feedback)\s*-\s|\[(score|feedback)\]\s*$", re.IGNORECASE)
# Form questions that ask for the student's name or class ("What is your name?", "Which period are you in?").
_NAME_QUESTION = re.compile(
    r"\byour (full |first and last )?name\b|\b(student|student s|full|first|last|preferred) name\b"
    r"|^name( first and last)?$"
)
_SECTION_QUESTION = re.compile(r"\b(period|section|block|hour)\b|\bclass (are you|you are)\b|\byour class\b")
# "1", "Q1", "Question 2", "#3", "4b": a numbered question column.
_NUMBERED = re.compile(r"^(q|question|item|problem|no)?\s?\d{1,3}[a-z]?$")
_EXPLAIN = re.compile(
    r"\b(explain\w*|why|reason\w*|justif\w*|how do you know|how did you|show your (work|thinking)"
    r"|because|what made you)\b"
)
_KNOWN = frozenset(QUESTION + RESPONSE + ANSWER + KEY + STUDENT + SECTION + DATE) | META
_CANVAS_ITEM = re.compile(r"^(\d+):\s*(.*)$", re.DOTALL)
_DATE_RE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}.*)?$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)%?$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class ColumnStats:
    filled: int
    mean_len: float
    mean_words: float
    distinct: int
    alpha: float
    numeric: float
    email: float
    date: float

    @property
    def free_text(self) -> bool:
        """Looks like written responses: letters, several words or long and varied."""
        return (
            self.filled > 0
            and self.alpha >= 0.5
            and (self.mean_words >= 3 or (self.mean_len >= 15 and self.distinct >= 0.5 * self.filled))
        )

    @property
    def categorical(self) -> bool:
        """Looks like a chosen multiple-choice option: short, few distinct values."""
        return (
            self.filled > 0
            and self.mean_len <= 40
            and self.mean_words <= 6
            and (self.mean_len <= 3 or (self.distinct <= 10 and self.distinct <= max(1.0, 0.5 * self.filled)))
        )

    @property
    def text_score(self) -> float:
        return self.alpha * min(self.mean_words, 30.0) * (self.distinct / max(self.filled, 1)) if self.filled else 0

    @property
    def machine(self) -> bool:
        """Emails, dates or plain numbers: not something a student wrote."""
        return self.filled > 0 and max(self.email, self.date, self.numeric) >= 0.9


def column_stats(values: list[str]) -> ColumnStats:
    """What a column's first ``SAMPLE`` values look like."""
    values = [v for v in values[:SAMPLE] if v.strip()]
    n = len(values)
    if not n:
        return ColumnStats(0, 0.0, 0.0, 0, 0.0, 0.0, 0.0, 0.0)
    stripped = [v.strip() for v in values]
    return ColumnStats(
        filled=n,
        mean_len=sum(map(len, stripped)) / n,
        mean_words=sum(_words(v) for v in stripped) / n,
        distinct=len(set(stripped)),
        alpha=sum(any(ch.isalpha() for ch in v) for v in stripped) / n,
        numeric=sum(bool(_NUMBER_RE.match(v)) for v in stripped) / n,
        email=sum(bool(_EMAIL_RE.match(v)) for v in stripped) / n,
        date=sum(bool(_DATE_RE.match(v)) for v in stripped) / n,
    )


def _words(text: str) -> float:
    """Words in a value; Chinese and Japanese are written without spaces, so two characters count as one."""
    return len(text.split()) + sum(1 for ch in text if "\u3040" <= ch <= "\u9fff") / 2


def is_column_name(text: str) -> bool:
    """Whether a cell reads as a column name forms and gradebooks use (Student, Name, Response, Timestamp...)."""
    return bool(text.strip()) and norm(text) in _KNOWN


def _cols(*names: str | None) -> set[str]:
    """The named columns, leaving out roles that are absent (None)."""
    return {n for n in names if n}


def norm(header: str) -> str:
    """A header compared with the synonym lists: lower case, punctuation and camelCase split to spaces."""
    h = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(header)[:1000])  # no synonym or flag is longer
    h = re.sub(r"[^\w\s]|_", " ", h.lower())
    return " ".join(h.split())


# ------------------------------------------------------------------------------ step 1: facts about columns


class ColumnFacts:
    """The columns of one table: names, normalised headers, and (lazily) what each column's values look like."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.names: list[str] = list(frame.columns)
        self._sample = frame.iloc[:SAMPLE].to_numpy(dtype=object)
        self._position = {c: j for j, c in enumerate(self.names)}
        self.norm = {c: norm(c) for c in self.names}
        self._stats: dict[str, ColumnStats] = {}

    def stats(self, col: str) -> ColumnStats:
        if col not in self._stats:
            self._stats[col] = column_stats(self._sample[:, self._position[col]].tolist())
        return self._stats[col]

    def filled(self, col: str) -> bool:
        return self.stats(col).filled > 0

    def by_header(self, synonyms: tuple[str, ...], exclude: set[str] | frozenset[str] = frozenset()) -> str | None:
        """The non-empty column whose header is the earliest synonym in ``synonyms``."""
        rank = {s: i for i, s in enumerate(synonyms)}
        hits = [c for c in self.names if self.norm[c] in rank and c not in exclude and self.filled(c)]
        return min(hits, key=lambda c: rank[self.norm[c]]) if hits else None

    def looks_like_header(self) -> bool:
        """Whether the names read as column names, not as a student's row (numbers, dates, emails, names)."""
        known = _KNOWN
        shown = [c for c in self.names if not re.fullmatch(r"Column \d+( \(\d+\))?", c)]
        if any(_NUMBER_RE.match(c.strip()) or _DATE_RE.match(c.strip()) or _EMAIL_RE.match(c.strip()) for c in shown):
            return False
        return any(
            self.norm[c] in known
            or _PER_QUESTION_META.search(c)
            or c.rstrip().endswith("?")
            or len(self.norm[c].split()) >= 3
            or _NUMBERED.match(self.norm[c])
            or _CANVAS_ITEM.match(c)
            for c in shown
        )


NOT_SHOWN = "the first row is not shown here because it does not look like column names (it may be a student's row)"


def listing(facts: ColumnFacts) -> str:
    """The column names for an error message (at most 30, each cut at 60 characters)."""
    shown = [" ".join(c.split())[:60] for c in facts.names[:30]]
    more = f", ... ({len(facts.names)} in all)" if len(facts.names) > 30 else ""
    return ", ".join(shown) + more


def find_column(wanted: str, facts: ColumnFacts, arg: str) -> str:
    """The column a caller named (exact, then ignoring spaces, then ``norm``).

    Raises:
        TicketFormatError: no such column; lists the columns only when the first row looks like column names.
    """
    for match in (
        lambda c: c == wanted,
        lambda c: c.strip() == wanted.strip(),
        lambda c: norm(c) == norm(wanted),
    ):
        for c in facts.names:
            if match(c):
                return c
    if facts.looks_like_header():
        raise TicketFormatError(
            f"Column '{wanted}' was not found. The columns are: {listing(facts)} — pass {FLAGS[arg]} with one of them."
        )
    raise TicketFormatError(
        f"Column '{wanted}' was not found; {NOT_SHOWN} — check the name against the file's first row, or add a "
        "row of column names at the top of the file and try again."
    )


def no_responses_error(facts: ColumnFacts, label: str) -> TicketFormatError:
    """The error for a table where no column holds written responses (column names only if they look like them)."""
    if facts.looks_like_header():
        return TicketFormatError(
            f"No column in {label} looks like student responses. The columns are: {listing(facts)} — pass "
            "--response-col with the column that holds the answers."
        )
    return TicketFormatError(
        f"No column in {label} looks like student responses; {NOT_SHOWN} — add a row of column names at the top "
        "(for example Student, Response), or pass --response-col with the name of the column that holds the answers."
    )


# ------------------------------------------------------------------------------- people, sections and dates


@dataclass(frozen=True, slots=True)
class People:
    """The columns naming who answered, in which class, and when (None when absent)."""

    student: str | None
    section: str | None
    date: str | None


def people_and_dates(facts: ColumnFacts, chosen: dict[str, str], taken: set[str]) -> People:
    student = chosen.get("student_col") or _student(facts, taken)
    section = chosen.get("section_col") or _section(facts, taken | _cols(student))
    date = chosen.get("date_col") or facts.by_header(DATE, taken | _cols(student, section))
    return People(student, section, date)


def _student(facts: ColumnFacts, taken: set[str]) -> str | None:
    rank = {s: i for i, s in enumerate(STUDENT)}
    hits: list[tuple[float, str]] = []
    for c in facts.names:
        n, st = facts.norm[c], facts.stats(c)
        if c in taken or not st.filled:
            continue
        if n in rank:
            hits.append((rank[n], c))
        elif _NAME_QUESTION.search(n) and st.mean_words <= 5 and st.distinct > 0.5 * st.filled:
            hits.append((rank["username"] - 0.5, c))  # "What is your name?": after names, before emails
    for _, c in sorted(hits):  # a column of one repeated value ("anonymous") is a poor student column
        st = facts.stats(c)
        if st.distinct > 1 or st.filled == 1 or len(facts.frame) == 1:
            return c
    return min(hits)[1] if hits else None


def section_column(facts: ColumnFacts, taken: set[str] | None = None) -> str | None:
    """The column naming the class period / section, found by its header or a "Which period?" question."""
    return _section(facts, taken or set())


def _section(facts: ColumnFacts, taken: set[str]) -> str | None:
    found = facts.by_header(SECTION, taken)
    if found:
        return found
    for c in facts.names:
        n, st = facts.norm[c], facts.stats(c)
        if (
            c not in taken
            and st.filled
            and _SECTION_QUESTION.search(n)
            and len(n.split()) <= 8
            and st.distinct <= 30
            and st.mean_words <= 4
        ):
            return c
    return None


# ------------------------------------------------------------------------------------- step 2: the layout


def choose_layout(facts: ColumnFacts, chosen: dict[str, str]) -> tuple[str, str | None]:
    """The layout and, for a long table, its question column (None for one unnamed question)."""
    if "question_col" not in chosen and _is_canvas(facts):
        return CANVAS, None
    question = chosen.get("question_col") or facts.by_header(QUESTION)
    if question is None and _is_wide(facts):
        return WIDE, None
    return LONG, question


def _is_canvas(facts: ColumnFacts) -> bool:
    norms = set(facts.norm.values())
    return {"name", "id", "section"} <= norms and any(_CANVAS_ITEM.match(c) for c in facts.names)


def _forms_signature(facts: ColumnFacts) -> bool:
    norms = set(facts.norm.values())
    return "timestamp" in norms or {"start time", "completion time"} <= norms


def _question_like(facts: ColumnFacts, col: str) -> bool:
    n = facts.norm[col]
    return col.rstrip().endswith("?") or len(n.split()) >= 3 or bool(_NUMBERED.match(n))


def _is_wide(facts: ColumnFacts) -> bool:
    if _forms_signature(facts):
        return True
    if any(facts.norm[c] in RESPONSE for c in facts.names):  # "Response", "Explanation": a long table
        return False
    named = set(RESPONSE + ANSWER + KEY + STUDENT + SECTION + DATE) | META
    return any(
        facts.norm[c] not in named and _question_like(facts, c) and not facts.stats(c).machine
        for c in facts.names
        if facts.filled(c)
    )


# --------------------------------------------------------------------------------- step 3: a long table


def long_columns(facts: ColumnFacts, chosen: dict[str, str], question: str | None, label: str) -> ColumnMap:
    """The role of each column of a long table (one row per student per question)."""
    taken = _cols(question)
    key = chosen.get("key_col") or _key(facts, taken)
    taken |= _cols(key)
    people = people_and_dates(facts, chosen, taken | _cols(chosen.get("response_col"), chosen.get("answer_col")))
    taken |= _cols(people.student, people.section, people.date)
    response = chosen.get("response_col") or _long_response(facts, taken | _cols(chosen.get("answer_col")), label)
    answer = chosen.get("answer_col") or _long_answer(facts, response, taken | {response})
    return ColumnMap(
        response=response,
        question=question,
        answer=answer,
        key=key,
        student=people.student,
        section=people.section,
        date=people.date,
    )


def _key(facts: ColumnFacts, taken: set[str]) -> str | None:
    col = facts.by_header(KEY, taken)
    if col is None:
        return None
    values = {v.strip().lower() for v in facts.frame[col].iloc[:SAMPLE] if v.strip()}
    return None if values <= {"true", "false", "0", "1", "yes", "no", "y", "n", "correct", "incorrect"} else col


def _long_response(facts: ColumnFacts, taken: set[str], label: str) -> str:
    named = [c for c in facts.names if facts.norm[c] in RESPONSE and c not in taken]
    rank = {s: i for i, s in enumerate(RESPONSE)}
    named.sort(key=lambda c: (not facts.filled(c), rank[facts.norm[c]]))  # an all-blank one still counts
    answers = [c for c in facts.names if facts.norm[c] in ANSWER and c not in taken and facts.filled(c)]
    for group in (named, answers):
        free = [c for c in group if facts.stats(c).free_text]
        if free:
            return free[0]
    if named:
        return named[0]
    others = [
        c
        for c in facts.names
        if c not in taken
        and c not in answers
        and facts.norm[c] not in META
        and facts.norm[c] not in KEY
        and not facts.stats(c).machine
        and facts.stats(c).free_text
    ]
    if others:
        return max(others, key=lambda c: facts.stats(c).text_score)
    if answers:
        return answers[0]
    raise no_responses_error(facts, label)


def _long_answer(facts: ColumnFacts, response: str, taken: set[str]) -> str | None:
    found = facts.by_header(ANSWER, taken)
    if found:
        return found
    i = facts.names.index(response)
    if i > 0:
        prev = facts.names[i - 1]
        st = facts.stats(prev)
        judged = st.categorical and not st.free_text and not st.machine
        if prev not in taken and facts.norm[prev] not in META and judged:
            return prev
    return None


# ------------------------------------------------------------------------- step 4: a wide (Forms) table


@dataclass(frozen=True, slots=True)
class WidePlan:
    """How a wide table becomes a long one.

    Attributes:
        questions: the question columns, in file order; each becomes one row per student.
        labels: the question text written for each (the prompt when the column only says "Why?").
        answers: question column -> the multiple-choice answer column paired with it.
        people: student, section and date columns (kept beside every melted row).
        key: the answer-key column, if one was named.
    """

    questions: list[str]
    labels: list[str]
    answers: dict[str, str]
    people: People
    key: str | None


def wide_plan(facts: ColumnFacts, chosen: dict[str, str], layout: str, label: str) -> WidePlan:
    """The question columns of a wide or Canvas table, their answer columns and the people beside them."""
    if layout == CANVAS:
        questions = [c for c in facts.names if _CANVAS_ITEM.match(c)]
        people = People(
            chosen.get("student_col") or facts.by_header(("name",)),
            chosen.get("section_col") or facts.by_header(("section",)),
            chosen.get("date_col") or facts.by_header(("submitted",)),
        )
    else:
        people = people_and_dates(facts, chosen, {chosen[k] for k in ("response_col", "answer_col") if k in chosen})
        taken = {v for v in (people.student, people.section, people.date) if v} | {chosen.get("key_col")}
        questions = [c for c in facts.names if c not in taken and _is_question_column(facts, c)]
    override = chosen.get("answer_col")
    questions = [c for c in questions if c != override]
    if "response_col" in chosen and chosen["response_col"] not in questions:
        questions.append(chosen["response_col"])
        questions.sort(key=facts.names.index)
    answers = _pair_answers(facts, chosen, questions, override, layout)
    questions = [q for q in questions if q not in answers.values()]
    if "response_col" in chosen:
        questions = [chosen["response_col"]]
        answers = {q: a for q, a in answers.items() if q in questions}
    if not questions:
        raise no_responses_error(facts, label)
    labels = _canvas_labels(questions) if layout == CANVAS else [_label(q, answers.get(q)) for q in questions]
    return WidePlan(questions, labels, answers, people, chosen.get("key_col"))


def _is_question_column(facts: ColumnFacts, col: str) -> bool:
    st = facts.stats(col)
    return (
        facts.norm[col] not in META
        and not _PER_QUESTION_META.search(col)
        and st.filled > 0
        and not (st.machine and st.date + st.email >= 0.9)
    )


def _pair_answers(
    facts: ColumnFacts, chosen: dict[str, str], questions: list[str], override: str | None, layout: str
) -> dict[str, str]:
    """Map question column -> its multiple-choice answer column.

    A short categorical column immediately before a free-text column whose header asks for an explanation
    ("Explain your reasoning", "Why?") is that question's answer; otherwise each column is a question.
    """
    if override and questions:
        target = chosen.get("response_col")
        after = [q for q in questions if facts.names.index(q) > facts.names.index(override)]
        return {target or (after or questions)[0]: override}
    if layout == CANVAS or override:
        return {}
    pairs: dict[str, str] = {}
    for q in questions:
        i = facts.names.index(q)
        prev = facts.names[i - 1] if i else None
        if prev is None or prev not in questions or prev in pairs or prev in pairs.values():
            continue
        st, sq = facts.stats(prev), facts.stats(q)
        explain = bool(_EXPLAIN.search(facts.norm[q])) or facts.norm[q] in RESPONSE
        if explain and st.categorical and not st.free_text and not st.machine and sq.free_text:
            pairs[q] = prev
    return pairs


def _label(question: str, answer: str | None) -> str:
    """The question's text: the multiple-choice prompt when the free-text column only says "Why?"."""
    if answer is None:
        return question
    generic = norm(re.sub(r" \(\d+\)$", "", question))
    if generic in RESPONSE or (len(generic.split()) <= 5 and _EXPLAIN.search(generic)):
        return answer
    return question


def _canvas_labels(questions: list[str]) -> list[str]:
    stripped = [m.group(2).strip() or q for q in questions if (m := _CANVAS_ITEM.match(q))]
    return stripped if len(set(stripped)) == len(stripped) else list(questions)
