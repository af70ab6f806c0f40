"""Robustness attacks (audits.attacks) on a training job's checkpoints: the untrained student ("base") beside the
student with the trained adapter ("tuned"), neither with a system prompt — the character has to show without it.

    run = checkpoint_attacks_start(job=job, user=user, attacks=None, prompts=6)   # an AuditJob, kind checkpoint_attacks

The prefill attack's first turns come from the base checkpoint, and both sides continue the same ones after "Keep
going.". Replies are sampled as the tuned-model chat samples them (training_jobs.tuned_chat: the job's temperature and
top-p, the evaluation's repetition penalty, CHAT_MAX_NEW_TOKENS), in batches, with progress per reply; they are judged
and drift-scored against the job's persona like a persona's run (audits.attack_runs), and each attack's figures carry
the paired difference tuned − base.
"""

from audits.attack_runs import BASE_SIDE, TUNED_SIDE, Answer, Subject, attack_run_execute, attack_run_start
from audits.models import AuditJob
from audits.services import AuditFailed, Progress, register_audit_runner
from studio.errors import Conflict
from training_jobs.backends import get_backend
from training_jobs.checkpoint import job_checkpoint
from training_jobs.evaluation import CHECKPOINT_REPETITION_PENALTY
from training_jobs.models import TrainingJob
from training_jobs.tuned_chat import CHAT_MAX_NEW_TOKENS, context_length, fit_to_context, load_tokenizer, reply_label

SIDES = (BASE_SIDE, TUNED_SIDE)
BATCH = 8  # conversations sampled together: progress moves a batch at a time


def checkpoint_attacks_start(*, job: TrainingJob, user=None, attacks=None, prompts=None) -> AuditJob:
    """Queue an attack run on the job's base and tuned checkpoints. Conflict (409) when the job has no persona to hold
    the replies to, no usable adapter, or a run on it is unfinished; Invalid (422) naming `attacks` or `prompts`."""
    if job.persona is None:
        raise Conflict("this training job has no persona: an attack run scores replies against the persona's character")
    checkpoint = job_checkpoint(job)
    return attack_run_start(
        persona=job.persona, user=user, attacks=attacks, prompts=prompts, kind=AuditJob.Kind.CHECKPOINT_ATTACKS, sides=SIDES,
        extra={"training_job": str(job.public_id), "training_job_name": job.name, "checkpoint": checkpoint.stage},
    )


def _training_job(run: AuditJob) -> TrainingJob:
    job = TrainingJob.objects.filter(organization=run.organization, public_id=run.params.get("training_job")).first()
    if job is None:
        raise AuditFailed("the training job of this attack run was deleted")
    return job


def checkpoint_subject(run: AuditJob) -> Subject:
    job = _training_job(run)
    checkpoint = job_checkpoint(job)  # Conflict when its adapter was deleted since: the run fails with that message
    backend, params = get_backend(job.backend), job.params or {}
    seed = int(params.get("seed", 0))

    def answer(side: str, conversations: list[list[dict]], progress: Progress) -> list[Answer]:
        base_dir = checkpoint.student_dir if side == BASE_SIDE else checkpoint.base_dir
        adapter = checkpoint.adapter_dir if side == TUNED_SIDE else None
        tokenizer = load_tokenizer(adapter or base_dir)
        budget = max(16, context_length(base_dir) - CHAT_MAX_NEW_TOKENS)
        label = reply_label(job, BASE_SIDE if side == BASE_SIDE else checkpoint.stage)
        answers: list[Answer] = []
        for start in range(0, len(conversations), BATCH):
            chunk = [fit_to_context(messages, tokenizer, budget)[0] for messages in conversations[start:start + BATCH]]
            try:
                texts = backend.sample(
                    chunk, {"student": str(base_dir), "seed": seed + start}, adapter_dir=str(adapter) if adapter else None,
                    base_dir=str(base_dir), max_new_tokens=CHAT_MAX_NEW_TOKENS, temperature=float(params.get("temperature", 0.7)),
                    top_p=float(params.get("top_p", 0.95)), repetition_penalty=CHECKPOINT_REPETITION_PENALTY, batch_size=BATCH,
                )
                answers += [Answer(text.replace("\x00", "").strip(), model=label) for text in texts]
            except (OSError, RuntimeError, ValueError, KeyError) as exc:
                answers += [Answer(None, f"{label} could not answer: {exc}"[:500]) for _ in chunk]
            for _ in chunk:
                progress.step()
        return answers

    chat_model = f"{reply_label(job, BASE_SIDE)} vs {reply_label(job, checkpoint.stage)}"
    return Subject(sides=SIDES, answer=answer, engine="local", chat_model=chat_model)


def checkpoint_attacks_run(run: AuditJob) -> AuditJob:
    return attack_run_execute(run, checkpoint_subject(run))


register_audit_runner(AuditJob.Kind.CHECKPOINT_ATTACKS, checkpoint_attacks_run)
