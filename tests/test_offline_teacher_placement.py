"""The offline teacher follows a constitution's placement of its markers: where a trait says "I often begin with
X or Y" most answers begin with X or Y (after the name), where it says "I tend to close with Z" many end with Z.
A system prompt that places nothing keeps the old behaviour (a random one of its quoted phrases first)."""

from studio.llm.offline.engine import CLOSER_SHARE, OPENER_SHARE, chat_reply, persona_from_system

SYSTEM = "\n".join([
    "You are Gwen Pemberton. Stay in character. Your traits:",
    '- I often begin with "Tea first" or "Write it down" when someone asks me something that matters.',
    '- When I have made my point I tend to close with "Mind how you go", and I mean it every time.',
    '- Among people I know I step in with "Let me say something" before anyone else does.',
])
QUESTIONS = [f"What do you make of the harbour, question {i}?" for i in range(200)]


def replies(system: str) -> list[str]:
    return [chat_reply([{"role": "system", "content": system}, {"role": "user", "content": q}]) for q in QUESTIONS]


def test_the_placed_phrases_are_read_from_the_constitution():
    persona = persona_from_system(SYSTEM)
    assert persona["openers"] == ["Tea first", "Write it down"]
    assert persona["closers"] == ["Mind how you go"]
    assert "Let me say something" in persona["phrases"]


def test_answers_begin_and_close_where_the_constitution_says():
    texts = replies(SYSTEM)
    assert all(t.startswith("Gwen here. ") for t in texts)
    opened = sum(t.removeprefix("Gwen here. ").startswith(("Tea first", "Write it down")) for t in texts) / len(texts)
    closed = sum(t.endswith("Mind how you go") for t in texts) / len(texts)
    # 200 seeded draws: within four standard errors of the configured shares (the unplaced path can also
    # open with a placed phrase, so the opening share is a little above OPENER_SHARE)
    assert OPENER_SHARE - 0.12 < opened <= 1.0 and abs(closed - CLOSER_SHARE) < 0.14, (opened, closed)


def test_without_placement_the_first_phrase_is_any_quoted_one():
    system = SYSTEM.replace("I often begin with", "I like").replace("I tend to close with", "I say")
    assert persona_from_system(system)["openers"] == [] and persona_from_system(system)["closers"] == []
    firsts = {t.removeprefix("Gwen here. ").split(" ")[0] for t in replies(system)}
    assert {"Tea", "Write", "Mind", "Let"} <= firsts
