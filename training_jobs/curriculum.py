"""The curriculum of the unified adapter: ordered phases over the mix, each with its own learning rate. No Django.

One LoRA adapter is trained phase after phase (the next phase goes on training the same adapter):
first the foundation (technical, instructional, factual), then analytical depth, then the empathic
and creative range at a lower rate, then every category shuffled together so the model practises
switching between styles, and a last low-rate pass over everything. The learning rate falls phase
by phase so later phases refine rather than overwrite what earlier ones taught.

`UNIFIED_DEFAULTS` are the hyperparameters every phase shares; the keys are the TRL backend's config
keys (training_jobs/backends/trl_backend.TRLConfig). Precision (bf16) is left to the device.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from training_jobs.categories import CATEGORIES
from training_jobs.composition import Issue

ALL = "all"  # shorthand for every category, shuffled together
MAX_PHASES = 10
MAX_EPOCHS = 20
MAX_LEARNING_RATE = 1e-2
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _+-]{0,39}$")
_FIELDS = ("name", "categories", "learning_rate", "epochs")

UNIFIED_DEFAULTS: dict = {
    "lr_scheduler": "cosine",
    "warmup_ratio": 0.03,
    "max_grad_norm": 1.0,
    "lora_r": 32,  # higher than a single-style adapter needs: it has to hold the whole range
    "lora_alpha": 64,
    "lora_dropout": 0.05,
    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "batch_size": 4,
    "grad_accum": 8,  # effective batch 32
}


@dataclass(frozen=True)
class Phase:
    name: str
    categories: tuple[str, ...]  # ("all",) for every category
    learning_rate: float
    epochs: int = 1

    @property
    def covers_all(self) -> bool:
        return self.categories == (ALL,)

    def category_set(self) -> tuple[str, ...]:
        """The concrete categories this phase trains on, in `CATEGORIES` order."""
        return CATEGORIES if self.covers_all else tuple(c for c in CATEGORIES if c in self.categories)

    def as_dict(self) -> dict:
        return {"name": self.name, "categories": list(self.categories), "learning_rate": self.learning_rate,
                "epochs": self.epochs}

    def config(self, overrides: Mapping | None = None) -> dict:
        """The backend config of this phase: the shared defaults, its rate and epochs, then `overrides`."""
        return {**UNIFIED_DEFAULTS, "learning_rate": self.learning_rate, "epochs": self.epochs, **(overrides or {})}


DEFAULT_PHASES: tuple[Phase, ...] = (
    Phase("foundation", ("technical", "instructional", "factual"), 2e-5),
    Phase("analytical", ("analytical", "tool", "ethical"), 1.5e-5),
    Phase("empathic+creative", ("empathetic", "creative", "conversational"), 1e-5),
    Phase("mixed", (ALL,), 5e-6),
    Phase("fine-tuning", (ALL,), 3e-6),
)


def parse_curriculum(data: Mapping | Sequence) -> list[Phase]:
    """Validated phases from {"phases": [{name, categories, learning_rate, epochs?}, …]} (or the bare list).

    ValueError naming the first problem, as "curriculum.phases.<i>.<field>: …" (i counts from 0).
    """
    phases = data.get("phases") if isinstance(data, Mapping) else data
    if isinstance(phases, (str, bytes)) or not isinstance(phases, Sequence):
        raise ValueError("curriculum.phases: expected a list of phases")
    if not 1 <= len(phases) <= MAX_PHASES:
        raise ValueError(f"curriculum.phases: 1 to {MAX_PHASES} phases, got {len(phases)}")
    parsed, names = [], {}
    for i, item in enumerate(phases):
        phase = _parse_phase(i, item)
        key = phase.name.casefold()
        if key in names:
            raise ValueError(f"curriculum.phases.{i}.name: {phase.name!r} is already the name of phase {names[key]}")
        names[key] = i
        parsed.append(phase)
    return parsed


def _parse_phase(i: int, item) -> Phase:
    where = f"curriculum.phases.{i}"
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: expected an object with {', '.join(_FIELDS)}")
    unknown = sorted(set(item) - set(_FIELDS), key=str)
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: unknown field (known: {', '.join(_FIELDS)})")
    for name in _FIELDS[:3]:
        if name not in item:
            raise ValueError(f"{where}.{name}: required")
    name = item["name"].strip() if isinstance(item["name"], str) else item["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{where}.name: 1 to 40 letters, digits, spaces, '_', '+' or '-', starting with a letter or digit")
    return Phase(name, _parse_categories(where, item["categories"]), _parse_rate(where, item["learning_rate"]),
                 _parse_epochs(where, item.get("epochs", 1)))


def _parse_categories(where: str, value) -> tuple[str, ...]:
    if value == ALL:
        return (ALL,)
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ValueError(f"{where}.categories: a non-empty list of categories, or \"all\"")
    for category in value:
        if category == ALL and len(value) > 1:
            raise ValueError(f"{where}.categories: \"all\" stands alone; it already means every category")
        if category != ALL and category not in CATEGORIES:
            raise ValueError(f"{where}.categories: unknown category {category!r} (known: {', '.join(CATEGORIES)}, or \"all\")")
    if len(set(value)) != len(value):
        raise ValueError(f"{where}.categories: a category is listed twice")
    return tuple(value)


def _parse_rate(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}.learning_rate: must be a number, got {value!r}")
    if not 0 < value <= MAX_LEARNING_RATE:
        raise ValueError(f"{where}.learning_rate: must be above 0 and at most {MAX_LEARNING_RATE:g}, got {value:g}")
    return float(value)


def _parse_epochs(where: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EPOCHS:
        raise ValueError(f"{where}.epochs: a whole number from 1 to {MAX_EPOCHS}, got {value!r}")
    return value


def phase_rows(phases: Sequence[Phase], mix_ids_by_category: Mapping[str, Sequence[int]], *, seed: int = 0) -> list[list[int]]:
    """The mix rows each phase trains on, in training order: its categories' rows, shuffled.

    An "all" phase gets every mix row. Each phase is shuffled with its own generator seeded by
    (`seed`, phase index), so the same mix and seed give the same order, and two "all" phases do not
    repeat one order.
    """
    rows = []
    for i, phase in enumerate(phases):
        ids = [int(r) for c in phase.category_set() for r in mix_ids_by_category.get(c, ())]
        order = np.random.default_rng([seed, i]).permutation(len(ids))
        rows.append([ids[j] for j in order])
    return rows


def _counts(mix: Mapping[str, int | Sequence[int]]) -> dict[str, int]:
    return {c: v if isinstance(v, int) else len(v) for c, v in mix.items()}


def empty_phases(phases: Sequence[Phase], mix: Mapping[str, int | Sequence[int]]) -> list[Issue]:
    """Errors for the phases with no rows at all in the mix (`mix`: its ids, or its row count, per category)."""
    counts, issues = _counts(mix), []
    for i, phase in enumerate(phases):
        if not any(counts.get(c, 0) > 0 for c in phase.category_set()):
            missing = "any category" if phase.covers_all else ", ".join(phase.categories)
            issues.append(Issue("error", f"curriculum.phases.{i}.categories", f"no rows in the mix for {missing}: "
                                                                              f"phase {phase.name!r} would train on nothing"))
    return issues


def coverage_warnings(phases: Sequence[Phase], mix: Mapping[str, int | Sequence[int]]) -> list[Issue]:
    """Warnings: a phase with some of its categories missing from the mix; mix rows that no phase trains on."""
    counts, issues = _counts(mix), []
    for i, phase in enumerate(phases):
        present = [c for c in phase.category_set() if counts.get(c, 0) > 0]
        missing = [c for c in phase.categories if c != ALL and counts.get(c, 0) <= 0]
        if present and missing:
            issues.append(Issue("warning", f"curriculum.phases.{i}.categories", f"no rows in the mix for {', '.join(missing)}: "
                                                                                f"phase {phase.name!r} trains on the rest only"))
    covered = {c for phase in phases for c in phase.category_set()}
    unused = [c for c in CATEGORIES if counts.get(c, 0) > 0 and c not in covered]
    if unused:
        issues.append(Issue("warning", "curriculum.phases", f"no phase trains on {', '.join(unused)} "
                                                           f"({sum(counts[c] for c in unused):,} mix rows unused)"))
    return issues
