"""The Unified training form: posted values → UnifiedParams input, values for re-rendering, phase edits,
and where each pre-flight issue shows. No requests or models here.

The form posts strings: `dataset_ids` (checkboxes), `share-<category>` (one number per category),
`phases-<i>-name|categories|learning_rate|epochs` (one table row per phase, in the order shown) and the
scalar fields of `SECTIONS`. Numbers the curriculum reads are converted here (it takes numbers, not
strings); anything that does not parse is passed on as typed, so the error names the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from training_jobs.composition import DEFAULT_SHARES
from training_jobs.curriculum import ALL, DEFAULT_PHASES, MAX_PHASES
from training_jobs.categories import CATEGORIES
from training_jobs.launch_form import Field, Section
from training_jobs.unified import UnifiedParams

SECTIONS: tuple[Section, ...] = (
    Section("training", "LoRA & optimizer", (
        Field("student_checkpoint", "Student checkpoint", "text", "What the backend trains: tiny (built in), a local folder or a hub id."),
        Field("lora_rank", "LoRA rank r", help="Higher than one style needs: the adapter holds the whole range."),
        Field("lora_alpha", "LoRA α"),
        Field("lora_dropout", "LoRA dropout", step="any"),
        Field("batch_size", "Batch size"),
        Field("grad_accum", "Gradient accumulation", help="Effective batch = batch size × accumulation."),
        Field("warmup_ratio", "Warmup ratio", step="any", help="Of each phase's steps, before the cosine decay."),
        Field("max_grad_norm", "Max grad norm", step="any"),
        Field("max_length", "Max length (tokens)"),
        Field("max_steps_per_phase", "Max steps per phase", help="Empty: every row × epochs. A cap for quick runs.", optional=True),
    )),
    Section("eval", "Behavioral-range evaluation", (
        Field("judge_model", "Judge model", "text", "Grades range, consistency and transition replies; offline/studio needs no credentials."),
        Field("eval_repeats", "Eval repeats", help="Passes per checkpoint (intervals tighten with more)."),
        Field("eval_max_new_tokens", "Max new tokens"),
        Field("temperature", "Temperature", step="any"),
        Field("top_p", "Top-p", step="any"),
    )),
    Section("run", "Run", (
        Field("budget_usd", "Budget cap (USD)", step="any", help="Empty for no cap. The job is killed when it reaches the cap.",
              optional=True),
        Field("max_burn_usd_per_hour", "Max burn rate (USD/h)", step="any", help="Empty for no limit.", optional=True),
        Field("concurrency", "Concurrency", help="Judge calls in flight."),
        Field("backend", "Backend", "select", choices=(("trl", "trl"),)),
        Field("name_suffix", "Name suffix", "text", "The job is named unified-<suffix> (default: the date and time)."),
        Field("seed", "Seed", help="The same seed samples the same mix and phase order."),
    )),
)
TOTAL_ROWS = Field("total_rows", "Rows in the mix", help="Empty: as many as the shares allow from the data.", optional=True)
FIELDS: dict[str, Field] = {f.name: f for s in SECTIONS for f in s.fields} | {TOTAL_ROWS.name: TOTAL_ROWS}
STRUCTURED = {"kind", "dataset_ids", "composition", "phases"}
assert set(FIELDS) | STRUCTURED == set(UnifiedParams.model_fields), "every unified parameter has a place on the form"

_PHASE_KEY = re.compile(r"^phases-(\d+)-name$")


def _number(text: str, kind=float):
    try:
        return kind(text)
    except ValueError:
        return text  # as typed: the error says what was wrong with it


def _phases(posted) -> list[dict]:
    indices = sorted(int(m.group(1)) for key in posted if (m := _PHASE_KEY.match(key)))
    phases = []
    for i in indices:
        phase: dict = {"name": str(posted.get(f"phases-{i}-name", "")).strip()}
        categories = [c for c in posted.getlist(f"phases-{i}-categories") if c]
        phase["categories"] = ALL if ALL in categories else categories  # "all" already means every category
        for name, kind in (("learning_rate", float), ("epochs", int)):
            text = str(posted.get(f"phases-{i}-{name}", "")).strip()
            if text:
                phase[name] = _number(text, kind)
        phases.append(phase)
    return phases


def form_data(posted) -> dict:
    """Posted strings (a QueryDict: lists for the checkboxes) → the dict UnifiedParams validates."""
    data: dict = {"dataset_ids": [i for i in posted.getlist("dataset_ids") if i]}
    data["composition"] = {c: _number(str(v).strip()) for c in CATEGORIES if (v := posted.get(f"share-{c}", "")).strip()}
    if any(_PHASE_KEY.match(key) for key in posted):
        data["phases"] = _phases(posted)
    elif "phases-present" in posted:
        data["phases"] = []  # every phase removed
    for name, spec in FIELDS.items():
        if name not in posted:
            continue
        value = str(posted[name]).strip()
        data[name] = None if value == "" and spec.optional else value
    return data


def default_data() -> dict:
    """What the form starts from: UnifiedParams' defaults, no dataset chosen yet."""
    return {"dataset_ids": [], "composition": dict(DEFAULT_SHARES), "phases": [p.as_dict() for p in DEFAULT_PHASES]}


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def form_values(data: Mapping) -> dict:
    """Values for re-rendering: as given or typed, UnifiedParams' default where none was, None as empty."""
    values = {}
    for name, spec in UnifiedParams.model_fields.items():
        if name in ("composition", "phases"):
            continue
        value = data[name] if name in data else (None if spec.is_required() else spec.get_default(call_default_factory=True))
        values[name] = value if isinstance(value, list) else _shown(value)
    composition = data.get("composition")
    composition = composition if isinstance(composition, Mapping) else {}
    values["shares"] = {c: _shown(composition.get(c)) for c in CATEGORIES}
    values["share_sum"] = sum(v for v in composition.values() if isinstance(v, (int, float)) and not isinstance(v, bool))
    phases = data.get("phases") if isinstance(data.get("phases"), list) else default_data()["phases"]
    values["phases"] = [_phase_values(p) for p in phases if isinstance(p, Mapping)]
    values["dataset_ids"] = [str(i) for i in data.get("dataset_ids") or []]
    return values


def _phase_values(phase: Mapping) -> dict:
    categories = phase.get("categories")
    chosen = [ALL] if categories == ALL else [str(c) for c in categories or []] if isinstance(categories, list) else []
    return {"name": _shown(phase.get("name")), "categories": chosen,
            "learning_rate": _shown(phase.get("learning_rate")), "epochs": _shown(phase.get("epochs", 1))}


# --- phase edits (add, remove, move up or down) -------------------------------------------------


def _new_name(phases: list[dict]) -> str:
    taken = {str(p.get("name", "")).casefold() for p in phases}
    n = len(phases) + 1
    while f"phase {n}" in taken:
        n += 1
    return f"phase {n}"


def apply_phase_op(phases: list[dict], op: str) -> list[dict]:
    """"add", "remove:<i>", "up:<i>" or "down:<i>" applied to the phases as posted; anything else changes nothing."""
    phases = list(phases)
    action, _, index = op.partition(":")
    if action == "add":
        if len(phases) < MAX_PHASES:
            rate = phases[-1].get("learning_rate") if phases else DEFAULT_PHASES[-1].learning_rate
            phases.append({"name": _new_name(phases), "categories": ALL, "learning_rate": rate, "epochs": 1})
        return phases
    if not index.isdigit() or not 0 <= int(index) < len(phases):
        return phases
    i = int(index)
    if action == "remove":
        del phases[i]
    elif action == "up" and i > 0:
        phases[i - 1], phases[i] = phases[i], phases[i - 1]
    elif action == "down" and i < len(phases) - 1:
        phases[i], phases[i + 1] = phases[i + 1], phases[i]
    return phases


# --- issues: where each shows on the form, and its label ----------------------------------------

_PHASE_FIELD = re.compile(r"^(?:curriculum\.)?phases\.(\d+)(?:\.(\w+))?")


@dataclass
class Placed:
    """Pre-flight issues sorted to the parts of the form they are about; the rest stay general."""

    datasets: list[str] = field(default_factory=list)
    composition: list[str] = field(default_factory=list)
    shares: dict[str, list[str]] = field(default_factory=dict)
    curriculum: list[str] = field(default_factory=list)
    phases: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    fields: dict[str, list[str]] = field(default_factory=dict)
    general: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, issues: list[dict]) -> "Placed":
        out = cls()
        for issue in issues:
            name, message = str(issue.get("field") or ""), bare_message(issue)
            head, _, rest = name.partition(".")
            if head == "dataset_ids":
                out.datasets.append(message)
            elif head == "composition":
                (out.shares.setdefault(rest, []) if rest in CATEGORIES else out.composition).append(message)
            elif match := _PHASE_FIELD.match(name):
                out.phases.setdefault(int(match.group(1)), {}).setdefault(match.group(2) or "row", []).append(message)
            elif head in ("curriculum", "phases"):
                out.curriculum.append(message)
            elif head in FIELDS:
                out.fields.setdefault(head, []).append(message)
            else:
                out.general.append(issue)
        return out


def bare_message(issue: dict) -> str:
    """The message without the field it already names ("composition: shares sum to 106" → "shares sum to 106")."""
    return str(issue["message"]).removeprefix(f"{issue.get('field')}: ")


def issue_label(name: str) -> str:
    """The label a person sees for an issue's field: "composition.tool" → "Share · tool", "curriculum.phases.2.epochs"
    → "Phase 3 · epochs"."""
    name = str(name or "")
    head, _, rest = name.partition(".")
    if match := _PHASE_FIELD.match(name):
        return f"Phase {int(match.group(1)) + 1}" + (f" · {match.group(2).replace('_', ' ')}" if match.group(2) else "")
    if head == "composition":
        return f"Share · {rest}" if rest else "Composition"
    if head in ("curriculum", "phases"):
        return "Curriculum"
    if head == "dataset_ids":
        return "Datasets"
    if head in FIELDS:
        return FIELDS[head].label
    return head.replace("_", " ").capitalize() if head and head != "__root__" else "Form"
