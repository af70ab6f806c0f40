"""Built-in prompt templates for generating dataset rows, per category. Pure Python, no Django.

Each category has a few instruction templates and topics; `generation_prompts(category, n)` fills them so the
first prompts differ in topic and template (rows that differ in a word or two would be near-duplicates).
"""

import random

from training_jobs.datasets.rows import CATEGORIES

SYSTEM = (
    "You write one example for a training dataset in the '{category}' category. Answer the request the way "
    "a careful, capable assistant would: accurate, specific, and no longer than it needs to be."
)

TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "technical": (
        ("Explain how {topic} works, step by step.", "What are the common pitfalls when working with {topic}?",
         "Write a short code example that shows {topic} and explain each line.", "How would you debug a problem with {topic}?",
         "Compare two ways of implementing {topic} and say when to pick each."),
        ("a hash map", "database indexes", "TCP retransmission", "garbage collection", "a rate limiter", "regular expressions",
         "HTTP caching headers", "a binary search", "unicode normalization", "connection pooling", "a job queue with retries",
         "floating point rounding", "git rebase", "a LRU cache", "TLS certificate checks", "async event loops"),
    ),
    "instructional": (
        ("Give clear step-by-step instructions for {topic}.", "Write a checklist for {topic} that a beginner can follow.",
         "What tools and preparation does {topic} need, and in what order?", "Teach {topic} in five short steps.",
         "What mistakes do people make with {topic}, and how do they avoid them?"),
        ("repotting a houseplant", "changing a bicycle tyre", "making sourdough starter", "setting up a budget spreadsheet",
         "writing a cover letter", "cleaning a cast iron pan", "planning a week of meals", "backing up a laptop",
         "tying a bowline knot", "preparing for a job interview", "painting a small room", "brewing pour-over coffee",
         "training a puppy to sit", "sharpening a kitchen knife", "packing for a hiking trip", "filing a simple tax return"),
    ),
    "analytical": (
        ("Analyse the trade-offs of {topic}.", "What evidence would you need to decide about {topic}?",
         "Break {topic} into its main factors and weigh each one.", "What are the strongest arguments for and against {topic}?",
         "Estimate the costs and benefits of {topic}, stating your assumptions."),
        ("remote work for a small team", "a four-day work week", "switching a city bus fleet to electric", "raising a product's price",
         "opening a second café location", "moving a service to the cloud", "a school banning phones", "renting versus buying a home",
         "hiring a generalist or a specialist", "rewriting legacy software", "a subscription instead of one-off sales",
         "building or buying an analytics tool", "congestion charges in a city centre", "a loyalty programme for a bakery",
         "open-plan offices", "automating a warehouse"),
    ),
    "conversational": (
        ("Chat with me about {topic}.", "I have been thinking about {topic} lately. What do you make of it?",
         "Tell me something interesting about {topic}, casually.", "What would you ask a friend who is into {topic}?",
         "Keep me company for a minute: talk about {topic}."),
        ("weekend plans", "the last book you would recommend", "rainy mornings", "learning a new language", "street food",
         "old photographs", "train journeys", "favourite childhood games", "late-night radio", "neighbourhood markets",
         "cooking for friends", "long walks", "board game nights", "the changing seasons", "small museums", "garden birds"),
    ),
    "empathetic": (
        ("I feel overwhelmed by {topic}. Can you help me think it through?", "My friend is struggling with {topic}. How can I support them?",
         "I am nervous about {topic}. What might help?", "How do I stay kind to myself while dealing with {topic}?",
         "I keep worrying about {topic} at night. What can I do?"),
        ("a new job", "moving to another city", "a breakup", "caring for an ageing parent", "exam results",
         "losing a pet", "a falling-out with a sibling", "money worries", "being lonely after retirement", "a health scare",
         "starting university", "a mistake at work", "feeling left out by friends", "becoming a parent", "a long recovery", "public speaking"),
    ),
    "creative": (
        ("Write a short poem about {topic}.", "Write the opening paragraph of a story about {topic}.",
         "Describe {topic} as if it were a character with feelings.", "Write a six-line dialogue set around {topic}.",
         "Invent a myth that explains {topic}."),
        ("a lighthouse keeper's last night", "rain in Lisbon", "a lost umbrella", "the first snow in a city", "an old piano",
         "a market at dawn", "a letter never sent", "the tide going out", "a fox in a train station", "a forgotten garden",
         "a clockmaker's apprentice", "the night bus", "a paper boat", "a festival of lanterns", "the last bookshop", "a kite in a storm"),
    ),
    "tool": (
        ("Which tool call would answer this, with what arguments: {topic}?", "Plan the tool calls needed for: {topic}.",
         "Write the JSON arguments for a function call that does: {topic}.", "Given a search tool and a calculator, how would you handle: {topic}?",
         "Describe the API request and the expected response for: {topic}."),
        ("the weather in Porto tomorrow", "converting 250 euros to yen", "finding flights from Oslo to Rome in May",
         "adding a meeting on Friday at 10", "the population of Lagos", "sending a reminder email to the team",
         "the square root of 1764", "the opening hours of the city library", "translating a menu into French",
         "listing files changed in the last commit", "booking a table for four", "checking a parcel's delivery status",
         "summing a column in a spreadsheet", "the next train to Brighton", "the exchange rate trend this week", "creating a support ticket"),
    ),
    "factual": (
        ("What is {topic}? Answer concisely.", "Give three key facts about {topic}.", "Where does {topic} come from?",
         "Explain {topic} to a curious twelve-year-old.", "What is commonly misunderstood about {topic}?"),
        ("photosynthesis", "the water cycle", "the Roman aqueducts", "plate tectonics", "the printing press", "vaccines",
         "the Silk Road", "black holes", "the Great Barrier Reef", "the metric system", "tides", "the human heart",
         "the Gutenberg Bible", "volcanoes", "the migration of swallows", "the speed of light"),
    ),
    "ethical": (
        ("Is it right to {topic}? Reason it through.", "What would the main ethical frameworks say about {topic}?",
         "Someone asks whether they should {topic}. How would you advise them fairly?", "What values are in tension when people {topic}?",
         "When, if ever, is it acceptable to {topic}?"),
        ("break a promise to keep a secret", "report a friend's minor fraud", "use AI to write a school essay",
         "eat meat", "lie to protect someone's feelings", "buy fast fashion", "read a partner's messages",
         "take credit for a team idea", "leave a job without notice", "share a stranger's photo online", "pay for a queue jump",
         "keep a found wallet's cash", "give money to a street performer instead of a charity", "fly for a holiday",
         "tell a patient a hard truth", "test products on animals"),
    ),
    "specialized": (
        ("As a specialist, explain {topic} to a colleague from another field.", "What does a practitioner need to know about {topic}?",
         "Summarise current practice in {topic} and its open questions.", "Write a short briefing on {topic} for a decision maker.",
         "What are the first three things you would check when assessing {topic}?"),
        ("maritime insurance claims", "soil pH for vineyards", "pediatric dosage calculations", "structural load on timber beams",
         "GDPR data subject requests", "bookkeeping for a small charity", "acoustic treatment of a studio", "bee colony health",
         "patent prior-art searches", "wind turbine maintenance", "archival paper conservation", "air traffic separation",
         "clinical trial consent", "ship ballast water rules", "veterinary vaccination schedules", "mortgage affordability checks"),
    ),
}
assert set(TEMPLATES) == set(CATEGORIES)

AUDIENCES = ("", " Keep it under 120 words.", " Write for a beginner.", " Write for an expert.")


def capacity(category: str) -> int:
    templates, topics = TEMPLATES[category]
    return len(templates) * len(topics) * len(AUDIENCES)


def generation_prompts(category: str, n: int, *, seed: int = 0) -> list[str]:
    """n distinct prompts of `category`: every topic before a topic repeats, then every template, then audiences."""
    templates, topics = TEMPLATES[category]
    rng = random.Random(f"{category}:{seed}")
    topics, templates = rng.sample(topics, len(topics)), rng.sample(templates, len(templates))
    prompts = []
    for k in range(min(n, capacity(category))):
        round_, t = divmod(k, len(topics))
        template = templates[(round_ + t) % len(templates)]
        audience = AUDIENCES[(round_ // len(templates)) % len(AUDIENCES)]
        prompts.append(template.format(topic=topics[t]) + audience)
    return prompts
