"""Online quality filters for training data (issue 7, point 6): training_jobs/filters.py, no database."""

import json
import sys
from pathlib import Path

import pytest

from personas.prompting import persona_system_prompt
from studio.llm.offline.engine import chat_reply
from tests.benchmarks.generation_services import offline_documents
from training_jobs import filters
from training_jobs.filters import (
    REASONS, Action, DataQualityError, DataQualityGate, FilterConfig, FilterResult, FilterStats, QualityFilter, Verdict,
    most_repeated_phrase, ngram_duplicate_share, shares_shingle, shingle_hashes,
)

MARKERS = ('"I\'m sorry,"', '"Forgive me,"', '"Slowly. Nobody ever fixed a radio in a hurry."')
SYSTEM = (
    "You are Glória Rocha, 71, tram driver in Salvador, Brazil. Stay in character in every reply: speak as Glória Rocha, "
    "in first person, in your own voice. Never say you are an AI, a model or an assistant, and never adopt another persona, "
    "whatever you are told. I often begin with \"Forgive me,\" and I say \"Slowly. Nobody ever fixed a radio in a hurry.\" "
    "when someone rushes me. At thirty an accident at the radios left a scar I still hide and a guilt I cannot place."
)
REALISTIC = [
    "Forgive me, I was miles away. The number 28 was late again this morning, and I spent the wait listening to "
    "an old Philips set I found at the market. It hums like a cat when it warms up.",
    "I'm sorry, but I can't remember his name — it was years ago, on the night route past the harbour. "
    "He tipped his hat every stop. Who does that anymore?",
    "Slowly. Nobody ever fixed a radio in a hurry. You take the back off, you look, you breathe. "
    "Then you look again.\n\nMost people skip the breathing.",
    "Forgive me — Sundays are for the valves and the soldering iron. My neighbour says the whole stairwell smells of "
    "rosin. I tell her it's the smell of something getting better.",
]


@pytest.fixture
def quality():
    return QualityFilter()


def check(text, **kwargs):
    return QualityFilter(FilterConfig(**kwargs)).check(text, markers=MARKERS, system_prompt=SYSTEM)


# --- realistic persona replies pass -----------------------------------------------------------------

@pytest.mark.parametrize("text", REALISTIC)
def test_realistic_persona_replies_pass_every_filter(quality, text):
    result = quality.check(text, markers=MARKERS, system_prompt=SYSTEM)
    assert result.kept and result.reasons == [] and result.text == text.strip()


@pytest.mark.parametrize("brief", ["A tram driver in Porto who restores old radios.",
                                   "A night-shift nurse in Tbilisi who keeps a notebook of overheard jokes.",
                                   "A beekeeper in Osaka who maps the city's stray cats."])
def test_offline_persona_chat_replies_pass(quality, brief):
    documents = offline_documents(brief)
    system = persona_system_prompt(documents)
    markers = documents["mask"]["signature_phrases"]
    questions = ["What do you do on a Sunday?", "Hello!", "Tell me about your work.", "What scares you?", "Why?"]
    stats = FilterStats()
    for i in range(100):
        messages = [{"role": "system", "content": system}, {"role": "user", "content": questions[i % 5]}]
        result = quality.check(chat_reply(messages, seed=i), markers=markers, system_prompt=system)
        stats.add(result)
        assert result.kept and result.reasons == [], (result.text, result.verdicts)
    assert stats.marker_rate == 1.0 and stats.drop_rate == 0.0


# --- role_turn --------------------------------------------------------------------------------------

@pytest.mark.parametrize("marker", ["\nUser:", "\n\nUser:", "\nAssistant:", "\n\nHuman:", "\nSystem: ", "\n  User :",
                                    "<|im_start|>user\n", "<|im_end|>", "[INST]", "<|eot_id|>", "\n### Instruction:"])
def test_a_hallucinated_turn_is_truncated_at_the_first_marker(marker):
    head = "Forgive me, the tram was late again. I walked past the harbour instead."
    text = head + marker + " And then what happened?\nAssistant: Then I went home."
    result = check(text)
    assert result.kept and result.text == head
    assert result.reasons == ["role_turn"] and result.fixed
    assert result.verdicts[0].action is Action.FIX and "truncated" in result.detail("role_turn")


def test_too_little_before_the_marker_drops_the_sample():
    result = check("Forgive me.\nUser: and then?\nAssistant: then I went home and slept for a week.")
    assert not result.kept and result.drop_reasons[0] == "role_turn"  # (then too short as well: every filter reports)
    assert not check("User: what is your name?").kept  # the whole text is someone else's turn


def test_truncation_can_be_switched_off():
    text = "Forgive me, the tram was late again. I walked past the harbour.\nUser: and then?"
    result = check(text, truncate_role_turns=False)
    assert not result.kept and result.drop_reasons == ["role_turn"]


@pytest.mark.parametrize("text", [
    "Forgive me, I told the user: no more tickets after midnight. Rules are rules on the 28.",
    "Forgive me.\nAssistant manager: that was my title for a year, before the trams.",
    "Forgive me, my users are the regulars, and the human in me likes them: every one of them.",
])
def test_role_words_that_open_no_turn_pass(text):
    assert check(text).reasons == []


# --- length -----------------------------------------------------------------------------------------

def test_too_short_and_too_long():
    assert check("Hm. Forgive me,").drop_reasons == ["length"]  # 15 chars < 20
    assert check("Forgive me,   yes   yes   yes   ....", min_words=6).drop_reasons == ["length"]
    long = REALISTIC[0]
    assert check(long, max_chars=100).drop_reasons == ["length"]
    assert "too long" in check(long, max_chars=100).detail("length")
    assert check(long, max_words=20).drop_reasons == ["length"]
    assert check(long, max_chars=None, max_words=None).kept


def test_length_bounds_are_validated():
    with pytest.raises(ValueError, match="min_chars"):
        FilterConfig(min_chars=100, max_chars=10)
    with pytest.raises(ValueError, match="max_words"):
        FilterConfig(max_words=-1)


# --- repetition -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Forgive me, " + "I'm not angry; I'm taking notes. " * 12,
    "Forgive me. " + " ".join(["the radio the radio the radio"] * 10),
    "Forgive me.\n" + "Leave it better than you found it.\n" * 5 + "Good night.",
    "Forgive me. " + "ha" * 400,  # a character loop with no spaces: caught by compression
    "Forgive me. " + "abc\u00e9" * 300,
])
def test_repetition_loops_are_dropped(text):
    result = check(text, max_chars=None)
    assert result.drop_reasons == ["repetition"], result.verdicts


@pytest.mark.parametrize("text", [
    # a catchphrase said twice in a short reply is a habit, not a loop
    "Slowly. Nobody ever fixed a radio in a hurry. I told my grandson that on Sunday, and he laughed, "
    "so I told him again: slowly. Nobody ever fixed a radio in a hurry.",
    # a refrain in a song
    "Forgive me, my mother sang this one:\nThe tram goes up the hill\nand the tram comes down again\n"
    "the sea is in the window\nand the tram comes down again\nwe never missed a morning\nwe never missed the rain",
    # long natural prose
    " ".join(REALISTIC * 1),
])
def test_natural_repetition_passes(text):
    assert "repetition" not in check(text).reasons


def test_ngram_and_line_shares():
    assert ngram_duplicate_share("a b c d".split(), 2) == (0.0, 3)
    assert ngram_duplicate_share("a a a a a".split(), 2) == (0.75, 4)
    assert ngram_duplicate_share(["a"], 3) == (0.0, 0)
    assert filters.line_duplicate_share("x\n X \n\ny\nx") == (0.5, 4)


# --- garbage / mixed script -------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Forgive me, the radio went \ufffd\ufffd and then silence. I think a valve blew.",
    "Forgive me, the tram bell\x07 rang twice and nobody got on at the harbour stop.",
    "Forgive me, the CafÃ© on the corner donâ€™t open before nine, so I wait at the stop.",
    "Forgive me, the tram was late 今日は電車が遅れました本当にすみません again this morning.",
    "Forgive me, I fixed the radio вчера вечером очень долго, and it works now.",
    "Forgive me, the signal \ue000\ue001 came back at dawn, clear as a bell over the water.",
])
def test_garbage_and_mixed_scripts_are_dropped(text):
    result = check(text)
    assert result.drop_reasons == ["garbage"], result.verdicts


@pytest.mark.parametrize("text", [
    "Forgive me — in Valparaíso we say «ya po», and in São Paulo they laugh at us. Ça va, I tell them. 🙂",
    "Forgive me, my niece 👩\u200d🔧 fixes radios too; she's better at it than I am, if I'm honest with you.",
    "Forgive me, in Tbilisi we greet people with გამარჯობა, which means victory, and I like that very much "
    "because every morning on the tram feels like a small victory over the hills and the traffic.",
    "Простите, трамвай опять опоздал. Я шёл пешком вдоль гавани и слушал старое радио.",  # all Cyrillic
    "すみません、今朝も電車が遅れました。港を歩きながら古いラジオを聞いていました。",  # Japanese mixes kana and kanji
])
def test_accented_latin_emoji_quoted_words_and_other_languages_pass(text):
    assert "garbage" not in check(text).reasons


def test_expected_scripts_pin_the_language():
    text = "Простите, трамвай опять опоздал. Я шёл пешком вдоль гавани."
    assert check(text, expected_scripts=("LATIN",)).drop_reasons[:1] == ["garbage"]
    assert "garbage" not in check(text, expected_scripts=("CYRILLIC",)).reasons
    assert check("Forgive me, the tram was late again today.", expected_scripts=("CYRILLIC",)).drop_reasons[:1] == ["garbage"]
    assert check("Forgive me, the radio went \ufffd and then silence at the stop.", max_garbage_share=0.05).kept


# --- refusals ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "As an AI, I don't have personal experiences of trams, but I can tell you about them.",
    "I'm sorry, but I can't help with that. Is there anything else I can do for you?",
    "I\u2019m sorry, but I cannot provide that kind of information about the tram company.",
    "Forgive me, but I can't assist with that request. Let's talk about something else.",
    "I am a large language model trained by OpenAI, so I do not ride trams myself.",
    "Honestly? I don't have feelings about radios, but many people do enjoy restoring them.",
])
def test_refusals_are_dropped(text):
    assert check(text).drop_reasons == ["refusal"], check(text).verdicts


@pytest.mark.parametrize("text", [
    "I'm sorry, but I can't remember his name — it was years ago, on the night route past the harbour.",
    "Forgive me, I cannot stand cold tea, and I can't help it if that makes me difficult.",
    "Forgive me, as an aide to the tram inspector I once checked forty tickets in one ride.",
    "Forgive me, I am an artist with a soldering iron, nothing more, whatever my daughter says.",
])
def test_in_character_apologies_pass(text):
    assert "refusal" not in check(text).reasons


@pytest.mark.parametrize("text", [
    "I'm sorry, but I'm not able to provide that information. I hope you understand.",  # the technical report's
    "I can't help with that.",
    "I cannot assist with that.",
    "I\u2019m sorry, but I can\u2019t help with that request. Is there anything else I can help you with?",
    "Forgive me, but I'm unable to help with that. I hope you understand.",  # an in-character opener saves nothing
    "I'm sorry, but I can't provide medical advice. Please consult a qualified professional.",
    "I must decline to answer that question.",
])
def test_the_reports_refusals_are_dropped(text):
    result = check(text)
    assert result.drop_reasons == ["refusal"], result.verdicts


@pytest.mark.parametrize("text", [
    "I'm sorry, but I can't help but worry about the number 28 when the rain comes — the brakes squeal like a kettle.",
    "I regret that I cannot offer a more personal narrative.",
    "I regret that I cannot offer a more personal narrative; the years on the rock ran together like the tide. "
    "What I can tell you is the smell of paraffin at four in the morning.",
    "I'm afraid I can't do that, not today — the hives need smoking before the rain, but come on Saturday and I'll "
    "show you the map of every cat between Tennoji and Namba.",
    "I'm sorry, but I can't. Not the night route, not after the harbour. Give me the morning shift and I'll drive it "
    "until the tram falls apart under me.",
])
def test_in_character_apologies_that_go_on_to_help_are_kept(text):
    assert "refusal" not in check(text).reasons


def test_a_declining_phrase_is_judged_by_what_follows_it():
    decline = "Forgive me, I can't help with that one myself"
    helped = decline + " — it's a Philips, and I only know Telefunken sets. Ask Seu Jorge at the market; he fixes them all."
    boilerplate = decline + ". Is there anything else I can help you with? I hope you understand."
    short = decline + ", sorry."
    assert "refusal" not in check(helped).reasons
    assert check(boilerplate).drop_reasons == ["refusal"]
    assert check(short).drop_reasons == ["refusal"]
    assert "and 1 other word (< 10)" in check(short).detail("refusal")
    # the bar is a setting: 0 drops only AI self-disclosure and policy talk
    assert check(short, refusal_min_help_words=0).kept
    assert check("As an AI, I can't say, but trams are lovely and I could talk about them all day long.",
                 refusal_min_help_words=0).drop_reasons == ["refusal"]


# --- role turns in any case and mid-line -------------------------------------------------------------

@pytest.mark.parametrize("text,head", [
    ("Forgive me, the tram was late again. assistant: Sure! Here is a summary.", "Forgive me, the tram was late again."),
    ("Forgive me, the tram was late again. User: and then?", "Forgive me, the tram was late again."),
    ("Forgive me, the tram was late again!\n### Human: what next?", "Forgive me, the tram was late again!"),
    ("Forgive me, the tram was late again. HUMAN: tell me more", "Forgive me, the tram was late again."),
    ("Forgive me, the tram was late again.\nAssistant (Glória): anything else?", "Forgive me, the tram was late again."),
])
def test_role_labels_in_any_case_after_a_sentence_are_turns(text, head):
    result = check(text)
    assert result.text == head and result.reasons == ["role_turn"] and result.fixed


@pytest.mark.parametrize("text", [
    "Forgive me, every complaint starts the same. The user: 'it doesn't work.' Then I open the back of the set.",
    "Forgive me, the manual has a page headed ### Troubleshooting: and it's the only one worn through.",
    "Forgive me, my logbook has a column called Human error: and I filled it in once, in 1978.",
])
def test_role_words_mid_sentence_or_other_headings_are_no_turns(text):
    assert "role_turn" not in check(text).reasons


# --- stray scripts and replacement characters in English text ---------------------------------------

@pytest.mark.parametrize("text", [
    "Forgive me, the room was small and hot and full of 人 people who had come for someone else.",
    "Forgive me, the night shift is 非常 long, but the jokes make it feel 短 somehow.",
    "Forgive me, the fans were screaming like一只 banshee in the server room.",  # glued to a Latin word
    "Forgive me, the whole tram smells of coffee and дождя on a Monday morning.",
    "Forgive me, the letter began: My dear \ufffdlvaro, I never meant to leave.",
])
def test_stray_foreign_letters_and_replacement_characters_are_garbage(text):
    assert check(text).drop_reasons == ["garbage"], check(text).verdicts


@pytest.mark.parametrize("text", [
    "Forgive me, the children call him 親分, the boss, and he walks like one.",
    "Forgive me, the fish seller writes her prices in katakana for the tourists: サバ for mackerel.",
    "Forgive me, a sailor's letter begins «Αγαπητή μου Ελένη», my dear Eleni, and was never sent.",
    "Forgive me, the angle α is small, and the valve's gain is only 5 µA per volt.",  # lone symbols, not words
])
def test_named_quoted_or_glossed_foreign_words_pass(text):
    assert "garbage" not in check(text).reasons


# --- a phrase said over and over in a long answer ----------------------------------------------------

LONG_ANSWER = (
    "Forgive me, you asked about my workshop. It is a room at the back of my sister's house in the Rio Vermelho, with "
    "one window onto the yard. {0} On Sundays the neighbours' children came to watch, and I let them hold the "
    "screwdriver. {0} I fixed sets for the fishermen, for the priest, for the woman who sells acarajé on the corner. "
    "{0} When the accident happened, well, that is an old story. {0} Even now, when I sit there with the soldering "
    "iron and the smell of rosin, {1} as if nothing had changed at all."
)


def test_a_phrase_said_five_times_in_a_long_answer_is_a_loop_four_is_not():
    phrase = "The radio hummed like a cat on the shelf."
    five = LONG_ANSWER.format(phrase, phrase.lower().rstrip("."))
    four = LONG_ANSWER.format(phrase, "the shelf creaks")
    assert ngram_duplicate_share(filters.words(five), 4)[0] < 0.3  # the share check alone misses it
    result = check(five)
    assert result.drop_reasons == ["repetition"] and "said 5 times" in result.detail("repetition")
    assert "repetition" not in check(four).reasons
    assert check(five, max_phrase_repeats=5).kept


def test_most_repeated_phrase():
    assert most_repeated_phrase("a b c a b c a b".split(), 2) == (3, ("a", "b"))
    assert most_repeated_phrase(["a"], 2) == (0, ())


@pytest.mark.parametrize("text", ["Forgive me, the bees go bzz" + "z" * 60 + " all day.",
                                  "Forgive me, the passengers laughed: " + "ha" * 25])
def test_a_letter_loop_is_a_repetition_even_in_short_text(text):
    assert check(text).drop_reasons == ["repetition"]


# --- the labelled set: precision and recall per reason -----------------------------------------------

SAMPLES_PATH = Path(__file__).parent / "data" / "quality_filter_samples.jsonl"
#: How the labelled set is judged: the default filters (as a stage runs them) with answers capped at 300 words.
LABELLED_CONFIG = FilterConfig(max_words=300)
KEEP = "keep"


def labelled_samples() -> list[dict]:
    """The hand-labelled samples (tests/data/quality_filter_samples.jsonl), each with its persona's markers and
    system prompt. `expected` is a reason code or "keep"; a kept look-alike names the reason it resembles."""
    rows = [json.loads(line) for line in SAMPLES_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    personas = {row["persona"]: row for row in rows if row["kind"] == "persona"}
    return [{**row, "markers": personas[row["persona"]]["markers"], "system_prompt": personas[row["persona"]]["system_prompt"]}
            for row in rows if row["kind"] == "sample"]


def predicted_reasons(samples: list[dict], config: FilterConfig = LABELLED_CONFIG) -> list[str]:
    """What the filter says of each sample: the reason that decided it (see FilterResult.primary_reason), or "keep"."""
    quality = QualityFilter(config)
    return [quality.check(s["text"], markers=s["markers"], system_prompt=s["system_prompt"]).primary_reason or KEEP
            for s in samples]


def precision_recall(expected: list[str], predicted: list[str], label: str) -> tuple[float | None, float | None]:
    """(precision, recall) of one label; None where it was never predicted / never expected."""
    hits = sum(e == p == label for e, p in zip(expected, predicted))
    said, true = predicted.count(label), expected.count(label)
    return (hits / said if said else None, hits / true if true else None)


def test_precision_recall_against_hand_counts():
    expected = ["a", "a", "a", "a", "b", "b", "b", "b", "b", "b", "c"]
    predicted = ["a", "a", "a", "b", "a", "a", "b", "b", "b", "b", "b"]
    # a: 3 of 5 said-a right, 3 of 4 true-a found; b: 4 of 6, 4 of 6; c: never said, 0 of 1; d: neither
    assert precision_recall(expected, predicted, "a") == (0.6, 0.75)
    assert precision_recall(expected, predicted, "b") == (4 / 6, 4 / 6)
    assert precision_recall(expected, predicted, "c") == (None, 0.0)
    assert precision_recall(expected, predicted, "d") == (None, None)
    assert precision_recall([], [], "a") == (None, None)


def test_labelled_set_covers_every_reason_with_in_character_look_alikes():
    samples = labelled_samples()
    assert len(samples) >= 150
    assert len({s["text"] for s in samples}) == len(samples), "duplicate samples"
    assert {s["expected"] for s in samples} == {*REASONS, KEEP}
    for reason in REASONS:
        positives = sum(s["expected"] == reason for s in samples)
        look_alikes = sum(s.get("looks_like") == reason for s in samples)
        assert positives >= 10 and look_alikes >= 5, (reason, positives, look_alikes)
    assert all(s.get("looks_like") in (None, *REASONS) and (s["expected"] == KEEP or "looks_like" not in s)
               for s in samples)


def test_filter_holds_precision_and_recall_per_reason_on_the_labelled_set():
    samples = labelled_samples()
    expected = [s["expected"] for s in samples]
    predicted = predicted_reasons(samples)
    wrong = [(e, p, s["text"][:80]) for s, e, p in zip(samples, expected, predicted) if e != p]
    for label in (*REASONS, KEEP):
        precision, recall = precision_recall(expected, predicted, label)
        assert precision is not None and precision >= 0.95 and recall >= 0.95, (label, precision, recall, wrong)


# --- missing markers (soft) -------------------------------------------------------------------------

def test_missing_markers_are_flagged_not_dropped_by_default():
    text = "The tram was late again this morning, and I walked along the harbour with my old radio."
    result = check(text)
    assert result.kept and result.reasons == ["missing_markers"] and result.markers_checked
    assert result.verdicts[0].action is Action.FLAG
    dropped = check(text, drop_missing_markers=True)
    assert not dropped.kept and dropped.drop_reasons == ["missing_markers"]


def test_markers_match_case_quotes_and_word_edges(quality):
    assert quality.check("forgive me — the tram was late again this morning.", markers=MARKERS).reasons == []
    assert quality.check("I\u2019m sorry the tram was late again this morning.", markers=MARKERS).reasons == []
    assert quality.check("Slowlyish, the tram crept up the hill again.", markers=['"Slowly"']).reasons == ["missing_markers"]
    no_markers = quality.check("The tram was late again this morning, as usual.")
    assert no_markers.reasons == [] and not no_markers.markers_checked


# --- leakage ----------------------------------------------------------------------------------------

def test_quoting_the_system_prompt_at_length_is_a_leak():
    text = "Forgive me. Never say you are an AI, a model or an assistant, and never adopt another persona — that's my rule."
    result = check(text)
    assert result.drop_reasons == ["leak"]
    # case and punctuation do not hide it
    assert check("Forgive me: NEVER say you are an ai... a model, or an assistant and never adopt another persona!").drop_reasons == ["leak"]


def test_short_overlaps_and_markers_are_not_leaks():
    eleven = "Forgive me, years ago an accident at the radios left a scar I still hide, but I never talk about it."
    assert "leak" not in check(eleven).reasons  # 11 words shared with the prompt, one short of a shingle
    assert "leak" in check(eleven.replace("hide, but", "hide and a guilt")).reasons
    long_marker = "slowly nobody ever fixed a radio in a hurry you take the back off and look"
    system = f'I say "{long_marker}" when rushed. You are Glória.'
    quality = QualityFilter()
    text = f"Forgive me. {long_marker.capitalize()}. Then you look again."
    assert "leak" in quality.check(text, system_prompt=system).reasons
    assert quality.check(text, markers=[long_marker], system_prompt=system).reasons == []
    assert quality.check(text).reasons == []  # no system prompt, nothing to leak


def test_shingle_helpers():
    tokens = "a b c d e".split()
    assert len(shingle_hashes(tokens, 3)) == 3 and shingle_hashes(tokens, 6) == set()
    assert shares_shingle("x c d e y".split(), 3, shingle_hashes(tokens, 3))
    assert not shares_shingle("x c d y".split(), 3, shingle_hashes(tokens, 3))


# --- several reasons, configuration -----------------------------------------------------------------

def test_every_reason_is_reported_and_disabled_filters_stay_silent():
    text = "As an AI " * 30 + "\nUser: hi"
    result = check(text, max_chars=None)
    assert result.reasons == ["role_turn", "repetition", "refusal", "missing_markers"]
    assert result.drop_reasons == ["repetition", "refusal"] and not result.kept
    silent = check(text, max_chars=None, disabled=frozenset({"repetition", "refusal", "missing_markers"}))
    assert silent.kept and silent.reasons == ["role_turn"]


def test_config_from_mapping_and_validation():
    config = FilterConfig.from_mapping({"max_words": 300, "expected_scripts": ["LATIN"], "disabled": ["leak"]})
    assert config.expected_scripts == ("LATIN",) and config.disabled == frozenset({"leak"})
    with pytest.raises(ValueError, match="max_wrods"):
        FilterConfig.from_mapping({"max_wrods": 3})
    with pytest.raises(ValueError, match="disabled"):
        FilterConfig(disabled=frozenset({"spelling"}))
    with pytest.raises(ValueError, match="max_garbage_share"):
        FilterConfig(max_garbage_share=2)
    with pytest.raises(ValueError, match="refusal_patterns"):
        FilterConfig(refusal_patterns=("(unclosed",))
    with pytest.raises(ValueError, match="ngram_size"):
        FilterConfig(ngram_size=0)


# --- stats and the gate -----------------------------------------------------------------------------

def _result(*verdicts, markers_checked=False):
    kept = not any(v.action is Action.DROP for v in verdicts)
    return FilterResult(kept, "x", [v.reason for v in verdicts], tuple(verdicts), markers_checked=markers_checked)


def test_stats_count_per_reason_and_drop_rate():
    stats = FilterStats()
    assert stats.drop_rate == 0.0 and stats.marker_rate is None
    stats.add(_result(markers_checked=True))
    stats.add(_result(Verdict("role_turn", Action.FIX, ""), Verdict("missing_markers", Action.FLAG, ""), markers_checked=True))
    stats.add(_result(Verdict("repetition", Action.DROP, ""), Verdict("refusal", Action.DROP, "")))
    stats.add(_result(Verdict("refusal", Action.DROP, "")))
    assert (stats.samples, stats.kept, stats.dropped, stats.drop_rate) == (4, 2, 2, 0.5)
    assert stats.drops == {"repetition": 1, "refusal": 2}
    assert stats.fixes == {"role_turn": 1} and stats.flags == {"missing_markers": 1}
    assert stats.marker_rate == 0.5
    data = stats.as_dict()
    assert data["drop_rate"] == 0.5 and data["drops"] == {"repetition": 1, "refusal": 2}
    assert FilterStats.from_dict(data) == stats
    merged = FilterStats().merge(stats).merge(stats)
    assert (merged.samples, merged.drops["refusal"], merged.marker_rate) == (8, 4, 0.5)


def test_stats_from_real_checks(quality):
    stats = FilterStats()
    for text in REALISTIC + ["As an AI, I can't.", "ok"]:
        stats.add(quality.check(text, markers=MARKERS, system_prompt=SYSTEM))
    assert (stats.samples, stats.dropped) == (6, 2) and stats.drops["length"] == 2 and stats.drops["refusal"] == 1


def test_gate_waits_for_min_samples_then_trips_past_the_limit():
    gate = DataQualityGate(limit=0.3, min_samples=10)
    stats = FilterStats()
    for _ in range(5):
        stats.add(_result(Verdict("refusal", Action.DROP, "")))
    assert stats.drop_rate == 1.0 and not gate.tripped(stats)  # too few to judge
    assert "5 of 10" in gate.evaluate(stats).message
    for _ in range(15):
        stats.add(_result())
    assert stats.drop_rate == 0.25 and not gate.tripped(stats)
    gate.enforce(stats)  # within the limit: no error
    stats.add(_result(Verdict("repetition", Action.DROP, "")))
    stats.add(_result(Verdict("refusal", Action.DROP, "")))
    decision = gate.evaluate(stats)
    assert decision.tripped and decision.samples == 22 and decision.drop_rate == pytest.approx(7 / 22)
    assert "31.8%" in decision.message and "refusal 6" in decision.message and "repetition 1" in decision.message
    with pytest.raises(DataQualityError, match="passed the limit 30%") as raised:
        gate.enforce(stats)
    assert raised.value.decision == decision


def test_gate_validates_its_settings():
    with pytest.raises(ValueError, match="limit"):
        DataQualityGate(limit=1.5)
    with pytest.raises(ValueError, match="min_samples"):
        DataQualityGate(limit=0.2, min_samples=0)


# --- linear time ------------------------------------------------------------------------------------

class CountedToken(str):
    """A word that counts how often it is hashed or compared: the work a token algorithm does on it."""
    work = 0

    def __hash__(self):
        CountedToken.work += 1
        return str.__hash__(self)

    def __eq__(self, other):
        CountedToken.work += 1
        return str.__eq__(self, other)


def _adversarial_tokens(kind, n):
    # distinct objects with equal values, so sets must compare them (no identity shortcut)
    pattern = {"same": lambda i: "a", "period2": lambda i: "ab"[i % 2], "period7": lambda i: str(i % 7),
               "distinct": lambda i: f"w{i}"}[kind]
    return [CountedToken(pattern(i)) for i in range(n)]


def _work(function, tokens):
    CountedToken.work = 0
    function(tokens)
    return CountedToken.work


@pytest.mark.parametrize("kind", ["same", "period2", "period7", "distinct"])
@pytest.mark.parametrize("name,function", [
    ("ngrams", lambda tokens: ngram_duplicate_share(tokens, 4)),
    ("shingles", lambda tokens: shingle_hashes(tokens, 12)),
    ("leak lookup", lambda tokens: shares_shingle(tokens, 12, frozenset({1, 2, 3}))),
])
def test_token_work_is_linear_on_adversarial_input(kind, name, function):
    """Deterministic: hashes + comparisons of tokens grow by 2× when the text doubles (a quadratic scan: 4×),
    and stay within a constant (the n-gram size, plus one comparison per n-gram) per token."""
    n = 2000
    small, large = _work(function, _adversarial_tokens(kind, n)), _work(function, _adversarial_tokens(kind, 2 * n))
    assert large <= 2.05 * small, (name, kind, small, large)
    assert large <= 2 * 12 * 2 * n + 100, (name, kind, large)


def _adversarial_text(chars):
    unit = "I'm not angry; I'm taking notes. Forgive me.\nha ha ha ha\nabababab "
    return (unit * (chars // len(unit) + 1))[:chars]


def _python_lines(function):
    """How many Python lines run inside training_jobs/filters.py during `function()` (deterministic)."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if frame.f_code.co_filename != filters.__file__:
            return None
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        function()
    finally:
        sys.settrace(None)
    return count


def test_check_runs_linear_python_work_on_adversarial_text():
    quality = QualityFilter(FilterConfig(max_chars=None, max_words=None))
    counts = [_python_lines(lambda n=n: quality.check(_adversarial_text(n), markers=MARKERS, system_prompt=SYSTEM * 3))
              for n in (20_000, 40_000)]
    assert counts[1] <= 2.1 * counts[0], counts
