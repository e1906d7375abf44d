"""One home for the text rules every stage shares: LaTeX to plain text, words of any script, stemming, unique
names, the language a response is written in, and the length a response is analysed at.

Words of any script:
    ``tokens`` keeps whole words in every alphabet (Vietnamese "phân số", Spanish "numerador", Arabic "البسط",
    Russian "числитель"): letters with their combining marks (diacritics) stay in the word. Scripts written without
    spaces between words (Chinese, Japanese) are cut into overlapping character bigrams ("分母相同" -> "分母",
    "母相", "相同"), the usual segmentation-free unit for short texts; ``join_tokens`` glues a run of such
    bigrams back into the characters the student wrote. Numbers stay whole ("3/9", "0.5", "50%").

Language:
    ``language_of`` is a cheap detector with no model and no network: the script of the letters (Han, kana,
    Hangul, Arabic, Cyrillic, ...) and, for Latin-script text, the share of common function words of English,
    Spanish, French, Portuguese, German and Vietnamese (plus Vietnamese-only letters). Short or mixed texts ("3/9",
    "ok") get ``None`` and are never flagged. ``language_flags`` marks the responses written in another language
    than the class's majority, so the pipeline keeps them out of the groups and the teacher reads them.

Length:
    A response longer than ``MAX_RESPONSE_CHARS`` is analysed (embedded, tokenised, labelled) on its first
    ``MAX_RESPONSE_CHARS`` characters only (``for_analysis``); it is kept whole in every output.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import regex

MIN_LANGUAGE_GROUP = 4
"""A language other than the class's with at least this many responses to a question is grouped on its own; fewer
stay "Not grouped" for the teacher to read."""
MAX_RESPONSE_CHARS = 2000
"""A response is analysed on its first 2,000 characters (about 400 words; the embedding model reads ~256 tokens)."""

# --- LaTeX -------------------------------------------------------------------------------------------------------

LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*([^{}]*?)\s*\}\s*\{\s*([^{}]*?)\s*\}")
"""``\\frac{a}{b}`` (also ``\\dfrac``, ``\\tfrac``): groups 1 and 2 are the numerator and the denominator."""
LATEX_FRAC_SHORT = re.compile(r"\\[dt]?frac\s*(\d)\s*(\d)")
"""``\\frac12``: one-digit numerator and denominator without braces."""
LATEX_WRAPPERS = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$")
"""Math delimiters: ``\\( \\)``, ``\\[ \\]`` and ``$``."""
LATEX_TEXT_CMD = re.compile(r"\\(?:text|mathrm|mbox)\s*\{([^{}]*)\}")
LATEX_OPS = {
    r"\times": "×",
    r"\cdot": "×",
    r"\div": "÷",
    r"\left": "",
    r"\right": "",
    r"\,": " ",
    r"\ ": " ",
    r"\%": "%",
}


def display_text(text: str) -> str:
    """A response as a teacher reads it: LaTeX fractions as a/b, math delimiters dropped, spaces folded."""
    s = LATEX_FRAC.sub(r"\1/\2", str(text))
    s = LATEX_WRAPPERS.sub(" ", s).replace(r"\times", "×").replace(r"\div", "÷")
    return " ".join(s.split())


def fold_spaces(text: str) -> str:
    """Trimmed, inner white space (spaces, tabs, new lines) folded to one space."""
    return " ".join(str(text).split())


def for_analysis(text: str) -> str:
    """The part of a response the analysis reads: its first ``MAX_RESPONSE_CHARS`` characters."""
    text = str(text)
    return text if len(text) <= MAX_RESPONSE_CHARS else text[:MAX_RESPONSE_CHARS]


def ends(text: str) -> str:
    """A response's beginning and end, ``MAX_RESPONSE_CHARS`` characters in all (a stated answer is at its end),
    for the answer finder; a shorter response whole."""
    text = str(text)
    if len(text) <= MAX_RESPONSE_CHARS:
        return text
    half = MAX_RESPONSE_CHARS // 2
    return text[:half] + " \n " + text[-half:]


def long_response_notice(texts: Iterable[str]) -> str | None:
    """The notice for responses over ``MAX_RESPONSE_CHARS`` characters, naming the limit; None when there are none."""
    n = sum(1 for t in texts if len(str(t)) > MAX_RESPONSE_CHARS)
    if not n:
        return None
    which = "1 response is" if n == 1 else f"{n} responses are"
    return (
        f"{which} longer than the {MAX_RESPONSE_CHARS:,}-character limit for grouping: only the first "
        f"{MAX_RESPONSE_CHARS:,} characters were used to group {'it' if n == 1 else 'them'}. Every output keeps "
        "the whole text; read the long ones yourself."
    )


# --- words of any script -----------------------------------------------------------------------------------------

_NO_SPACE = r"\p{Han}\p{Hiragana}\p{Katakana}ー々"
_TOKEN = regex.compile(
    rf"-?\d+(?:[./]\d+)?%?"  # numbers, fractions, decimals, percentages
    rf"|[{_NO_SPACE}]+"  # a run of characters written without spaces (split into bigrams below)
    rf"|[\p{{L}}--[{_NO_SPACE}]][\p{{L}}\p{{M}}--[{_NO_SPACE}]]*(?:'[\p{{L}}\p{{M}}--[{_NO_SPACE}]]+)?",
    flags=regex.V1,
)
_ASCII_TOKEN = re.compile(r"-?\d+(?:[./]\d+)?%?|[a-z]+(?:'[a-z]+)?")
_SLASH = re.compile(r"(?<=\d)\s*/\s*(?=\d)")
_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
"""Web addresses: not words a label is made of."""
_NO_SPACE_RUN = regex.compile(rf"^[{_NO_SPACE}]+$", flags=regex.V1)


def is_no_space(token: str) -> bool:
    """True for a token of a script written without spaces between words (Chinese, Japanese)."""
    return bool(_NO_SPACE_RUN.match(token))


def _bigrams(run: str) -> list[str]:
    return [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]


def tokens(text: str) -> list[str]:
    """Lower-case word and number tokens of a response, whole words in any script.

    "3/9", "0.5" and "don't" stay whole; letters keep their diacritics ("không", "números"); Chinese and Japanese
    runs become overlapping character bigrams. Only the first ``MAX_RESPONSE_CHARS`` characters are read.
    """
    s = display_text(for_analysis(text)).lower().replace("’", "'")
    s = _SLASH.sub("/", _URL.sub(" ", s) if "/" in s or "www" in s else s)
    if s.isascii():
        return _ASCII_TOKEN.findall(s)  # the same tokens, faster
    s = unicodedata.normalize("NFC", s)
    out: list[str] = []
    for t in _TOKEN.findall(s):
        out.extend(_bigrams(t) if is_no_space(t) else (t,))
    return out


SPAN_WORDS = 4
"""A run of this many words of one student's response is theirs: it may reach nobody else (privacy checks)."""


def word_spans(text: str, n: int = SPAN_WORDS) -> set[tuple[str, ...]]:
    """Every run of ``n`` consecutive tokens (``tokens``) of a text."""
    words = tokens(text)
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def shared_span(a: str, b: str, n: int = SPAN_WORDS) -> str | None:
    """A run of ``n`` words found in both texts (the first in ``a``), or None when they share none.

    The one check of "does this text carry that student's words": memory stems, the privacy tests.
    """
    words = tokens(a)
    other = word_spans(b, n)
    for i in range(len(words) - n + 1):
        if tuple(words[i : i + n]) in other:
            return " ".join(words[i : i + n])
    return None


def join_tokens(toks: Sequence[str]) -> str:
    """Tokens back into text: words with spaces, overlapping bigrams of a no-space script glued together
    ("分母 母相" -> "分母相")."""
    out = ""
    prev = ""
    for t in toks:
        if prev and is_no_space(prev) and is_no_space(t):
            out += t[1:] if len(t) == 2 and len(prev) == 2 and prev[1] == t[0] else t
        else:
            out += (" " if out else "") + t
        prev = t
    return out


def _is_latin(token: str) -> bool:
    return all(ord(c) < 0x250 for c in token)


@functools.lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """A light suffix-stripper for Latin-script words, so "simplified", "simplifies" and "simplify" count as one
    word, as do "shaded"/"shade" and "flipped"/"flip". Other scripts and numbers are returned unchanged."""
    t = token
    if not t.isalpha() or len(t) <= 3 or not _is_latin(t):
        return t
    stripped = False
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("s", "")):
        if t.endswith(suffix) and not (suffix == "s" and t.endswith("ss")) and len(t) - len(suffix) >= 3:
            t = t[: len(t) - len(suffix)] + repl
            stripped = suffix != "s"
            break
    if stripped and len(t) > 3 and t[-1] == t[-2] and t[-1] not in "lsz":
        t = t[:-1]  # "flipp" -> "flip", but "add", "call" and "miss" stay
    return t[:-1] if len(t) > 4 and t.endswith("e") else t


# Function words of the languages the language detector knows; labels skip them like English stop words.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the is are was were and because of to it that this i you my they we not it's don't didn't "
        "with have has so but if then what would be than".split()
    ),
    # Only words that are not also English words or maths letters ("a", "as", "no", "do", "y", "die", "um").
    "es": frozenset(
        "el la los las es son que porque de del en un una se por para lo pero más como "
        "al su sus le yo tiene fue está".split()
    ),
    "fr": frozenset(
        "le la les est sont que parce de du des et en un une se par avec pour pas ce qui il je "
        "au aux sur dans c'est".split()
    ),
    "pt": frozenset("os é são que porque de da dos das em uma se por para não mais como na eu ele".split()),
    "de": frozenset("der das ist sind und weil nicht ein eine zu mit von den dem ich es auf für auch".split()),
    "vi": frozenset("là và của có không em tôi các những một này được vì nên thì cho với nhưng mà đã".split()),
}
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "pt": "Portuguese",
    "de": "German",
    "vi": "Vietnamese",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "ar": "Arabic",
    "ru": "Cyrillic-script",
    "he": "Hebrew",
    "el": "Greek",
    "hi": "Devanagari-script",
    "th": "Thai",
}
OTHER_STOP_WORDS = frozenset().union(*(w for k, w in FUNCTION_WORDS.items() if k != "en")) - {
    "die",
    "son",
    "pour",
    "fin",
    "den",
    "con",
    "mit",
    "has",
    "mas",
    "hay",
    "par",
    "dos",
    "com",
}
"""Function words of the non-English languages above that are not also English words (labels skip them)."""

_SCRIPTS = (
    ("ja", regex.compile(r"[\p{Hiragana}\p{Katakana}]")),
    ("zh", regex.compile(r"\p{Han}")),
    ("ko", regex.compile(r"\p{Hangul}")),
    ("ar", regex.compile(r"\p{Arabic}")),
    ("ru", regex.compile(r"\p{Cyrillic}")),
    ("he", regex.compile(r"\p{Hebrew}")),
    ("el", regex.compile(r"\p{Greek}")),
    ("hi", regex.compile(r"\p{Devanagari}")),
    ("th", regex.compile(r"\p{Thai}")),
)
_LETTER = regex.compile(r"\p{L}")
_VIETNAMESE_LETTERS = regex.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]")
_SPANISH_MARKS = regex.compile(r"[ñ¿¡]")


def language_of(text: str) -> str | None:
    """The language (or script) a response is written in, or None when the text is too short to tell.

    Returns:
        a key of ``LANGUAGE_NAMES`` ("en", "es", "vi", "zh", "ar", ...), or None.
    """
    s = unicodedata.normalize("NFC", for_analysis(text)).lower()
    ascii_only = s.isascii()
    letters = sum(c.isalpha() for c in s) if ascii_only else len(_LETTER.findall(s))
    if letters < 2:
        return None
    for code, pattern in () if ascii_only else _SCRIPTS:
        n = len(pattern.findall(s))
        if code == "ja" and n and len(_SCRIPTS[1][1].findall(s)) + n >= letters / 2:
            return "ja"  # Japanese mixes kana and kanji
        if n >= 2 and n >= letters / 2:
            return code
    words = [t for t in tokens(s) if not t[0].isdigit() and t[0] != "-"]
    if not words:
        return None
    if not ascii_only and len(_VIETNAMESE_LETTERS.findall(s)) >= 2:
        return "vi"
    hits = {code: sum(1 for w in words if w in fw) for code, fw in FUNCTION_WORDS.items()}
    if _SPANISH_MARKS.search(s):
        hits["es"] += 2
    ranked = sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))
    (best, n_best), (_, n_second) = ranked[0], ranked[1]
    if n_best == n_second or n_best == 0:
        return None
    if n_best >= 2 or (len(words) <= 3 and n_second == 0):
        return best
    return None


def majority_language(texts: Iterable[str]) -> str | None:
    """The language most responses are written in (None when no response says)."""
    counts = Counter(lang for t in texts if (lang := language_of(t)))
    if not counts:
        return None
    return min(counts, key=lambda k: (-counts[k], k))


def language_flags(texts: Sequence[str]) -> list[str | None]:
    """Per response, the name of its language when it differs from the class's majority language, else None.

    Args:
        texts: the responses of one question (blank ones included).

    Returns:
        a list aligned with ``texts``: e.g. "Spanish" for a Spanish response in a mostly English class.
    """
    langs = [language_of(t) for t in texts]
    counts = Counter(lang for lang in langs if lang)
    if not counts:
        return [None] * len(langs)
    major = min(counts, key=lambda k: (-counts[k], k))
    return [LANGUAGE_NAMES.get(lang, lang) if lang and lang != major else None for lang in langs]


def language_notice(flags: Sequence[str | None]) -> str | None:
    """The notice for responses flagged by ``language_flags`` (what the pipeline did with them); None when there
    are none."""
    named = Counter(f for f in flags if f)
    if not named:
        return None
    n = sum(named.values())
    apart = [f"{k} ({v})" for k, v in sorted(named.items()) if v >= MIN_LANGUAGE_GROUP]
    left = [f"{k} ({v})" for k, v in sorted(named.items()) if v < MIN_LANGUAGE_GROUP]
    done = []
    if apart:
        done.append(f"{', '.join(apart)} grouped on their own")
    if left:
        done.append(f"{', '.join(left)} left in Not grouped (fewer than {MIN_LANGUAGE_GROUP} to group)")
    return (
        f"{n} response{'s are' if n != 1 else ' is'} written in another language than most of the class, so "
        f"never merged by accident into a group of theirs: {'; '.join(done)}. Read them yourself."
    )


def analysis_notices(results: Sequence) -> list[str]:
    """What the teacher should know about an analysed ticket's text: responses over the length limit, and per
    question the responses in another language than most of the class (grouped apart, or left in Not grouped).

    Args:
        results: the ``QuestionResult``s of an analysis (anything with ``.responses`` holding ``.text``).
    """
    texts = [[r.text for r in res.responses] for res in results]
    out = [n] if (n := long_response_notice(t for ts in texts for t in ts)) else []
    for i, ts in enumerate(texts):
        note = language_notice(language_flags(ts))
        if note:
            out.append(f"Q{i + 1}: {note}" if len(texts) > 1 else note)
    return out


_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """Text safe to print on a terminal: control characters (an escape sequence in a section name could retitle or
    clear the teacher's terminal) and bidirectional overrides become "\ufffd"; tabs and new lines stay."""
    return _UNPRINTABLE.sub("\ufffd", str(text))


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun in the right number: "1 response", "2 responses", "0 classes".

    Args:
        n: how many.
        singular: the noun for one ("response", "exit ticket").
        plural: the noun for any other number (default ``singular + "s"``).
    """
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


# --- names -------------------------------------------------------------------------------------------------------


def unique_name(name: str, taken: Iterable[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``... the first one not in ``taken``."""
    taken = set(taken)
    new, k = name, 2
    while new in taken:
        new, k = f"{name} ({k})", k + 1
    return new


def unique_names(names: Iterable[str]) -> list[str]:
    """The names in order, a repeated one numbered like ``unique_name`` ("Score", "Score (2)")."""
    seen: set[str] = set()
    out = []
    for name in names:
        new = unique_name(name, seen)
        seen.add(new)
        out.append(new)
    return out
