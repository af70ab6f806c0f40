"""A training job's checkpoint as the subject of long-conversation eval cases (audits.evals.simulation): the tuned
model (base + adapter) answers with no system prompt, the untrained student ("base") answers the same simulated-user
messages for comparison. Registered from TrainingJobsConfig.ready(), since audits may not import training_jobs.

    POST /v1/personas/{id}/eval-runs {"subject": {"kind": "checkpoint", "training_job": "<job id>"}}

Each side sees its own earlier replies, fitted to its context (training_jobs.tuned_chat.fit_to_context, inside
`sample_reply`), and samples at the job's temperature and top-p with the turn's seed.
"""

from audits.evals.simulation import Side, SubjectKind, register_subject
from studio.errors import Invalid
from training_jobs.access import access_training_job
from training_jobs.checkpoint import job_checkpoint
from training_jobs.tuned_chat import sample_reply


def _clean(organization, persona, data: dict) -> dict:
    """{"kind": "checkpoint", "training_job", "stage"}: 404 for a job of another org, 422 for another persona's,
    409 (job_checkpoint) when the job has no trained adapter."""
    if not data.get("training_job"):
        raise Invalid("give the id of a training job of this persona", field="subject.training_job")
    job = access_training_job(organization, data["training_job"])
    if job.persona_id != persona.pk:
        raise Invalid("this training job trained another persona", field="subject.training_job")
    checkpoint = job_checkpoint(job)
    return {"kind": "checkpoint", "training_job": str(job.public_id), "stage": checkpoint.stage}


def _sides(run, context: dict) -> list[Side]:
    job = access_training_job(run.organization, run.config["subject"]["training_job"])
    checkpoint = job_checkpoint(job)

    def tuned(conversation: list[dict], seed: int) -> tuple[str, float]:
        return sample_reply(job, conversation, base_dir=checkpoint.base_dir, adapter_dir=checkpoint.adapter_dir,
                            tokenizer_dir=checkpoint.adapter_dir, seed=seed)[0], 0.0

    def base(conversation: list[dict], seed: int) -> tuple[str, float]:
        return sample_reply(job, conversation, base_dir=checkpoint.student_dir, adapter_dir=None,
                            tokenizer_dir=checkpoint.student_dir, seed=seed)[0], 0.0

    return [Side("tuned", tuned), Side("base", base)]


def register() -> None:
    register_subject(SubjectKind("checkpoint", _sides, _clean))
