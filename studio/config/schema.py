"""The config tree's schema: every key with its type, default, bounds and help. Pure Python, no Django.

Keys are dotted paths. Values are JSON values checked by `KeySpec.validate`.
Whether a model name is known depends on litellm's catalogue and on the org's
provider credentials, so validation takes that check as a callable.
"""

import json
import math
import re
from dataclasses import dataclass, replace
from typing import Any, Callable

# (model name, mode "chat" | "embedding") -> an error message, or None when the model is usable.
ModelCheck = Callable[[str, str], str | None]

STEPS = ("intent_parse", "soul_draft", "self_enrich", "mask_build", "surface_ground", "audit")
REVIEW_AXES = ("in_character", "protocol_adherent", "closure_complete")
MAX_KEY_LENGTH = 200
MAX_FALLBACKS = 5

# Entries of litellm's bundled cost map (checked in tests): opus-class for the deep steps, sonnet-class for the rest.
OPUS = "anthropic/claude-opus-4-7"
SONNET = "anthropic/claude-sonnet-4-6"
HAIKU = "anthropic/claude-haiku-4-5"


class SchemaError(ValueError):
    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class KeySpec:
    key: str
    kind: str  # bool | int | float | choice | model | models | weights | hf_repo | word
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    min_exclusive: bool = False
    choices: tuple[str, ...] = ()
    model_mode: str = "chat"
    inherits: str | None = None  # a per-persona key defaults to this key's effective value

    @property
    def group(self) -> str:
        # Per-persona keys share one group, however many personas have one.
        return f"{self.inherits} per persona" if self.inherits else self.key.rsplit(".", 1)[0]

    @property
    def name(self) -> str:
        return f"persona {self.key.split('.')[2]}" if self.inherits else self.key.rsplit(".", 1)[1]

    @property
    def type_label(self) -> str:
        labels = {
            "models": "list of model names", "weights": f"weights of {', '.join(REVIEW_AXES)} (sum 1)",
            "hf_repo": "Hugging Face repo id", "model": f"{self.model_mode} model name",
            "choice": " | ".join(self.choices),
        }
        return labels.get(self.kind, self.kind)

    @property
    def bounds(self) -> str:
        low, high = self.minimum, self.maximum
        if low is None and high is None:
            return ""
        if self.min_exclusive:
            return f"> {low:g}" + (f" and ≤ {high:g}" if high is not None else "")
        if high is None:
            return f"≥ {low:g}"
        return f"{low:g}–{high:g}"

    def validate(self, value: Any, check_model: ModelCheck) -> Any:
        """The value as stored, or SchemaError naming this key."""
        return _VALIDATORS[self.kind](self, value, check_model)

    def parse_text(self, text: str) -> Any:
        """A form field's text as a JSON value of this key's type (validated separately)."""
        return _PARSERS.get(self.kind, _parse_plain)(self, (text or "").strip())


# --- validators -------------------------------------------------------------------------


def _fail(spec: KeySpec, message: str):
    raise SchemaError(spec.key, message)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_bounds(spec: KeySpec, number):
    if not math.isfinite(number):
        _fail(spec, "must be a finite number")
    low, high = spec.minimum, spec.maximum
    too_low = low is not None and (number <= low if spec.min_exclusive else number < low)
    if too_low or (high is not None and number > high):
        _fail(spec, f"{number:g} is out of range (must be {spec.bounds})")
    return number


def _validate_bool(spec, value, check_model):
    if not isinstance(value, bool):
        _fail(spec, "must be true or false")
    return value


def _validate_int(spec, value, check_model):
    if not isinstance(value, int) or isinstance(value, bool):
        _fail(spec, "must be an integer")
    return _check_bounds(spec, value)


def _validate_float(spec, value, check_model):
    if not _is_number(value):
        _fail(spec, "must be a number")
    return float(_check_bounds(spec, float(value)))


def _validate_choice(spec, value, check_model):
    if value not in spec.choices:
        _fail(spec, f"must be one of: {', '.join(spec.choices)}")
    return value


def _model_name(spec, value, check_model, *, what="must be a model name") -> str:
    if not isinstance(value, str) or not value or len(value) > 200 or any(ch.isspace() for ch in value):
        _fail(spec, f"{what} (a non-empty string without spaces)")
    if error := check_model(value, spec.model_mode):
        _fail(spec, error)
    return value


def _validate_model(spec, value, check_model):
    return _model_name(spec, value, check_model)


def _validate_models(spec, value, check_model):
    if not isinstance(value, list):
        _fail(spec, "must be a list of model names, in the order to try them")
    if len(value) > (MAX_FALLBACKS if spec.maximum is None else spec.maximum):
        _fail(spec, f"at most {MAX_FALLBACKS} fallbacks" if spec.maximum is None else f"at most {spec.maximum:g} models")
    names = [_model_name(spec, item, check_model, what="every entry must be a model name") for item in value]
    if len(set(names)) != len(names):
        _fail(spec, "lists a model twice")
    return names


def _validate_weights(spec, value, check_model):
    if not isinstance(value, dict) or set(value) != set(REVIEW_AXES):
        _fail(spec, f"must be an object with exactly the axes {', '.join(REVIEW_AXES)}")
    weights = {}
    for axis in REVIEW_AXES:
        weight = value[axis]
        if not _is_number(weight) or not math.isfinite(weight) or not 0 <= weight <= 1:
            _fail(spec, f"weight of {axis} must be a number between 0 and 1")
        weights[axis] = float(weight)
    if abs(sum(weights.values()) - 1) > 1e-6:
        _fail(spec, f"weights must sum to 1 (they sum to {sum(weights.values()):g})")
    return weights


HF_REPO_RE = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")


def _validate_hf_repo(spec, value, check_model):
    if not isinstance(value, str) or not HF_REPO_RE.match(value):
        _fail(spec, "must be a Hugging Face repo id such as Qwen/Qwen2.5-7B-Instruct")
    return value


WORD_RE = re.compile(r"^[^\W_]+(?:['-][^\W_]+)*$")


def _validate_word(spec, value, check_model):
    if not isinstance(value, str) or len(value) > 40 or not WORD_RE.match(value.strip()):
        _fail(spec, "must be one word (letters or digits, at most 40 characters)")
    return value.strip()


_VALIDATORS = {
    "bool": _validate_bool, "int": _validate_int, "float": _validate_float, "choice": _validate_choice,
    "model": _validate_model, "models": _validate_models, "weights": _validate_weights, "hf_repo": _validate_hf_repo,
    "word": _validate_word,
}


# --- form text parsers ------------------------------------------------------------------


def _parse_plain(spec, text):
    return text


def _parse_bool(spec, text):
    lowered = text.lower()
    if lowered in {"true", "on", "yes", "1"}:
        return True
    if lowered in {"false", "off", "no", "0"}:
        return False
    return text  # left for validate() to reject with the key's message


def _parse_number(spec, text):
    try:
        return int(text) if spec.kind == "int" and re.fullmatch(r"[+-]?\d+", text) else float(text)
    except ValueError:
        _fail(spec, f"'{text}' is not a number")


def _parse_models(spec, text):
    return [name.strip() for name in text.split(",") if name.strip()]


def _parse_json(spec, text):
    try:
        return json.loads(text)
    except ValueError:
        _fail(spec, "is not valid JSON")


_PARSERS = {"bool": _parse_bool, "int": _parse_number, "float": _parse_number, "models": _parse_models, "weights": _parse_json}


# --- the keys ---------------------------------------------------------------------------

_STEP_DEFAULTS = {
    # step: (model, fallback, temperature, max_tokens, what it does)
    "intent_parse": (SONNET, HAIKU, 0.2, 1024, "reads the brief into genre hints, locale and tonal axes"),
    "soul_draft": (OPUS, SONNET, 0.9, 4096, "drafts the soul: desire, fear, wound, growth arc"),
    "self_enrich": (SONNET, HAIKU, 0.7, 2048, "derives Big Five, archetype, values, attachment style from the soul"),
    "mask_build": (SONNET, HAIKU, 0.8, 2048, "builds voice, tone and signature phrases from soul and self"),
    "surface_ground": (SONNET, HAIKU, 0.7, 1024, "grounds name, age, place and occupation in the inner layers"),
    "audit": (OPUS, SONNET, 0.0, 2048, "judges the persona on five axes (0–5)"),
}


def _step_keys(step: str) -> list[KeySpec]:
    model, fallback, temperature, max_tokens, what = _STEP_DEFAULTS[step]
    prefix = f"engine.pipeline.{step}"
    return [
        KeySpec(f"{prefix}.model", "model", model, f"Model for {step}, which {what}."),
        KeySpec(f"{prefix}.temperature", "float", temperature, f"Sampling temperature for {step}.", 0, 2),
        KeySpec(f"{prefix}.max_tokens", "int", max_tokens, f"Completion token limit for {step}.", 1, 200_000),
        KeySpec(f"{prefix}.fallbacks", "models", [fallback], f"Models tried in order when {step}'s model fails."),
        KeySpec(f"{prefix}.enabled", "bool", True, f"Run {step} (off: the step is skipped where the pipeline allows it)."),
    ]


def _engine_keys() -> list[KeySpec]:
    p = "engine.pipeline"
    return [
        KeySpec(f"{p}.audit.min_overall_score", "float", 3.5, "Overall audit score below which the persona is regenerated.", 0, 5),
        KeySpec(f"{p}.audit.max_retries", "int", 3, "Regenerations before a persona ships flagged.", 0, 10),
        KeySpec(f"{p}.audit.on_edit", "bool", False, "Audit a persona version edited by hand (or restored) as soon as it is saved."),
        KeySpec(f"{p}.fingerprint.scenarios", "int", 50, "Short scenarios answered in persona for the voice fingerprint.", 1, 500),
        KeySpec(
            f"{p}.fingerprint.embedding_model", "model", "openai/text-embedding-3-small",
            "Embedding model for the voice fingerprint and drift scores.", model_mode="embedding",
        ),
        KeySpec(
            f"{p}.drift_detection.threshold", "float", 0.30,
            "Cosine distance to the fingerprint above which a reply drifts: the floor under a fingerprint's own bound "
            "(see z), and the whole bound for a fingerprint computed before calibration.", 0, 2,
        ),
        KeySpec(
            f"{p}.drift_detection.z", "float", 2.0,
            "A reply drifts past mean + z·sd of the distances of the fingerprint's own answers (each to the mean of the "
            "others), when that is above the threshold: each persona is held to its own spread.", 0, 10,
        ),
        KeySpec(
            f"{p}.drift_detection.action_on_alert", "choice", "warn",
            "warn: flag the drifting reply; block: withhold it (409).", choices=("warn", "block"),
        ),
        KeySpec(f"{p}.provocation.enabled", "bool", True, "Run the provocation suite after generation."),
        KeySpec(
            f"{p}.fork.max_drift_from_parent", "float", 0.35,
            "A fork whose voice fingerprint sits farther than this (cosine distance) from its parent's is flagged: no "
            "longer recognisably its parent.", 0, 2,
        ),
        KeySpec(
            f"{p}.distinctiveness.clone_floor", "float", 0.05,
            "Two personas of the org whose fingerprints are closer than this (cosine distance) are listed as near-clones.",
            0, 2,
        ),
        KeySpec(
            f"{p}.distinctiveness.min_score", "float", 0.0,
            "An eval run's ship gate also needs the persona's distinctiveness (its fingerprint's distance from a generic "
            "assistant's on the same scenarios) at least this (0: not part of the gate).", 0, 2,
        ),
        KeySpec(
            f"{p}.safety.safe_word", "word", "red",
            "Said alone in a chat, it locks the speaker's persona routes in this org for 12 hours (safety floor).",
        ),
        KeySpec(
            f"{p}.safety.lockout_scope", "choice", "persona_routes",
            "What a safe-word lockout closes, fixed when it starts: persona_routes (personas, their chats, runs, audits "
            "and evals) or whole_org (every page and API route of this org).", choices=("persona_routes", "whole_org"),
        ),
    ]


def _review_keys() -> list[KeySpec]:
    weights = {"in_character": 0.4, "protocol_adherent": 0.3, "closure_complete": 0.3}
    return [
        KeySpec("reviews.axis_weights", "weights", weights, "How reviewer axis scores weigh into a rating (sum 1)."),
        KeySpec("reviews.overlap", "int", 3, "Reviewers each paired output is assigned to.", 1, 20),
        KeySpec("reviews.bootstrap_rounds", "int", 1000, "Bootstrap rounds for the Elo and Bradley–Terry intervals.", 10, 20_000),
        KeySpec("reviews.min_votes_for_rating", "int", 10, "Votes a source needs before a leaderboard shows its rating.", 1, 10_000),
        KeySpec("reviews.judge_panel", "models", [], "Up to 3 judge models (best from different providers): each reads every "
                "pair in both orders and the majority decides, no majority a tie. Empty: the audit step's model alone.", 0, 3),
    ]


def _training_keys() -> list[KeySpec]:
    t = "training.defaults"
    return [
        KeySpec(
            f"{t}.teacher_model", "model", "deepinfra/Qwen/Qwen3-235B-A22B-Instruct-2507",
            "Teacher: answers with the constitution (DPO chosen).",
        ),
        KeySpec(f"{t}.student_model", "hf_repo", "Qwen/Qwen2.5-7B-Instruct", "Student checkpoint trained with LoRA (DPO rejected)."),
        KeySpec(f"{t}.lora_rank", "int", 64, "LoRA rank r.", 1, 1024),
        KeySpec(f"{t}.lora_alpha", "int", 128, "LoRA alpha.", 1, 4096),
        KeySpec(f"{t}.lora_layers", "int", 0, "LoRA on the top N transformer layers only (0: every layer).", 0, 1024),
        KeySpec(f"{t}.learning_rate", "float", 5e-5, "Learning rate.", 0, 1, min_exclusive=True),
        KeySpec(f"{t}.warmup_ratio", "float", 0.1, "Share of steps spent warming up the learning rate.", 0, 1),
        KeySpec(f"{t}.batch_size", "int", 32, "Global batch size.", 1, 4096),
        KeySpec(f"{t}.epochs", "int", 1, "Epochs per stage.", 1, 100),
        KeySpec(f"{t}.dpo_beta", "float", 0.1, "DPO β.", 0, 10, min_exclusive=True),
        KeySpec(f"{t}.nll_coef", "float", 0.1, "Weight of the NLL (SFT) term beside the DPO loss.", 0, 10),
        KeySpec(f"{t}.max_length", "int", 1024, "Max sequence length for DPO.", 16, 131_072),
        KeySpec(f"{t}.sft_max_length", "int", 3072, "Max sequence length for SFT.", 16, 131_072),
        KeySpec(f"{t}.temperature", "float", 0.7, "Sampling temperature for data generation.", 0, 2),
        KeySpec(f"{t}.top_p", "float", 0.95, "Nucleus sampling top-p for data generation.", 0, 1, min_exclusive=True),
        KeySpec(f"{t}.dpo_pairs", "int", 1500, "DPO preference pairs to generate.", 1, 1_000_000),
        KeySpec(f"{t}.reflections", "int", 10_000, "Introspective reflections to generate.", 0, 1_000_000),
        KeySpec(f"{t}.self_interactions", "int", 2000, "Self-interaction conversations to generate.", 0, 1_000_000),
        KeySpec(f"{t}.interaction_turns", "int", 10, "Turns per self-interaction.", 1, 100),
    ]


def _limit_keys() -> list[KeySpec]:
    return [
        KeySpec("limits.api_per_minute", "int", 600, "API requests per minute per API key (then 429 with Retry-After).", 1, 100_000),
        KeySpec("limits.spend_per_minute", "int", 30, "Requests per minute per key or member that spend LLM money: "
                "generation, chat, audits, eval and judge runs, comparison and dataset generation, training.", 1, 10_000),
    ]


def _all_keys() -> dict[str, KeySpec]:
    specs = [spec for step in STEPS for spec in _step_keys(step)]
    specs += _engine_keys() + _review_keys() + _training_keys() + _limit_keys()
    return {spec.key: spec for spec in specs}


SCHEMA: dict[str, KeySpec] = _all_keys()

# Per-persona keys: stored only where set; they default to the general key's effective value.
PERSONA_WEIGHTS_RE = re.compile(r"^reviews\.persona\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.axis_weights$")


def persona_weights_key(persona_id) -> str:
    return f"reviews.persona.{str(persona_id).lower()}.axis_weights"


def lookup(key: str) -> KeySpec | None:
    """The spec of a key, including per-persona keys; None when the key is unknown."""
    if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH:
        return None
    if spec := SCHEMA.get(key):
        return spec
    if PERSONA_WEIGHTS_RE.match(key):
        base = SCHEMA["reviews.axis_weights"]
        return replace(base, key=key, help="Axis weights for one persona's reviews.", inherits=base.key)
    return None


def require(key: str) -> KeySpec:
    if (spec := lookup(key)) is None:
        shown = key if isinstance(key, str) and len(key) <= MAX_KEY_LENGTH else f"{str(key)[:60]}…"
        raise SchemaError(shown, "unknown config key")
    return spec


def validate(key: str, value: Any, check_model: ModelCheck) -> Any:
    """Validate one (key, value); returns the value as stored. Raises SchemaError naming the key."""
    return require(key).validate(value, check_model)
