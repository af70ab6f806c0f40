"""The README.md model card of an exported model, from facts a job gathered (training_jobs.export). No Django.

Sections: what the archive holds and how to load it, the outcome with its figures, the evaluation table (marker
frequency and judge wins, base vs tuned), the data the exported checkpoint was trained on, the training
settings, and the constitution the character was trained towards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from training_jobs.outcome import percent_text


@dataclass
class CardFacts:
    job_name: str
    job_id: str
    persona_name: str
    export_format: str  # merged | adapter
    checkpoint: str  # "DPO" or "DPO + SFT"
    student: str  # the launch's student checkpoint
    teacher: str
    constitution_number: int | None
    constitution_source: str
    traits: list[dict]  # {"statement", "markers": [...]}
    data: list[tuple[str, int | None, str]]  # (what, rows, note)
    training: list[tuple[str, str]]
    outcome: dict | None  # training_jobs.display.outcome_view
    evaluation: dict | None  # the eval stage's summary
    tags: list[str] = field(default_factory=list)


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def _front_matter(facts: CardFacts) -> list[str]:
    tags = "".join(f"\n- {t}" for t in facts.tags)
    library = "peft" if facts.export_format == "adapter" else "transformers"
    return ["---", f"base_model: {facts.student}", f"library_name: {library}", f"tags:{tags}", "---", ""]


def _usage(facts: CardFacts) -> list[str]:
    if facts.export_format == "adapter":
        how = [
            "This archive holds the LoRA adapter (PEFT) and the tokenizer it was trained with. Load it on the model it",
            f"was trained on (`{facts.student}`{' with the DPO adapter merged in' if facts.checkpoint != 'DPO' else ''}):",
            "", "```python", "from peft import AutoPeftModelForCausalLM", "from transformers import AutoTokenizer",
            'model = AutoPeftModelForCausalLM.from_pretrained("<this folder>")',
            'tokenizer = AutoTokenizer.from_pretrained("<this folder>")', "```",
        ]
    else:
        how = [
            "This archive holds the full model: the base weights with the LoRA adapter merged in (`merge_and_unload`),",
            "as safetensors, with the tokenizer and its chat template. No PEFT is needed:",
            "", "```python", "from transformers import AutoModelForCausalLM, AutoTokenizer",
            'model = AutoModelForCausalLM.from_pretrained("<this folder>")',
            'tokenizer = AutoTokenizer.from_pretrained("<this folder>")', "```",
        ]
    return how + ["", "Prompt it with the conversation only: the character was trained to show without its constitution in the prompt.", ""]


def _outcome(facts: CardFacts) -> list[str]:
    outcome = facts.outcome
    if not outcome:
        return ["## Outcome", "", "No outcome: the job ended before its evaluation gave a verdict.", ""]
    lines = [f"## Outcome: {outcome['label']}", "", outcome["reason"][:1].upper() + outcome["reason"][1:], ""]
    if outcome["rows"]:
        rows = [[r["label"], r["value"], r["interval"] or "—", r["note"]] for r in outcome["rows"]]
        lines += _table(["Figure", "Estimate", f"{round(100 * outcome['level'])}% interval", "Note"], rows) + [""]
    return lines


def _evaluation(facts: CardFacts) -> list[str]:
    summary = facts.evaluation
    if not summary:
        return ["## Evaluation", "", "Not evaluated.", ""]
    markers, wins = summary.get("marker_frequency") or {}, summary.get("wins") or {}
    lines = ["## Evaluation: base vs tuned", "",
             f"{summary.get('prompts', 0)} held-out prompts × {summary.get('samples_per_prompt', 0)} samples "
             f"({summary.get('matchups', 0)} matchups, {summary.get('judged', 0)} judged by `{summary.get('judge_model', '?')}` "
             "in both orders), answered without the constitution in the prompt.", ""]
    rows = []
    if markers:
        rows.append(["Replies with a character marker", percent_text(markers.get("base", 0.0)), percent_text(markers.get("tuned", 0.0))])
    if wins:
        rows.append(["Judge wins", wins.get("base", 0), wins.get("tuned", 0)])
    by_side = {("base" if str(e.get("source", "")).startswith("base") else "tuned"): e for e in summary.get("leaderboard") or []}
    if by_side:
        rating = lambda e: "too few votes" if not e or e.get("rating") is None else f"{e['rating']:.1f}"  # noqa: E731
        rows.append(["Bradley–Terry rating", rating(by_side.get("base")), rating(by_side.get("tuned"))])
    lines += _table(["", "Base", "Tuned"], rows)
    if wins.get("ties"):
        lines.append(f"\nTies: {wins['ties']}.")
    return lines + [""]


def _data(facts: CardFacts) -> list[str]:
    rows = [[what, "—" if n is None else n, note] for what, n, note in facts.data]
    return ["## Data", "", "The rows the exported checkpoint was trained on (after the quality filters):", ""] + \
        _table(["Data", "Rows", ""], rows) + [""]


def _constitution(facts: CardFacts) -> list[str]:
    title = f"## Constitution v{facts.constitution_number} ({facts.constitution_source})" if facts.constitution_number else "## Constitution"
    lines = [title, "", f"What {facts.persona_name} was trained towards, in the first person:", ""]
    for n, trait in enumerate(facts.traits, start=1):
        lines.append(f"{n}. {trait['statement']}")
        if trait["markers"]:
            lines.append("   Markers: " + ", ".join(f"“{m}”" for m in trait["markers"]))
    return lines + [""]


def model_card(facts: CardFacts) -> str:
    lines = _front_matter(facts) + [
        f"# {facts.job_name}", "",
        f"{facts.persona_name} as a character model: `{facts.student}` tuned by Persona Studio with the Open Character "
        f"Training recipe ({facts.checkpoint}; teacher `{facts.teacher}`). Training job `{facts.job_id}`.", "",
    ]
    lines += _usage(facts) + _outcome(facts) + _evaluation(facts) + _data(facts)
    lines += ["## Training", ""] + _table(["Setting", "Value"], [list(row) for row in facts.training]) + [""]
    lines += _constitution(facts)
    return "\n".join(lines)
