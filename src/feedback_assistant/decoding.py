"""Bytes of an uploaded file -> what kind of file it is, and its text.

The first step of reading exit tickets (``tickets.read_tickets``): load the bytes (a path, bytes or an
upload), refuse what is not a spreadsheet with a message saying what the file is, and turn a CSV's bytes
into text.

Encodings, in order:

* a byte-order mark says it: UTF-8, UTF-16 LE or BE;
* UTF-16 without a byte-order mark (Excel's "Unicode text", some Forms exports), also when the text is mostly
  Chinese, Japanese or Korean (few NUL bytes); checked before UTF-8, because UTF-16 of ASCII or Cyrillic text is
  also valid UTF-8;
* valid UTF-8 is UTF-8;
* UTF-8 with a few pasted Windows-1252 bytes (smart quotes from Word) reads both right;
* otherwise ``charset-normalizer`` lists the likely encodings. Windows-1252 (Excel's "CSV" on a Western Windows)
  wins when it is among them, unless Windows-1250 reads words whole where 1252 breaks them ("po³owa"); otherwise
  the likely encodings must agree on the text, or one must stand out (reads more as a language; for Cyrillic and
  Greek, is written mostly in lower case, since a wrong code page turns running text into capitals);
* anything else is refused, naming the likely encodings and how to save the file as "CSV UTF-8" — never read as
  garbled text. Short files carry little evidence, so some are refused (``benchmarks/encodings.py`` counts them).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path
from typing import IO

from .records import TicketFormatError

MAX_FILE_BYTES = 100 * 1024 * 1024
"""Largest file read (100 MB)."""

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")

SIGNATURES = (
    (b"\x89PNG", "an image (PNG)"),
    (b"\xff\xd8\xff", "an image (JPEG)"),
    (b"GIF8", "an image (GIF)"),
    (b"RIFF", "an image or media file"),
    (b"%PDF", "a PDF"),
    (b"\x1f\x8b", "a compressed (gzip) file"),
    (b"Rar!", "a compressed (RAR) archive"),
    (b"7z\xbc\xaf", "a compressed (7-Zip) archive"),
)

RESAVE = (
    "open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)' (Google Sheets: File > Download > "
    "CSV), then upload that file"
)

# Encodings where Windows-1252 (with the UTF-8 fallback below) reads the same letters.
_WESTERN = {"cp1252", "latin_1", "iso8859_1", "iso8859_15", "windows_1252"}
# charset-normalizer's name -> the superset Python decodes with (same characters for valid input).
_SUPERSET = {
    "shift_jis": "cp932",
    "shift_jis_2004": "cp932",
    "shift_jisx0213": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "hz": "gb18030",
    "euc_kr": "cp949",
    "johab": "cp949",
}
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")


def label_of(name: str | None) -> str:
    """How messages name the file: ``'tickets.csv'`` or ``The file``."""
    return f"'{Path(name).name}'" if name else "The file"


def load(source: str | Path | bytes | IO[bytes], filename: str | None) -> tuple[bytes, str | None]:
    """The file's bytes and name, from a path, bytes or a binary stream (an upload).

    Raises:
        TicketFormatError: the file is missing, too large, or ``source`` is not a file.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise TicketFormatError(f"The file '{path}' was not found — check the name and folder.")
        check_size(path.stat().st_size, path.name)
        return path.read_bytes(), filename or path.name
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read(MAX_FILE_BYTES + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
        filename = filename or getattr(source, "name", None)
    else:
        raise TicketFormatError(
            f"Cannot read exit tickets from a {type(source).__name__} — give a file path or the uploaded file."
        )
    check_size(len(data), filename)
    return data, filename


def check_size(size: int, name: str | None) -> None:
    """Refuse a file over ``MAX_FILE_BYTES``, naming the limit."""
    if size > MAX_FILE_BYTES:
        raise TicketFormatError(
            f"{label_of(name)} is {size / 2**20:,.0f} MB; the "
            f"limit is {MAX_FILE_BYTES // 2**20} MB — split it into smaller files."
        )


def file_kind(data: bytes, name: str | None) -> str:
    """``"xlsx"`` or ``"text"``; anything else is refused with what the file is and what to do.

    Raises:
        TicketFormatError: empty, an image/PDF/archive/old .xls, or an extension that is not a spreadsheet.
    """
    label = label_of(name)
    suffix = Path(name).suffix.lower() if name else ""
    if suffix and suffix not in TEXT_SUFFIXES + EXCEL_SUFFIXES:
        hint = " (an old Excel file)" if suffix == ".xls" else ""
        raise TicketFormatError(
            f"{label} is a '{suffix}' file{hint}, which cannot be read — save or download the responses as "
            "CSV (.csv) or Excel (.xlsx) and upload that file."
        )
    if not data.strip(b" \t\r\n\x00,;\xef\xbb\xbf\xff\xfe"):  # nothing but separators and blanks
        raise TicketFormatError(f"{label} is empty — export the responses again and upload the new file.")
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TicketFormatError(
            f"{label} is an old-style Excel (.xls) file or a password-protected workbook — open it in Excel "
            "and save it as .xlsx (without a password) or CSV, then upload that file."
        )
    for magic, kind in SIGNATURES:
        if data.startswith(magic):
            raise TicketFormatError(
                f"{label} is {kind}, not a spreadsheet — export the responses from your form "
                "as CSV or Excel (.xlsx) and upload that file."
            )
    return "text"


def decode(data: bytes, label: str) -> str:
    """A CSV's bytes -> its text (NUL characters removed, no byte-order mark).

    Raises:
        TicketFormatError: binary data, or an encoding that cannot be worked out (the message names the best
            guess and says how to save the file as CSV UTF-8).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors=_CP1252_FALLBACK)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        found = _utf16_without_bom(data) or _utf8(data)  # UTF-16 of ASCII and Cyrillic is also valid UTF-8
        if found is None:
            _refuse_binary(data, label)
            found = _legacy(data, label)
        text = found
    return text.lstrip("\ufeff").replace("\x00", "")


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 LE/BE text without a byte-order mark, or None.

    ASCII in UTF-16 has a NUL in every other byte; Chinese, Japanese or Korean text has few, but line breaks and
    separators still do. A decoding counts only when it is valid, printable and has a line break or separator.
    """
    if data[:65536].count(0) < max(2, len(data[:65536]) // 100):  # UTF-16 text has a NUL in most line breaks
        return None
    head = data[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    order = ("utf-16-be", "utf-16-le") if even > odd else ("utf-16-le", "utf-16-be")
    if max(even, odd) > 0.3 * len(head) / 2 and min(even, odd) < max(even, odd) / 4:
        return data.decode(order[0], errors="replace")  # mostly ASCII: the NUL side decides
    for encoding in order:
        try:
            sample = data[: 65536 - 65536 % 2].decode(encoding)
        except UnicodeDecodeError:
            continue
        if not any(ch in sample for ch in "\n\r,;\t"):
            continue
        printable = sum(ch.isprintable() or ch in "\t\r\n" for ch in sample)
        if printable >= 0.98 * len(sample) and not any(unicodedata.category(ch) in ("Co", "Cn") for ch in sample):
            return data[: len(data) - len(data) % 2].decode(encoding, errors="replace")
    return None


def _refuse_binary(data: bytes, label: str) -> None:
    head = data[:4096]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13)) / len(head)
    if controls > 0.05:
        raise TicketFormatError(
            f"{label} does not look like a CSV file (it holds binary data) — export the responses "
            "from your form as CSV or Excel (.xlsx) and upload that file."
        )


def _legacy(data: bytes, label: str) -> str:
    """Text that is not valid UTF-8: mostly-UTF-8 with pasted cp1252, or one legacy encoding detected."""
    if _utf8_with_stray_bytes(data[: 1 << 20]):  # UTF-8 with a few pasted Windows-1252 bytes
        return data.decode("utf-8", errors=_CP1252_FALLBACK)
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    guesses: list[str] = []
    if matches:
        best = min(matches, key=lambda m: m.chaos)
        near = [m for m in matches if m.chaos <= best.chaos + 0.02]
        if {m.encoding for m in near} & _WESTERN:
            return _western_or_central(data, [m.encoding for m in near])
        top = max(m.coherence for m in near)  # how much the text reads as one language
        readings = _readings(data, [(m.encoding, m.coherence) for m in near if m.coherence >= top - 0.15])
        guesses = list(dict.fromkeys(_encoding_name(e) for e, _ in readings.values()))
        text = _clear_winner(readings)
        if text is not None and _one_script(text):
            return text
    if not _looks_double_byte(data):  # a few stray Western bytes that no detector is sure of
        text = _western(data)
        if _one_script(text):
            return text
    maybe = f" (it may be {' or '.join(guesses[:3])})" if guesses else ""
    raise TicketFormatError(
        f"{label} is not saved as UTF-8 and its encoding could not be worked out for certain{maybe} — {RESAVE}."
    )


def _clear_winner(readings: dict[str, tuple[str, float]]) -> str | None:
    """The one reading of the bytes that stands out, or None when it cannot be told.

    Several readings: for Cyrillic, Greek or Latin text the one written mostly in lower case (a wrong code page
    turns running text into capitals: "ОНКНБХМЮ"); for Chinese, Japanese or Korean the one that reads clearly
    more as a language (charset-normalizer's coherence).
    """
    if len(readings) <= 1:
        return next(iter(readings), None)
    lower = sorted(((_lowercase_share(t), t) for t in readings), reverse=True)
    if lower[0][0] >= 0.6 and lower[0][0] - lower[1][0] >= 0.3:
        return lower[0][1]
    if lower[0][0] == 0.0:  # no cased letters: Chinese, Japanese, Korean
        ranked = sorted(((c, t) for t, (_, c) in readings.items()), reverse=True)
        if ranked[0][0] - ranked[1][0] >= 0.05:
            return ranked[0][1]
    return None


def _lowercase_share(text: str) -> float:
    cased = [ch for ch in text[:200_000] if ord(ch) > 127 and ch.isalpha() and ch.lower() != ch.upper()]
    return sum(ch.islower() for ch in cased) / len(cased) if cased else 0.0


def _readings(data: bytes, encodings: list[tuple[str, float]]) -> dict[str, tuple[str, float]]:
    """Decoded text -> (encoding, coherence), for each encoding that decodes ``data`` without an error."""
    out: dict[str, tuple[str, float]] = {}
    for encoding, coherence in encodings:
        encoding = _SUPERSET.get(encoding, encoding)
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if text not in out or out[text][1] < coherence:
            out[text] = (encoding, coherence)
    return out


def _western_or_central(data: bytes, encodings: list[str]) -> str:
    """Windows-1252, unless another single-byte code page the detector found as likely reads words whole.

    Polish in Windows-1250 read as 1252 breaks words with symbols ("po³owa", "wiêkszy"); French in 1252 read as
    1250 does not. Ties go to Windows-1252 (Excel's "CSV" on a Western Windows).
    """
    window = data[: 1 << 20]
    western = _western(window)
    best, best_breaks = "", _word_breaks(western)
    windows = dict.fromkeys(["cp1250", *(e for e in encodings if e.startswith("cp125"))])  # Windows code pages
    for encoding in windows:
        if encoding in _WESTERN or best_breaks == 0:
            continue
        try:
            breaks = _word_breaks(window.decode(encoding))
        except (UnicodeDecodeError, LookupError):
            continue
        if breaks < best_breaks:
            best, best_breaks = encoding, breaks
    return data.decode(best, errors=_KEEP_BYTE) if best else _western(data)


_APOSTROPHES = "\u2019\u2018\u00b4`'"


def _word_breaks(text: str) -> int:
    """Non-letters over code point 127 inside words ("po³owa"): what a wrong code page leaves."""
    return sum(
        1
        for a, ch, b in zip(text, text[1:], text[2:])  # noqa: B905 - shifted views of one string
        if ord(ch) > 127 and not ch.isalpha() and ch not in _APOSTROPHES and a.isalpha() and b.isalpha()
    )


def _western(data: bytes) -> str:
    """Windows-1252 (bytes it leaves undefined kept as the same code points); UTF-8 letters read as UTF-8."""
    if any(_is_utf8(run) for run in _HIGH_RUN.findall(data[: 1 << 20])):
        return data.decode("utf-8", errors=_CP1252_FALLBACK)
    return data.decode("cp1252", errors=_KEEP_BYTE)


def _is_utf8(run: bytes) -> bool:
    try:
        run.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _utf8_with_stray_bytes(data: bytes) -> bool:
    """Valid UTF-8 letters plus lone non-UTF-8 bytes between plain characters (Word's smart quotes pasted in).

    Each run of bytes over 127 is either valid UTF-8 or a single stray byte; a longer run that is not UTF-8 means a
    double-byte encoding (Shift-JIS, GB18030, EUC-KR...), which charset-normalizer names instead.
    """
    valid = stray = 0
    for run in _HIGH_RUN.findall(data):
        try:
            run.decode("utf-8")
            valid += 1
        except UnicodeDecodeError:
            if len(run) > 1:
                return False
            stray += 1
    return valid > 0 and stray > 0


def _looks_double_byte(data: bytes) -> bool:
    """High bytes mostly in runs of two or more: a double-byte encoding, not accented Western letters."""
    runs = _HIGH_RUN.findall(data[:200_000])
    if not runs:
        return False
    return sum(len(r) >= 2 for r in runs) > 0.5 * len(runs)


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else "?"


def _one_script(text: str) -> bool:
    """The non-ASCII letters come (90% or more) from one script: a plausible decoding, not a mix-up.

    Half-width katakana (what a Cyrillic or Western code page read as Shift-JIS gives) do not count as a script.
    """
    scripts: dict[str, int] = {}
    for ch in text[:200_000]:
        if ord(ch) > 127 and ch.isalpha():
            s = _script(ch)
            s = "CJK" if s in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "FULLWIDTH") else s
            scripts[s] = scripts.get(s, 0) + 1
    total = sum(scripts.values())
    if total == 0:
        return True
    top, count = max(scripts.items(), key=lambda kv: kv[1])
    return top != "HALFWIDTH" and count >= 0.9 * total


_NAMES = {
    "cp932": "Shift-JIS (Japanese)",
    "gb18030": "GB18030 (Chinese)",
    "cp949": "EUC-KR (Korean)",
    "big5": "Big5 (Chinese)",
    "cp1251": "Windows-1251 (Cyrillic)",
}


def _encoding_name(encoding: str) -> str:
    encoding = _SUPERSET.get(encoding, encoding)
    return _NAMES.get(encoding, encoding.replace("_", "-").upper())


def _cp1252_bytes(error: UnicodeError) -> tuple[str | bytes, int]:
    """Decoding error handler: each byte that is not UTF-8 read as Windows-1252 (an undefined one kept as is)."""
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in bad), error.end


def _keep_byte(error: UnicodeError) -> tuple[str | bytes, int]:
    """Decoding error handler: a byte the encoding leaves undefined becomes the code point of the same number."""
    assert isinstance(error, UnicodeDecodeError)
    return "".join(chr(b) for b in error.object[error.start : error.end]), error.end


_CP1252_FALLBACK = "feedback_assistant.cp1252"
codecs.register_error(_CP1252_FALLBACK, _cp1252_bytes)
_KEEP_BYTE = "feedback_assistant.keep_byte"
codecs.register_error(_KEEP_BYTE, _keep_byte)
