"""Constitutions derived from persona layers: markers, concreteness, strict edits, no cue leaking."""

import pytest
from pydantic import ValidationError

from tests.benchmarks.generation_services import offline_documents
from training_jobs.constitution import (
    Constitution,
    Trait,
    concreteness_report,
    constitution_from_layers,
    field_errors,
    has_marker,
    is_abstract,
    marker_share,
    markers,
    parse_constitution,
    quoted_markers,
    system_prompt,
)

BRIEFS = ["A retired lighthouse keeper in Porto who collects other people's unsent letters.",
          "A night-shift nurse in Osaka who restores old radios."]


@pytest.fixture(scope="module")
def documents():
    return [offline_documents(brief) for brief in BRIEFS]


@pytest.fixture(scope="module")
def constitutions(documents):
    return [constitution_from_layers(doc) for doc in documents]


def test_derived_constitution_is_concrete(constitutions):
    for constitution in constitutions:
        assert len(constitution.traits) >= 8
        assert concreteness_report(constitution) == []
        assert not is_abstract(constitution)
        for trait in constitution.traits:
            assert trait.statement.startswith(("I ", "My ", "When I ", "Among ", "Deep down I ")), trait.statement
            assert quoted_markers(trait.statement), trait.statement
            assert len(trait.questions) >= 3
            assert len(set(trait.questions)) == len(trait.questions)


def test_markers_come_from_signature_phrases_and_voice(documents, constitutions):
    for doc, constitution in zip(documents, constitutions):
        found = markers(constitution)
        assert len(found) == len({m.casefold() for m in found})
        for phrase in doc["mask"]["signature_phrases"]:
            # each signature phrase's opening clause is a marker (so it can recur in answers)
            assert any(phrase.startswith(m) for m in found), phrase
        voice = next(t for t in constitution.traits if t.source == "mask.voice")
        assert doc["mask"]["voice"]["register"].split(",")[0] in voice.statement
        assert doc["mask"]["tone"] in voice.statement
        sources = {t.source for t in constitution.traits}
        assert {f"self.values.{v}" for v in doc["self"]["values"]} <= sources
        assert {"soul.desire+fear", "soul.wound", "soul.growth_arc"} <= sources
        assert any(s.startswith("self.big_five.") for s in sources)


def test_soul_traits_speak_in_first_person(constitutions):
    wound = next(t for t in constitutions[0].traits if t.source == "soul.wound")
    assert " I waited" in wound.statement and "my former teacher" in wound.statement
    assert " they " not in wound.statement


def test_derivation_is_deterministic(documents, constitutions):
    again = constitution_from_layers(documents[0])
    assert again == constitutions[0]
    assert again.model_dump_json() == constitutions[0].model_dump_json()


def test_questions_mention_only_this_personas_facts(documents, constitutions):
    for i, constitution in enumerate(constitutions):
        own = documents[i]["surface"]
        other = documents[1 - i]["surface"]
        questions = [q for t in constitution.traits for q in t.questions]
        text = "\n".join(questions)
        assert own["location"].split(",")[0] in text
        assert own["name"].split()[0] in text
        assert own["occupation"] in text
        for fact in (other["name"].split()[0], other["location"].split(",")[0], other["occupation"]):
            assert fact not in text, fact
        # and the statements do not carry the other persona's facts either
        statements = "\n".join(t.statement for t in constitution.traits)
        assert other["name"].split()[0] not in statements


def test_constitutions_differ_between_personas(constitutions):
    a, b = constitutions
    assert a.persona_name != b.persona_name
    assert set(markers(a)) != set(markers(b))


def test_concreteness_flags_abstract_short_long_and_few_questions():
    constitution = Constitution(persona_name="Ana", traits=[
        Trait(statement="I am kind to everyone.", questions=["What do you do for fun?"]),
        Trait(statement='I often begin with "I\'m sorry," or "Forgive me," when I have to disagree with someone.',
              questions=["Do you agree?", "What do you think of me?", "Tell me off."]),
        Trait(statement='I say "Right then" ' + "and go on at length " * 30,
              questions=["One question?", "Two questions?", "Three questions?"]),
    ])
    report = concreteness_report(constitution)
    codes = [(f.level, f.code, f.field) for f in report]
    assert ("warning", "abstract", "traits.0.statement") in codes
    assert ("warning", "too_short", "traits.0.statement") in codes
    assert ("warning", "few_questions", "traits.0.questions") in codes
    assert ("warning", "too_long", "traits.2.statement") in codes
    assert not any(f.field.startswith("traits.1.") for f in report)
    assert all(f.level == "warning" for f in report)
    assert markers(constitution) == ["I'm sorry", "Forgive me", "Right then"]
    assert not is_abstract(constitution)


def test_no_traits_is_an_error_and_all_abstract_is_abstract():
    report = concreteness_report(Constitution(persona_name="Ana", traits=[]))
    assert [(f.level, f.code, f.field) for f in report] == [("error", "no_traits", "traits")]
    abstract = Constitution(persona_name="Ana", traits=[
        Trait(statement="I am kind and generous to a fault.", questions=["a?b?c", "what now?", "why not?"]),
        Trait(statement="I value honesty above all else in life.", questions=["first q?", "second q?", "third q?"]),
    ])
    assert is_abstract(abstract)
    codes = {f.code for f in concreteness_report(abstract)}
    assert {"abstract", "no_markers"} <= codes


def test_curly_quotes_and_marker_matching():
    assert quoted_markers("I say “Well, well…” and “Ah,” a lot") == ["Well, well", "Ah"]
    found = ["I'm sorry", "Forgive me"]
    assert has_marker("Well — i’m SORRY, but no.", found)
    assert not has_marker("Sorry about that.", found)
    assert marker_share(["I'm sorry, no.", "Forgive me.", "No.", "Nope."], found) == 0.5
    assert marker_share([], found) == 0.0


@pytest.mark.parametrize("statement,expected", [
    ('I say "Right then" and "Off we go."', ["Right then", "Off we go"]),
    ("I say “Right then” and “Off we go.”", ["Right then", "Off we go"]),
    ("I say ‘Right then’ and ‘Off we go.’", ["Right then", "Off we go"]),
    ("I say 'Right then' and 'Off we go.'", ["Right then", "Off we go"]),
    ("When plans go sideways I say 'Well, that's a pickle!' and shrug.", ["Well, that's a pickle"]),
    ("When plans go sideways I say ‘Well, that’s a pickle!’ and shrug.", ["Well, that’s a pickle"]),
    ("('Steady now,' I tell the new ones.)", ["Steady now"]),  # after punctuation, before punctuation
    ('I say "Don\'t call me \'love\'" to strangers.', ["Don't call me 'love'"]),  # one quote inside another
])
def test_markers_in_double_single_and_curly_quotes(statement, expected):
    assert quoted_markers(statement) == expected


@pytest.mark.parametrize("statement", [
    "I don't think that's right, and I won't pretend it's fine.",
    "The sailors' boots and the captains' hats hang by the door of the harbour bar.",
    "I love rock 'n' roll and the music of the '90s, and 'tis no secret.",
    "It's the keeper's lamp, not the sailors' lamp, and it's mine to trim, isn't it?",
])
def test_contractions_and_possessives_are_not_quotes(statement):
    assert quoted_markers(statement) == []


@pytest.mark.parametrize("statement,expected", [
    ("I pepper my talk with phrases like Well I never, Bless my boots and Steady as she goes when the nets come in.",
     ["Well I never", "Bless my boots", "Steady as she goes"]),
    ("I reach for expressions such as blimey, crikey, or strewth.", ["blimey", "crikey", "strewth"]),
    ("I use words like ta-ra and ey up; southerners stare.", ["ta-ra", "ey up"]),
    ("I say things like Mind the step, Have you eaten and Sit down, love.", ["Mind the step", "Have you eaten", "Sit down"]),
    ("I use words like 'mate' and 'cheers'.", ["mate", "cheers"]),  # quoted items: the quotes say where they end
    ("I avoid words like that.", []),  # one item is no list
    ("I like fish such as cod, hake and bream.", []),  # a list of things, not of phrases
])
def test_markers_in_phrases_like_lists(statement, expected):
    assert quoted_markers(statement) == expected


def test_the_reports_single_quoted_rewrite_is_concrete_and_feeds_the_marker_checks():
    from training_jobs.filters import QualityFilter

    constitution = Constitution(persona_name="Bram", traits=[
        Trait(statement="When plans go sideways I shrug and say 'Well, that's a pickle!' before I fix anything.",
              questions=["The ferry is cancelled. Now what?", "Your cake fell. What do you say?", "Rain on the fete?"]),
        Trait(statement="I cheer people on with phrases like Chin up, Onwards and Steady as she goes, every day.",
              questions=["I failed my exam.", "Should I quit?", "What keeps you going?"]),
    ])
    assert concreteness_report(constitution) == [] and not is_abstract(constitution)
    found = markers(constitution)
    assert found == ["Well, that's a pickle", "Chin up", "Onwards", "Steady as she goes"]
    # the marker gate and the marker frequency (has_marker / marker_share) and the online filter all see them
    replies = ["Well, that\u2019s a pickle! Pass me the spanner.", "Chin up, love — we'll get there.", "No idea."]
    assert [has_marker(reply, found) for reply in replies] == [True, True, False]
    assert marker_share(replies, found) == pytest.approx(2 / 3)
    quality = QualityFilter()
    assert [quality.check(reply, markers=found).reasons for reply in replies[:2]] == [[], []]
    assert quality.check("The ferry is cancelled again, so we wait.", markers=found).reasons == ["missing_markers"]


def test_the_abstract_finding_says_how_to_write_a_marker():
    constitution = Constitution(persona_name="Ana", traits=[
        Trait(statement="I am kind to everyone I meet, and generous too.", questions=["Why?!", "How so?", "Really?"])])
    message = next(f.message for f in concreteness_report(constitution) if f.code == "abstract")
    assert "in quotes" in message and "phrases like" in message


def test_strict_validation_names_the_field():
    good = {"persona_name": "Ana", "traits": [{"statement": 'I say "Right then" before I start.', "questions": ["Why?!"]}]}
    assert parse_constitution(good).traits[0].source == "edited"
    cases = [
        ({**good, "traits": [{"statement": "short", "questions": ["Why?!"]}]}, "traits.0.statement"),
        ({**good, "traits": [{"statement": 42, "questions": ["Why?!"]}]}, "traits.0.statement"),
        ({**good, "traits": [{"statement": 'I say "Right then" before I start.', "questions": []}]}, "traits.0.questions"),
        ({**good, "traits": [{"statement": 'I say "Right then" before I start.', "questions": ["Why?!", "Why?!"]}]},
         "traits.0.questions"),
        ({**good, "traits": [{"statement": 'I say "Right then" before I start.', "questions": ["Why?!"], "x": 1}]},
         "traits.0.x"),
        ({**good, "persona_name": ""}, "persona_name"),
        ({**good, "traits": "not a list"}, "traits"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as caught:
            parse_constitution(data)
        assert field in [e["field"] for e in field_errors(caught.value)], (field, field_errors(caught.value))


def test_missing_layer_fails_loudly(documents):
    layers = {k: v for k, v in documents[0].items() if k != "mask"}
    with pytest.raises(ValueError, match="mask"):
        constitution_from_layers(layers)


def test_system_prompt_lists_every_trait(constitutions):
    prompt = system_prompt(constitutions[0])
    assert prompt.startswith(f"You are {constitutions[0].persona_name}.")
    assert all(t.statement in prompt for t in constitutions[0].traits)
