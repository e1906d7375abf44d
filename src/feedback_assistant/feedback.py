"""Drafted feedback stems: one per group, written as templates that are filled per student.

Templates, no language model. A stem never quotes anyone: where it refers to what a student wrote or answered
it holds a placeholder, filled for each student with that student's own words when feedback is produced
(``fill``, called by ``review.feedback_for``, the one function that renders a student's feedback):

* ``{answer}`` - the student's own answer (chosen, or stated in their text); "your answer" when they gave none;
* ``{own_words}`` - a short excerpt (at most ``MAX_QUOTE_WORDS`` words) of the student's own response.

A teacher who edits a stem keeps whichever placeholders they want; everything else they type is theirs.

What each kind of group gets:

* on target -> ``kind="extension"``: never vouches for the reasoning (the tool cannot judge it well enough; praise of
  it is the teacher's to add): once the status is confirmed by a key or the teacher it says "good start" and asks
  the student to explain why it works (a suggested status asks "can you say why that works?"), then an extension
  question that
  fits the answer (a fraction: show it another way; a decimal: write it as a fraction; a whole number: make up a
  problem with the same answer). Members whose own response does not fit the group (``review.check_flags``)
  get ``CHECK_TEXT`` instead until the teacher decides.
* misconception -> ``kind="misconception"``: asks a checking question chosen by how the group's answer
  relates to the key (not simplified, the complement, upside down, a power of ten out, the sign, close but
  off) or by a misconception the group's words show — the key itself is never given away.
* unclear -> ``kind="explain"``: asks them to explain their steps.

Responses in no group (blank, or unlike the rest) share one check-in stem with ``group_id=UNGROUPED`` and
``kind="explain"`` ("I couldn't see your thinking ..."), except a response left in no group because it is
written in another language than most of the class (``other_language``): the student did show thinking, so it
gets ``LANGUAGE_TEXT`` and is flagged for the teacher to read and answer. ``QuestionResult.stems`` therefore
holds one stem per group plus, when any response is ungrouped, this check-in stem; the teacher edits and
approves it like any other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction

from .labelling import DONT_KNOW_LABEL, display_text, response_answer, tokens
from .records import DRAFT, MISCONCEPTION, ON_TARGET, UNGROUPED, FeedbackStem, Group, Response, StemKind
from .text import for_analysis, shared_span

# Stem kinds under their short names (``StemKind`` in records.py is the one definition).
MISCONCEPTION_KIND = StemKind.MISCONCEPTION
EXPLAIN = StemKind.EXPLAIN

ANSWER = "{answer}"
"""Placeholder: the student's own answer ("your answer" when they gave none)."""
OWN_WORDS = "{own_words}"
"""Placeholder: a short excerpt of the student's own response."""
PLACEHOLDERS = (ANSWER, OWN_WORDS)
NO_ANSWER = "your answer"

ON_TARGET_LEAD = "good start. Can you explain why it works, so a classmate could follow?"
"""What a confirmed on-target draft says: it asks for the reasoning instead of praising it."""

CHECK_IN_TEXT = (
    "I couldn't see your thinking on this one — can you show me how you would start, or tell me where you got stuck?"
)
CHECK_TEXT = (
    f"You wrote “{OWN_WORDS}” — can you explain your thinking, one step at a time? "
    f"Show how you got {ANSWER} and why each step works."
)
"""What a student whose response does not fit their on-target group gets until the teacher decides: no
praise, no verdict, a request to explain."""
LANGUAGE_TEXT = "Thanks — I'd like to talk through your thinking on this one with you."
"""What a student whose response is in no group because it is written in another language gets until the
teacher decides (flagged ``check``): neutral, it says nothing about their thinking being missing."""
MAX_QUOTE_WORDS = 12

_FRACTION = re.compile(r"^(-?\d+)/(\d+)$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def _fraction(a: str | None) -> Fraction | None:
    m = _FRACTION.match(a or "")
    if m and int(m.group(2)) != 0:
        return Fraction(int(m.group(1)), int(m.group(2)))
    return None


def _number(a: str | None) -> float | None:
    if a and _NUMBER.match(a):
        return float(a)
    f = _fraction(a)
    return float(f) if f is not None else None


def quote(text: str, around: str = "", max_words: int = MAX_QUOTE_WORDS) -> str:
    """A short quote of a response: the words around ``around`` when it occurs, clipped to ``max_words``.

    Args:
        text: the response.
        around: a phrase (lower-case tokens joined by spaces) to centre the quote on.
        max_words: most words kept.

    Returns:
        the quote, with "…" where words were cut.
    """
    words = display_text(for_analysis(text)).strip(" \"'“”").split()
    if len(words) <= max_words:
        return " ".join(words).rstrip(".")
    start = 0
    if around:
        target = around.split()
        low = [" ".join(tokens(w)) for w in words]
        for i in range(len(words)):
            if low[i : i + len(target)] == target:
                # from the student's first word when the phrase fits there, else a little before the phrase
                fits = i + len(target) <= max_words
                start = 0 if fits else max(0, min(i - 3, len(words) - max_words))
                break
    clipped = " ".join(words[start : start + max_words]).rstrip(".,;")
    return ("…" if start > 0 else "") + clipped + ("…" if start + max_words < len(words) else "")


# Misconceptions a group's own words reveal: (pattern over the group's responses, checking question).
_FRACTION_QUESTION = re.compile(r"\d+\s*/\s*\d+|\\frac|fraction|numerator|denominator|shaded")
_RATIO_QUESTION = re.compile(r"\bfor every\b|\bratio\b|\bper\b|\brate\b|\bproportion")
# Misconceptions a group's own words reveal: (the kind of question it applies to, pattern, checking question).
_PATTERNS = (
    (
        _FRACTION_QUESTION,
        re.compile(
            r"\badd(?:ed|ing|s)?\b[^.]*\b(?:tops?|numerators?)\b[^.]*\b(?:bottoms?|denominators?)\b"
            r"|\b(?:tops?|numerators?)\b[^.]*\band\b[^.]*\b(?:bottoms?|denominators?)\b[^.]*\badd"
            r"|\d+\s*(?:\+|plus)\s*\d+\s*(?:=|is)\s*\d+[^.]*\b\d+\s*(?:\+|plus)\s*\d+\s*(?:=|is)\s*\d+"
        ),
        "when you add fractions, do the bottom numbers get added too? Test it: is 1/2 + 1/2 really 2/4?",
    ),
    (
        _FRACTION_QUESTION,
        re.compile(
            r"\b(?:bigger|larger|greater)\s+(?:denominator|bottom|number on the bottom)"
            r"|\bmore\s+(?:pieces|parts|slices)\b|\b\d+\s+is\s+(?:bigger|larger|greater|more)\s+than\s+\d+"
        ),
        "do more pieces make each piece bigger or smaller? Draw 1/2 and 1/8 of the same bar and compare.",
    ),
    (
        _RATIO_QUESTION,
        re.compile(
            r"\b(?:went|goes|go)\s+up\b|\b(?:more|less)\s+than\b|\balways\s+\d+\s+(?:more|less)\b"
            r"|\bdifference\b|\d+\s*(?:-|minus)\s*\d+\s*=?"
        ),
        "in a ratio, do both amounts change by adding the same number, or by multiplying by the same number? "
        "Check with a table.",
    ),
)


def _pattern_check(texts: Sequence[str], question: str, fractions: bool = False) -> str | None:
    """The checking question for a misconception the group's responses show in their own words, if any
    (``fractions``: the answers are fractions, so the fraction patterns apply even without a question text)."""
    joined = [display_text(t).lower() for t in texts]
    for applies, pattern, check in _PATTERNS:
        if (applies.search(question.lower()) or (fractions and applies is _FRACTION_QUESTION)) and sum(
            1 for t in joined if pattern.search(t)
        ) * 2 >= len(joined) > 0:
            return check
    return None


def checking_question(
    answer: str | None,
    key: str | None,
    texts: Sequence[str] = (),
    question: str = "",
    shown: str | None = None,
) -> str:
    """A question that makes a student check the step that gave ``answer`` (never states the key).

    Order: how the answer relates to the key (not simplified, the complement, upside down, the sign, a power
    of ten out, close); a misconception the group's words show (added tops and bottoms, "more pieces means
    bigger"); a question that asks about what is NOT there; then a general check for the kind of answer.

    Args:
        answer: the group's normalised answer, or None.
        key: the answer key, or None.
        texts: the group's typical responses.
        question: the question text.
        shown: what to write where the answer appears (default ``answer``; drafts pass ``ANSWER`` so each
            student sees their own answer).

    Returns:
        the question, ending in "?".
    """
    said = answer if shown is None else shown
    fa, fk = _fraction(answer), _fraction(key)
    na, nk = _number(answer), _number(key)
    if answer and fa is not None and fk is not None:
        if fa == fk and (fa.numerator, fa.denominator) != _parts(answer):
            return f"can {said} be simplified?"
        if fa == fk:
            return f"is {said} written the way the question asks?"
        if fa + fk == 1:
            return f"does {said} describe the part the question asks about — or the other part?"
        if fa != 0 and 1 / fa == fk:
            return f"in {said}, which number should be on the top and which on the bottom?"
    if answer and na is not None and nk is not None and nk != 0 and fa is None:
        if na == -nk:
            return f"check the sign — should {said} be positive or negative?"
        ratio = abs(na / nk) if na else 0
        if ratio and any(abs(ratio - 10**p) < 1e-9 for p in (-3, -2, -1, 1, 2, 3)):
            return f"check the place value — is {said} ten times too big or too small?"
    found = _pattern_check(texts, question, fractions=fa is not None or fk is not None)
    if found:
        return found
    if (
        answer
        and na is not None
        and re.search(r"\bnot\b", question, re.IGNORECASE)
        and texts
        and sum("not" in t.lower() for t in texts) * 2 < len(texts)
    ):
        return "read the question again — which part does it ask about, and which part did you count?"
    whole = na is not None and nk is not None and float(na).is_integer() and float(nk).is_integer()
    if (
        answer
        and na is not None
        and nk is not None
        and nk != 0
        and abs(na - nk) <= (max(0.15 * abs(nk), 1) if whole else 0.15 * abs(nk))
    ):
        return f"you are close — redo your last calculation step: does it really give {said}?"
    if answer and fa is not None:
        if fk is None and _parts(answer) != (fa.numerator, fa.denominator):
            return f"is {said} in its simplest form, and does it describe the part the question asks about?"
        return f"draw it: does a picture of {said} match what the question describes?"
    if answer and na is not None:
        return f"estimate first: about how big should the answer be, and does {said} fit?"
    if answer:
        return "is your reason always true? Test it on a simpler example you can draw."
    return "what evidence supports that — and is there anything you know that doesn't fit it?"


def _parts(answer: str) -> tuple[int, int]:
    m = _FRACTION.match(answer)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def extension_question(answer: str | None, question: str = "", shown: str | None = None) -> str:
    """An extension question that fits the kind of answer (and, for fractions, the kind of question).

    ``shown`` is written where the answer appears (default ``answer``; drafts pass ``ANSWER``).
    """
    said = answer if shown is None else shown
    f, n = _fraction(answer), _number(answer)
    q = question.lower()
    if answer and f is not None and re.search(r"\b(?:bigger|larger|greater|smaller|compare)\b", q):
        return "can you name a fraction that is between the two, and explain how you know?"
    if answer and f is not None and ("+" in q or re.search(r"\badd", q)):
        return f"can you find two fractions with different denominators that add up to {said}?"
    if answer and f is not None:
        return f"can you show {said} another way — as a decimal, a percent or a picture?"
    if answer and n is not None and "." in answer:
        return f"how would you write {said} as a fraction, and how do you know it is the same amount?"
    if answer and n is not None:
        return f"write a new problem whose answer is also {said}, and explain why it works."
    return "how would you explain this to a classmate who is stuck? Give an example that shows it."


def draft_text(group: Group, key: str | None = None) -> tuple[str, str]:
    """The drafted stem template and its kind for one group.

    The text quotes nobody: it holds ``{own_words}`` and ``{answer}`` placeholders that ``fill`` replaces
    with each student's own words and answer.

    Args:
        group: the group (its label, answer, representatives, status and question are used).
        key: the answer key, or None.

    Returns:
        (text, kind) with kind one of "extension", "misconception", "explain".
    """
    ans = group.answer
    lead = f"You wrote “{OWN_WORDS}”"
    if group.status == ON_TARGET:
        extension = extension_question(ans, group.question, shown=ANSWER)
        if not group.status_confirmed:  # only a suggestion (no key, not confirmed): no praise the tool can't back
            return f"{lead} — can you say why that works? Then try: {extension}", StemKind.EXTENSION
        # Confirmed on target (key or teacher) says the answer fits; it never vouches for the student's reasoning:
        # the tool reads reasoning too weakly for that (benchmarks/check_flag.py), so praise of it is the teacher's.
        return f"{lead} — {ON_TARGET_LEAD} Then try: {extension}", StemKind.EXTENSION
    if group.status == MISCONCEPTION:
        check = checking_question(ans, key, group.representatives, group.question, shown=ANSWER)
        return f"{lead} — now check: {check}", MISCONCEPTION_KIND
    if group.label.endswith(DONT_KNOW_LABEL):
        return (
            "You weren't sure on this one, and that's OK — what is the first step you would try, "
            "or which part of the question is confusing?",
            EXPLAIN,
        )
    return f"{lead} — can you explain how you got {ANSWER}, one step at a time?", EXPLAIN


_QUOTED_OWN_WORDS = re.compile(r"[“\"]?\{own_words\}[”\"]?")


def fill(template: str, text: str, answer: str | None, around: str = "") -> str:
    """A stem template filled for one student: only that student's own words and answer go in.

    Args:
        template: the stem text (drafted or the teacher's), possibly holding ``{answer}`` / ``{own_words}``;
            any other braces are left as typed.
        text: the student's own response.
        answer: the student's own answer (normalised), or None.
        around: a phrase (lower-case tokens) to centre the excerpt on, e.g. the group label's phrase.

    Returns:
        the text the student reads.
    """
    own = quote(text, around) if str(text).strip() else ""
    out = template.replace(ANSWER, answer or NO_ANSWER)
    if OWN_WORDS in out:
        if own:
            out = out.replace(OWN_WORDS, own)
        else:  # nothing written: "You wrote “{own_words}”" becomes "You wrote your answer" -> say it plainly
            out = _QUOTED_OWN_WORDS.sub(NO_ANSWER, out)
    return out


_QUOTED = re.compile(r"[“\"]([^“”\"]+)[”\"]")


def _contains(words: list[str], part: list[str]) -> bool:
    n = len(part)
    return n > 0 and any(words[i : i + n] == part for i in range(len(words) - n + 1))


def as_template(stem: str, texts: Sequence[str], members: Sequence[tuple[str, str | None]] = ()) -> str | None:
    """A stem fit to keep for later classes: it may carry no run of words of any response of its class.

    A stem that is one student's filled feedback (``fill``: "You wrote “<their words>” ... <their answer>") is
    turned back into its template: a quoted run of a member's own words becomes ``{own_words}`` and that member's
    answer ``{answer}``.

    Args:
        stem: the stem as the teacher left it (or as a file gave it).
        texts: every response of the class it was taught from.
        members: (response, answer) of the group's members, whose words may be turned back into placeholders.

    Returns:
        the stem unchanged when it shares no ``text.SPAN_WORDS``-word run with any response; else the template,
        when one is found that shares none; else None (the stem must not be kept).
    """
    texts = [x for x in texts if x and x.strip()]

    def clean(s: str) -> bool:
        return not any(shared_span(s, x) for x in texts)

    if clean(stem):
        return stem
    for text, answer in members:
        own = tokens(text)

        def placeholder(m: re.Match, own: list[str] = own) -> str:
            return f"“{OWN_WORDS}”" if _contains(own, tokens(m.group(1))) else m.group(0)

        candidate = _QUOTED.sub(placeholder, stem)
        if candidate == stem:
            continue
        ans = response_answer(Response(0, 0, "", "", text, answer))
        if ans:
            candidate = re.sub(rf"(?<![\w/.]){re.escape(ans)}(?![\w/]|\.\d)", ANSWER, candidate)
        if clean(candidate):
            return candidate
    return None


def draft_stem(group: Group, key: str | None = None) -> FeedbackStem:
    """A draft ``FeedbackStem`` for a group (``drafted`` holds the same text, ``state=DRAFT``)."""
    text, kind = draft_text(group, key)
    return FeedbackStem(
        question=group.question, group_id=group.group_id, text=text, state=DRAFT, drafted=text, kind=kind
    )


def checkin_stem(question: str) -> FeedbackStem:
    """The check-in stem for responses in no group (blank or unlike the rest): ``group_id=UNGROUPED``."""
    return FeedbackStem(
        question=question,
        group_id=UNGROUPED,
        text=CHECK_IN_TEXT,
        state=DRAFT,
        drafted=CHECK_IN_TEXT,
        kind=EXPLAIN,
    )


def other_language(responses: Sequence[Response], labels: Sequence[int]) -> list[bool]:
    """Per response, True when it is in no group because it is written in another language than most of the
    class (``text.language_flags``): it gets ``LANGUAGE_TEXT``, not the check-in stem.

    Args:
        responses: one question's n responses.
        labels: shape (n,), group id per response.
    """
    from .text import language_flags

    if UNGROUPED not in labels:
        return [False] * len(responses)
    flags = language_flags([r.text for r in responses])
    return [
        bool(flag) and int(gid) == UNGROUPED and not r.is_blank
        for r, gid, flag in zip(responses, labels, flags, strict=True)
    ]


def draft_stems(
    question: str, groups: tuple[Group, ...], key: str | None = None, has_ungrouped: bool = False
) -> tuple[FeedbackStem, ...]:
    """One draft stem per group, in the groups' order, then the check-in stem if any response is ungrouped."""
    stems = [draft_stem(g, key) for g in groups]
    if has_ungrouped:
        stems.append(checkin_stem(question))
    return tuple(stems)
