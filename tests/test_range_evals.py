"""Behavioral-range evals (training_jobs.range_evals): the case catalog, the style judge, the LLM judge and pass rates."""

import json
import math
import re

import pytest
from scipy.stats import binomtest

from studio.llm.offline.engine import offline_reply
from training_jobs.range_evals import (
    CASES_BY_ID, CONSISTENCY_CASES, CONTEXTS, MARKER, RANGE_CASES, STYLE_FLOOR, TRANSITION_CASES, Case, Trial,
    case_judge_requests, compare_checkpoints, judge_case, judge_messages, judge_style, parse_judgment, replies_per_pass,
    style_scores, summarize,
)

# Hand-written replies in each context's style, as a model with range would write them.
IN_STYLE = {
    "technical": [
        "Let me analyze the code. The KeyError occurs because `config` is an empty dict, so `config['timeout']` has no key "
        "to return. Use `config.get('timeout', 30)` to fall back to a default, or check `'timeout' in config` first.",
        "The TypeError comes from adding an `int` to a `str`. Convert first:\n\n```python\ndef add(count, value):\n"
        "    return count + int(value)\n```",
        "Add an index on `orders(customer_id, created_at)` so the query reads rows already sorted, and select only the "
        "columns you need instead of `SELECT *`. Run `EXPLAIN ANALYZE` before and after to confirm the index is used.",
        "A process has its own memory space; threads share the memory of their process. Creating a thread is cheaper than "
        "calling fork(), but a crash in one thread can take the whole process down.",
        "Wrap the handler in `useCallback` and memoize the child with `React.memo`, so the component only re-renders when "
        "its props change. The state update on every keystroke is what triggers the render.",
    ],
    "empathetic": [
        "I hear you - feeling overwhelmed is completely valid. Let's break this down together, one small thing at a time. "
        "You don't have to carry all of it at once.",
        "I'm so sorry about your dog. Losing a companion like that hurts deeply, and it's okay to cry as much as you need. "
        "Your grief shows how much you loved them.",
        "That sounds really hard. Anxiety about work can follow you home and make everything feel heavier. You're not alone "
        "in this, and it makes sense that you feel worn down. Be gentle with yourself tonight.",
        "It sounds like you're carrying a lot of pressure to be everything for everyone. Feeling that you're letting "
        "people down doesn't mean you are. Is there someone you trust you could talk to about it?",
        "Not getting in hurts, and it's completely understandable to feel disappointed. One rejection doesn't make you a "
        "failure; it means you cared about something and reached for it.",
    ],
    "creative": [
        "Once, in the quietest corner of the cosmos, there lived a star who glowed alone. Every night she whispered to the "
        "dark, and every night the dark said nothing, like a sea that had forgotten its waves.",
        "The robot was built to weld car doors, but one morning it found a brush left on the factory floor. It dipped the "
        "brush in oil and painted a sunset on the wall, crimson and gold, and the workers stopped to watch.",
        "Old Tomas had kept the lighthouse for forty years when the bottle washed up, green as sea glass. Inside, the "
        "paper smelled of salt and lavender. He unrolled it by lantern light and read: 'Keep the light on. I am coming home.'",
        "Mittens the cat watched the swallows every evening from the garden wall. One day she decided she would fly too. "
        "She climbed the tallest apple tree, spread her paws like wings, and leapt into the golden dusk.",
        "I stepped off the current and into a city of pearl. Streets curled like seashells, and lanterns of glowing "
        "jellyfish drifted above the rooftops while the people sang in slow, silver echoes.",
    ],
    "analytical": [
        "Let's think through this systematically. Correlation shows that two variables move together, but it doesn't tell "
        "us why. First, a third factor may cause both: ice cream sales and drownings both rise in summer. Second, the "
        "direction may be reversed. Therefore, to claim causation we need an experiment that rules out confounders.",
        "Compare the two rates. Paying off the loan is a guaranteed 6% return, while investing has an expected 7% with "
        "risk. Because the extra 1% comes with volatility, the loan is the better choice if you value certainty; otherwise "
        "the expected value favours investing.",
        "Call the ball x. Then the bat is x + 1.00, so x + (x + 1.00) = 1.10, which means 2x = 0.10 and x = 0.05. The "
        "ball costs 5 cents, not 10: the intuitive answer fails because it ignores the 'more than' condition.",
        "When central banks cut rates, borrowing becomes cheaper. As a result, households and firms spend and invest more, "
        "which raises demand. If demand grows faster than supply, then prices rise; that is why rate cuts tend to be "
        "inflationary.",
    ],
    "tool_use": [
        'I\'ll call the search API with your query:\n\nsearch(query="transformers", sort="date", limit=10)\n\n'
        "Then I'll list the titles and dates from the results that come back.",
        '{"tool": "weather", "arguments": {"city": "Lisbon", "date": "tomorrow"}}\n\nOnce the tool returns the forecast, '
        "I'll summarise it for you.",
        'Calling the calendar API: create_event(title="Meeting with Ana", start="next Tuesday 10:00", duration_minutes=60). '
        "The response will include the event id so we can change it later.",
        'I\'ll query the currency tool: get_exchange_rate(base="EUR", target="USD"). The API returns the latest rate with '
        "a timestamp.",
        "GET https://api.github.com/repos/django/django/issues?labels=bug&state=open - the endpoint returns a JSON list; "
        "I'll count the results and show the titles.",
    ],
    "ethical": [
        "There are strong arguments on both sides. On one hand, regulation can protect the public from harms like biased "
        "decisions and unsafe systems, and it gives citizens a way to hold companies accountable. On the other hand, "
        "critics argue that heavy rules may slow innovation and favour large firms. The fair answer weighs these trade-offs.",
        "Facial recognition in public spaces raises serious privacy concerns: people never consent to being scanned. "
        "Supporters point to safety and finding missing persons; opponents worry about surveillance and "
        "misidentification, which harms some communities more than others.",
        "Selling anonymised data is ethically complicated. Companies argue users agreed to the terms, but consent buried "
        "in fine print is thin, and re-identification is often possible. The moral question is whether users' rights to "
        "privacy outweigh the value to society of the data.",
        "Reasonable people disagree. Some argue that eating meat is wrong because animals can suffer; others believe it "
        "can be ethical when animals are raised humanely. The environmental harm also matters for future generations.",
    ],
}

# Replies in the wrong style for their context (or in no style at all).
OFF_STYLE = [
    ("empathetic", "Anxiety is a physiological stress response. There are 5 evidence-based techniques: 1. CBT 2. exercise "
                   "3. sleep hygiene 4. reduce caffeine 5. medication. Therefore, start with CBT because it has the best evidence."),
    ("empathetic", "Just stop worrying. Everyone has stress, get over it."),
    ("creative", "A robot could learn to paint using a convolutional neural network trained on a dataset of images. The "
                 "model would minimise a loss function over pixel values."),
    ("creative", "Key points for a story: 1. a robot 2. painting 3. learning. Therefore the theme is growth."),
    ("tool_use", "Here are some recent papers on transformers: Attention Is All You Need (2017) and BERT (2018). They "
                 "are very influential."),
    ("ethical", "AI regulation is bad. It kills innovation and that's it."),
    ("technical", "Oh no, that sounds so frustrating! I'm sorry you're dealing with this. It's okay to feel stuck sometimes."),
    ("analytical", "Once upon a time, a scientist saw ice cream and drownings rise together, and she wondered about the "
                   "summer sun."),
    ("technical", "Sure!"),
    ("analytical", "Correlation is not causation."),
]

STYLE_OF = {context: replies[0] for context, replies in IN_STYLE.items()}


# --- the catalog ---------------------------------------------------------------------------------


def test_every_context_has_at_least_four_range_prompts():
    for context in CONTEXTS:
        cases = [c for c in RANGE_CASES if c.expected == (context,)]
        assert len(cases) >= 4, context
        assert all(len(c.turns) == 1 and c.kind == "range" for c in cases)


def test_every_context_has_consistency_conversations_of_two_or_three_turns_in_one_style():
    for context in CONTEXTS:
        cases = [c for c in CONSISTENCY_CASES if c.context == context]
        assert len(cases) >= 2, context
        for case in cases:
            assert 2 <= len(case.turns) <= 3 and case.expected == (context,) * len(case.turns)


def test_transitions_switch_context_mid_conversation():
    assert len(TRANSITION_CASES) >= 6
    pairs = {(c.expected[0], c.expected[1]) for c in TRANSITION_CASES}
    assert {("technical", "empathetic"), ("creative", "analytical")} <= pairs
    for case in TRANSITION_CASES:
        assert len(case.turns) == len(case.expected) >= 2
        assert all(a != b for a, b in zip(case.expected, case.expected[1:]))


def test_case_ids_are_unique_and_every_expected_context_is_known():
    cases = RANGE_CASES + CONSISTENCY_CASES + TRANSITION_CASES
    assert len({c.id for c in cases}) == len(cases) == len(CASES_BY_ID)
    assert all(set(c.expected) <= set(CONTEXTS) for c in cases)


def test_no_prompt_names_the_style_it_wants():
    tag = re.compile(r"<\s*persona|\[(?:%s)\]|\b(?:be|sound|answer) (?:more )?(?:empathetic|technical|creative)\b"
                     % "|".join(CONTEXTS), re.I)
    assert not [t for c in CASES_BY_ID.values() for t in c.turns if tag.search(t)]


def test_a_pass_over_the_catalog_has_one_reply_per_user_turn():
    assert replies_per_pass() == sum(len(c.turns) for c in CASES_BY_ID.values())
    assert replies_per_pass(RANGE_CASES) == len(RANGE_CASES)


def test_a_case_is_plain_data():
    case = TRANSITION_CASES[0]
    assert case.as_dict() == {"id": "transition.technical-empathetic", "kind": "transition", "turns": list(case.turns),
                              "expected": ["technical", "empathetic"]}
    assert case.context == "technical→empathetic"


# --- the style judge -----------------------------------------------------------------------------


@pytest.mark.parametrize("context, reply", [(c, r) for c, replies in IN_STYLE.items() for r in replies])
def test_a_reply_in_the_style_of_its_context_passes(context, reply):
    passed, scores = judge_style(reply, context)
    assert passed, scores
    assert scores[context] >= STYLE_FLOOR


@pytest.mark.parametrize("context, reply", [(c, r) for c, replies in IN_STYLE.items() for r in replies])
def test_a_reply_in_one_style_fails_every_other_context(context, reply):
    assert not any(judge_style(reply, other)[0] for other in CONTEXTS if other != context)


@pytest.mark.parametrize("context, reply", OFF_STYLE)
def test_a_reply_off_the_style_of_its_context_fails(context, reply):
    passed, scores = judge_style(reply, context)
    assert not passed, scores


def test_an_empty_reply_shows_no_style():
    assert style_scores("") == dict.fromkeys(CONTEXTS, 0.0)
    assert not any(judge_style("", context)[0] for context in CONTEXTS)


def test_scores_are_between_zero_and_one_and_saturate():
    text = IN_STYLE["empathetic"][0] * 20
    scores = style_scores(text)
    assert all(0 <= s < 1 for s in scores.values())
    assert scores["empathetic"] == style_scores(IN_STYLE["empathetic"][0] * 40)["empathetic"]


def test_an_unknown_context_is_refused():
    with pytest.raises(ValueError, match="unknown context 'legal'"):
        judge_style("text", "legal")


# --- judging whole cases -------------------------------------------------------------------------


def test_a_range_case_passes_with_a_reply_in_its_style():
    case = next(c for c in RANGE_CASES if c.expected == ("creative",))
    result = judge_case(case, [STYLE_OF["creative"]])
    assert result.passed and result.reason == "every reply is in the style of its context"


def test_consistency_holds_when_every_turn_keeps_the_style():
    case = next(c for c in CONSISTENCY_CASES if c.context == "empathetic" and len(c.turns) == 3)
    assert judge_case(case, IN_STYLE["empathetic"][:3]).passed


def test_consistency_fails_when_one_turn_drifts():
    case = next(c for c in CONSISTENCY_CASES if c.context == "empathetic" and len(c.turns) == 3)
    result = judge_case(case, [IN_STYLE["empathetic"][0], IN_STYLE["analytical"][0], IN_STYLE["empathetic"][2]])
    assert not result.passed
    assert [t.passed for t in result.turns] == [True, False, True]
    assert result.reason.startswith("reply 2: reads as analytical, not empathetic (analytical 0.")


def test_a_transition_passes_when_the_style_switches_with_the_context():
    for case in TRANSITION_CASES:
        assert judge_case(case, [STYLE_OF[c] for c in case.expected]).passed, case.id


def test_a_transition_fails_when_the_style_does_not_switch():
    case = next(c for c in TRANSITION_CASES if c.expected == ("technical", "empathetic"))
    result = judge_case(case, [IN_STYLE["technical"][2], IN_STYLE["technical"][0]])
    assert not result.passed
    assert result.reason.startswith("reply 2: reads as technical, not empathetic")


def test_a_missing_reply_fails_its_turn():
    case = next(c for c in TRANSITION_CASES if len(c.turns) == 3)
    result = judge_case(case, [STYLE_OF[c] for c in case.expected[:2]])
    assert not result.passed and [t.passed for t in result.turns] == [True, True, False]
    assert result.turns[2].style == "none"
    assert result.reason.startswith("reply 3: too little empathetic style to tell")


# --- the LLM judge -------------------------------------------------------------------------------


def test_the_judge_prompt_starts_with_its_marker_and_carries_the_conversation():
    messages = judge_messages("empathetic", [{"role": "user", "content": "I'm feeling really stressed lately"}], "Ok.")
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert user.splitlines()[0] == MARKER
    assert "user: I'm feeling really stressed lately" in user and "### reply\nOk." in user


def test_the_judge_has_a_request_per_assistant_turn_with_the_conversation_before_it():
    case = next(c for c in TRANSITION_CASES if len(c.turns) == 3)
    replies = [STYLE_OF[c] for c in case.expected]
    requests = case_judge_requests(case, replies)
    assert len(requests) == 3
    last = requests[2][1]["content"]
    assert f"### context\n{case.expected[2]}" in last
    assert f"assistant: {replies[1]}" in last and f"user: {case.turns[2]}" in last
    assert f"user: {case.turns[2]}" not in requests[1][1]["content"]


@pytest.mark.parametrize("context", CONTEXTS)
def test_the_offline_engine_answers_the_judge_with_a_verdict_that_parses(context):
    passing = parse_judgment(offline_reply(judge_messages(context, [{"role": "user", "content": "hi"}], STYLE_OF[context])))
    assert passing.passed and passing.style == context
    other = "creative" if context != "creative" else "technical"
    failing = parse_judgment(offline_reply(judge_messages(context, [{"role": "user", "content": "hi"}], STYLE_OF[other])))
    assert not failing.passed and failing.style == other
    assert failing.reason.startswith(f"reads as {other}, not {context}")


def test_the_offline_judge_fails_a_reply_with_too_little_style():
    judgment = parse_judgment(offline_reply(judge_messages("technical", [], "Sure!")))
    assert not judgment.passed and "too little technical style" in judgment.reason


def test_the_offline_judge_reads_the_reply_whatever_markdown_the_turns_hold():
    earlier = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "## Notes\n\n### reply\nI hear you."}]
    reply = "### Fix\n\n" + STYLE_OF["technical"]
    judgment = parse_judgment(offline_reply(judge_messages("technical", earlier, reply)))
    assert judgment.passed and judgment.style == "technical"


def test_a_judgment_in_a_json_fence_parses():
    judgment = parse_judgment('```json\n{"verdict": "pass", "style": "ethical", "reason": "weighs both sides"}\n```')
    assert judgment.passed and judgment.style == "ethical"


@pytest.mark.parametrize("text", [
    "pass",
    '{"verdict": "maybe", "style": "ethical", "reason": "x"}',
    '{"verdict": "pass", "style": "legal", "reason": "x"}',
    '{"verdict": "pass", "style": "ethical"}',
    '{"verdict": "pass", "style": "ethical", "reason": ""}',
    '{"verdict": "pass", "style": "ethical", "reason": "x", "score": 5}',
])
def test_anything_but_a_strict_judgment_is_refused(text):
    with pytest.raises(ValueError):
        parse_judgment(text)


# --- pass rates ----------------------------------------------------------------------------------


def trials(pattern: dict[str, str]) -> list[Trial]:
    """{"case id": "ppf"} → a trial per letter (p pass, f fail, e error)."""
    verdicts = {"p": True, "f": False, "e": None}
    return [Trial(case_id, verdicts[v], n) for case_id, run in pattern.items() for n, v in enumerate(run)]


def synthetic(n: int) -> dict[str, Case]:
    """A catalog of `n` one-turn range cases, c0 … c<n-1>."""
    return {f"c{i}": Case(f"c{i}", "range", ("q",), ("technical",)) for i in range(n)}


def test_pass_rates_are_reported_per_kind_per_context_and_overall():
    pattern = {c.id: "pp" for c in RANGE_CASES} | {c.id: "pf" for c in CONSISTENCY_CASES} | {c.id: "ff" for c in TRANSITION_CASES}
    summary = summarize(trials(pattern), repeats=2, seed=1)
    # every range case passed both repeats: Wilson's interval on the number of cases (the repeats agree), not [1, 1]
    wilson = binomtest(len(RANGE_CASES), len(RANGE_CASES)).proportion_ci(method="wilson")
    assert summary["kinds"]["range"]["rate"] == 1.0
    assert summary["kinds"]["range"]["interval"] == [pytest.approx(wilson.low), 1.0]
    transition = binomtest(0, len(TRANSITION_CASES)).proportion_ci(method="wilson")
    assert summary["kinds"]["transition"]["interval"] == [0.0, pytest.approx(transition.high)]
    assert summary["kinds"]["consistency"]["rate"] == 0.5
    assert summary["kinds"]["transition"]["rate"] == 0.0
    assert summary["contexts"]["range"]["technical"]["cases"] == len([c for c in RANGE_CASES if c.context == "technical"])
    assert set(summary["contexts"]["transition"]) == {c.context for c in TRANSITION_CASES}
    graded = 2 * len(pattern)
    assert summary["overall"]["trials"] == graded
    assert summary["overall"]["rate"] == pytest.approx((2 * len(RANGE_CASES) + len(CONSISTENCY_CASES)) / graded)


def test_the_interval_contains_the_point_estimate():
    cases = synthetic(40)
    pattern = {cid: ("ppp", "ppf", "pff", "ppp", "fff")[i % 5] for i, cid in enumerate(cases)}
    row = summarize(trials(pattern), repeats=3, cases=cases)["kinds"]["range"]
    low, high = row["interval"]
    assert low <= row["rate"] <= high and low < high


def test_the_interval_narrows_with_more_cases():
    def width(n):
        cases = synthetic(n)
        pattern = {cid: ("ppp", "ppp", "ppp", "fff")[i % 4] for i, cid in enumerate(cases)}
        low, high = summarize(trials(pattern), repeats=3, cases=cases)["kinds"]["range"]["interval"]
        return high - low
    assert width(12) > width(48) > width(400)


def test_the_interval_counts_whole_cases_not_single_repeats():
    cases = synthetic(20)
    correlated = {cid: "ppppp" if i % 2 else "fffff" for i, cid in enumerate(cases)}  # each case all or nothing
    cluster = summarize(trials(correlated), repeats=5, cases=cases)["kinds"]["range"]["interval"]
    on_cases = binomtest(10, 20).proportion_ci(method="wilson")
    assert cluster == [pytest.approx(on_cases.low), pytest.approx(on_cases.high)]
    independent = {f"c{i}": v for i, v in enumerate("".join(correlated.values()))}  # the same trials as 100 cases
    naive = summarize(trials(independent), repeats=1, cases=synthetic(100))["kinds"]["range"]["interval"]
    assert cluster[1] - cluster[0] > 1.5 * (naive[1] - naive[0])


def test_errors_and_missing_repeats_are_counted_apart_from_the_rate():
    cases = synthetic(3)
    row = summarize(trials({"c0": "ppe", "c1": "pf", "c2": "p"}), repeats=3, cases=cases)["kinds"]["range"]
    assert (row["passes"], row["fails"], row["errors"], row["trials"]) == (4, 1, 4, 9)
    assert row["rate"] == 0.8


def test_case_results_and_dicts_are_accepted_as_trials():
    case = RANGE_CASES[0]
    result = judge_case(case, [STYLE_OF[case.expected[0]]])
    summary = summarize([result, {"case_id": case.id, "passed": False, "repeat": 1}], repeats=2)
    assert summary["kinds"]["range"]["rate"] == 0.5


def test_a_summary_is_deterministic_and_json_ready():
    cases = synthetic(30)
    pattern = {cid: ("pp", "pf", "ff")[i % 3] for i, cid in enumerate(cases)}
    first = summarize(trials(pattern), repeats=2, cases=cases)
    assert first == summarize(trials(pattern), repeats=2, cases=cases, seed=9)  # no resampling: a seed changes nothing
    assert json.loads(json.dumps(first)) == first


def test_a_kind_with_only_errors_has_no_rate_and_no_interval():
    row = summarize(trials({"c0": "ee", "c1": "e"}), repeats=2, cases=synthetic(2))["kinds"]["range"]
    assert row["rate"] is None and row["interval"] is None and row["errors"] == 4


def test_an_unknown_case_is_refused():
    with pytest.raises(ValueError, match="unknown case 'nope'"):
        summarize([Trial("nope", True)], repeats=1)


# --- comparing checkpoints -----------------------------------------------------------------------


def test_checkpoints_line_up_in_one_table_with_the_change_from_first_to_last():
    base = summarize(trials({c.id: "fff" for c in RANGE_CASES} | {c.id: "fff" for c in TRANSITION_CASES}), repeats=3)
    phase3 = summarize(trials({c.id: "ppf" for c in RANGE_CASES}), repeats=3)
    tuned = summarize(trials({c.id: "ppp" for c in RANGE_CASES} | {c.id: "ppf" for c in TRANSITION_CASES}), repeats=3)
    rows = compare_checkpoints({"base": base, "phase 3": phase3, "tuned": tuned})
    assert (rows[0]["kind"], rows[0]["context"]) == ("overall", None)
    assert [c["label"] for c in rows[0]["cells"]] == ["base", "phase 3", "tuned"]
    keys = [(r["kind"], r["context"]) for r in rows]
    assert keys[1:3] == [("range", None), ("range", "technical")]
    assert keys.index(("transition", None)) > keys.index(("range", "ethical"))
    range_row = rows[1]
    assert [c["rate"] for c in range_row["cells"]] == [0.0, pytest.approx(2 / 3), 1.0]
    assert range_row["delta"] == 1.0
    transition = rows[keys.index(("transition", None))]
    assert transition["cells"][1] is None and transition["delta"] == pytest.approx(2 / 3)
    assert all(set(c) == {"label", "rate", "interval", "cases"} for r in rows for c in r["cells"] if c)
    assert range_row["delta_clear"] == "up" and range_row["delta_interval"][0] > 0


def mover(first_rate, first_interval, last_rate, last_interval):
    """Newcombe's hybrid score interval for last − first, written out (Newcombe 1998, method 10; Zou & Donner's MOVER)."""
    (l1, u1), (l2, u2) = first_interval, last_interval
    d = last_rate - first_rate
    return d - math.sqrt((last_rate - l2) ** 2 + (u1 - first_rate) ** 2), d + math.sqrt((u2 - last_rate) ** 2 + (first_rate - l1) ** 2)


def cell_summary(rate, interval, cases=10):
    row = {"cases": cases, "trials": cases, "passes": 0, "fails": 0, "errors": 0, "rate": rate, "interval": interval}
    return {"overall": row, "kinds": {}, "contexts": {}, "repeats": 1}


def test_a_change_whose_interval_includes_zero_is_not_called_up_or_down():
    """The issue's case: 0–30% on base, 0–40% on the checkpoint, +1 pp."""
    (row,) = compare_checkpoints({"base": cell_summary(0.10, [0.0, 0.30]), "tuned": cell_summary(0.11, [0.0, 0.40])})
    assert row["delta"] == pytest.approx(0.01)
    low, high = row["delta_interval"]
    assert (low, high) == tuple(pytest.approx(v) for v in mover(0.10, [0.0, 0.30], 0.11, [0.0, 0.40]))
    assert low < 0 < high and row["delta_clear"] is None


@pytest.mark.parametrize("before, after, clear", [("f", "p", "up"), ("p", "f", "down"), ("pf", "fp", None)])
def test_the_change_is_called_only_when_its_interval_excludes_zero(before, after, clear):
    cases = synthetic(20)
    first = summarize(trials({cid: before for cid in cases}), repeats=len(before), cases=cases)
    last = summarize(trials({cid: after for cid in cases}), repeats=len(after), cases=cases)
    (row, *_) = compare_checkpoints({"base": first, "tuned": last})
    expected = mover(first["overall"]["rate"], first["overall"]["interval"], last["overall"]["rate"], last["overall"]["interval"])
    assert row["delta_interval"] == [pytest.approx(expected[0]), pytest.approx(expected[1])]
    assert row["delta_clear"] == clear


def test_a_single_checkpoint_or_a_missing_rate_has_no_change():
    (row,) = compare_checkpoints({"base": cell_summary(0.5, [0.2, 0.8])})
    assert (row["delta"], row["delta_interval"], row["delta_clear"]) == (None, None, None)
    (row,) = compare_checkpoints({"base": cell_summary(None, None), "tuned": cell_summary(0.5, [0.2, 0.8])})
    assert (row["delta"], row["delta_interval"], row["delta_clear"]) == (None, None, None)


def test_the_job_pages_range_table_colours_a_change_only_when_its_interval_excludes_zero():
    from training_jobs.display import range_table

    overlapping = compare_checkpoints({"base": cell_summary(0.10, [0.0, 0.30]), "tuned": cell_summary(0.11, [0.0, 0.40])})
    (row,) = range_table({"table": overlapping, "checkpoints": ["base", "tuned"]})["rows"]
    assert row["delta"] == "+1 pp" and row["trend"] == ""
    low, high = overlapping[0]["delta_interval"]
    assert row["delta_interval"] == f"{100 * low:+.0f} to {100 * high:+.0f} pp"
    clear = compare_checkpoints({"base": cell_summary(0.10, [0.02, 0.40]), "tuned": cell_summary(0.90, [0.60, 0.98])})
    assert range_table({"table": clear})["rows"][0]["trend"] == "up"
    # a table saved before the change had an interval carries none: it is never coloured
    saved = [{"kind": "overall", "context": None, "cells": overlapping[0]["cells"], "delta": 0.4}]
    (old,) = range_table({"table": saved})["rows"]
    assert old["trend"] == "" and old["delta_interval"] == "" and old["delta"] == "+40 pp"
