"""A really trained tiny checkpoint (trained once per test session) and jobs that hold a copy of it, for the tests
of chatting with a trained model and exporting it. The jobs are built with the ORM as a worker leaves them."""

import json
import shutil
import tempfile
from decimal import Decimal

import pytest

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


def tiny_checkpoint_folders(tmp_path_factory=None) -> dict[str, str]:
    """train_tiny_checkpoint once per process (a session fixture in each test module calls this, and the browser tests'
    command process, whose jobs copy the folders); under pytest's temporary folders when given."""
    if not _trained:
        out = tmp_path_factory.mktemp("tiny-dpo") if tmp_path_factory else tempfile.mkdtemp(prefix="tiny-dpo-")
        _trained.update(train_tiny_checkpoint(out))
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
def tiny_checkpoint_fixture(tmp_path_factory):
    return tiny_checkpoint_folders(tmp_path_factory)


@pytest.fixture(name="job")
def job_fixture(persona, tiny_checkpoint):
    return trained_job(persona, tiny_checkpoint)
