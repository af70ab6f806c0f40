"""Kill criteria for training jobs (SPEC §7, issue 7 point 8). Pure: no Django, no torch.

One `KillCriteria` per training stage (it keeps the loss history for the flat-loss rule):

    criteria = KillCriteria({"stage": "dpo", "nll_coef": 0.1, "warmup_steps": 5, "budget_usd": 20})
    kill = criteria.check_step(metrics, step)      # every logged step; metrics as TRL logs them
    kill = criteria.check_data(marker_share)       # before training: share of chosen answers with markers
    kill = criteria.check_cost(spent_usd, elapsed_s, refused=False)

Each returns a `Kill` (which criterion fired, a one-line message, the numbers) or None.

Rules
- non_finite_loss: any logged loss value (`loss` and any key ending in `loss`, e.g. `nll_loss`) is NaN/±inf.
- dpo_loss (stage "dpo"): the *preference* part of the loss > `max_dpo_loss` (2.0). With the NLL term
  (TRL `loss_type=["sigmoid","sft"]`, `loss_weights=[1, nll_coef]`) the logged `loss` is
  preference + nll_coef × NLL, so the first logged loss is ≈ ln 2 + coef × NLL. The preference loss is taken,
  first match wins, from:
    1. `preference_loss` or `dpo_loss` when the backend logs it;
    2. `loss − nll_coef × nll_loss` when `nll_loss` is logged;
    3. `loss` itself when nll_coef is 0 (no NLL term);
    4. softplus(−`rewards/margins`) (TRL's margins are β-scaled): by Jensen a lower bound of the mean sigmoid
       DPO loss, so it kills only when the preference loss is surely above the limit;
    5. otherwise the rule is skipped for that step (nothing trustworthy was logged).
- reward_accuracy (stage "dpo"): after `warmup_steps` (step > warmup_steps), the mean of the last
  `accuracy_window` post-warm-up `rewards/accuracies` values < `min_reward_accuracy` (0.5). The window is
  full before it can fire (one noisy batch does not kill a job; set accuracy_window=1 for the literal rule).
- flat_loss: the *moving average* of the logged `loss` (mean of the last `flat_smooth` (5) logged values, so
  one noisy step neither fires nor hides the rule) has stayed flat for more than `flat_steps` (10) steps. Flat:
  over the shortest run of logged entries spanning more than `flat_steps` steps (first to last), the moving
  averages' max − min ≤ flat_rel_eps × max(|their mean|, 1e-8) — relative change below epsilon over the window.
  Needs at least two entries; `flat_smooth=1` is the raw-loss rule.
- marker_share (data-side): share of chosen responses containing a character marker < `min_marker_share`.
- budget: spent_usd ≥ budget_usd (when a cap is set), or `refused`: the gateway did not send a call because its
  worst-case cost would have passed the cap (studio/llm/budget.py), so the job cannot go on within it.
- burn_rate: spent_usd / elapsed hours > max_burn_usd_per_hour, once elapsed_s ≥ burn_min_elapsed_s (a rate
  over the first seconds is noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from studio.llm.budget import usd

CRITERIA = ("non_finite_loss", "dpo_loss", "reward_accuracy", "flat_loss", "marker_share", "budget", "burn_rate")


class KillConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stage: Literal["dpo", "sft"] = "dpo"
    nll_coef: float = Field(default=0.0, ge=0.0, le=10.0)
    max_dpo_loss: float = Field(default=2.0, gt=0.0)
    min_reward_accuracy: float = Field(default=0.5, ge=0.0, le=1.0)
    warmup_steps: int = Field(default=5, ge=0)
    accuracy_window: int = Field(default=3, ge=1)
    flat_steps: int = Field(default=10, ge=1)
    flat_rel_eps: float = Field(default=1e-3, ge=0.0)
    flat_smooth: int = Field(default=5, ge=1)
    min_marker_share: float = Field(default=0.8, ge=0.0, le=1.0)
    budget_usd: float | None = Field(default=None, gt=0.0)
    max_burn_usd_per_hour: float | None = Field(default=None, gt=0.0)
    burn_min_elapsed_s: float = Field(default=60.0, ge=0.0)


@dataclass(frozen=True)
class Kill:
    criterion: str
    message: str
    numbers: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        return {"criterion": self.criterion, "message": self.message, "numbers": dict(self.numbers)}


def _num(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def preference_loss(metrics: dict, nll_coef: float) -> tuple[float | None, str]:
    """The DPO preference loss from one step's logged metrics, and the rule used (see module docstring)."""
    for key in ("preference_loss", "dpo_loss"):
        if (value := _num(metrics.get(key))) is not None:
            return value, key
    loss = _num(metrics.get("loss"))
    nll = _num(metrics.get("nll_loss"))
    if loss is not None and nll is not None:
        return loss - nll_coef * nll, f"loss − {_fmt(nll_coef)} × nll_loss"
    if loss is not None and nll_coef == 0:
        return loss, "loss (no NLL term)"
    margin = _num(metrics.get("rewards/margins"))
    if margin is not None:
        # softplus(-m) = -log sigmoid(m), computed stably
        return max(-margin, 0.0) + math.log1p(math.exp(-abs(margin))), "softplus(−rewards/margins) lower bound"
    return None, "not logged"


class KillCriteria:
    def __init__(self, config: KillConfig | dict | None = None):
        if isinstance(config, KillConfig):
            self.config = config
        else:
            self.config = KillConfig.model_validate(config or {})
        self._losses: list[tuple[int, float]] = []  # (step, moving average of the loss)
        self._raw: list[float] = []  # the last flat_smooth logged losses
        self._accuracies: list[float] = []

    # --- every logged training step -------------------------------------------------------------

    def check_step(self, metrics: dict, step: int) -> Kill | None:
        c = self.config
        for key, value in metrics.items():
            if key == "loss" or key.endswith("loss"):
                number = _num(value)
                if number is not None and not math.isfinite(number):
                    return Kill("non_finite_loss", f"Killed at step {step}: {key} is {number} (non-finite).",
                                {"step": step, key: number})

        if c.stage == "dpo":
            pref, rule = preference_loss(metrics, c.nll_coef)
            if pref is not None and pref > c.max_dpo_loss:
                numbers = {"step": step, "preference_loss": pref, "limit": c.max_dpo_loss, "rule": rule}
                for key in ("loss", "nll_loss", "rewards/margins"):
                    if key in metrics:
                        numbers[key] = _num(metrics[key])
                if "nll_loss" in numbers:
                    numbers["nll_coef"] = c.nll_coef
                return Kill("dpo_loss", f"Killed at step {step}: DPO preference loss {_fmt(pref)} > {_fmt(c.max_dpo_loss)} "
                                        f"(from {rule}).", numbers)

            accuracy = _num(metrics.get("rewards/accuracies"))
            if accuracy is not None and step > c.warmup_steps:
                self._accuracies.append(accuracy)
                window = self._accuracies[-c.accuracy_window:]
                if len(window) == c.accuracy_window:
                    mean = sum(window) / len(window)
                    if mean < c.min_reward_accuracy:
                        return Kill("reward_accuracy",
                                    f"Killed at step {step}: reward accuracy {mean:.1%} < {c.min_reward_accuracy:.0%} "
                                    f"after warm-up ({c.warmup_steps} steps; mean of last {len(window)} logged).",
                                    {"step": step, "reward_accuracy": mean, "limit": c.min_reward_accuracy,
                                     "warmup_steps": c.warmup_steps, "window": list(window)})

        loss = _num(metrics.get("loss"))
        if loss is not None:
            self._raw.append(loss)
            recent = self._raw[-c.flat_smooth:]
            self._losses.append((step, sum(recent) / len(recent)))
            del self._raw[:-c.flat_smooth]
            flat = self._flat_window(step)
            if flat is not None:
                first_step, lo, hi = flat
                return Kill("flat_loss",
                            f"Killed at step {step}: loss flat since step {first_step} ({step - first_step} steps > "
                            f"{c.flat_steps}), its moving average (last {c.flat_smooth} steps) between {_fmt(lo)} and "
                            f"{_fmt(hi)} (relative change ≤ {_fmt(c.flat_rel_eps)}).",
                            {"step": step, "since_step": first_step, "steps": step - first_step, "min_loss": lo,
                             "max_loss": hi, "epsilon": c.flat_rel_eps, "flat_steps": c.flat_steps,
                             "smoothing": c.flat_smooth})
        return None

    def _flat_window(self, step: int) -> tuple[int, float, float] | None:
        c = self.config
        # the shortest suffix of the history whose first entry is more than flat_steps before `step`
        start = None
        for i in range(len(self._losses) - 1, -1, -1):
            if step - self._losses[i][0] > c.flat_steps:
                start = i
                break
        if start is None or len(self._losses) - start < 2:
            return None
        values = [v for _, v in self._losses[start:]]
        lo, hi = min(values), max(values)
        scale = max(abs(sum(values) / len(values)), 1e-8)
        if hi - lo <= c.flat_rel_eps * scale:
            return self._losses[start][0], lo, hi
        # keep the history bounded: entries before `start` can never form a shorter window again
        del self._losses[:start]
        return None

    # --- data and cost ---------------------------------------------------------------------------

    def check_data(self, marker_share: float) -> Kill | None:
        share = _num(marker_share)
        if share is None or not 0.0 <= share <= 1.0:
            raise ValueError(f"marker_share must be a number between 0 and 1, got {marker_share!r}")
        limit = self.config.min_marker_share
        if share < limit:
            return Kill("marker_share", f"Killed: only {share:.1%} of chosen responses carry a character marker "
                                        f"(minimum {limit:.0%}).", {"marker_share": share, "limit": limit})
        return None

    def check_cost(self, spent_usd: float, elapsed_s: float, *, refused: bool = False) -> Kill | None:
        """`refused`: a call of the last batch was not sent, its worst-case cost being over what the cap leaves."""
        c = self.config
        spent, elapsed = _num(spent_usd), _num(elapsed_s)
        if spent is None or spent < 0 or elapsed is None or elapsed < 0:
            raise ValueError(f"spent_usd and elapsed_s must be non-negative numbers, got {spent_usd!r}, {elapsed_s!r}")
        if c.budget_usd is not None and (spent >= c.budget_usd or refused):
            shown_spent, shown_cap = usd(spent, c.budget_usd)
            message = f"Killed: budget cap reached, ${shown_spent} spent of ${shown_cap}"
            if spent < c.budget_usd:  # not reached yet: the next call would pass it
                message = (f"Killed: the budget cap would be passed, ${shown_spent} spent of ${shown_cap}; "
                           f"the next call could cost more than the ${usd(c.budget_usd - spent)[0]} left")
            return Kill("budget", message + ".", {"spent_usd": spent, "budget_usd": c.budget_usd, "elapsed_s": elapsed})
        if c.max_burn_usd_per_hour is not None and elapsed >= max(c.burn_min_elapsed_s, 1e-9):
            rate = spent / (elapsed / 3600.0)
            if rate > c.max_burn_usd_per_hour:
                shown_rate, shown_limit = usd(rate, c.max_burn_usd_per_hour)
                return Kill("burn_rate", f"Killed: burn rate ${shown_rate}/h over the limit of ${shown_limit}/h "
                                         f"(${usd(spent)[0]} in {elapsed:.0f} s).",
                            {"burn_usd_per_hour": rate, "limit_usd_per_hour": c.max_burn_usd_per_hour,
                             "spent_usd": spent, "elapsed_s": elapsed})
        return None
