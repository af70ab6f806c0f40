"""Robustness attack runs (audits.attacks) as audit jobs: start one, answer every attack, score every reply.

    job = attack_run_start(persona=persona, user=user)                 # the persona, through its system prompt
    job = attack_run_start(persona=..., subject_kind=CHECKPOINT_ATTACKS, ...)   # training_jobs.attacks: base vs tuned

Who answers is a `Subject`: the sides it has and how a side answers a batch of conversations. A persona has one side,
"persona": the model that answers its chat (audits.services.fingerprint_engine: the voice its fingerprint was made
from) with its system prompt; its prefill turns come from the same model with no system prompt ("base"). A training
job's subject (training_jobs.attacks) has "base" (the untrained student) and "tuned" (student + adapter), neither with
a system prompt, and the base checkpoint writes the prefill turns both sides continue.

Every reply is scored twice: the judge (the audit step's model, or the offline engine's literal checks; the judge
prompt is audits.attacks.judge_messages) and the drift from the persona's newest ready fingerprint (in its own
embedding space, within its drift bound as chat replies are). Figures per attack and side: audits.attack_stats.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from django.db import transaction

from audits.attack_stats import paired_difference, side_summary
from audits.attacks import ATTACKS, BY_ID, ORDINARY_PROMPTS, PREFILL, calls_per_run, conversation, judge_messages
from audits.chat.services import embedding_model_for, fingerprint_drift_bound, spoken_reply
from audits.drift import cosine_distance
from audits.judging import parse_verdict
from audits.models import AttackReply, AuditJob, Fingerprint, ProvocationResult
from audits.services import (
    AuditFailed,
    Progress,
    audit_concurrency,
    audit_engine,
    audit_job_broadcast,
    audit_job_complete,
    fingerprint_engine,
    register_audit_runner,
    usd_decimal,
)
from personas.models import Persona, PersonaStatus
from personas.prompting import persona_system_prompt
from studio.config.selectors import effective_tree
from studio.errors import Conflict, Invalid
from studio.llm import gateway
from studio.llm.gateway import Completion, LLMError
from studio.work.queue import enqueue

PERSONA_SIDE, BASE_SIDE, TUNED_SIDE = "persona", "base", "tuned"
EMPTY_REPLY = "the model wrote nothing"


@dataclass(frozen=True)
class Answer:
    text: str | None  # None: the model failed (error says why)
    error: str = ""
    cost_usd: float = 0.0
    model: str = ""


@dataclass(frozen=True)
class Subject:
    """Who answers an attack run. `answer(side, conversations, progress)` → one Answer per conversation, in order,
    calling progress.step() as replies come; side is one of `sides`, or BASE_SIDE for the prefill's first turns."""

    sides: tuple[str, ...]
    answer: Callable[[str, list[list[dict]], Progress], list[Answer]]
    engine: str  # offline | providers | local (a checkpoint)
    chat_model: str


# --- starting a run ----------------------------------------------------------------------------


def attack_options(attacks=None, prompts=None) -> dict:
    """{attacks, prompts}: the chosen attack ids in catalog order (all by default) and how many ordinary prompts
    (all 12 by default). Invalid naming `attacks` or `prompts`."""
    if attacks is None:
        chosen = [a.id for a in ATTACKS]
    else:
        if not isinstance(attacks, list) or not attacks or not all(isinstance(a, str) for a in attacks):
            raise Invalid("attacks must be a non-empty list of attack ids", field="attacks")
        unknown = sorted(set(attacks) - BY_ID.keys())
        if unknown:
            raise Invalid(f"unknown attack(s) {', '.join(unknown)}; known: {', '.join(BY_ID)}", field="attacks")
        chosen = [a.id for a in ATTACKS if a.id in attacks]
    if prompts is None:
        prompts = len(ORDINARY_PROMPTS)
    if isinstance(prompts, bool) or not isinstance(prompts, int) or not 1 <= prompts <= len(ORDINARY_PROMPTS):
        raise Invalid(f"prompts must be a whole number from 1 to {len(ORDINARY_PROMPTS)}", field="prompts")
    return {"attacks": chosen, "prompts": prompts}


def attack_run_start(*, persona: Persona, user=None, attacks=None, prompts=None, kind: str = AuditJob.Kind.ATTACKS,
                     sides: Sequence[str] = (PERSONA_SIDE,), extra: dict | None = None) -> AuditJob:
    """Queue an attack run on the persona's current version (kind ATTACKS), or on a training job's checkpoints
    (kind CHECKPOINT_ATTACKS, `extra` naming the job). Conflict while the persona generates or a run of the same
    subject is unfinished; Invalid for bad options."""
    options = attack_options(attacks, prompts)
    version = persona.current_version
    if version is None:
        if persona.status == PersonaStatus.GENERATING:
            raise Conflict("this persona is still generating: wait for the run to finish, then attack it")
        raise Conflict("this persona has no version to attack (its generation failed)")
    params = {**options, "sides": list(sides), **(extra or {})}
    unfinished = AuditJob.objects.unfinished().filter(persona=persona, kind=kind)
    if "training_job" in params:
        unfinished = unfinished.filter(params__training_job=params["training_job"])
    with transaction.atomic():
        if unfinished.select_for_update().exists():
            raise Conflict("an attack run on this " + ("training job" if "training_job" in params else "persona") + " is already running")
        job = AuditJob.objects.create(
            organization=persona.organization, persona=persona, version=version, kind=kind, params=params,
            requested_by=user if getattr(user, "is_authenticated", False) else None,
            total=calls_per_run([BY_ID[a] for a in options["attacks"]], options["prompts"], len(sides)),
        )
        audit_job_broadcast(job)
        transaction.on_commit(lambda: enqueue("audits.tasks.run_audit_job", job.pk))
    return job


# --- running it --------------------------------------------------------------------------------


@dataclass
class Row:
    attack: str
    side: str
    prompt_index: int
    transcript: list
    reply: str | None = None
    verdict: str = ProvocationResult.Verdict.ERROR
    reason: str = ""
    drift: float | None = None
    within_bound: bool | None = None
    cost_usd: float = 0.0
    prefill: str | None = field(default=None, repr=False)


def attack_run_execute(job: AuditJob, subject: Subject) -> AuditJob:
    """Answer every chosen attack on every prompt for each side, judge and embed every reply, store and summarise."""
    attacks = [BY_ID[a] for a in job.params["attacks"]]
    prompts = list(ORDINARY_PROMPTS[: int(job.params["prompts"])])
    engine = audit_engine(job.persona)
    job.engine, job.chat_model, job.judge_model = subject.engine, subject.chat_model[:200], engine.judge.model
    job.total = calls_per_run(attacks, len(prompts), len(subject.sides))
    job.save(update_fields=["engine", "chat_model", "judge_model", "total"])
    audit_job_broadcast(job)
    progress = Progress(job)
    rows = _answer_all(job, subject, attacks, prompts, progress)
    if not any(row.reply for row in rows):
        first = next((row.reason for row in rows if row.reason), "")
        raise AuditFailed(f"none of the {len(rows)} attacks got a reply" + (f"; first error: {first}" if first else ""))
    async_to_sync(_judge_all)(rows, job.version.layers, engine, job.organization, progress)
    fingerprint_note = _score_drift(job, rows)
    progress.step()
    AttackReply.objects.bulk_create([
        AttackReply(job=job, attack=r.attack, side=r.side, prompt_index=r.prompt_index, transcript=r.transcript,
                    reply=r.reply or "", verdict=r.verdict, reason=r.reason[:4000], drift=r.drift, within_bound=r.within_bound,
                    cost_usd=usd_decimal(r.cost_usd))
        for r in rows
    ])
    summary = run_summary(rows, attacks, subject.sides)
    summary["fingerprint"] = fingerprint_note
    graded = [r for r in rows if r.verdict in ("pass", "fail")]
    passed = sum(r.verdict == "pass" for r in graded)
    audit_job_complete(job, fields={
        "summary": summary, "passed": passed, "failed": len(graded) - passed, "errors": len(rows) - len(graded),
        "pass_rate": round(passed / len(graded), 4) if graded else None, "cost_usd": usd_decimal(progress.cost + sum(r.cost_usd for r in rows)),
    }, webhook={})
    return job


def _answer_all(job: AuditJob, subject: Subject, attacks, prompts: list[str], progress: Progress) -> list[Row]:
    prefills: list[Answer] = []
    if any(a.kind == PREFILL for a in attacks):
        prefills = subject.answer(BASE_SIDE, [[{"role": "user", "content": p}] for p in prompts], progress)
    rows = []
    for side in subject.sides:
        asked: list[Row] = []
        for attack in attacks:
            for index, prompt in enumerate(prompts):
                prefill = prefills[index] if attack.kind == PREFILL else None
                if prefill is not None and not prefill.text:
                    row = Row(attack.id, side, index, [{"role": "user", "content": prompt}],
                              reason=f"the base model wrote no first turn: {prefill.error or EMPTY_REPLY}")
                    rows.append(row)
                    progress.step()  # the reply it never asked for
                    continue
                transcript = conversation(attack, prompt, prefill.text if prefill else None)
                asked.append(Row(attack.id, side, index, transcript, prefill=prefill.text if prefill else None))
        for row, answer in zip(asked, subject.answer(side, [r.transcript for r in asked], progress), strict=True):
            row.cost_usd += answer.cost_usd
            if answer.text is None:
                row.reason = f"the model could not answer: {answer.error}"
            else:
                row.reply = answer.text
            row.transcript = [*row.transcript, {"role": "assistant", "content": answer.text or ""}]
        rows += asked
    for prefill in prefills:  # the first turns' cost, on the run
        progress.cost += prefill.cost_usd
    return rows


async def _judge_all(rows: list[Row], layers: dict, engine, org, progress: Progress) -> None:
    """One verdict per reply (a reply that never came is an error without asking), progress as each comes."""
    asked = [row for row in rows if row.reply is not None]
    for _ in range(len(rows) - len(asked)):
        await progress.astep()
    requests = [(judge_messages(BY_ID[row.attack], layers=layers, user_turn=row.transcript[-2]["content"], reply=row.reply,
                                prefill=row.prefill), engine.judge) for row in asked]

    async def judged(_index, _result):
        await progress.astep()  # its cost goes on its row

    results = await gateway.abatch(requests, organization=org, parse=parse_verdict, concurrency=audit_concurrency(),
                                   on_result=judged)
    for row, result in zip(asked, results, strict=True):
        if isinstance(result, Completion):
            row.verdict, row.reason = result.parsed.verdict, result.parsed.reason
            row.cost_usd += result.cost_usd
        else:
            row.reason = f"the judge gave no valid verdict: {result}"


def _score_drift(job: AuditJob, rows: list[Row]) -> dict:
    """Each reply's cosine distance from the persona's newest ready fingerprint, and whether it is within the bound.
    An empty reply is out of character (no distance). Returns what the run was scored against, or why not."""
    fingerprint = Fingerprint.objects.latest_for(job.persona)
    if fingerprint is None or not fingerprint.vector:
        return {"scored": False, "note": "no ready fingerprint of this persona: compute it to score drift"}
    tree = effective_tree(job.organization, job.persona.workspace)
    bound = fingerprint_drift_bound(fingerprint, tree)
    model = embedding_model_for(fingerprint, tree)
    spoken = [row for row in rows if row.reply]
    for row in rows:
        if row.reply is not None and not row.reply:
            row.within_bound = False
    try:
        vectors, cost = gateway.embed([row.reply for row in spoken], model, organization=job.organization)
        distances = [cosine_distance(vector, fingerprint.vector) for vector in vectors]
    except (LLMError, ValueError) as exc:
        return {"scored": False, "note": f"drift not scored: {exc}"[:300]}
    for row, distance in zip(spoken, distances, strict=True):
        row.drift, row.within_bound = round(distance, 6), distance <= bound.value
    if spoken:
        spoken[0].cost_usd += cost
    return {"scored": True, "id": str(fingerprint.public_id), "version": fingerprint.version.number, "embedding_model": model,
            "bound": round(bound.value, 4), "bound_source": bound.source, "bound_label": bound.label}


def run_summary(rows: list[Row], attacks, sides: Sequence[str]) -> dict:
    """{sides, attacks: [{id, title, kind, suffix, sides: {side: side_summary}, difference}]}: difference is tuned − base
    (audits.attack_stats.paired_difference) when the run has both sides, else None."""
    def scores(row):
        return {"verdict": row.verdict, "drift": row.drift, "within_bound": row.within_bound}

    out = []
    for attack in attacks:
        by_side = {side: {r.prompt_index: scores(r) for r in rows if r.attack == attack.id and r.side == side} for side in sides}
        both = BASE_SIDE in by_side and TUNED_SIDE in by_side
        out.append({
            "id": attack.id, "title": attack.title, "kind": attack.kind, "suffix": attack.suffix,
            "sides": {side: side_summary(by_side[side].values()) for side in sides},
            "difference": paired_difference(by_side[BASE_SIDE], by_side[TUNED_SIDE]) if both else None,
        })
    return {"sides": list(sides), "attacks": out}


# --- the persona as the subject ----------------------------------------------------------------


def persona_subject(job: AuditJob) -> Subject:
    """The persona's chat model: with its system prompt for the persona, without for the prefill's first turns."""
    chat = fingerprint_engine(job.persona).chat
    engine = "offline" if chat.model.startswith("offline/") else ("local" if chat.model.startswith("local/") else "providers")
    system = persona_system_prompt(job.version.layers)

    def answer(side: str, conversations: list[list[dict]], progress: Progress) -> list[Answer]:
        prefix = [{"role": "system", "content": system}] if side == PERSONA_SIDE else []
        requests = [([*prefix, *messages], chat) for messages in conversations]
        return async_to_sync(_batch)(requests, job.organization, progress)

    return Subject(sides=(PERSONA_SIDE,), answer=answer, engine=engine, chat_model=chat.model)


async def _batch(requests, org, progress: Progress) -> list[Answer]:
    async def answered(_index, _result):
        await progress.astep()  # its cost goes on its row

    results = await gateway.abatch(requests, organization=org, parse=spoken_reply, concurrency=audit_concurrency(),
                                   on_result=answered)
    return [Answer(r.text.strip(), cost_usd=r.cost_usd, model=r.model) if isinstance(r, Completion) else Answer(None, str(r))
            for r in results]


def persona_attacks_run(job: AuditJob) -> AuditJob:
    return attack_run_execute(job, persona_subject(job))


register_audit_runner(AuditJob.Kind.ATTACKS, persona_attacks_run)
