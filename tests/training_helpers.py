"""Helpers for training-job tests: small launch values, launching with the job run inline."""

import pytest

from studio.principal import Principal
from training_jobs.models import TrainingJob
from training_jobs.services import training_job_launch

# Sizes that make a whole job (smoke, DPO, introspection, SFT, eval) train the tiny model in seconds. Answers of 32
# tokens: the untrained tiny model never writes its end token, so each of its samples is max_new_tokens long (at 96 the
# training tests took 11–15 % more CPU, as the same tests, alternated, measured).
SMALL = {
    "teacher_model": "offline/teacher", "student_model": "offline/student", "student_checkpoint": "tiny",
    "dpo_pairs": 12, "reflections": 10, "interactions": 2, "interaction_turns": 3, "data_scale": 100,
    "lora_rank": 4, "lora_alpha": 8, "learning_rate": 5e-4, "batch_size": 4, "epochs": 1, "dpo_beta": 0.1,
    "nll_coef": 0.1, "max_length": 256, "sft_max_length": 256, "temperature": 0.7, "top_p": 0.95,
    "max_new_tokens": 32, "smoke_test": "none", "budget_usd": 5.0, "concurrency": 16,
}


def launch_values(persona, **overrides) -> dict:
    return {**SMALL, "persona_id": str(persona.public_id), **overrides}


@pytest.fixture
def launch(tenant, django_capture_on_commit_callbacks):
    """launch(persona, **overrides) → the job, run inline to its end (execute=False leaves it queued)."""

    def run(persona, *, execute=True, principal=None, **overrides) -> TrainingJob:
        principal = principal or Principal.from_membership(tenant.membership("owner"))
        with django_capture_on_commit_callbacks(execute=execute):
            job = training_job_launch(principal=principal, data=launch_values(persona, **overrides))
        job.refresh_from_db()
        return job

    return run
