"""What the gateway takes and gives back: one call's knobs, each attempt, the completion, the errors.

Plain dataclasses with no Django and no litellm, so they pickle across the batch
worker processes and are cheap to import anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

ATTEMPT_KINDS = (
    "ok",
    "rate_limit",
    "server_error",
    "timeout",
    "connection",
    "invalid_output",
    "empty",  # the reply had no text (or only whitespace): never stored as content
    "auth",
    "bad_request",
    "no_credentials",
    "budget",  # not sent: its worst-case cost would pass the batch's budget (budget.py)
    "error",
)
# Worth another try on the same model: the provider may answer next time.
RETRYABLE_KINDS = frozenset({"rate_limit", "server_error", "timeout", "connection", "invalid_output", "empty"})


@dataclass(frozen=True)
class StepConfig:
    """One call's knobs, usually a pipeline step's from the config tree."""

    model: str
    temperature: float = 0.7
    max_tokens: int = 1024
    fallbacks: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    timeout_s: float = 60.0
    json_mode: bool = False  # ask for a JSON object (response_format) where the provider supports it
    seed: int | None = None  # sampling seed: K samples of one prompt differ by seed (dropped where unsupported)
    top_p: float | None = None  # nucleus sampling (training data generation); None leaves the provider's default

    def __post_init__(self):
        if not self.model:
            raise ValueError("StepConfig needs a model")
        # lists from JSON config become tuples, so configs stay hashable and immutable
        object.__setattr__(self, "fallbacks", tuple(self.fallbacks or ()))
        object.__setattr__(self, "stop", tuple(self.stop or ()))

    @classmethod
    def from_step(cls, step: dict, **overrides) -> "StepConfig":
        """From `effective_tree(org, ws).step(name)`: {model, temperature, max_tokens, fallbacks, enabled}."""
        known = {"model", "temperature", "max_tokens", "fallbacks", "stop", "timeout_s", "json_mode", "seed", "top_p"}
        values = {key: value for key, value in step.items() if key in known and value is not None}
        return cls(**{**values, **overrides})

    @property
    def models(self) -> tuple[str, ...]:
        """The fallback chain in order, the primary model first, each model once."""
        return tuple(dict.fromkeys((self.model, *self.fallbacks)))


@dataclass(frozen=True)
class Reply:
    """An in-process provider's answer when the gateway calls it directly (runtime.custom_handler), without litellm."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class Attempt:
    model: str
    ok: bool
    kind: str  # one of ATTEMPT_KINDS
    error: str  # readable, "" when ok
    latency_ms: float
    # what the provider billed for this attempt: an answer `parse` rejected was billed too
    cost_usd: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def describe(self) -> str:
        outcome = "ok" if self.ok else f"{self.kind}: {self.error}"
        return f"{self.model} — {outcome} ({self.latency_ms:.0f} ms)"


@dataclass(frozen=True)
class Completion:
    text: str
    model: str  # the model actually used (after fallbacks)
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float  # of the successful call, litellm's cost map; 0.0 for offline/ and unknown models
    latency_ms: float  # of the successful call
    attempts: tuple[Attempt, ...] = field(default=())  # every attempt, failed ones included
    parsed: Any = None  # what `parse` returned

    def with_attempts(self, attempts) -> "Completion":
        return replace(self, attempts=tuple(attempts))


class LLMError(Exception):
    """Every attempt on every model of the chain failed; str() lists them all."""

    def __init__(self, attempts, message: str | None = None):
        self.attempts = tuple(attempts)
        super().__init__(message or self.summary())

    def summary(self) -> str:
        lines = [f"all {len(self.attempts)} LLM attempts failed:"]
        lines += [f"  {n}. {attempt.describe()}" for n, attempt in enumerate(self.attempts, 1)]
        return "\n".join(lines)

    def __reduce__(self):  # survives the trip back from a batch worker process
        return (type(self), (self.attempts, str(self)))

    @property
    def kinds(self) -> set[str]:
        return {attempt.kind for attempt in self.attempts}


class NoCredentialsError(LLMError):
    """No model of the chain could be called: none of their providers has credentials."""

    def __init__(self, attempts, message: str | None = None):
        attempts = tuple(attempts)
        super().__init__(attempts, message or "; ".join(dict.fromkeys(a.error for a in attempts)))


class BudgetExceededError(LLMError):
    """The call was not sent (or not tried again): its worst-case cost would pass the batch's budget."""


def failure(attempts) -> LLMError:
    """The error for a chain where nothing succeeded."""
    attempts = tuple(attempts)
    if attempts and all(attempt.kind == "no_credentials" for attempt in attempts):
        return NoCredentialsError(attempts)
    if attempts and attempts[-1].kind == "budget":
        return BudgetExceededError(attempts)
    return LLMError(attempts)


class Billed(NamedTuple):
    cost_usd: float
    prompt_tokens: int
    completion_tokens: int


def billed(result: "Completion | LLMError") -> Billed:
    """What one call of a batch was billed for: its answer and every answer `parse` rejected on the way."""
    rejected = [attempt for attempt in getattr(result, "attempts", ()) if not attempt.ok]
    cost = sum(attempt.cost_usd for attempt in rejected)
    prompt = sum(attempt.prompt_tokens for attempt in rejected)
    completion = sum(attempt.completion_tokens for attempt in rejected)
    if isinstance(result, Completion):
        cost, prompt, completion = cost + result.cost_usd, prompt + result.prompt_tokens, completion + result.completion_tokens
    return Billed(cost, prompt, completion)
