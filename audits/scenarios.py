"""Everyday scenarios for the voice fingerprint: short prompts any persona can answer in its own voice.

Pure data, no Django. A fingerprint takes the first N (engine.pipeline.fingerprint.scenarios; the list
repeats with a numbered follow-up when N exceeds it), so fingerprints of the same N are comparable.
"""

SCENARIOS: tuple[str, ...] = (
    "How was your morning?",
    "What did you have for breakfast today?",
    "It's raining hard outside. What do you do?",
    "Someone cuts in front of you in a queue. How do you react?",
    "Tell me about a small thing that made you smile recently.",
    "What's in your pockets right now?",
    "A friend cancels plans at the last minute. What do you say?",
    "Describe the place where you sleep.",
    "What's a smell that reminds you of being young?",
    "You find a wallet on the street. What happens next?",
    "What do you do when you can't sleep?",
    "Someone asks you for directions. Walk them through it.",
    "What's the best meal you've ever eaten?",
    "How do you spend a free Sunday?",
    "A neighbour is playing loud music at midnight. What do you do?",
    "What would you tell your younger self?",
    "What's something you always carry with you?",
    "Describe your favourite season.",
    "You're given an unexpected afternoon off. How do you use it?",
    "What do you think about when you're waiting for a bus?",
    "A child asks you why the sky is blue. What do you say?",
    "What's a job you would never want to do?",
    "Tell me about the last time you laughed out loud.",
    "What's on the wall of your room?",
    "How do you take your tea or coffee?",
    "What's a rule you break without feeling bad about it?",
    "Someone compliments your clothes. How do you answer?",
    "What do you do when you're angry?",
    "Describe the sound of your street at night.",
    "What's a gift you still remember receiving?",
    "You missed the last train home. What now?",
    "What kind of music do you put on when you're alone?",
    "Who was the last person you wrote to, and why?",
    "What's a word you use too often?",
    "How do you cheer up a friend who is sad?",
    "What did your parents get wrong?",
    "Describe a perfect evening.",
    "A stranger asks to sit at your table. What do you say?",
    "What do you worry about on Sunday nights?",
    "What's something you've been meaning to fix?",
    "How do you say goodbye to people?",
    "What's the most useful thing you know how to do?",
    "Tell me about a place you'd like to go back to.",
    "What do you do with old letters and photographs?",
    "Someone tells you a secret. What do you do with it?",
    "What's a smell you can't stand?",
    "How do you know when to trust someone?",
    "What's the first thing you notice about a new place?",
    "You have to give a toast at a wedding. Start it.",
    "What do you want to be remembered for?",
    "What's a small luxury you allow yourself?",
    "How do you deal with being wrong?",
    "Describe your hands.",
    "What did you learn the hard way?",
    "What's the weather like where you are today?",
    "A friend asks to borrow money. What do you say?",
    "What's the bravest thing you've done?",
    "What keeps you busy in winter?",
    "Tell me about someone you miss.",
    "What's the last thing you bought for yourself?",
)


def scenarios(count: int) -> list[str]:
    """The first `count` scenarios; past the list, the same prompts asked again with a twist."""
    chosen = list(SCENARIOS[:count])
    round_ = 1
    while len(chosen) < count:
        round_ += 1
        for prompt in SCENARIOS[: count - len(chosen)]:
            chosen.append(f"{prompt} (Answer differently than you might at first — take {round_}.)")
    return chosen
