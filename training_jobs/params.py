"""The Launch Training Job form's values, validated, and the stage plan they give. Pure: no Django.

`LaunchParams` is what `POST /v1/training-jobs` takes and what a job stores (`TrainingJob.params`).
Bounds refuse sizes ≤ 0 and absurdly large ones with a message naming the field; cross-field rules
that are *warnings* (teacher = student, few pairs, β > 0.5, …) live in the pre-flight (services).
"""

from __future__ import annotations

import math
import re
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator


STAGES = ("smoke", "dpo_data", "dpo_train", "introspection", "sft", "eval")
STAGE_LABELS = {
    "smoke": "Smoke test", "dpo_data": "DPO data", "dpo_train": "DPO training", "introspection": "Introspection",
    "sft": "SFT", "eval": "Evaluation",
}
DATA_SCALES = (25, 50, 75, 100)
BACKENDS = ("trl",)
# The stop sequences of every generation (SPEC §7): a model must not write the next turn itself.
STOP_SEQUENCES = ["\nUser:", "\nAssistant:", "\n\nUser:", "\n\nAssistant:"]
_SUFFIX = re.compile(r"^[\w .-]*$")


class LaunchParams(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    persona_id: UUID
    constitution_version: int | None = Field(default=None, ge=1, description="None: the newest (derived on launch if none)")
    preset: Literal["custom", "quick", "paper"] = "custom"
    teacher_model: str = Field(min_length=1, max_length=200, description="litellm model: answers with the constitution (chosen)")
    student_model: str = Field(min_length=1, max_length=200, description="litellm model serving the student: answers without it (rejected)")
    student_checkpoint: str = Field(default="tiny", min_length=1, max_length=300,
                                    description="What the backend trains: 'tiny' (built in), a local folder, or a hub id")
    dpo_pairs: int = Field(ge=1, le=100_000)
    reflections: int = Field(ge=1, le=1_000_000, description="Total: 10 introspective prompts × N")
    interactions: int = Field(ge=1, le=100_000)
    interaction_turns: int = Field(ge=2, le=50)
    data_scale: int = Field(default=100, description="Percent of the sizes to generate: 25, 50, 75 or 100")
    lora_rank: int = Field(ge=1, le=1024)
    lora_alpha: int = Field(ge=1, le=4096)
    lora_layers: int = Field(default=0, ge=0, le=1024, description="LoRA on the top N transformer layers only; 0: every layer")
    learning_rate: float = Field(gt=0, le=1)
    batch_size: int = Field(ge=1, le=4096)
    epochs: int = Field(ge=1, le=100)
    dpo_beta: float = Field(gt=0, le=10)
    nll_coef: float = Field(ge=0, le=10)
    max_length: int = Field(ge=16, le=131_072)
    sft_max_length: int = Field(ge=16, le=131_072)
    temperature: float = Field(ge=0, le=2)
    top_p: float = Field(gt=0, le=1)
    max_new_tokens: int = Field(default=512, ge=1, le=32_768)
    smoke_test: Literal["none", "small", "large", "both"] = "small"
    budget_usd: float | None = Field(default=None, gt=0, le=1_000_000, description="Cap in USD; null for none")
    max_burn_usd_per_hour: float | None = Field(default=None, gt=0, le=1_000_000)
    max_drop_rate: float = Field(default=0.3, gt=0, le=1, description="Data-quality gate: a data stage is killed past this drop rate")
    concurrency: int = Field(default=64, ge=1, le=512, description="LLM calls in flight while generating data")
    backend: str = "trl"
    name_suffix: str = Field(default="", max_length=60)
    generate_introspection: bool = True
    run_sft: bool = True
    strip_reflection_traces: bool = False
    keep_interaction_traces: bool = False
    review_eval_pairs: bool = Field(default=False, description="Store the evaluation's base-vs-tuned pairs in the persona's "
                                                               "blind review queue (default: judged, never sent to reviewers)")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    # In-training checkpoint evaluations and the early stop on a plateau (training_jobs.checkpoint_evals)
    eval_every_steps: int = Field(default=0, ge=0, le=100_000, description="Evaluate the checkpoint every N training "
                                  "steps (marker rate and win rate vs base on a held-out set); 0: off")
    eval_holdout_prompts: int = Field(default=8, ge=1, le=64, description="Held-out prompts each checkpoint evaluation asks")
    early_stop_patience: int = Field(default=3, ge=0, le=100, description="Stop training after this many checkpoint "
                                     "evaluations without improvement; 0: never stop early")
    early_stop_min_delta: float = Field(default=0.05, ge=0, le=1, allow_inf_nan=False,
                                        description="The least rise in the metric that counts as an improvement")
    early_stop_metric: Literal["win_rate", "marker_rate"] = "win_rate"
    # The evaluation stage also profiles base and tuned by revealed preference (training_jobs.trait_eval); 0: off
    eval_trait_profile_prompts: int = Field(default=0, ge=0, le=500, description="Trait profiles of base and tuned in the "
                                            "evaluation stage, on this many prompts each (20–500); 0: off")

    @model_validator(mode="after")
    def _checks(self) -> "LaunchParams":
        if self.data_scale not in DATA_SCALES:
            raise ValueError("data_scale: must be one of 25, 50, 75, 100")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend: unknown backend {self.backend!r}; choose one of {', '.join(BACKENDS)}")
        if not _SUFFIX.match(self.name_suffix):
            raise ValueError("name_suffix: letters, digits, spaces, '.', '_' and '-' only")
        if self.run_sft and not self.generate_introspection:
            raise ValueError("run_sft: SFT trains on the introspection data; turn on “Generate introspection data” too")
        if 0 < self.eval_trait_profile_prompts < 20:
            raise ValueError(f"eval_trait_profile_prompts: 0 (off) or 20 to 500 prompts (you entered {self.eval_trait_profile_prompts})")
        return self

    # --- derived ---------------------------------------------------------------------------------

    def scaled(self, size: int) -> int:
        return max(1, math.ceil(size * self.data_scale / 100))

    @property
    def sizes(self) -> dict[str, int]:
        """What the full-scale stages generate, after the data scale."""
        return {"dpo_pairs": self.scaled(self.dpo_pairs), "reflections": self.scaled(self.reflections),
                "interactions": self.scaled(self.interactions), "interaction_turns": self.interaction_turns}

    def stage_plan(self) -> list[str]:
        """The stages this job runs, in order (skipped ones left out)."""
        plan = []
        for stage in STAGES:
            if stage == "smoke" and self.smoke_test == "none":
                continue
            if stage == "introspection" and not self.generate_introspection:
                continue
            if stage == "sft" and not self.run_sft:
                continue
            plan.append(stage)
        return plan


def field_of(message: str, default: str = "__root__") -> str:
    """'data_scale: must be …' → 'data_scale', 'curriculum.phases.2.epochs: …' → that path (model-level checks name
    their field first)."""
    head, sep, _ = message.partition(":")
    return head.strip() if sep and re.fullmatch(r"[a-z_]+(\.[\w+-]+)*", head.strip()) else default


def validation_errors(exc) -> list[dict]:
    """[{field, message}] from a pydantic ValidationError, in plain words; model-level messages attributed to their
    field (and said without the field name they start with: the form shows the field's label beside it)."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        name = loc or field_of(message)
        if not loc and name != "__root__":
            message = message.split(":", 1)[1].strip()
        out.append({"field": name, "message": plain_message(err, message)})
    return out


def _number(value) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def plain_message(err: dict, message: str) -> str:
    """pydantic's "Input should be less than or equal to 1" as a person would say it: "must be at most 1 (you entered 5)"."""
    ctx, given = err.get("ctx") or {}, err.get("input")
    entered = f" (you entered {given})" if isinstance(given, str | int | float) and str(given) != "" else ""
    kind = err.get("type", "")
    bounds = {"less_than_equal": ("at most", "le"), "less_than": ("below", "lt"),
              "greater_than_equal": ("at least", "ge"), "greater_than": ("above", "gt")}
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {_number(ctx[key])}{entered}"
    if kind == "missing" or (kind.endswith("_parsing") and given in ("", None)):
        return "is required"
    if kind == "int_parsing" or kind == "int_from_float":
        return f"must be a whole number{entered}"
    if kind == "float_parsing":
        return f"must be a number{entered}"
    if kind == "uuid_parsing":
        return "choose one from the list"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}{entered}"
    if kind == "string_too_long":
        return f"must be at most {_number(ctx['max_length'])} characters"
    if kind == "string_too_short":
        return "is required" if ctx.get("min_length") == 1 else f"must be at least {_number(ctx['min_length'])} characters"
    return message


# What each stage reads from earlier stages: resuming at a stage needs these artifacts.
STAGE_INPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "smoke": (),
    "dpo_data": (),
    "dpo_train": (("dpo_data", "pairs"),),
    "introspection": (),  # the teacher can always write it; the DPO checkpoint is used when present and samplable
    "sft": (("introspection", "sft_examples"), ("dpo_train", "adapter")),
    "eval": (("dpo_train", "adapter"),),
}
