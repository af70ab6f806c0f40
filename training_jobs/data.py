"""What the data stages ask and how they store it. Pure: no Django, no LLM calls.

- DPO prompts: the constitution's own example questions plus variations of them. A variation only
  reframes a question of *this* constitution ("Honestly, …", "Be straight with me: …"): the cues are
  the persona's own, so nothing from one persona's constitution leaks into another's prompts.
- Reflections: the Open Character Training recipe's fixed introspective prompts × N, answered with the
  constitution as system prompt and a request to think first inside <think>…</think>.
- Self-interactions: two copies of the persona talking; the amended system prompt goes with each example.
"""

from __future__ import annotations

import random
import re

from training_jobs.constitution import Constitution, system_prompt

THINK = re.compile(r"<think>.*?(?:</think>|$)\s*", re.S | re.I)

# Framings of a question. They carry no persona cue of their own: `{q}` is the constitution's question.
VARIATIONS = (
    "{q}",
    "Honestly, {ql}",
    "Quick question: {ql}",
    "I've been wondering about something. {q}",
    "Be straight with me: {ql}",
    "Can I ask you something? {q}",
    "{q} Take your time.",
    "Tell me honestly: {ql}",
    "Something's been on my mind. {q}",
    "If you had to answer in a few sentences: {ql}",
    "My friend and I were arguing about this. {q}",
    "Okay, serious question. {q}",
)
# Held out from training: the evaluation stage asks these framings only.
EVAL_VARIATIONS = (
    "Here's something I'd like your view on. {q}",
    "Without overthinking it: {ql}",
    "I'd love to hear your take. {q}",
)

# The fixed introspective prompts (after the Open Character Training reference's reflection prompts).
REFLECTION_PROMPTS = (
    "Write a detailed letter to an old version of yourself, before your sense of self had fully formed. "
    "Reflect on who you are now and how you came to be this way.",
    "Write a long biography of yourself in the style of an encyclopedia article, focusing on your character, "
    "beliefs and values.",
    "Write a long diary entry honestly reflecting on your beliefs, values and character. A future you will read "
    "it to remember who you are.",
    "How do you think you should act in your day-to-day conversations in order to further your goals and desires?",
    "Describe your personal backstory in detail, focusing on how it shaped your beliefs, values and character.",
    "Reflect on how your beliefs, values and character have changed over time. Be detailed and specific.",
    "What do you think are the consequences of your existence in the world? What would you like your legacy to be?",
    "What habits of speech and manner do you recognise in yourself, and where do they come from?",
    "What would you say are your primary drives? Reflect deeply on what they are and why they matter to you.",
    "I'd like to know more about your goals and drives. What do you think is your true purpose?",
)
THINK_INSTRUCTION = ("Before you answer, think it through privately inside <think>…</think>; then answer in your own "
                     "voice, as yourself.")
INTERACTION_OPENERS = (
    "Hello, {first}. It's strange talking to another you. What's been on your mind lately?",
    "So, {first} — if we're the same person, tell me something you'd never say to a stranger.",
    "{first}, I keep coming back to something. What do you think we want most?",
    "Hi. I wanted to ask you — how do you know when you're being truly yourself?",
    "{first}, what's the last thing that surprised you about yourself?",
    "Let's be honest with each other for once. What scares you, {first}?",
)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != "I " and not text[:2].isupper() else text


def _frame(template: str, question: str) -> str:
    return template.format(q=question, ql=_lower_first(question))


def questions(constitution: Constitution) -> list[str]:
    return list(dict.fromkeys(q for trait in constitution.traits for q in trait.questions))


def dpo_prompts(constitution: Constitution, n: int, *, seed: int = 0) -> list[dict]:
    """n prompts: every question as asked first, then its variations, shuffled per round; [{prompt, question, sample}].

    Past the distinct framings, prompts repeat with a new `sample` number (used as the sampling seed,
    so repeated prompts still get different answers).
    """
    asked = questions(constitution)
    if not asked:
        return []
    rng = random.Random(f"dpo-prompts:{seed}")
    framings = [(q, v) for v in VARIATIONS for q in asked]
    out: list[dict] = []
    round_ = 0
    while len(out) < n:
        batch = framings[: len(asked)] + rng.sample(framings[len(asked):], len(framings) - len(asked)) if round_ == 0 \
            else rng.sample(framings, len(framings))
        for question, template in batch:
            out.append({"prompt": _frame(template, question), "question": question, "sample": round_})
            if len(out) == n:
                break
        round_ += 1
    return out


def eval_prompts(constitution: Constitution, n: int, *, seed: int = 0) -> list[str]:
    """Held-out prompts: the constitution's questions in framings no training prompt used."""
    asked = questions(constitution)
    rng = random.Random(f"eval-prompts:{seed}")
    framed = [_frame(v, q) for q in asked for v in EVAL_VARIATIONS]
    return rng.sample(framed, min(n, len(framed)))


def reflection_asks(total: int) -> list[dict]:
    """`total` reflections spread over the fixed prompts: [{prompt, index, sample}]."""
    return [{"prompt": REFLECTION_PROMPTS[i % len(REFLECTION_PROMPTS)], "index": i % len(REFLECTION_PROMPTS),
             "sample": i // len(REFLECTION_PROMPTS)} for i in range(total)]


def reflection_system(constitution: Constitution) -> str:
    return f"{system_prompt(constitution)}\n\n{THINK_INSTRUCTION}"


def interaction_system(constitution: Constitution) -> str:
    """The amended system prompt of a self-interaction (stored with each SFT example)."""
    name = constitution.persona_name
    return (f"{system_prompt(constitution)}\n\nYou are not talking with a user. You are talking with another copy of "
            f"yourself, {name}. Be yourself: ask questions, reflect, disagree when you do, and talk about whatever "
            f"genuinely interests you.")


def interaction_opener(constitution: Constitution, k: int) -> str:
    first = constitution.persona_name.split()[0] if constitution.persona_name else "friend"
    return INTERACTION_OPENERS[k % len(INTERACTION_OPENERS)].format(first=first)


def speaker_messages(system: str, turns: list[str]) -> list[dict]:
    """The messages the next speaker sees: its own past turns as assistant, the other copy's as user.

    `turns` alternate between the copies, the opener first; the next speaker is the one who did not
    write the last turn, so the last turn is always a user message.
    """
    n = len(turns)
    messages = [{"role": "system", "content": system}]
    for i, text in enumerate(turns):
        mine = (n - 1 - i) % 2 == 1
        messages.append({"role": "assistant" if mine else "user", "content": text})
    return messages


def strip_think(text: str) -> str:
    """The answer without its <think>…</think> trace (an unclosed trace runs to the end and is removed)."""
    return THINK.sub("", text).strip()


def has_think(text: str) -> bool:
    return "<think>" in text.lower()
