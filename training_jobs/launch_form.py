"""The Launch Training Job form: its sections and fields, and posted values → LaunchParams input. Pure: no Django.

The form posts strings; `form_data` turns them into what `LaunchParams` validates (a checkbox that is
absent is False, an empty optional number is None, "newest" is no constitution version), leaving the
parsing of numbers to pydantic so its errors name the field and say what was wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from training_jobs.params import BACKENDS, DATA_SCALES, LaunchParams
from training_jobs.presets import PRESET_LABELS, SMOKE_CHOICES


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "number"  # number | text | select | checkbox
    help: str = ""
    step: str = "1"  # for numbers: "any" for floats
    choices: tuple[tuple[str, str], ...] = ()
    optional: bool = False  # an empty value means None


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    fields: tuple[Field, ...]
    collapsible: bool = False
    help: str = ""


# The checkpoints offered beside the student checkpoint field (value, label).
CHECKPOINT_SUGGESTIONS = (
    ("smollm2-135m-instruct", "SmolLM2-135M-Instruct — local, 135 M parameters"),
    ("tiny", "tiny — test model (random weights, fast tests only)"),
)


def _choices(values, labels=None) -> tuple[tuple[str, str], ...]:
    return tuple((str(v), (labels or {}).get(v, str(v))) for v in values)


SECTIONS: tuple[Section, ...] = (
    Section("persona", "Persona & constitution", (
        Field("persona_id", "Persona", "select", "A persona with layers; its constitution is what the job trains in."),
        Field("constitution_version", "Constitution version", "select", "The newest is derived from the layers on launch if none exists.",
              optional=True),
    )),
    Section("preset", "Preset", (
        Field("preset", "Preset", "select", "Quick iteration and Paper fill the data sizes and hyperparameters; Custom keeps your values.",
              choices=_choices(PRESET_LABELS, PRESET_LABELS)),
    )),
    Section("models", "Models", (
        Field("teacher_model", "Teacher model", "text", "Answers with the constitution as system prompt (DPO chosen)."),
        Field("student_model", "Student model", "text", "Serves the student for data: answers without it (DPO rejected)."),
        Field("student_checkpoint", "Student checkpoint", "text",
              "What the backend trains: smollm2-135m-instruct (SmolLM2, installed locally), a local folder, a hub id on GPU "
              "workers, or tiny (test model: random weights, for fast tests only)."),
    )),
    Section("data", "Data", (
        Field("dpo_pairs", "DPO pairs"),
        Field("reflections", "Reflections", help="Total over the 10 introspective prompts."),
        Field("interactions", "Self-interactions"),
        Field("interaction_turns", "Turns per interaction"),
        Field("data_scale", "Data scale", "select", "Share of the sizes above to generate.",
              choices=tuple((str(s), f"{s}%") for s in DATA_SCALES)),
    )),
    Section("hyperparameters", "Hyperparameters", (
        Field("lora_rank", "LoRA rank r"),
        Field("lora_alpha", "LoRA α"),
        Field("lora_layers", "LoRA layers", help="Adapt only the top N layers (0: all): backpropagation stops at the lowest "
              "adapted layer, so a CPU trains faster."),
        Field("learning_rate", "Learning rate", step="any"),
        Field("batch_size", "Batch size"),
        Field("epochs", "Epochs"),
        Field("dpo_beta", "DPO β", step="any"),
        Field("nll_coef", "NLL coefficient", step="any"),
        Field("max_length", "Max length (DPO)"),
        Field("sft_max_length", "Max length (SFT)"),
        Field("temperature", "Temperature", step="any"),
        Field("top_p", "Top-p", step="any"),
        Field("max_new_tokens", "Max new tokens"),
    )),
    Section("run", "Run", (
        Field("smoke_test", "Smoke test", "select", "Small and large runs end to end before full scale; unhealthy signals abort.",
              choices=_choices(SMOKE_CHOICES)),
        Field("budget_usd", "Budget cap (USD)", step="any", help="Empty for no cap. The job is killed when it reaches the cap.",
              optional=True),
        Field("max_burn_usd_per_hour", "Max burn rate (USD/h)", step="any", help="Empty for no limit.", optional=True),
        Field("max_drop_rate", "Drop-rate limit", step="any", help="A data stage whose quality filters drop more is killed."),
        Field("backend", "Backend", "select", choices=_choices(BACKENDS)),
        Field("name_suffix", "Name suffix", "text", "Appended to persona-vN in the job's name."),
        Field("concurrency", "Concurrency", help="LLM calls in flight while generating data."),
        Field("seed", "Seed"),
    )),
    Section("introspection", "Introspection & SFT", (
        Field("generate_introspection", "Generate introspection data", "checkbox",
              "Reflections and self-interactions written in character after DPO."),
        Field("run_sft", "Run SFT after DPO", "checkbox", "Fine-tune on the introspection data, starting from the DPO adapter."),
    )),
    Section("advanced", "Advanced introspection options", (
        Field("strip_reflection_traces", "Strip reasoning traces in reflections", "checkbox",
              "Off: reflections keep the model's <think> traces in the SFT data; on: only the answer is kept."),
        Field("keep_interaction_traces", "Keep reasoning traces in self-interactions", "checkbox",
              "Off: <think> traces are removed from each turn; on: turns are stored as the model wrote them."),
    ), collapsible=True),
    Section("checkpoint_evals", "Advanced: checkpoint evaluations & early stop", (
        Field("eval_every_steps", "Evaluate every N steps",
              help="0: off. Every N training steps the checkpoint answers the held-out prompts: marker rate and win rate "
                   "vs base (judged in both orders), plotted beside the loss."),
        Field("eval_holdout_prompts", "Held-out prompts", help="Prompts each checkpoint evaluation asks (evaluation "
              "framings, never trained on)."),
        Field("early_stop_patience", "Patience",
              help="Stop training after this many evaluations without improvement and keep the best checkpoint; 0: never."),
        Field("early_stop_min_delta", "Min delta", step="any", help="The least rise (0–1) that counts as an improvement."),
        Field("early_stop_metric", "Metric", "select", choices=(("win_rate", "Win rate vs base"), ("marker_rate", "Marker rate"))),
    ), collapsible=True),
    Section("evaluation", "Evaluation", (
        Field("review_eval_pairs", "Send the evaluation's pairs to reviewers", "checkbox",
              "Off: the judge rates base vs tuned and nobody is asked. On: the pairs also go to the persona's blind review "
              "queue, under the prompt set training-<job>."),
        Field("eval_trait_profile_prompts", "Trait profile prompts",
              help="0: off. 20–500: the evaluation also profiles base and tuned by revealed preference (each prompt: "
                   "a reply and two judge calls, per side) and shows the traits training boosted and suppressed."),
    )),
)

FIELDS: dict[str, Field] = {f.name: f for s in SECTIONS for f in s.fields}
assert set(FIELDS) == set(LaunchParams.model_fields), "every launch parameter has a form field"


def form_data(posted: Mapping[str, str]) -> dict:
    """Posted strings → the dict LaunchParams validates. Fields not posted keep LaunchParams' defaults."""
    data: dict = {}
    for name, spec in FIELDS.items():
        if spec.kind == "checkbox":
            data[name] = name in posted
            continue
        if name not in posted:
            continue
        value = str(posted[name]).strip()
        if name == "constitution_version" and value == "newest":
            value = ""
        if value == "" and spec.optional:
            data[name] = None
        else:
            data[name] = value
    return data


def form_values(data: Mapping) -> dict:
    """Values for re-rendering the inputs: as given or typed, LaunchParams' default where none was, None as empty."""
    values = {}
    for name, spec in LaunchParams.model_fields.items():
        value = data[name] if name in data else (None if spec.is_required() else spec.default)
        values[name] = "" if value is None else value
    return values


@dataclass
class FieldErrors:
    """Issues ({field, message}) sorted to the form fields they name; the rest stay general."""

    by_field: dict[str, list[str]] = field(default_factory=dict)
    general: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, issues: list[dict]) -> "FieldErrors":
        out = cls()
        for issue in issues:
            name = str(issue.get("field") or "").split(".")[0]
            if name in FIELDS:
                out.by_field.setdefault(name, []).append(issue["message"])
            else:
                out.general.append(issue)
        return out


def field_label(name: str) -> str:
    """The label a person sees for an issue's field ("constitution.traits.0" → "Constitution")."""
    head = str(name or "").split(".")[0]
    if head in FIELDS:
        return FIELDS[head].label
    return head.replace("_", " ").capitalize() if head and head != "__root__" else "Form"
