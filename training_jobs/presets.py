"""Launch-form presets (SPEC §7, §9) and smoke-test sizes. Pure: no Django.

- "Paper": the Open Character Training reference values (SPEC §7 form values; hyperparameters as in §9).
- "Quick iteration": small data sizes and short answers, sized so that the whole job trains the default student
  (SmolLM2-135M-Instruct) on a 2-core CPU in under 10 minutes and still moves its character measurably (issue 14;
  figures in tests/benchmarks/test_quick_iteration_bench.py). A higher learning rate than the paper's: a few
  dozen LoRA steps instead of thousands.
- "Custom": fills nothing; the form keeps the config-tree defaults / the user's values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

REFLECTION_PROMPTS = 10  # fixed introspective prompts; reflections = prompts × per-prompt count


@dataclass(frozen=True)
class TrainingPreset:
    lora_rank: int
    lora_alpha: int
    lora_layers: int  # LoRA on the top N transformer layers (0: all)
    batch_size: int
    learning_rate: float
    warmup_ratio: float
    dpo_beta: float
    nll_coef: float
    temperature: float
    top_p: float
    epochs: int
    dpo_pairs: int
    reflections: int  # total: REFLECTION_PROMPTS × per-prompt count
    interactions: int
    interaction_turns: int
    max_length_dpo: int
    max_length_sft: int
    max_new_tokens: int  # per generated answer (teacher, student, introspection)

    @property
    def reflections_per_prompt(self) -> int:
        return self.reflections // REFLECTION_PROMPTS

    def values(self) -> dict:
        return asdict(self)


PAPER = TrainingPreset(
    lora_rank=64, lora_alpha=128, lora_layers=0, batch_size=32, learning_rate=5e-5, warmup_ratio=0.1,
    dpo_beta=0.1, nll_coef=0.1, temperature=0.7, top_p=0.95, epochs=1,
    dpo_pairs=1500, reflections=REFLECTION_PROMPTS * 1000,
    # SPEC §7 (the form's Paper value) says 2,000 self-interactions; §9 describes the reference's
    # generation as 1000 × 10 turns (per system-prompt variant). The form value wins here.
    interactions=2000, interaction_turns=10,
    max_length_dpo=1024, max_length_sft=3072, max_new_tokens=512,
)

QUICK_ITERATION = TrainingPreset(
    lora_rank=16, lora_alpha=32, lora_layers=0, batch_size=2, learning_rate=2e-3, warmup_ratio=0.1,
    dpo_beta=0.1, nll_coef=0.1, temperature=0.7, top_p=0.95, epochs=1,
    dpo_pairs=48, reflections=REFLECTION_PROMPTS * 2, interactions=6, interaction_turns=3,
    max_length_dpo=256, max_length_sft=384, max_new_tokens=64,
)

PRESETS: dict[str, TrainingPreset | None] = {"custom": None, "quick": QUICK_ITERATION, "paper": PAPER}
PRESET_LABELS = {"custom": "Custom", "quick": "Quick iteration", "paper": "Paper"}


def preset_values(name: str) -> dict:
    """The form fields a preset fills ({} for Custom). Unknown name → KeyError naming the choices."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    preset = PRESETS[name]
    return preset.values() if preset else {}


@dataclass(frozen=True)
class SmokeSize:
    name: str
    dpo_pairs: int
    reflections: int
    interactions: int
    interaction_turns: int
    approx_steps: int  # training steps one stage takes at this size (for progress estimates)

    def values(self) -> dict:
        return asdict(self)


SMOKE_SIZES = {
    "small": SmokeSize("small", dpo_pairs=8, reflections=20, interactions=2, interaction_turns=3, approx_steps=3),
    "large": SmokeSize("large", dpo_pairs=150, reflections=200, interactions=10, interaction_turns=10, approx_steps=25),
}
SMOKE_CHOICES = ("none", "small", "large", "both")


def smoke_plan(choice: str) -> list[SmokeSize]:
    """The smoke runs, in order, for the form's choice none / small / large / both."""
    if choice not in SMOKE_CHOICES:
        raise KeyError(f"unknown smoke test {choice!r}; choose one of {', '.join(SMOKE_CHOICES)}")
    if choice == "none":
        return []
    if choice == "both":
        return [SMOKE_SIZES["small"], SMOKE_SIZES["large"]]
    return [SMOKE_SIZES[choice]]
