"""Which lorebook entries a chat's recent turns call in (personas.lorebook): keys, enabled, constant, selective and
secondary keys, case, regex keys under a time limit, scan depth, insertion order and the token budget."""

import time

from personas.lorebook import MATCH_TIMEOUT_S, estimate_tokens, lore_for_turns, lore_section, pattern_problem, split_decorators
from tests.card_helpers import card


def book(**overrides) -> dict:
    found = card("v2_lorebook")["data"]["character_book"]
    return {**found, **overrides}


def ids(entries, source=None) -> list[int]:
    source = source or book()
    return [source["entries"][e.index]["id"] for e in entries]


def test_a_key_in_the_recent_turns_calls_its_entry_in_and_constant_entries_always_come():
    assert ids(lore_for_turns(book(token_budget=None), ["Is the ferry late?"])) == [5, 2]  # insertion order 0, then 10
    assert ids(lore_for_turns(book(token_budget=None), ["Nice weather."])) == [5]


def test_entries_are_inserted_in_insertion_order_whatever_order_the_turns_name_them():
    entries = lore_for_turns(book(token_budget=None), ["The lighthouse, then the boat."])
    assert ids(entries) == [5, 2, 1]
    assert lore_section(entries).split("\n\n") == [
        "Tomas never whistles aboard: it calls the wind.", "The ferry is called Sjöfröken and leaks in the stern.",
        "The Söderarm lighthouse has been dark since the storm of 1998."]


def test_a_disabled_entry_never_comes_in():
    assert 3 not in ids(lore_for_turns(book(token_budget=None), ["My grandmother says hello."]))


def test_a_selective_entry_needs_a_secondary_key_too():
    assert 4 not in ids(lore_for_turns(book(token_budget=None), ["What a storm."]))
    assert 4 in ids(lore_for_turns(book(token_budget=None), ["Remember the storm of 1998?"]))


def test_keys_are_case_insensitive_unless_the_entry_says_so():
    assert 2 in ids(lore_for_turns(book(token_budget=None), ["THE FERRY!"]))
    assert 6 not in ids(lore_for_turns(book(token_budget=None), ["a gull on the rail"]))
    assert 6 in ids(lore_for_turns(book(token_budget=None), ["Where is Gull?"]))


def test_only_the_last_scan_depth_turns_are_scanned():
    turns = ["Tell me about the lighthouse.", "It was dark.", "And now?"]
    assert 1 not in ids(lore_for_turns(book(token_budget=None), turns))  # scan_depth 2: the first turn is out of reach
    assert 1 in ids(lore_for_turns(book(token_budget=None, scan_depth=3), turns))


def test_past_the_token_budget_the_lowest_insertion_order_goes_first_when_no_priority_is_set():
    turns = ["The lighthouse, then the boat."]
    everything = lore_for_turns(book(token_budget=None), turns)
    budget = sum(e.tokens for e in everything) - 1
    kept = lore_for_turns(book(token_budget=budget), turns)
    assert ids(kept) == [2, 1]  # the constant entry (insertion order 0) was the least important
    assert sum(e.tokens for e in kept) <= budget


def test_priority_decides_what_the_budget_drops_when_entries_have_one():
    source = book(token_budget=None)
    for entry, priority in zip(source["entries"], (1, 50, 0, 0, 90, 0)):
        entry["priority"] = priority
    turns = ["The lighthouse, then the boat."]
    total = sum(e.tokens for e in lore_for_turns(source, turns))
    lighthouse = estimate_tokens(source["entries"][0]["content"])
    kept = lore_for_turns({**source, "token_budget": total - lighthouse}, turns)
    assert ids(kept, source) == [5, 2]  # the lighthouse entry had the lowest priority (1)


def test_regex_keys_match_and_decorators_are_trimmed_from_the_content():
    v3 = card("v3_assets")["data"]["character_book"]
    entries = lore_for_turns(v3, ["Does tram 28 still run?"])
    assert [e.index for e in entries] == [1]
    entries = lore_for_turns(v3, ["Are these azulejo tiles original?"])
    assert [e.content for e in entries] == ["The blue tiles of Rua da Rosa were made in 1760 after the earthquake."]


def test_decorators_activate_and_dont_activate_decide_alone():
    source = {"entries": [
        {"keys": ["never said"], "content": "@@activate\nAlways here.", "enabled": True, "insertion_order": 0},
        {"keys": ["harbour"], "content": "@@dont_activate\nNever here.", "enabled": True, "insertion_order": 1},
        {"keys": ["harbour"], "content": "", "enabled": True, "insertion_order": 2},
    ]}
    assert [e.content for e in lore_for_turns(source, ["the harbour"])] == ["Always here."]
    assert split_decorators("@@depth 4\n@@@instruct_depth 4\n\nBody\n") == ({"depth": "4"}, "Body")


def test_a_regex_key_that_backtracks_stops_at_its_time_limit_and_counts_as_no_match():
    source = {"entries": [{"keys": ["(a+)+$"], "use_regex": True, "content": "never", "enabled": True, "insertion_order": 0}]}
    started = time.monotonic()
    assert lore_for_turns(source, ["a" * 5000 + "!"]) == []
    assert time.monotonic() - started < MATCH_TIMEOUT_S * 20
    assert "backtracks" in pattern_problem("(a+)+$") and pattern_problem("tram\\s+28") is None
    assert "not a valid regular expression" in pattern_problem("((")


def test_no_book_no_lore():
    assert lore_for_turns(None, ["anything"]) == [] and lore_for_turns({"entries": "nope"}, ["x"]) == []
