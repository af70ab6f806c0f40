"""Spending caps for LLM batches: a call's cost is reserved before it is sent, so a cap holds.

    budget = Budget(cap_usd=0.002, spent_usd=float(job.cost_usd))
    results = await gateway.abatch(requests, organization=org, budget=budget)
    # a call whose worst case no longer fits is not sent: BudgetExceededError in its place

Before each attempt the gateway reserves its most expensive outcome, `max_cost_usd`: the prompt as
litellm counts it plus a reply of `max_tokens`, at the model's price in litellm's cost map. A
reservation that would take spent + reserved past the cap waits for the calls in flight to settle
(their real cost is usually far below the reservation) and is refused when nothing is left in
flight. Settling swaps the reservation for what the provider billed. So a batch spends at most the
cap, as long as the provider counts the prompt as litellm does; a provider that counts a few more
prompt tokens can pass it by those tokens of the calls in flight, far less than one call.

Models without a price cost nothing here: the offline engine and custom providers (they are free),
and models missing from litellm's cost map (their responses are priced 0.0 too, so neither the
reservation nor the spend sees them: a cap does not limit them).

No Django; litellm is imported only when a price is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from studio.llm import runtime

# float sums of prices drift in the last bits; a reservation that fits to a billionth of a cent fits
_TOLERANCE_USD = 1e-11


@dataclass
class Budget:
    """What may still be spent: the cap, what was spent, what calls in flight have reserved."""

    cap_usd: float
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    in_flight: int = 0  # reservations not settled yet (a sum of floats never quite returns to 0)

    @property
    def left_usd(self) -> float:
        return self.cap_usd - self.spent_usd - self.reserved_usd

    def reserve(self, max_cost_usd: float) -> bool:
        """Hold `max_cost_usd` for a call about to be sent; False (nothing held) when it would pass the cap."""
        if max_cost_usd > self.left_usd + _TOLERANCE_USD:
            return False
        self.reserved_usd += max_cost_usd
        self.in_flight += 1
        return True

    def settle(self, reserved_usd: float, actual_usd: float) -> None:
        """A call came back: its reservation is released and what it cost is spent."""
        self.in_flight = max(0, self.in_flight - 1)
        self.reserved_usd = max(0.0, self.reserved_usd - reserved_usd) if self.in_flight else 0.0
        self.spent_usd += actual_usd

    def split(self, weights: list[int]) -> list["Budget"]:
        """What is left, shared out by weight: budgets for worker processes that together cannot pass the cap."""
        left, total = max(self.left_usd, 0.0), sum(weights) or 1
        return [Budget(cap_usd=left * weight / total) for weight in weights]


def max_cost_usd(model: str, messages: list[dict], max_tokens: int) -> float:
    """The most one call can cost: the prompt as litellm counts it plus a reply of `max_tokens`; 0.0 unpriced."""
    if runtime.is_custom_model(model) or not _priced(model):
        return 0.0
    litellm = runtime.litellm()
    prompt_tokens = litellm.token_counter(model=model, messages=messages)
    prompt_usd, completion_usd = litellm.cost_per_token(model=model, prompt_tokens=prompt_tokens,
                                                        completion_tokens=max_tokens)
    return float(prompt_usd + completion_usd)


@lru_cache(maxsize=512)
def _priced(model: str) -> bool:
    """Whether litellm's cost map prices `model` (an unmapped model raises, slowly: asked once per model)."""
    try:
        runtime.litellm().cost_per_token(model=model, prompt_tokens=1, completion_tokens=1)
    except Exception:
        return False
    return True


# --- amounts in messages --------------------------------------------------------------------------

MAX_DECIMALS = 6  # a millionth of a dollar: amounts closer than that print the same


def usd(*amounts: float) -> list[str]:
    """Dollar amounts printed alike, with the decimals it takes to read them.

    At least 2 decimals and 2 significant digits of the largest amount, then more until amounts
    that differ print differently (at most MAX_DECIMALS): (0.004608, 0.002) → 0.0046, 0.0020;
    (10, 10) → 10.00, 10.00; (0.0502, 0.05) → 0.0502, 0.0500.
    """
    largest = max((abs(a) for a in amounts), default=0.0)
    decimals = 2 if largest == 0 else min(max(2, 1 - math.floor(math.log10(largest))), MAX_DECIMALS)
    while True:
        shown = [f"{amount:,.{decimals}f}" for amount in amounts]
        clashes = any(shown[i] == shown[j] and amounts[i] != amounts[j]
                      for i in range(len(amounts)) for j in range(i + 1, len(amounts)))
        if not clashes or decimals >= MAX_DECIMALS:
            return shown
        decimals += 1
