"""Answers: the canonical form of a chosen or stated answer, matching two answers, and finding the final
answer a student states in free text.

Shared by clustering (answers split groups) and labelling (an answer key decides which group is on target).

Matching rule (``answers_match``): two answers match when their normalised strings are equal, or when both are
plain decimal numbers of equal value ("12" and "12.0", "0.5" and ".50"), or when one is the other followed by
a unit word ("48 hours" and "48"). Fractions match only when written the same after normalisation: "1/3" does
not match "3/9" or "0.333", because many questions ask for the simplest form or a particular representation,
and a teacher's key states which form is expected.
"""

from __future__ import annotations

import functools
import re

from .text import LATEX_FRAC as _FRAC
from .text import LATEX_FRAC_SHORT as _FRAC_SHORT
from .text import LATEX_OPS as _LATEX_OPS
from .text import LATEX_TEXT_CMD as _TEXT_CMD
from .text import LATEX_WRAPPERS as _LATEX_WRAPPERS
from .text import ends

_NUMBER = re.compile(r"(?<![\d.])(\d[\d,]*\.?\d*|\.\d+)(?![\d.])")
_TRAILING = " .,;:!?'\""

_UNITS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "zero": 0,
    "a": 1,
    "an": 1,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_ORDINALS = {
    "half": 2,
    "halves": 2,
    "third": 3,
    "thirds": 3,
    "quarter": 4,
    "quarters": 4,
    "fourth": 4,
    "fourths": 4,
    "fifth": 5,
    "fifths": 5,
    "sixth": 6,
    "sixths": 6,
    "seventh": 7,
    "sevenths": 7,
    "eighth": 8,
    "eighths": 8,
    "ninth": 9,
    "ninths": 9,
    "tenth": 10,
    "tenths": 10,
    "twelfth": 12,
    "twelfths": 12,
}
_WORD_FRACTION = re.compile(
    r"\b("
    + "|".join(sorted(_UNITS, key=len, reverse=True))
    + r")[\s-]+("
    + "|".join(sorted(_ORDINALS, key=len, reverse=True))
    + r")\b"
)
_WORD_NUMBER = re.compile(r"^(?:(" + "|".join(_TENS) + r")[\s-]?)?(" + "|".join(_UNITS) + r")?$")


def _canonical_number(token: str) -> str:
    """'0.50' -> '0.5', '1,000' -> '1000', '12.0' -> '12', '.5' -> '0.5', '007' -> '7'."""
    t = token.replace(",", "")
    if t.startswith("."):
        t = "0" + t
    if "." in t:
        t = t.rstrip("0").rstrip(".")
    if "." in t:
        whole, frac = t.split(".", 1)
        return f"{int(whole) if whole else 0}.{frac}"
    return str(int(t)) if t else token


def _word_number(s: str) -> str | None:
    m = _WORD_NUMBER.match(s)
    if not m or not s or s in ("a", "an"):
        return None
    return str((_TENS.get(m.group(1) or "", 0)) + (_UNITS.get(m.group(2) or "", 0)))


@functools.lru_cache(maxsize=100_000)
def normalise_answer(a: str) -> str:
    """The canonical form of an answer, for comparing and grouping.

    Trims, lowercases, turns LaTeX into plain text (``\\( \\frac{1}{3} \\)`` -> ``1/3``, ``3 \\frac{1}{3}`` ->
    ``3 1/3``, ``\\times`` -> ``×``), folds white space, writes numbers canonically (``0.50`` -> ``0.5``,
    ``1,000`` -> ``1000``), turns simple number words into digits (``one third`` -> ``1/3``, ``twelve`` ->
    ``12``) and strips trailing punctuation.

    Args:
        a: the answer as chosen or written.

    Returns:
        the normalised answer ("" for a blank answer).
    """
    s = str(a)
    s = _TEXT_CMD.sub(r" \1 ", s)
    s = _FRAC.sub(r" \1/\2 ", s)
    s = _FRAC_SHORT.sub(r" \1/\2 ", s)
    for cmd, rep in _LATEX_OPS.items():
        s = s.replace(cmd, rep)
    s = _LATEX_WRAPPERS.sub(" ", s)
    s = s.replace("{", "").replace("}", "").lower()
    s = s.replace("*", "×").replace("−", "-").replace("–", "-")
    s = _WORD_FRACTION.sub(lambda m: f"{_UNITS[m.group(1)]}/{_ORDINALS[m.group(2)]}", s)
    s = " ".join(s.split()).rstrip(_TRAILING).lstrip(" '\"")
    word = _word_number(s)
    if word is not None:
        return word
    s = _NUMBER.sub(lambda m: _canonical_number(m.group(1)), s)
    # no spaces around binary operators, but keep the space of a mixed number ("3 1/3")
    s = re.sub(r"\s*([+×÷=/])\s*", r"\1", s)
    s = re.sub(r"(?<=[\d)])\s*-\s*(?=[\d(])", "-", s)
    return s.rstrip(_TRAILING).strip()


def _as_number(s: str) -> float | None:
    if re.fullmatch(r"-?\d+(?:\.\d+)?", s):
        return float(s)
    return None


def _leading_number(s: str) -> tuple[str, str] | None:
    """Split '48 hours' into ('48', 'hours'); None when s is not a number followed by words."""
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?(?:/\d+)?)\s+([a-z][a-z ]*)", s)
    return (m.group(1), m.group(2)) if m else None


def answers_match(a: str | None, b: str | None) -> bool:
    """Whether two answers are the same answer (see the module docstring for the rule).

    Args:
        a: an answer, or None.
        b: an answer, or None.

    Returns:
        False when either is None or blank; True when they match.
    """
    if a is None or b is None:
        return False
    na, nb = normalise_answer(a), normalise_answer(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    fa, fb = _as_number(na), _as_number(nb)
    if fa is not None and fb is not None:
        return fa == fb
    la, lb = _leading_number(na), _leading_number(nb)
    if la and (la[0] == nb or (fb is not None and _as_number(la[0]) == fb)):
        return True
    if lb and (lb[0] == na or (fa is not None and _as_number(lb[0]) == fa)):
        return True
    return False


# A number-like token: mixed number, fraction, decimal or integer (after normalisation).
_ANSWER_TOKEN = re.compile(r"-?\d+ \d+/\d+|-?\d+/\d+|-?\d+(?:\.\d+)?")
_STRONG_CUE = re.compile(
    r"(?:answer\s*(?:is|was|=|:|would\s+be|should\s+be)|(?:i|we)\s+(?:chose|choose|picked|pick|said))\s+"
    r"(?:it\s*(?:'s|is)\s+|the\s+answer\s+|about\s+)?"
)
_CUE = re.compile(
    r"(?:chose|choose|picked|pick|got|get|gets|put|said|it\s*(?:'s|is|was)|"
    r"equals|=|makes|gives|so|therefore|is|be)\s+(?:it\s*(?:'s|is)\s+)?(?:about\s+|the\s+answer\s+)?",
)
_INLINE_WORD_NUMBER = re.compile(
    r"\b(" + "|".join(w for w in sorted(_UNITS, key=len, reverse=True) if w not in ("a", "an")) + r")\b"
)
_WORD_CHOICE = re.compile(
    r"(?:answer\s*(?:is|was|:)|(?:i|we)\s+(?:chose|choose|picked|pick|said))\s+"
    r"(?:the\s+)?([a-z][a-z ]{0,40}?)(?=\s+(?:because|as|since|so)\b|[.,;!?]|$)"
)

# Markup and spreadsheet formulas are not answers: a script element with its content, any other HTML-looking tag
# (with its attributes), and a formula prefix ("=" or "@" opening the cell or following ";" / "|" / a tab) with
# the operands after it up to the next "=" ("ok;=1+2" has no answer; "=-8+5=-3" still states -3).
_SCRIPT = re.compile(r"<\s*(script|style)\b[^>]*>.*?(?:<\s*/\s*\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?\s*>")
_FORMULA = re.compile(r"(?:^|(?<=[;|\t]))\s*[=@][^=;|\t]*")

# Words that end a stated answer and start its reason ("3/4 because ...", "3/4 since ...", "the answer is 3/4 as").
_BECAUSE = r"(?:(?:bec|bea|bcu|bco)\w*|bc|b/c|cause|cos|coz|cuz|since)"
_REASON = _BECAUSE + r"|is\s+(?:the|my)\s+answer|is\s+(?:correct|right)"
# An answer stated up front: an optional opener ("I think", "the answer is", "I got", "it's"), the value, an
# optional unit word, then the end, a sentence mark, a dash before words ("3/4 - I added") or a reason word.
_LEAD_OPENER = (
    r"(?:(?:so|well|um+|ok|okay|yes|no)\b[\s,]*)?"
    r"(?:(?:i\s+(?:think|believe|know|chose|choose|picked|pick|put|said|got|get|have|found)|we\s+got|"
    r"(?:my|the)\s+answer\s+(?:is|was|would\s+be|should\s+be)|answer\s*(?:is|was)?\s*[:=]?|"
    r"it\s*(?:'s|is|was|would\s+be)|its|that\s+is|this\s+is)(?:\s*[:=]\s*|\s+))*"
)
_LEADING = re.compile(
    _LEAD_OPENER + r"(" + _ANSWER_TOKEN.pattern + r")(?:\s+[a-z]+)?"
    r"(?=\s*(?:[.;:](?!\d)|[!?)…]|,(?!\s*-?\d)|$)|\s+-\s+[a-z]|\s+(?:" + _REASON + r")\b)"
)
# A conclusion: a cued value that ends the response or its sentence, or is followed by its reason.
_CONCLUSION_END = re.compile(r"(?:\s+[a-z]+)?(?:\s*(?:[.;](?!\d)|[!?)…]|$)|\s+" + _BECAUSE + r"\b)")


# A value used again as an operand after it was found ("... is 4 so I added 4 to 7.5") is working, not an answer.
_OPERAND_AFTER = r"\s*(?:[+×÷*/-]|x\b|times\b|plus\b|minus\b|divided\b|over\b|take\b|by\b|into\b)"
_OPERAND_BEFORE = r"(?:add|added|adding|times|multiplied|divided|minus|subtract|subtracted|away|plus|from|by|of|to)\s+$"


def _reused(spaced: str, tok: re.Match[str]) -> bool:
    """Whether the value ``tok`` is used again as an operand after it (working, not a conclusion)."""
    for m in re.finditer(r"(?<![\d./])" + re.escape(tok.group(0)) + r"(?![\d/]|\.\d)", spaced[tok.end() :]):
        start, end = tok.end() + m.start(), tok.end() + m.end()
        if re.match(_OPERAND_AFTER, spaced[end:]) or re.search(_OPERAND_BEFORE, spaced[max(0, start - 20) : start]):
            return True
    return False


def _strip_markup(text: str) -> str:
    """The text without script elements, HTML-looking tags and spreadsheet formula prefixes with their operands."""
    s = _SCRIPT.sub(" ", text)
    s = _TAG.sub(" ", s)
    return _FORMULA.sub(" ", s)


def extract_final_answer(text: str) -> str | None:
    """The final answer a student states in free text, normalised, or None when none is evident.

    Rule, in order:

    1. An answer stated up front is the answer, even when the working after it holds other values: "3/4
       because 1/2 is 2/4 plus 1/4" -> 3/4; "I got 3/4 - ..."; "The answer is 3/4 since ...". Only a later
       "the answer is" / "I chose" with another value replaces it.
    2. Otherwise the last value after a strong cue ("the answer is", "I chose").
    3. Otherwise the last value after a cue ("=", "I got", "so", "it's", "equals", "is") that concludes: it ends
       the response or its sentence, or its reason follows ("... so it is 10/15", "... = 5/6").
    4. Otherwise the last value after a cue that is not used again as an operand later: in "the difference is 4
       so I added 4 to 7.5", 4 is working, not an answer.
    5. Otherwise the only distinct number in the text; a chosen word after "the answer is" / "I chose"; the last
       number of a response of three words or fewer.

    Values inside HTML-looking tags or script elements, and operands after a spreadsheet formula prefix
    ("ok;=1+2"), are never answers. Several different numbers and no cue give None (a list of working is not an
    answer).

    Args:
        text: the response as typed.

    Returns:
        the normalised final answer, or None.
    """
    s = normalise_answer(_strip_markup(ends(text)))  # a long response: its beginning and end
    if not s:
        return None
    s = _INLINE_WORD_NUMBER.sub(lambda m: str(_UNITS[m.group(1)]), s)
    spaced = re.sub(r"([=])", r" \1 ", s)
    strong = [
        (m.end(), tok.group(0)) for m in _STRONG_CUE.finditer(spaced) if (tok := _ANSWER_TOKEN.match(spaced, m.end()))
    ]
    lead = _LEADING.match(spaced)
    if lead:
        later = [tok for end, tok in strong if end > lead.end(1)]
        return later[-1] if later else lead.group(1)
    if strong:
        return strong[-1][1]
    concluded = [
        tok.group(0)
        for m in _CUE.finditer(spaced)
        if (tok := _ANSWER_TOKEN.match(spaced, m.end())) and _CONCLUSION_END.match(spaced, tok.end())
    ]
    if concluded:
        return concluded[-1]
    cued = [tok for m in _CUE.finditer(spaced) if (tok := _ANSWER_TOKEN.match(spaced, m.end()))]
    cued = [tok for tok in cued if not _reused(spaced, tok)]
    if cued:
        return cued[-1].group(0)
    tokens = _ANSWER_TOKEN.findall(s)
    if tokens and len(set(tokens)) == 1:
        return tokens[0]
    m = _WORD_CHOICE.search(s)
    if m:
        return m.group(1).strip(_TRAILING) or None
    if tokens and s.rstrip(_TRAILING).endswith(tokens[-1]) and len(s.split()) <= 3:
        return tokens[-1]
    return None
