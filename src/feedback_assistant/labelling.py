"""Labelling: a name a teacher would use for each group, its most typical responses, its answer and a status.

The label is built from the group's distinctive terms (class-based TF-IDF, as in BERTopic: each group's
responses form one document, a term scores high when it is frequent in the group and rare elsewhere) and from
its most typical responses (those nearest the group's centre): the phrase of the students' own words that best
covers the group's distinctive terms, e.g. "added the tops and bottoms". When the group's answer tells it
apart from the other groups, the answer leads: "3/9 — not shaded".

Status:
    * With an answer key: a group whose answer matches the key is on target, one whose answer differs is a
      misconception (``status_confirmed=True``); a group with no evident answer, or whose members mostly give
      other answers, is unclear (proposed).
    * With a key that is a sentence rather than an answer (science explanations): the group whose words are
      most like the key's is proposed on target, the others misconceptions (``status_confirmed=False``).
    * Without a key: the largest coherent group (at least half its members give its answer) whose answer is
      the class's most common final answer is proposed on target, as is any other coherent group with that
      answer; groups with another answer are proposed misconceptions; groups with no evident answer, or mostly
      "I don't know", are unclear. When the responses are explanations rather than answers (no answer column
      and fewer than half of them state an answer), the largest group is proposed on target and the others
      misconceptions. All proposed statuses wait for the teacher (``status_confirmed=False``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from .answers import answers_match, extract_final_answer, normalise_answer
from .records import MISCONCEPTION, ON_TARGET, UNCLEAR, UNGROUPED, Group, Response, Status
from .text import OTHER_STOP_WORDS, display_text, join_tokens, stem, tokens

__all__ = ["display_text", "stem", "tokens"]  # the text rules live in text.py; re-exported for the stages

N_REPRESENTATIVES = 3
N_TERMS = 5
MAX_PHRASE_TOKENS = 5
MAX_LABEL_CHARS = 48
DASH = " — "
DONT_KNOW_LABEL = "not sure / off-task"
COVERAGE_POWER = 0.5
QUESTION_WORD_WEIGHT = 0.5
MIN_STATED_SHARE = 0.5
"""Without an answer column, text answers count only when at least this share of responses state one."""

NEGATIONS = frozenset(
    {
        "not",
        "no",
        "never",
        "didn't",
        "don't",
        "doesn't",
        "isn't",
        "aren't",
        "can't",
        "cannot",
        "without",
        "wasn't",
    }
)
# Function words and filler only: math words (top, bottom, whole, part, half, same, more, less, each) stay.
STOP_WORDS = frozenset(
    """a an the and or but if then so as of to in on at by for with from into onto about than that this these
    those it its it's is are was were be been being am do does did done have has had having i me my mine we
    our us you your he she him his her they them their there here which what who whom whose when where why how
    can could would should will shall may might must because cause cuz bc since also just really very like
    think thought answer answers question got get gets getting put said say says mean means thing things way
    yes ok okay um uh well that's thats what's i'm im i've ive i'd id you're we're they're let's lets some any
    there's too much many both either neither only even still already again ever out""".split()
)
_DONT_KNOW = re.compile(
    r"\b(?:idk|i\s*don'?t\s*know|dont\s*know|not\s*sure|no\s*idea|no\s*clue|dunno|guess(?:ed)?|forgot|"
    r"confused|don'?t\s*get|lol|lmao|jk|haha\w*)\b|^\W*\?+\W*$"
)

MAX_PHRASE_MEMBERS = 300


def is_content(token: str) -> bool:
    """Whether a token can carry a label (not a function word)."""
    return token not in STOP_WORDS and token not in OTHER_STOP_WORDS and (len(token) > 1 or token.isdigit())


_LEADING_ANSWER = re.compile(
    r"^(?:(?:my\s+)?answer\s*(?:is|was|:)?\s*)?(-?\d+ \d+/\d+|-?\d+/\d+|-?\d+(?:\.\d+)?%?)\s*"
    r"(?:,|;|:|-|because\b|since\b|as\b|cause\b|cuz\b|bc\b|so\b|is the answer\b)"
)

_TRAILING_ANSWER = re.compile(r"\b(?:to|into|equals|makes)\s+(-?\d+ \d+/\d+|-?\d+/\d+|-?\d+(?:\.\d+)?%?)\W*$")


def response_answer(response: Response, from_text: bool = True) -> str | None:
    """The response's answer, normalised.

    The chosen answer when the file has one; else (when ``from_text``) the final answer stated in the text
    (``answers.extract_final_answer``), or an answer the response opens with ("3/9 because 3 are not shaded")
    or ends with after "to" ("... that simplifies to 1/3").

    Args:
        response: the response.
        from_text: look in the text when there is no chosen answer (False when the file has an answer column:
            an empty answer cell then means no answer).
    """
    if response.answer is not None and str(response.answer).strip():
        return normalise_answer(response.answer) or None
    if response.is_blank or not from_text:
        return None
    found = extract_final_answer(response.text)
    if found is None:
        s = re.sub(r"(?<=\d)\s*/\s*(?=\d)", "/", display_text(response.text).lower())
        m = _LEADING_ANSWER.match(s) or _TRAILING_ANSWER.search(s)
        found = normalise_answer(m.group(1)) if m else None
    return found or None


def group_centroids(labels: Sequence[int], vectors: np.ndarray | None) -> dict[int, np.ndarray]:
    """Unit-length mean vector of each group.

    Args:
        labels: shape (n,), group id per response.
        vectors: shape (n, dim), or None.

    Returns:
        group id -> shape (dim,) centroid, for every id >= 0 (empty when vectors is None).
    """
    if vectors is None:
        return {}
    lab = np.asarray(labels, dtype=int)
    out = {}
    for g in sorted(set(lab.tolist()) - {UNGROUPED}):
        c = np.asarray(vectors, dtype=float)[lab == g].mean(axis=0)
        n = np.linalg.norm(c)
        out[g] = c / n if n > 0 else c
    return out


def _term_analyzer(text: str) -> list[str]:
    """Stemmed content unigrams and bigrams of consecutive content words (stop words removed first)."""
    content = [stem(t) for t in tokens(text) if is_content(t)]
    return content + [f"{a} {b}" for a, b in zip(content, content[1:], strict=False)]


def class_tfidf(docs_by_class: dict[int, list[str]]) -> dict[int, dict[str, float]]:
    """Class-based TF-IDF of content unigrams and bigrams.

    ``w(t, c) = tf(t, c) / len(c) * log(1 + A / f(t))``, with ``A`` the mean number of terms per class and
    ``f(t)`` the frequency of ``t`` over all classes.

    Args:
        docs_by_class: class id -> the texts of that class (include a background class to sharpen contrasts).

    Returns:
        class id -> {term: weight}.
    """
    counts = {c: Counter(t for d in docs for t in _term_analyzer(d)) for c, docs in docs_by_class.items()}
    totals = {c: max(sum(cnt.values()), 1) for c, cnt in counts.items()}
    overall: Counter = Counter()
    for cnt in counts.values():
        overall.update(cnt)
    avg = max(sum(totals.values()) / max(len(totals), 1), 1.0)
    return {c: {t: (n / totals[c]) * np.log1p(avg / overall[t]) for t, n in cnt.items()} for c, cnt in counts.items()}


def _span_candidates(toks: list[str]) -> dict[tuple[str, ...], str]:
    """Stemmed key -> surface text of every 1-5 word span that starts with a content word or a negation and
    ends with a content word."""
    stems = [stem(t) for t in toks]
    out: dict[tuple[str, ...], str] = {}
    for i, first in enumerate(toks):
        if not (is_content(first) or first in NEGATIONS):
            continue
        for j in range(i, min(i + MAX_PHRASE_TOKENS, len(toks))):
            if is_content(toks[j]):
                out.setdefault(tuple(stems[i : j + 1]), join_tokens(toks[i : j + 1]))
    return out


def best_phrase(
    member_tokens: list[list[str]], member_weight: np.ndarray, weights: dict[str, float], exclude: set[str]
) -> str:
    """The students' own phrase that best covers the group's distinctive words.

    A phrase (1-5 consecutive words, starting with a content word or a negation and ending with a content
    word; word forms are compared after light stemming) scores ``coverage * sum of the distinctive-word
    weights it holds / (1 + 0.15 * function words)``, where coverage is the typicality-weighted share of
    members who wrote it. The phrase is shown in the form most members wrote it.

    Args:
        member_tokens: tokens of each member's response.
        member_weight: shape (m,), how typical each member is (higher nearer the centre).
        weights: stemmed unigram -> c-TF-IDF weight in this group.
        exclude: stemmed tokens that carry no weight here (the group's answer, already in the label).

    Returns:
        the phrase, or "" when no member wrote a distinctive word.
    """
    top = max((w for t, w in weights.items() if t not in exclude), default=0.0)
    if top <= 0:
        return ""
    norm = {t: (w / top if t not in exclude else 0.0) for t, w in weights.items()}
    total = float(member_weight.sum()) or 1.0
    cover: dict[tuple[str, ...], float] = {}
    surface: dict[tuple[str, ...], Counter] = {}
    for toks, mw in zip(member_tokens, member_weight, strict=True):
        for key, text in _span_candidates(toks).items():
            cover[key] = cover.get(key, 0.0) + float(mw)
            surface.setdefault(key, Counter())[text] += 1
    best: tuple[str, ...] = ()
    best_score = 0.0
    # first phrases at least 1.5 members wrote; failing that (a small, varied group), any phrase
    for min_cover in (0.0 if len(member_tokens) <= 2 else 1.5 / len(member_tokens), 0.0):
        for key, c in cover.items():
            if c / total < min_cover:
                continue
            if norm.get(key[0], 0.0) <= 0 and key[0] not in NEGATIONS or norm.get(key[-1], 0.0) <= 0:
                continue
            if not any(t.isalpha() and norm.get(t, 0.0) > 0 for t in key):
                continue  # a label needs a word, not only numbers
            gain = sum(norm.get(t, 0.0) for t in dict.fromkeys(key))
            n_stop = sum(1 for t in key if t not in norm and t not in NEGATIONS)
            score = (c / total) ** COVERAGE_POWER * gain / (1 + 0.15 * n_stop)
            if not best or (score, -len(key), key) > (best_score, -len(best), best):
                best, best_score = key, score
        if best:
            break
    if not best:
        return ""
    return max(surface[best].items(), key=lambda kv: (kv[1], kv[0]))[0]


def _is_dont_know(text: str) -> bool:
    return bool(_DONT_KNOW.search(display_text(text).lower())) and len(tokens(text)) <= 8


def _answer_like(key: str) -> bool:
    n = normalise_answer(key)
    return bool(n) and (len(n.split()) <= 3 or extract_final_answer(key) is not None and len(n.split()) <= 5)


def _key_similarity(key: str, texts_by_group: dict[int, list[str]]) -> dict[int, float]:
    """Mean TF-IDF cosine between the key sentence and each group's responses."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    all_texts = [t for ts in texts_by_group.values() for t in ts]
    vec = TfidfVectorizer(analyzer=_term_analyzer).fit(all_texts + [key])
    k = vec.transform([key])
    out = {}
    for g, ts in texts_by_group.items():
        out[g] = float((vec.transform(ts) @ k.T).toarray().mean()) if ts else 0.0
    return out


Statuses = dict[int, tuple[Status, bool]]
"""Per group id: its status, and whether it is confirmed (by an answer key)."""


def _statuses(
    ids: list[int],
    members: dict[int, list[Response]],
    answers: dict[int, tuple[str | None, float]],
    all_answers: list[str],
    key: str | None,
    dont_know: dict[int, bool],
) -> Statuses:
    """Status and whether it is confirmed, per group id (see the module docstring)."""
    if key is not None and str(key).strip() and _answer_like(str(key)):
        return _statuses_by_key_answer(ids, answers, str(key))
    if key is not None and str(key).strip():
        return _statuses_by_key_text(ids, members, str(key), dont_know)
    if not all_answers:
        return _statuses_by_size(ids, members, dont_know)
    return _statuses_by_modal_answer(ids, members, answers, all_answers, dont_know)


def _statuses_by_key_answer(ids: list[int], answers: dict[int, tuple[str | None, float]], key: str) -> Statuses:
    """The key is an answer: a group whose answer (held by at least half) matches it is on target (confirmed)."""
    out: Statuses = {}
    for g in ids:
        ans, share = answers[g]
        if ans is None or share < 0.5:
            out[g] = (UNCLEAR, False)
        else:
            out[g] = (ON_TARGET if answers_match(ans, key) else MISCONCEPTION, True)
    return out


def _statuses_by_key_text(
    ids: list[int], members: dict[int, list[Response]], key: str, dont_know: dict[int, bool]
) -> Statuses:
    """The key is a model explanation: the groups whose words are closest to it are proposed on target."""
    sim = _key_similarity(key, {g: [r.text for r in members[g]] for g in ids})
    best = max(sim.values(), default=0.0)
    out: Statuses = {}
    for g in ids:
        if dont_know[g]:
            out[g] = (UNCLEAR, False)
        else:
            out[g] = (ON_TARGET if best > 0 and sim[g] >= 0.8 * best else MISCONCEPTION, False)
    return out


def _statuses_by_size(ids: list[int], members: dict[int, list[Response]], dont_know: dict[int, bool]) -> Statuses:
    """No key and no answers: the largest group (not "don't know") is proposed on target."""
    largest = max((g for g in ids if not dont_know[g]), key=lambda g: len(members[g]), default=None)
    out: Statuses = {}
    for g in ids:
        status = UNCLEAR if dont_know[g] else ON_TARGET if g == largest or len(ids) == 1 else MISCONCEPTION
        out[g] = (status, False)
    return out


def _statuses_by_modal_answer(
    ids: list[int],
    members: dict[int, list[Response]],
    answers: dict[int, tuple[str | None, float]],
    all_answers: list[str],
    dont_know: dict[int, bool],
) -> Statuses:
    """No key: the groups giving the class's most common answer are proposed on target."""
    counts = Counter(all_answers)
    top = max(counts.values())
    # a tie goes to the answer of the largest group, then the first in sorted order: rows' order never matters
    modal = min(
        (a for a in counts if counts[a] == top),
        key=lambda a: (-max((len(members[g]) for g in ids if answers[g][0] == a), default=0), a),
    )
    out: Statuses = {}
    for g in ids:
        ans, share = answers[g]
        if ans is None or dont_know[g]:
            out[g] = (UNCLEAR, False)
        elif answers_match(ans, modal):
            out[g] = (ON_TARGET if share >= 0.5 else UNCLEAR, False)
        else:
            out[g] = (MISCONCEPTION, False)
    return out


def _modal_answer(rs: list[Response], from_text: bool) -> tuple[str | None, float]:
    """The group's most common answer (a tie goes to the first in sorted order) and the share who give it."""
    counts = Counter(a for a in (response_answer(r, from_text) for r in rs) if a)
    if not counts:
        return None, 0.0
    ans, best = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ans, best / len(rs)


def describe_groups(
    question: str,
    responses: Sequence[Response],
    labels: Sequence[int],
    vectors: np.ndarray | None,
    key: str | None = None,
) -> tuple[Group, ...]:
    """Name, summarise and give a status to every group of one question.

    Args:
        question: the question.
        responses: its responses, in input order (blank ones included).
        labels: shape (n,), group id per response; ``UNGROUPED`` (-1) for blank or not grouped.
        vectors: shape (n, dim) embeddings aligned with ``responses`` (rows L2-normalised), or None.
        key: the correct answer, if the teacher gave one.

    Returns:
        one ``Group`` per id >= 0, largest first (ties by id); responses that are ``UNGROUPED`` are in none.
    """
    lab = [int(x) for x in labels]
    if len(lab) != len(responses):
        raise ValueError(f"labels has {len(lab)} entries but there are {len(responses)} responses")
    ids = sorted(set(lab) - {UNGROUPED})
    members = {g: [r for r, x in zip(responses, lab, strict=True) if x == g] for g in ids}
    tfidf = class_tfidf(_documents(responses, lab, members))
    from_text, all_answers = _class_answers(responses)
    answers = {g: _modal_answer(members[g], from_text) if all_answers else (None, 0.0) for g in ids}
    dont_know = {g: sum(_is_dont_know(r.text) for r in members[g]) > len(members[g]) / 2 for g in ids}
    statuses = _statuses(ids, members, answers, all_answers, key, dont_know)
    sims = _typicality(lab, vectors, members)
    question_stems = {stem(t) for t in tokens(question)}
    distinct_answers = {a if a and share >= 0.5 else None for a, share in answers.values()}

    groups = []
    for g in ids:
        rs = members[g]
        order = sorted(range(len(rs)), key=lambda i: (-float(sims[g][i]), i))
        reps = _representatives(rs, order)
        ans, share = answers[g]
        show_answer = ans is not None and share >= 0.5 and len(distinct_answers) > 1
        # The most typical members are enough to name a group (and keep labelling linear at scale).
        typical = order[:MAX_PHRASE_MEMBERS]
        member_tokens = [tokens(rs[i].text) for i in typical]
        phrase = _phrase(member_tokens, sims[g][typical], tfidf.get(g, {}), question_stems, ans)
        status, confirmed = statuses[g]
        groups.append(
            Group(
                question=question,
                group_id=g,
                label=_compose_label(ans if show_answer else None, DONT_KNOW_LABEL if dont_know[g] else phrase, reps),
                rows=tuple(r.row for r in rs),
                representatives=tuple(reps),
                status=status,
                status_confirmed=confirmed,
                answer=ans,
                terms=_terms(tfidf.get(g, {}), member_tokens),
            )
        )
    groups.sort(key=lambda grp: (-grp.size, grp.group_id))
    return _dedupe_labels(groups)


def _documents(
    responses: Sequence[Response], labels: list[int], members: dict[int, list[Response]]
) -> dict[int, list[str]]:
    """The non-blank texts per group, plus the ungrouped ones as background (``UNGROUPED``) for class TF-IDF."""
    docs = {g: [r.text for r in rs if not r.is_blank] for g, rs in members.items()}
    background = [r.text for r, x in zip(responses, labels, strict=True) if x == UNGROUPED and not r.is_blank]
    if background:
        docs[UNGROUPED] = background
    return docs


def _class_answers(responses: Sequence[Response]) -> tuple[bool, list[str]]:
    """Whether answers come from the texts (no answer column), and every answer given in the class.

    When answers come from the texts and fewer than ``MIN_STATED_SHARE`` of the responses state one, these are
    explanations, not answers (a stray number is not the class's answer): the list is empty.
    """
    from_text = not any(r.answer is not None and str(r.answer).strip() for r in responses)
    all_answers = [a for r in responses if (a := response_answer(r, from_text))]
    filled = sum(1 for r in responses if not r.is_blank)
    if from_text and len(all_answers) < MIN_STATED_SHARE * filled:
        return from_text, []
    return from_text, all_answers


def _typicality(
    labels: list[int], vectors: np.ndarray | None, members: dict[int, list[Response]]
) -> dict[int, np.ndarray]:
    """Per group, each member's cosine to the group's centre (shape (size,)); all ones without vectors."""
    centroids = group_centroids(labels, vectors)
    out = {}
    for g, rs in members.items():
        if g in centroids and vectors is not None:
            index = [i for i, x in enumerate(labels) if x == g]
            out[g] = np.asarray(vectors, dtype=float)[index] @ centroids[g]
        else:
            out[g] = np.ones(len(rs))
    return out


def _representatives(rs: list[Response], order: list[int]) -> list[str]:
    """Up to ``N_REPRESENTATIVES`` distinct member texts, most typical first."""
    reps: list[str] = []
    seen: set[str] = set()
    for i in order:
        t = " ".join(rs[i].text.split())
        if t and t.lower() not in seen:
            seen.add(t.lower())
            reps.append(t)
        if len(reps) == N_REPRESENTATIVES:
            break
    return reps


def _phrase(
    member_tokens: list[list[str]],
    sims: np.ndarray,
    tfidf: dict[str, float],
    question_stems: set[str],
    answer: str | None,
) -> str:
    """The group's most distinctive phrase in its students' words (question words count less, the answer not)."""
    exclude = {stem(t) for t in tokens(answer)} if answer else set()
    weights = {t: w * (QUESTION_WORD_WEIGHT if t in question_stems else 1.0) for t, w in tfidf.items() if " " not in t}
    return best_phrase(member_tokens, np.clip(sims, 0.05, None), weights, exclude)


def _terms(tfidf: dict[str, float], member_tokens: list[list[str]]) -> tuple[str, ...]:
    """The ``N_TERMS`` most distinctive terms, each written in its members' most common surface form."""
    forms: dict[str, Counter] = {}
    for toks in member_tokens:
        for t in toks:
            forms.setdefault(stem(t), Counter())[t] += 1
    top_terms = sorted(tfidf.items(), key=lambda kv: (-kv[1], kv[0]))[:N_TERMS]
    return tuple(
        join_tokens([max(forms[p].items(), key=lambda kv: (kv[1], kv[0]))[0] if p in forms else p for p in t.split()])
        for t, _ in top_terms
    )


def _compose_label(answer: str | None, phrase: str, reps: list[str]) -> str:
    if not phrase and not answer:
        words = tokens(reps[0]) if reps else []
        phrase = join_tokens(words[:5]) if words else "responses"
    if len(phrase) > MAX_LABEL_CHARS:
        phrase = phrase[:MAX_LABEL_CHARS].rsplit(" ", 1)[0] + "…"
    if answer and phrase:
        return f"{answer}{DASH}{phrase}"
    return answer or phrase


def _dedupe_labels(groups: list[Group]) -> tuple[Group, ...]:
    """Make labels unique within the question: a repeated label gets its answer, then a number."""
    from dataclasses import replace

    seen: Counter = Counter()
    out = []
    for grp in groups:
        label = grp.label
        if seen[label] and grp.answer and DASH not in label:
            label = f"{grp.answer}{DASH}{label}"
        if seen[label]:
            label = f"{label} ({seen[label] + 1})"
        seen[grp.label] += 1
        seen[label] += 1
        out.append(replace(grp, label=label) if label != grp.label else grp)
    return tuple(out)


def label_phrase(label: str) -> str:
    """The words part of a label ("3/9 — not shaded" -> "not shaded")."""
    return label.split(DASH, 1)[1] if DASH in label else label
