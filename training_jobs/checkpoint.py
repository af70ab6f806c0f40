"""A character job's trained checkpoint on disk: the last adapter, the model it goes on, and the untrained student.

    checkpoint = job_checkpoint(job)    # Conflict (409) when there is none to use
    checkpoint.adapter_dir, checkpoint.base_dir, checkpoint.student_dir

SFT trains on the student with the DPO adapter merged in (`sft/base`), so the SFT adapter goes on that model,
while "base" replies come from the untrained student (dpo_train's base), as the evaluation stage compares them.
Artifact paths are stored relative to the job's folder, except a local checkpoint outside it (absolute).
"""

from dataclasses import dataclass
from pathlib import Path

from studio.errors import Conflict
from training_jobs.job_kinds import kind_for, kind_names
from training_jobs.models import StageRun, TrainingJob

ADAPTER_STAGES = ("sft", "dpo_train")  # the later stage's adapter is the tuned model
LABELS = {"sft": "DPO + SFT", "dpo_train": "DPO"}


@dataclass(frozen=True)
class Checkpoint:
    stage: str  # sft | dpo_train
    adapter_dir: Path
    base_dir: Path  # the model the adapter was trained on
    student_dir: Path  # the untrained student: what "base" answers with

    @property
    def label(self) -> str:
        return LABELS[self.stage]


def _resolve(job: TrainingJob, stored: str) -> Path | None:
    """A stored artifact path as a folder on disk; None when a relative one points outside the job's folder."""
    path = Path(stored)
    if path.is_absolute():
        return path
    root = job.artifacts_dir.resolve()
    resolved = (root / path).resolve()
    return resolved if resolved.is_relative_to(root) else None


def _adapter_run(job: TrainingJob) -> StageRun | None:
    runs = {s.stage: s for s in job.stages.all() if s.status == StageRun.Status.COMPLETED and "adapter" in (s.artifacts or {})}
    return next((runs[stage] for stage in ADAPTER_STAGES if stage in runs), None)


def _model_folder(job: TrainingJob, stored: str, what: str, stage: str) -> Path:
    path = _resolve(job, stored)
    if path is None or not path.is_dir() or not any(path.iterdir()):
        raise Conflict(f"the {what} of this job's {stage} stage ({stored}) was deleted from its artifacts: "
                       f"resume the job from {stage} to train it again")
    return path


def job_checkpoint(job: TrainingJob) -> Checkpoint:
    """The job's last trained adapter with the model it goes on. Conflict when it has none or it was deleted."""
    kind = kind_for(job)
    if not kind.chat_and_export:
        raise Conflict(f"chatting with and exporting a tuned model work on {' and '.join(kind_names(chat_and_export=True))} "
                       f"jobs; this is a {kind.name} job")
    run = _adapter_run(job)
    if run is None:
        raise Conflict(f"this job has no trained adapter yet (it is {job.status}): one comes with DPO training")
    adapter = _model_folder(job, run.artifacts["adapter"], "adapter", run.stage)
    if not (adapter / "adapter_config.json").is_file():
        raise Conflict(f"the adapter of this job's {run.stage} stage ({run.artifacts['adapter']}) has no adapter_config.json: "
                       f"resume the job from {run.stage} to train it again")
    if "base" not in run.artifacts:
        raise Conflict(f"this job's {run.stage} stage did not record the model its adapter goes on")
    base = _model_folder(job, run.artifacts["base"], "base model", run.stage)
    student = base
    if run.stage == "sft":
        dpo = next((s for s in job.stages.all() if s.stage == "dpo_train"), None)
        stored = (dpo.artifacts or {}).get("base") if dpo else None
        student = _model_folder(job, stored, "base model", "dpo_train") if stored else base
    return Checkpoint(run.stage, adapter, base, student)


def has_checkpoint(job: TrainingJob) -> bool:
    try:
        job_checkpoint(job)
    except Conflict:
        return False
    return True
