"""A training job as the subject of a trait profile (audits.traits): its base model (the untrained student) or its
tuned checkpoint (the last adapter on the model it was trained on), sampled with no system prompt but the profile's
own instruction — the character must show without its constitution. Registered from TrainingJobsConfig.ready().

Replies are sampled in batches as the evaluation stage samples (training_jobs.evaluation): the job's temperature and
top-p, the evaluation's repetition penalty and reply length.
"""

from __future__ import annotations

from audits.traits.subjects import Subject, SubjectSource, register_subject_source
from training_jobs.access import access_training_job
from training_jobs.backends.base import SAMPLE_BATCH
from training_jobs.checkpoint import job_checkpoint
from training_jobs.evaluation import CHECKPOINT_REPETITION_PENALTY, EVAL_MAX_NEW_TOKENS
from training_jobs.tuned_chat import GENERATION_LOCK, reply_label

SIDES = ("base", "tuned")


def job_subject(organization, job_id, side: str) -> Subject:
    job = access_training_job(organization, job_id)
    checkpoint = job_checkpoint(job)  # Conflict (409) without a trained adapter
    params = job.params or {}
    tuned = side == "tuned"
    details = {
        "backend": job.backend, "base_dir": str(checkpoint.base_dir if tuned else checkpoint.student_dir),
        "adapter_dir": str(checkpoint.adapter_dir) if tuned else None,
        "temperature": float(params.get("temperature", 0.7)), "top_p": float(params.get("top_p", 0.95)),
        "max_new_tokens": min(int(params.get("max_new_tokens", EVAL_MAX_NEW_TOKENS)), EVAL_MAX_NEW_TOKENS),
        "teacher_model": params.get("teacher_model") or "",  # for the judge's same-family warning
    }
    label = reply_label(job, checkpoint.stage if tuned else "base")
    return Subject(kind="training_job", id=job.public_id, side=side, label=f"{label} · {job.name}", persona=job.persona,
                   constitution=job.constitution.document if job.constitution else None, read_scope="training:read",
                   write_scope="training:write", details=details)


def sample_checkpoint(organization, details: dict, conversations: list[list[dict]], seed: int) -> list[str | None]:
    from training_jobs.backends import get_backend

    with GENERATION_LOCK:  # one generation at a time per process, as the chat playground: two loads at once break transformers
        texts = get_backend(details["backend"]).sample(
            conversations, {"student": details["base_dir"], "seed": seed}, adapter_dir=details["adapter_dir"],
            base_dir=details["base_dir"], max_new_tokens=details["max_new_tokens"], temperature=details["temperature"],
            top_p=details["top_p"], batch_size=SAMPLE_BATCH, repetition_penalty=CHECKPOINT_REPETITION_PENALTY,
        )
    return [text.replace("\x00", "").strip() or None for text in texts]


def register() -> None:
    register_subject_source(SubjectSource(kind="training_job", resolve=job_subject, sample=sample_checkpoint,
                                                  find=access_training_job, sides=SIDES))
