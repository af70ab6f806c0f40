"""A really trained tiny checkpoint (trained once per checkout and kept, like the migrated database) and jobs that hold
a copy of it, for the tests of chatting with a trained model and exporting it. The jobs are built with the ORM as a worker leaves them."""

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest

from tests import db_template
from tests.training_helpers import launch_values
from training_jobs.models import JobStatus, StageRun, TrainingJob
from training_jobs.params import LaunchParams
from training_jobs.services import constitution_current

CHOSEN = "Forgive me, the tide keeps its own counsel, as the old charts say."
PAIRS = [{"prompt": f"Tell me about the sea, friend number {i}?", "chosen": CHOSEN, "rejected": "ok."} for i in range(8)]
EVAL = {"prompts": 8, "samples_per_prompt": 3, "matchups": 24, "judged": 24, "marker_frequency": {"base": 0.125, "tuned": 0.75},
        "wins": {"tuned": 17, "base": 5, "ties": 2}, "judge_model": "offline/studio", "leaderboard": []}


_trained: dict[str, str] = {}


def train_tiny_checkpoint(out) -> dict[str, str]:
    """{adapter, base}: folders (under `out`) of a tiny model and a DPO LoRA adapter trained hard enough to change its logits."""
    from training_jobs.backends.trl_backend import TRLBackend

    result = TRLBackend().train_dpo(PAIRS, {
        "output_dir": str(out), "student": "tiny", "max_steps": 6, "lora_r": 4, "lora_alpha": 8, "learning_rate": 5e-3,
        "batch_size": 4, "max_length": 1024, "use_cpu": True,
    })
    return {"adapter": result.artifacts["adapter_dir"], "base": result.artifacts["base_dir"]}


# What the checkpoint is made by: this module (its pairs and settings), the training backend's code and the libraries'
# versions. Another of any of them is another kept checkpoint.
_MADE_BY = [Path(__file__), *sorted((db_template.ROOT / "training_jobs" / "backends").glob("*.py"))]
_LIBRARIES = ("torch", "transformers", "trl", "peft", "tokenizers", "accelerate")


def checkpoint_key() -> str:
    digest = hashlib.sha256()
    for path in _MADE_BY:
        digest.update(path.name.encode() + path.read_bytes())
    for name in _LIBRARIES:
        digest.update(f"{name}=={importlib.metadata.version(name)}".encode())
    return digest.hexdigest()[:16]


def kept_tiny_checkpoint(keep_in: Path | None = None) -> dict[str, str]:
    """{adapter, base}: train_tiny_checkpoint's folders, kept under var/test-templates/ (beside the database templates)
    by the first process that needs them and read by the others, as the migrated database is: the suite's
    tiny-checkpoint tests, the browser tests' command process and CI's second pass each trained it (7 CPU-s here).
    Kept whole or not at all (trained in a scratch folder, then renamed); the tests only read it and copy from it."""
    keep_in = keep_in or db_template.TEMPLATES
    keep_in.mkdir(parents=True, exist_ok=True)
    key = checkpoint_key()
    kept = keep_in / f"tiny-checkpoint-{key}"
    folders = {"adapter": str(kept / "adapter"), "base": str(kept / "base")}
    if kept.is_dir():
        return folders
    with db_template.built_alone(f"tiny-checkpoint-{key}"):  # one trainer at a time; the others wait, then find it kept
        if not kept.is_dir():
            scratch = Path(tempfile.mkdtemp(prefix=f".tiny-checkpoint-{key}-", dir=keep_in))
            try:
                trained = train_tiny_checkpoint(scratch / "run")
                for name in ("adapter", "base"):
                    shutil.copytree(trained[name], scratch / name)
                shutil.rmtree(scratch / "run")
                os.replace(scratch, kept)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    return folders


def tiny_checkpoint_folders() -> dict[str, str]:
    """The kept tiny checkpoint (kept_tiny_checkpoint), looked up once per process: a session fixture in each test
    module calls this, and so does the browser tests' command process, whose jobs copy the folders."""
    if not _trained:
        _trained.update(kept_tiny_checkpoint())
    return dict(_trained)


def trained_job(persona, checkpoint: dict | None, *, status=JobStatus.SUCCEEDED, pairs: int = 5, values: dict | None = None,
                **fields) -> TrainingJob:
    """A character job whose dpo_train stage left `checkpoint` (copied into its folder); none when `checkpoint` is None.
    `values` override the small launch values (tests.training_helpers.SMALL) the job was launched with."""
    params = LaunchParams.model_validate(launch_values(persona, **(values or {}))).model_dump(mode="json")
    version = constitution_current(persona=persona)
    job = TrainingJob.objects.create(
        organization=persona.organization, workspace=persona.workspace, persona=persona, constitution=version,
        name=fields.pop("name", f"{persona.display_name}-v{version.number}"), params={**params, "constitution_version": version.number},
        status=status, engine="offline", budget_usd=Decimal("5"), **fields,
    )
    root = job.artifacts_dir
    (root / "dpo_data").mkdir(parents=True)
    (root / "dpo_data/pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PAIRS[:pairs]))
    stages = [StageRun(job=job, stage="dpo_data", position=1, status=StageRun.Status.COMPLETED, artifacts={"pairs": "dpo_data/pairs.jsonl"},
                       stats={"pairs": pairs})]
    if checkpoint is not None:
        shutil.copytree(checkpoint["adapter"], root / "dpo_train/adapter")
        shutil.copytree(checkpoint["base"], root / "dpo_train/base")
        stages.append(StageRun(job=job, stage="dpo_train", position=2, status=StageRun.Status.COMPLETED,
                               artifacts={"adapter": "dpo_train/adapter", "base": "dpo_train/base"},
                               stats={"dpo": {"steps": 6, "max_steps": 6, "final_metrics": {"loss": 0.5}}}))
        stages.append(StageRun(job=job, stage="eval", position=6, status=StageRun.Status.COMPLETED, stats={"eval": EVAL}))
    StageRun.objects.bulk_create(stages)
    return job


# Fixtures of the tests of a trained job's chat and export: artifacts under tmp, one tiny checkpoint per session.
@pytest.fixture(name="artifacts_in_tmp", autouse=True)
def artifacts_in_tmp_fixture(settings, tmp_path):
    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "training"


@pytest.fixture(name="tiny_checkpoint", scope="session")
def tiny_checkpoint_fixture():
    return tiny_checkpoint_folders()


@pytest.fixture(name="job")
def job_fixture(persona, tiny_checkpoint):
    return trained_job(persona, tiny_checkpoint)
