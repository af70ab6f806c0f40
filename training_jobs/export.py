"""Take a trained model away: a zip of the LoRA adapter, or of the merged model, each with a README.md model card.

    with tempfile.TemporaryFile() as fh:
        name = model_export_write(job=job, export_format="merged", fileobj=fh)

`merged` is the base model with the adapter merged in (PEFT `merge_and_unload`), saved as safetensors with the
tokenizer: it loads with plain transformers. `adapter` is the adapter folder as training saved it. The card
(training_jobs.model_card) holds the constitution, the data the checkpoint was trained on, the evaluation
table and the outcome. Archives are written to a file object (a temp file for downloads), never built in memory.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import BinaryIO

from studio.errors import Invalid
from training_jobs.constitution import quoted_markers
from training_jobs import display
from training_jobs.checkpoint import Checkpoint, job_checkpoint
from training_jobs.model_card import CardFacts, model_card
from training_jobs.models import StageRun, TrainingJob

FORMATS = ("merged", "adapter")
STORED_SUFFIXES = (".safetensors", ".bin", ".pt")  # weights hardly compress: store them, deflate the text

_merging = threading.Lock()  # one merge at a time per process: each holds a full copy of the model


def clean_format(value) -> str:
    if value not in FORMATS:
        raise Invalid(f"format must be one of {', '.join(FORMATS)} (got {value!r})", field="format")
    return value


def archive_name(job: TrainingJob, export_format: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", job.name).strip("-.") or str(job.public_id)
    return f"{slug}-{export_format}"


# --- the merged model ----------------------------------------------------------------------------


def merge_adapter(checkpoint: Checkpoint, out: Path) -> Path:
    """base + adapter merged into plain weights (safetensors) with the adapter's tokenizer, saved in `out`."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with _merging:
        model = AutoModelForCausalLM.from_pretrained(str(checkpoint.base_dir), local_files_only=True)
        merged = PeftModel.from_pretrained(model, str(checkpoint.adapter_dir)).merge_and_unload()
        merged.save_pretrained(str(out))
        del model, merged
    AutoTokenizer.from_pretrained(str(checkpoint.adapter_dir), local_files_only=True).save_pretrained(str(out))
    return out


# --- the card ------------------------------------------------------------------------------------


def _rows(job: TrainingJob, stage: StageRun | None, key: str) -> int | None:
    """Lines of a stage's JSONL artifact: the rows training read."""
    rel = ((stage.artifacts or {}) if stage else {}).get(key)
    path = (job.artifacts_dir / rel) if rel else None
    if path is None or not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


def _data_sizes(job: TrainingJob, stages: dict[str, StageRun], checkpoint: Checkpoint) -> list[tuple[str, int | None, str]]:
    rows = [("DPO pairs", _rows(job, stages.get("dpo_data"), "pairs"),
             "teacher with the constitution (chosen) vs student without (rejected)")]
    intro = stages.get("introspection")
    if checkpoint.stage != "sft":
        return rows + [("Introspection", None, "not used: the exported checkpoint is the DPO adapter")]
    return rows + [
        ("Reflections", _rows(job, intro, "reflections"), "answers to introspective prompts"),
        ("Self-interactions", _rows(job, intro, "interactions"), "conversations of the model with itself"),
        ("SFT examples", _rows(job, intro, "sft_examples"), "reflections and self-interactions as SFT rows"),
    ]


def _training(job: TrainingJob, stages: dict[str, StageRun], checkpoint: Checkpoint) -> list[tuple[str, str]]:
    p = job.params or {}
    layers = f", top {p['lora_layers']} layers" if p.get("lora_layers") else ""
    rows = [("Student", f"`{p.get('student_checkpoint', '?')}`"), ("Teacher", f"`{p.get('teacher_model', '?')}`"),
            ("Adapter", checkpoint.label), ("LoRA", f"r {p.get('lora_rank')}, α {p.get('lora_alpha')}{layers}"),
            ("Learning rate", str(p.get("learning_rate"))), ("DPO β / NLL coefficient", f"{p.get('dpo_beta')} / {p.get('nll_coef')}"),
            ("Epochs, batch size", f"{p.get('epochs')}, {p.get('batch_size')}"),
            ("Sampling", f"temperature {p.get('temperature')}, top-p {p.get('top_p')}")]
    for stage, key, label in (("dpo_train", "dpo", "DPO"), ("sft", "sft", "SFT")):
        summary = (stages[stage].stats or {}).get(key) if stage in stages else None
        if summary and (stage == "dpo_train" or checkpoint.stage == "sft"):
            loss = (summary.get("final_metrics") or {}).get("loss")
            rows.append((f"{label} steps", f"{summary.get('steps')}" + (f", final loss {loss:.4f}" if isinstance(loss, float) else "")))
    if job.early_stop:  # the exported adapter is the kept checkpoint, not the last step's
        rows.append(("Early stop", job.early_stop["message"][:1].upper() + job.early_stop["message"][1:]))
    return rows


def card_facts(job: TrainingJob, checkpoint: Checkpoint, export_format: str) -> CardFacts:
    stages = {s.stage: s for s in job.stages.all()}
    evaluation = stages.get("eval")
    summary = (evaluation.stats or {}).get("eval") if evaluation and evaluation.status == StageRun.Status.COMPLETED else None
    document = job.constitution.constitution if job.constitution else None
    traits = [{"statement": t.statement, "markers": quoted_markers(t.statement)} for t in (document.traits if document else [])]
    return CardFacts(
        job_name=job.name, job_id=str(job.public_id), export_format=export_format, checkpoint=checkpoint.label,
        persona_name=document.persona_name if document else (job.persona.display_name if job.persona else job.name),
        student=str((job.params or {}).get("student_checkpoint", "?")), teacher=str((job.params or {}).get("teacher_model", "?")),
        constitution_number=job.constitution.number if job.constitution else None,
        constitution_source=job.constitution.source if job.constitution else "", traits=traits,
        data=_data_sizes(job, stages, checkpoint), training=_training(job, stages, checkpoint),
        outcome=display.outcome_view(job.outcome_detail) if job.outcome else None,
        evaluation={k: v for k, v in summary.items() if k not in ("outcome", "trait_profiles")} if summary else None,
        tags=["persona-studio", "open-character-training", "lora", "dpo"] + (["sft"] if checkpoint.stage == "sft" else []),
    )


# --- the archive ---------------------------------------------------------------------------------


def _add_folder(archive: zipfile.ZipFile, folder: Path, prefix: str) -> None:
    """Every file under `folder` but a README.md (PEFT writes a blank card; ours replaces it)."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).as_posix() != "README.md"):
        stored = path.suffix in STORED_SUFFIXES
        archive.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}",
                      compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)


def model_export_response(*, job: TrainingJob, export_format: str):
    """The zip as a streamed download, built into a temp file that goes away when the response is closed."""
    from django.http import FileResponse

    fh = tempfile.TemporaryFile(suffix=".zip")
    try:
        name = model_export_write(job=job, export_format=export_format, fileobj=fh)
    except BaseException:
        fh.close()
        raise
    fh.seek(0)
    return FileResponse(fh, as_attachment=True, filename=name, content_type="application/zip")


def model_export_write(*, job: TrainingJob, export_format: str, fileobj: BinaryIO) -> str:
    """Write the zip to `fileobj`; returns the archive's file name. Invalid (422) for a format, Conflict (409) with no adapter."""
    export_format = clean_format(export_format)
    checkpoint = job_checkpoint(job)
    name = archive_name(job, export_format)
    card = model_card(card_facts(job, checkpoint, export_format))
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        if export_format == "adapter":
            _add_folder(archive, checkpoint.adapter_dir, name)
        else:
            with tempfile.TemporaryDirectory(prefix="merged-") as tmp:
                _add_folder(archive, merge_adapter(checkpoint, Path(tmp)), name)
        archive.writestr(f"{name}/README.md", card)
        archive.writestr(f"{name}/persona_studio.json", json.dumps({
            "job_id": str(job.public_id), "job_name": job.name, "format": export_format, "checkpoint": checkpoint.stage,
            "outcome": job.outcome or None, "constitution_version": job.constitution.number if job.constitution else None,
        }, indent=2))
    return f"{name}.zip"
