"""text.py: whole words in any script, one stemmer, the language of a response, the length limit; and what the
pipeline, the labeller and the CLI do with them (bad-input corpus for issue 14, items 6 and 7)."""

from __future__ import annotations

import pytest
from conftest import FakeEmbedder

from feedback_assistant import pipeline
from feedback_assistant.labelling import describe_groups
from feedback_assistant.records import UNGROUPED, Response
from feedback_assistant.text import (
    MAX_RESPONSE_CHARS,
    analysis_notices,
    ends,
    for_analysis,
    join_tokens,
    language_flags,
    language_of,
    long_response_notice,
    stem,
    tokens,
    unique_name,
    unique_names,
)

# --- words of any script -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Em không biết phân số", ["em", "không", "biết", "phân", "số"]),
        ("Sumé los numeradores", ["sumé", "los", "numeradores"]),
        ("جمعت البسط والمقام", ["جمعت", "البسط", "والمقام"]),
        ("Я сложил числители", ["я", "сложил", "числители"]),
        ("分母相同", ["分母", "母相", "相同"]),
        ("I don't know, 3/9 or 0.5 or 50%", ["i", "don't", "know", "3/9", "or", "0.5", "or", "50%"]),
        (r"\(\frac{1}{3}\) of it", ["1/3", "of", "it"]),
        ("see ![x](http://127.0.0.1:9/leak.png) or www.a.org, 3/9", ["see", "x", "or", "3/9"]),  # no URL words
    ],
)
def test_tokens_keep_whole_words_in_every_script(text, expected):
    assert tokens(text) == expected


def test_decomposed_diacritics_stay_in_the_word():
    import unicodedata

    assert tokens(unicodedata.normalize("NFD", "không biết")) == ["không", "biết"]


def test_join_tokens_glues_bigrams_back_and_spaces_words():
    assert join_tokens(tokens("分母相同")) == "分母相同"
    assert join_tokens(["added", "the", "tops"]) == "added the tops"


@pytest.mark.parametrize(
    "a, b",
    [
        ("simplified", "simplify"),
        ("shaded", "shade"),
        ("flipped", "flip"),
        ("numerators", "numerator"),
        ("adding", "add"),
    ],
)
def test_one_stemmer_joins_word_forms(a, b):
    assert stem(a) == stem(b)


def test_the_stemmer_leaves_short_words_other_scripts_and_numbers_alone():
    assert stem("add") == "add" and stem("call") == "call" and stem("miss") == "miss"
    assert stem("числители") == "числители" and stem("3/9") == "3/9"


def test_unique_names_number_repeats():
    assert unique_names(["Score", "Score", "Name", "Score"]) == ["Score", "Score (2)", "Name", "Score (3)"]
    assert unique_name("Q", ["Q", "Q (2)"]) == "Q (3)"


# --- language -------------------------------------------------------------------------------------------------------

OTHER_LANGUAGES = {
    "Spanish": "Yo creo que es 1/2 porque sumé los numeradores",
    "Vietnamese": "Em cộng tử số với tử số và mẫu số với mẫu số",
    "Chinese": "我把分子和分母相加了",
    "Arabic": "جمعت البسط والمقام",
}
ENGLISH = [
    "I added the tops and the bottoms so it is 2/9",
    "I changed 1/3 to 2/6 and added 1/6 to get 3/6 which is 1/2",
    "you need a common denominator, 2/6 + 1/6 = 3/6",
    "idk",
    "1/2",
    "same as above",
    "bulb a is in a closed path",
    "Because 24 goes into five as a whole",
]


@pytest.mark.parametrize("name, text", list(OTHER_LANGUAGES.items()))
def test_responses_in_another_language_than_the_class_are_flagged(name, text):
    flags = language_flags(ENGLISH * 2 + [text])
    assert flags[-1] == name
    assert flags[:-1] == [None] * len(ENGLISH) * 2  # English, short and maths-only responses are never flagged


def test_short_or_number_only_text_has_no_language():
    assert [language_of(t) for t in ("3/9", "ok", "idk", "", "1/2 + 1/6")] == [None] * 5


def test_a_spanish_class_flags_the_english_response():
    spanish = [
        "Sumé los numeradores y los denominadores",
        "La respuesta es 1/2 porque 3/6 es 1/2",
        "Yo creo que es 2/9 porque sumé todo",
        "No sé la respuesta",
    ]
    flags = language_flags(spanish * 2 + ["I think it is 1/2 because the pieces are the same"])
    assert flags[-1] == "English" and not any(flags[:-1])


def _responses(texts):
    return [Response(row=i, source_row=i, student=f"S{i}", question="Q", text=t) for i, t in enumerate(texts)]


def test_the_pipeline_keeps_other_languages_out_of_the_groups_and_says_so():
    from feedback_assistant.clustering import MisconceptionClusterer

    texts = ENGLISH * 3 + list(OTHER_LANGUAGES.values())
    rs = _responses(texts)
    vectors = FakeEmbedder().encode(texts)
    result = pipeline.analyze_question("Q", rs, vectors, clusterer=MisconceptionClusterer())
    other = range(len(ENGLISH) * 3, len(texts))
    assert all(result.labels[i] == UNGROUPED for i in other)
    assert sum(1 for lab in result.labels if lab != UNGROUPED) >= len(ENGLISH) * 2  # the English ones are grouped
    (note,) = analysis_notices([result])
    assert "another language" in note and "Spanish (1)" in note and "Chinese (1)" in note


def test_a_language_with_enough_responses_is_grouped_on_its_own():
    from feedback_assistant.clustering import MisconceptionClusterer

    spanish = [
        "Sumé los numeradores y los denominadores",
        "sumé los numeradores y también los denominadores",
        "Yo sumé los numeradores y los denominadores, es 2/9",
        "La respuesta es 1/2 porque 2/6 + 1/6 es 3/6",
        "Es 1/2 porque cambié 1/3 a 2/6",
    ]
    texts = ENGLISH * 3 + spanish
    rs = _responses(texts)
    result = pipeline.analyze_question("Q", rs, FakeEmbedder().encode(texts), clusterer=MisconceptionClusterer())
    is_spanish = [i >= len(ENGLISH) * 3 for i in range(len(texts))]
    grouped = [lab for lab, es in zip(result.labels, is_spanish, strict=True) if es and lab != UNGROUPED]
    assert grouped, "the Spanish responses form groups of their own"
    for g in result.groups:  # no group mixes the languages
        assert len({is_spanish[r] for r in g.rows}) == 1, g.label
    spanish_words = set(" ".join(spanish).lower().replace(",", " ").split())
    for g in result.groups:
        if is_spanish[g.rows[0]] and g.label:
            assert all(w in spanish_words for w in g.label.split(" — ")[-1].split()), g.label
    (note,) = analysis_notices([result])
    assert "Spanish (5) grouped on their own" in note


def test_labels_of_a_vietnamese_class_are_whole_words():
    texts = ["Em cộng tử số với tử số", "em cộng tử số và mẫu số", "cộng tử số với nhau", "tử số cộng tử số"]
    rs = _responses(texts)
    (group,) = describe_groups("Q", rs, [0] * len(rs), None)
    words = set(" ".join(texts).lower().split())
    assert group.label and all(w in words for w in group.label.split())  # no "th ph" fragments
    assert all(all(w in words for w in term.split()) for term in group.terms)


def test_labels_of_a_chinese_class_are_the_characters_students_wrote():
    texts = ["我把分子和分母相加了", "分子和分母相加", "把分子相加分母相加", "分子加分子"]
    rs = _responses(texts)
    (group,) = describe_groups("Q", rs, [0] * len(rs), None)
    assert group.label and " " not in group.label and any(group.label in t for t in texts)


# --- length ---------------------------------------------------------------------------------------------------------


def test_a_long_response_is_analysed_on_its_first_characters_and_the_notice_names_the_limit():
    long = "I changed 1/3 to 2/6 " * 2000
    assert for_analysis(long) == long[:MAX_RESPONSE_CHARS]
    assert len(ends(long)) <= MAX_RESPONSE_CHARS + 3 and ends(long).endswith(long[-100:])
    note = long_response_notice(["short", long])
    assert "2,000-character limit" in note and "1 response" in note and "keeps the whole text" in note
    assert long_response_notice(["short"]) is None


def test_the_embedder_sees_the_truncated_text_and_every_output_keeps_it_whole(tmp_path, capsys):
    import pandas as pd

    from feedback_assistant.cli import main
    from feedback_assistant.embedding import normalise_text

    long = "I think it is 1/2 because " + "I changed 1/3 to 2/6 and added 1/6 " * 30_000  # ~1 MB
    assert len(normalise_text(long)) <= MAX_RESPONSE_CHARS
    rows = [{"Student": f"S{i}", "Response": t} for i, t in enumerate(ENGLISH * 2 + [long])]
    path = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    embedder = FakeEmbedder()
    code = main(["analyze", str(path), "--out", str(tmp_path / "out"), "--no-save"], embedder=embedder)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "2,000-character limit" in out
    responses = pd.read_csv(tmp_path / "out" / "responses.csv", dtype=str, keep_default_na=False)
    assert long in set(responses.iloc[:, 1])  # kept whole


def test_the_minilm_cache_key_is_the_truncated_text():
    from feedback_assistant.embedding import normalise_text

    a = "x " * MAX_RESPONSE_CHARS + "tail one"
    b = "x " * MAX_RESPONSE_CHARS + "tail two"
    assert normalise_text(a) == normalise_text(b)  # the model reads the same words: one vector
    assert normalise_text("  a  b ") == "a b"


def test_the_groups_page_names_the_language_of_a_response_it_left_out(tmp_path):
    import pandas as pd
    from conftest import REPO
    from streamlit.testing.v1 import AppTest

    from feedback_assistant.tickets import read_tickets
    from feedback_assistant_app.state import WS_KEY, Workspace

    spanish = OTHER_LANGUAGES["Spanish"]
    path = tmp_path / "mixed.csv"
    texts = ENGLISH * 2 + [spanish]
    pd.DataFrame({"Student": [f"S{i}" for i in range(len(texts))], "Response": texts}).to_csv(path, index=False)
    analysis = pipeline.analyze(read_tickets(path), embedder=FakeEmbedder())
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state[WS_KEY] = Workspace(analysis=analysis, details={"teacher": "Ms Test"})
    at.run()
    at.switch_page("pages/groups.py").run()
    assert not at.exception
    assert any("another language" in i.value and "Spanish" in i.value for i in at.info)
    tables = [d.value for d in at.dataframe if "Check" in d.value.columns]
    row = next(t for t in tables if spanish in set(t["Response"]))
    assert row.loc[row["Response"] == spanish, "Check"].tolist() == ["written in Spanish"]
