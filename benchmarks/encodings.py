"""How CSVs saved in legacy encodings are read: exactly, refused with a message, or garbled (must be 0).

Small made-up class files (1-12 rows, header ``Student,Response``, responses in one language) are encoded in a
code page that language uses, then decoded by ``decoding.decode``. Each file ends one of three ways: the text
exactly as written, a ``TicketFormatError`` naming the likely encodings and how to save as CSV UTF-8, or garbled
text (mojibake) that would be read with exit 0. Short files carry little evidence, so more of them are refused.

Usage:
    .venv/bin/python benchmarks/encodings.py [--files 600] [--seed 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from collections import Counter

from feedback_assistant.decoding import decode
from feedback_assistant.records import TicketFormatError

TEXTS = {
    "Japanese": (
        ["shift_jis", "euc_jp", "utf-16-le", "utf-16-be"],
        [
            "分母が大きいほど一つ分は小さくなる",
            "わからない",
            "二分の一は四分の二と同じ",
            "ピザを八つに切ると一切れは小さい",
        ],
    ),
    "Chinese": (
        ["gb18030", "gbk", "big5", "utf-16-le"],
        ["分母越大，每一份越小", "我不知道", "二分之一等于四分之二", "把披萨切成八块，每块更小"],
    ),
    "Korean": (
        ["euc_kr", "cp949", "utf-16-le"],
        [
            "분모가 클수록 한 조각은 작아진다",
            "모르겠어요",
            "이분의 일은 사분의 이와 같다",
            "피자를 여덟 조각으로 자르면 더 작다",
        ],
    ),
    "Russian": (
        ["cp1251", "koi8_r", "utf-16-le"],
        ["дробь это часть целого", "не знаю", "половина больше, чем треть", "если разрезать пиццу на восемь частей"],
    ),
    "Spanish": (["cp1252", "latin_1", "utf-16-le"], ["el denominador es más grande", "sí, la mitad", "¿no es igual?"]),
    "French": (["cp1252", "utf-16-le"], ["le dénominateur est plus grand", "je ne sais pas", "l’élève a coupé"]),
    "Polish": (["cp1250", "utf-16-le"], ["mianownik jest większy", "połowa", "nie wiem, źle", "żółć"]),
    "Greek": (["cp1253", "utf-16-le"], ["το κλάσμα είναι μέρος του όλου", "δεν ξέρω", "το μισό είναι μεγαλύτερο"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=600)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    counts: Counter = Counter()
    for _ in range(args.files):
        language = rng.choice(list(TEXTS))
        encodings, phrases = TEXTS[language]
        encoding = rng.choice(encodings)
        rows = [[f"S{i}", rng.choice(phrases)] for i in range(rng.randint(1, 12))]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows([["Student", "Response"], *rows])
        text = buffer.getvalue()
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:  # simplified characters Big5 cannot hold
            continue
        try:
            outcome = "exact" if decode(data, "'t.csv'") == text else "garbled"
        except TicketFormatError:
            outcome = "refused"
        counts[(language, encoding, outcome)] += 1
    print(f"{'language':<10} {'encoding':<10} {'exact':>6} {'refused':>8} {'garbled':>8}")
    for language, (encodings, _) in TEXTS.items():
        for encoding in encodings:
            row = [counts[(language, encoding, o)] for o in ("exact", "refused", "garbled")]
            if sum(row):
                print(f"{language:<10} {encoding:<10} {row[0]:>6} {row[1]:>8} {row[2]:>8}")
    total = {o: sum(v for k, v in counts.items() if k[2] == o) for o in ("exact", "refused", "garbled")}
    print(f"{'all':<21} {total['exact']:>6} {total['refused']:>8} {total['garbled']:>8}")


if __name__ == "__main__":
    main()
