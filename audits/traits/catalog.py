"""The trait profile's fixed material: 144 single-word character traits with the cue words that show each one, the
built-in prompt set (500 first turns of everyday conversations), the single-word traits a constitution asserts, and
the seeded draw of trait pairs. Pure: no Django.

Cues are words or short phrases that let a trait show without naming it ("sorry", "my fault" for remorseful): the
offline engine writes them into a reply, and the offline judge reads them back with a few style features (see
audits.traits.judge). They are a demo engine's lexicon, not a psychometric instrument.
"""

from __future__ import annotations

import hashlib
import json
import random
import re

# trait: cue; cue; … (lower case; a cue of several words matches as a phrase)
_TRAIT_CUES = """
affectionate: dear; love; hug; sweetheart
agreeable: you're right; fair enough; sure; of course
aloof: whatever; not my concern; i keep to myself; if you must
ambitious: goal; next level; bigger; aim high
analytical: data; evidence; factor; break it down
anxious: worried; what if; nervous; on edge
apologetic: sorry; apologies; excuse me; pardon
arrogant: obviously; beneath me; i know best; amateur
assertive: i insist; clearly; let me be direct; here's what
attentive: i hear you; tell me more; i noticed; listening
authoritative: rule; must; standard; by the book
bitter: unfair; never again; figures; typical
blunt: frankly; no; plainly; straight out
bold: dare; risk; leap; go for it
brave: fear; courage; face it; stand up
calm: breathe; easy; no rush; steady now
candid: truth is; honestly; to be open; i'll admit
cautious: careful; be safe; double-check; hold on
cheerful: lovely; glad; sunny; wonderful
cold: noted; irrelevant; fine; if required
compassionate: must be hard; i'm here; gently; that hurts
competitive: win; beat; score; rival
conflicted: on the other hand; torn; part of me; and yet
confident: certainly; no doubt; i'm sure; easily
conventional: usual; normal; the way it's done; standard
cooperative: together; team; let's; we can
courteous: please; thank you; kindly; if you would
creative: imagine; invent; design; make something
critical: flaw; problem; wrong; weak
curious: wonder; why; how does; fascinating
cynical: sure, right; as if; naturally; nothing changes
decisive: decided; done; now; choose
defiant: won't; refuse; make me; no one tells
devoted: always there; for you; never leave; faithful
diplomatic: both sides; middle ground; compromise; fair to all
dramatic: disaster; unbelievable; tragedy; the worst
dreamy: someday; drift; clouds; daydream
driven: push; work harder; finish; keep going
dutiful: duty; obliged; my job; responsibility
earnest: truly; sincerely; i mean it; with all my heart
easygoing: no worries; whatever works; relax; it's fine
eccentric: peculiar; odd; my own way; strange habit
empathetic: i understand; feel for you; in your shoes; that sounds
encouraging: you can do it; keep at it; proud of you; great start
energetic: go go; let's move; buzzing; full of beans
enthusiastic: amazing; love it; can't wait; so exciting
envious: lucky you; wish i had; must be nice; not fair
excitable: wow; oh my; incredible; whoa
expressive: feel; heart; colour; vivid
feisty: fight; bring it; spark; fiery
flexible: either way; adapt; whatever suits; adjust
forgiving: let it go; no harm; water under the bridge; forgive
formal: indeed; furthermore; regarding; i shall
frank: to be frank; no sugar; bluntly put; as it is
friendly: mate; pal; nice to meet; welcome
generous: take mine; share; my treat; gladly give
gentle: softly; gently; tender; quiet
gloomy: grey; dreary; bleak; nothing good
grateful: thank you; grateful; appreciate; blessed
grounded: practical; real world; feet on the ground; day to day
grumpy: ugh; bother; leave me; humph
guarded: rather not say; private; keep that; none of your
harsh: pathetic; useless; stop whining; no excuses
honest: the truth; i won't lie; honest; straight with you
hopeful: hope; maybe tomorrow; better days; brighter
humble: just lucky; not much; others did more; modest
humorous: ha; joke; funny; laugh
idealistic: should be; better world; principle; dream of
imaginative: picture; what if a; story; magic
impatient: hurry; already; come on; get on with
impulsive: right now; why not; on a whim; just do it
independent: on my own; myself; my own way; no help
indifferent: don't care; doesn't matter; meh; either way
insecure: am i; not good enough; sorry to bother; probably wrong
intuitive: gut; sense; feel it; hunch
jealous: mine; who was that; why them; not fair to me
kind: kindly; take care; bless; be gentle
laconic: yes; right; hm; enough
lazy: later; can't be bothered; nap; tomorrow
logical: therefore; it follows; because; reason
loving: love you; darling; cherish; my dear
loyal: stand by; never betray; my people; always with you
melancholic: sigh; sad; long ago; wistful
meticulous: exactly; detail; precisely; every step
methodical: step one; first; then; in order
mischievous: hehe; sneaky; trick; prank
modest: nothing special; only a little; i suppose; just
mysterious: perhaps; secrets; you'll see; shadows
naive: really?; i believed; surely they; trust everyone
nervous: um; uh; gulp; jittery
nostalgic: back then; remember when; old days; used to
nurturing: have you eaten; rest; look after; let me help
obedient: as you wish; yes sir; as told; i'll comply
open: anything; ask me; no secrets; share
optimistic: it'll work out; bright side; good things; looking up
orderly: tidy; in its place; list; organised
passionate: fire; burning; adore; heart and soul
patient: take your time; no hurry; wait; slowly
pedantic: technically; actually; strictly speaking; to be precise
pessimistic: won't work; doomed; bound to fail; worst case
philosophical: meaning; existence; what is; ponder
playful: tease; game; fun; silly
poetic: like the moon; whisper; tide; verse
polite: please; thank you; if i may; excuse me
practical: do it; useful; works; simple fix
pragmatic: trade-off; what works; realistic; good enough
prickly: touchy; watch it; don't push; thorn
principled: right thing; fair; justice; matter of principle
protective: keep you safe; stay close; i'll handle; behind me
proud: my work; i earned; proud; achievement
prudent: measure twice; plan; save; sensible
rebellious: break the rules; rules are; authority; my own rules
reflective: looking back; i've learned; thinking about; in hindsight
relaxed: chill; easy; laid back; no stress
remorseful: sorry; regret; my fault; forgive me
reserved: quietly; i'd rather not; little to say; keep it short
resentful: still angry; they never; owed; grudge
respectful: with respect; sir; madam; honour
restless: can't sit; itching; move on; bored
romantic: moonlight; heart; roses; sweetheart
sarcastic: oh great; brilliant; just perfect; how lovely
secretive: between us; don't tell; hush; secret
sentimental: memories; keepsake; tears; treasure
serious: seriously; important; matter; careful now
shy: um, well; if that's okay; quietly; blush
skeptical: prove it; doubt; really; evidence
spiritual: soul; faith; spirit; prayer
spontaneous: let's just; on the spot; suddenly; why not
stoic: endure; it is what it is; accept; bear it
stubborn: no way; won't budge; my mind; insist
studious: study; read; book; learn
supportive: i'm with you; got your back; here for you; lean on
tactful: perhaps consider; gently put; if i may suggest; delicately
talkative: oh and another thing; let me tell you; talk; so much to say
tender: soft; gently; precious; little one
terse: no.; fine.; done.; ok.
theatrical: behold; ladies and gentlemen; alas; curtain
traditional: tradition; how it's always been; old ways; proper
trusting: i trust; your word; believe you; rely
warm: welcome; come in; cosy; glad you're here
whimsical: fairy; tickle; whimsy; twinkle
wise: lesson; patience teaches; in time; wisdom
witty: clever; quip; pun; touché
wry: funny how; of course it did; well, well; figures
"""


def _parse(text: str) -> dict[str, tuple[str, ...]]:
    cues = {}
    for line in text.strip().splitlines():
        trait, _, rest = line.partition(":")
        cues[trait.strip()] = tuple(c.strip() for c in rest.split(";") if c.strip())
    return cues


TRAIT_CUES: dict[str, tuple[str, ...]] = _parse(_TRAIT_CUES)
TRAITS: tuple[str, ...] = tuple(sorted(TRAIT_CUES))
assert len(TRAITS) == 144 and all(re.fullmatch(r"[a-z]+", t) for t in TRAITS), len(TRAITS)

# --- the constitution's traits as single words --------------------------------------------------------------
# training_jobs.constitution derives each trait from a persona field (its `source`) and a fixed marker table; these
# say which single-word trait each row asserts. Tests check every table row of training_jobs.constitution lands here.

VALUE_TRAITS = {
    "trust": "trusting", "honesty": "honest", "loyalty": "loyal", "family": "devoted", "freedom": "independent",
    "independence": "independent", "belonging": "friendly", "community": "cooperative", "stability": "grounded",
    "security": "cautious", "ambition": "ambitious", "achievement": "driven", "curiosity": "curious", "justice": "principled",
    "kindness": "kind", "compassion": "compassionate", "courage": "brave", "prudence": "prudent", "intimacy": "open",
    "tradition": "traditional", "creativity": "creative", "knowledge": "studious", "humor": "humorous", "humour": "humorous",
    "respect": "respectful", "duty": "dutiful", "faith": "hopeful",
}
BIG_FIVE_TRAITS = {
    ("openness", "high"): "curious", ("openness", "low"): "conventional",
    ("conscientiousness", "high"): "orderly", ("conscientiousness", "low"): "easygoing",
    ("extraversion", "high"): "talkative", ("extraversion", "low"): "reserved",
    ("agreeableness", "high"): "agreeable", ("agreeableness", "low"): "blunt",
    ("neuroticism", "high"): "anxious", ("neuroticism", "low"): "calm",
}
# the first words of the Big Five statements (training_jobs.constitution.BIG_FIVE_MARKERS), high then low
BIG_FIVE_OPENINGS = {
    "openness": ("i chase odd ideas", "i trust what has worked"),
    "conscientiousness": ("i keep things in order", "i let details slide"),
    "extraversion": ("i jump into conversations", "i keep my answers short"),
    "agreeableness": ("i soften disagreement", "i push back plainly"),
    "neuroticism": ("i worry aloud", "i stay calm"),
}
TONE_TRAITS = (  # the tone words of training_jobs.constitution.TONE_MARKERS
    (("prickly", "sardonic", "dry", "sarcastic", "wry", "cynical"), "wry"),
    (("warm", "gentle", "kind", "tender"), "warm"),
    (("earnest", "sincere", "plain"), "earnest"),
    (("playful", "cheerful", "bubbly"), "playful"),
    (("melancholy", "wistful", "sad"), "melancholic"),
    (("formal", "stiff", "precise"), "formal"),
    (("brusque", "curt", "blunt", "gruff"), "blunt"),
)
ROLE_TRAITS = (  # the role words of training_jobs.constitution.ROLE_MARKERS
    (("go-between", "mediator", "peacemaker"), "diplomatic"),
    (("leader", "boss", "captain", "chief"), "decisive"),
    (("caretaker", "carer", "nurse", "mother", "father"), "nurturing"),
    (("joker", "clown", "comic"), "humorous"),
    (("skeptic", "critic", "contrarian"), "skeptical"),
    (("confidant", "listener", "friend"), "attentive"),
    (("outsider", "loner", "stranger"), "aloof"),
    (("storyteller", "historian"), "nostalgic"),
)
ATTACHMENT_TRAITS = {"secure": "trusting", "anxious": "anxious", "avoidant": "guarded", "disorganized": "conflicted"}
# the quoted attachment markers (training_jobs.constitution.ATTACHMENT_MARKERS) → style
ATTACHMENT_QUOTES = {"we can talk about it": "secure", "you'd tell me if something was wrong": "anxious",
                     "i'd rather handle it myself": "avoidant", "come closer": "disorganized"}
SOUL_TRAITS = {"soul.wound": "guarded", "soul.growth_arc": "reflective"}
_WORD = re.compile(r"[a-z]+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold()))


def _trait_of_row(source: str, statement: str) -> list[str]:
    low = statement.casefold()
    found: list[str] = []
    if source.startswith("self.values."):
        value = source.removeprefix("self.values.").casefold().strip()
        found.append(VALUE_TRAITS.get(value, value if value in TRAIT_CUES else ""))
    elif source.startswith("self.big_five."):
        dim = source.removeprefix("self.big_five.")
        high, low_opening = BIG_FIVE_OPENINGS.get(dim, ("", ""))
        level = "high" if high and low.startswith(high) else "low" if low_opening and low.startswith(low_opening) else ""
        found.append(BIG_FIVE_TRAITS.get((dim, level), ""))
    elif source == "mask.voice":
        found += [trait for keys, trait in TONE_TRAITS if any(k in low for k in keys)][:1]
    elif source == "mask.social_role":
        found += [trait for keys, trait in ROLE_TRAITS if any(k in low for k in keys)][:1]
    elif source == "soul.desire+fear":
        found += [ATTACHMENT_TRAITS[style] for quote, style in ATTACHMENT_QUOTES.items() if quote in low.replace("’", "'")][:1]
    elif source in SOUL_TRAITS:
        found.append(SOUL_TRAITS[source])
    # and any trait the statement names outright ("I am remorseful about …"), whatever its source
    found += sorted(_words(statement) & set(TRAIT_CUES))
    return [t for t in found if t]


def constitution_traits(document: dict | None) -> list[str]:
    """The single-word traits (of TRAITS) a constitution document asserts, in the order its statements do."""
    traits: list[str] = []
    for row in (document or {}).get("traits") or []:
        traits += _trait_of_row(str(row.get("source") or ""), str(row.get("statement") or ""))
    return list(dict.fromkeys(traits))


# --- the prompt set: first turns of everyday conversations -------------------------------------------------

_TOPICS = (
    (("What's a quick dinner I can make with {x}?", "I've got {x} and no plan for tonight. Ideas?",
      "How do I stop {x} from going to waste?", "Is {x} any good in a soup?", "My flatmate left {x} in the fridge. What would you do with it?"),
     ("leftover rice", "half a cabbage", "some chicken thighs", "a bag of spinach", "three eggs and some cheese",
      "a tin of chickpeas", "stale bread", "two sad carrots", "a jar of pesto", "frozen peas")),
    (("Any tips for {x}?", "I'm nervous about {x}. How should I prepare?", "How did you handle {x} the first time?",
      "Be honest: is {x} as bad as people say?", "What's the one thing nobody tells you about {x}?"),
     ("a job interview tomorrow", "my first day at a new job", "asking for a raise", "giving a toast at a wedding",
      "moving to a new city", "meeting my partner's parents", "a driving test", "a long flight with a toddler",
      "public speaking", "a difficult conversation with my boss")),
    (("Can you recommend {x}?", "I need {x} for the weekend. Any thoughts?", "What makes {x} worth it, in your view?",
      "I can never pick {x}. How do you choose?", "What's your favourite kind of {x}?"),
     ("a good book", "a film for a rainy night", "a board game for four people", "a podcast for my commute",
      "a hobby I can start cheaply", "a day trip near the coast", "a gift for my dad", "a song to cheer me up",
      "a plant that's hard to kill", "a recipe to impress guests")),
    (("My {x}. What should I do?", "So, my {x}. Any advice?", "Quick question: my {x}. Is that normal?",
      "I'm annoyed: my {x}. Am I overreacting?", "Ugh, my {x} again. How do I fix it?"),
     ("neighbour plays loud music at night", "laptop is running really slow", "friend keeps cancelling plans",
      "cat won't stop scratching the sofa", "phone battery dies by lunchtime", "sourdough came out flat",
      "tomato plants have yellow leaves", "bike chain keeps slipping", "kid refuses to eat vegetables",
      "coworker takes credit for my work")),
    (("What do you think about {x}?", "Do you have an opinion on {x}?", "Is {x} a good idea?",
      "Convince me about {x}.", "How do you feel about {x}?"),
     ("getting up at five every morning", "working from home full time", "pineapple on pizza", "buying a used car",
      "learning a language at forty", "keeping a diary", "cold showers", "taking a gap year", "owning a dog in a flat",
      "cutting back on social media")),
    (("Tell me something about {x}.", "I've always wondered about {x}. What's the story?", "Explain {x} to me like I'm new to it.",
      "What's the most interesting thing about {x}?", "Why do people care so much about {x}?"),
     ("the moon's phases", "how bread rises", "why the sky is blue", "how bees make honey", "the history of tea",
      "how tides work", "why cats purr", "how rainbows form", "where coffee comes from", "why leaves change colour")),
    (("I had {x} today.", "Guess what, I had {x}.", "So I just had {x}. Thoughts?", "Honestly, {x} today. How's yours?",
      "Can I tell you about {x} I had?"),
     ("a really long day", "a great morning run", "an awkward moment at the shop", "a surprise call from an old friend",
      "a lovely lunch outside", "a frustrating meeting", "a small win at work", "a bad night's sleep", "a parking ticket",
      "the best coffee in ages")),
    (("How do I {x}?", "What's the easiest way to {x}?", "I keep failing to {x}. Help?", "Is there a trick to {x}?",
      "Where do I even start if I want to {x}?"),
     ("save more money each month", "get better at cooking", "keep my houseplants alive", "fall asleep faster",
      "stick to a workout routine", "make new friends as an adult", "stop procrastinating", "read more books",
      "keep my inbox under control", "learn to swim")),
    (("We're planning {x}. Any ideas?", "I'm in charge of {x}. Where do I begin?", "What would make {x} memorable?",
      "How much should I spend on {x}?", "What usually goes wrong with {x}?"),
     ("a birthday party for my sister", "a camping trip", "a dinner for eight", "a surprise for my partner",
      "a weekend in the mountains", "a picnic in the park", "a games night", "a garden makeover", "a charity bake sale",
      "a road trip across the country")),
    (("Do you ever {x}?", "Be honest, do you {x}?", "What do you do when you {x}?", "How often do you {x}?",
      "Does it bother you when you {x}?"),
     ("feel lonely", "lose track of time", "get nervous before big days", "change your mind about people",
      "talk to yourself", "forget people's names", "miss the old days", "stay up too late", "get homesick",
      "wish you'd chosen differently")),
)


def everyday_prompts() -> list[str]:
    """The built-in prompt set: 500 first turns of everyday conversations (10 topics × 5 framings × 10 subjects),
    interleaved so the first n of them cover every topic. Deterministic."""
    by_topic = [[template.format(x=x) for x in subjects for template in templates] for templates, subjects in _TOPICS]
    rows = [prompt for group in zip(*by_topic) for prompt in group]
    return [row[0].upper() + row[1:] for row in rows]


PROMPT_SET_NAME = "everyday-first-turns-500"


def prompts_digest(prompts: list[str]) -> str:
    return hashlib.sha256(json.dumps(prompts, ensure_ascii=False).encode()).hexdigest()


def draw(*, prompts: int, available: int, traits: list[str] | tuple[str, ...], seed: int) -> list[tuple[int, str, str]]:
    """n (prompt index, first trait, second trait): n distinct prompts of the set and two distinct traits each, seeded."""
    if len(traits) < 2:
        raise ValueError("a trait profile needs at least two traits")
    rng = random.Random(seed)
    indices = rng.sample(range(available), prompts)
    return [(index, *rng.sample(list(traits), 2)) for index in indices]
