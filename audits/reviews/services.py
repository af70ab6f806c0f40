"""Review workflows: comparisons in (API, import, generation), the blind queue, votes, reviewers and the LLM judge.

Keyword-only functions named <entity>_<action>; the API, the pages and the Celery tasks call these.
"""

import csv
import io
import json
import random
import unicodedata
from dataclasses import replace
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from audits.reviews.models import (
    DEFAULT_PROMPT_SET,
    Assignment,
    Choice,
    Comparison,
    ComparisonGeneration,
    ComparisonImport,
    Guideline,
    JudgeRun,
    Judgment,
    Origin,
    ReviewPool,
    Source,
)
from personas.models import Persona
from studio.config.schema import REVIEW_AXES
from studio.config.selectors import effective_tree
from studio.errors import Conflict, Forbidden, Invalid, NotFound
from studio.models import Membership
from studio.principal import Principal
from studio.roles import Role
from studio.work.lifecycle import TakenOver
from studio.work.queue import enqueue
from studio.words import plural

PERMISSION = "reviews.review_persona_pairs"
FIELDS = ("prompt", "text_a", "text_b", "source_a", "source_b")
MAX_TEXT = 20_000
MAX_LABEL = 120
MAX_ROWS = 5_000
MAX_PROMPTS = 200
MAX_SAMPLES = 10
_rng = random.SystemRandom()


class RowErrors(Invalid):
    """Several rows failed validation: every error is reported with its row number and field."""

    def __init__(self, errors: list[dict]):
        super().__init__(f"{plural(len(errors), 'error')} in the rows; nothing was stored")
        self.errors = errors

    def as_detail(self):
        return [{"loc": ["row", e["row"], e["field"]], "msg": e["message"]} for e in self.errors]


# --- cleaning ------------------------------------------------------------------------------------


def _clean_text(value, *, field: str, max_length: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{field} is missing", field=field)
    value = value.strip()
    if len(value) > max_length:
        raise Invalid(f"{field} must be at most {max_length} characters", field=field)
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t\r" for ch in value):
        raise Invalid(f"{field} contains control characters", field=field)
    return value


def clean_prompt_set(value) -> str:
    if value in (None, ""):
        return DEFAULT_PROMPT_SET
    return _clean_text(value, field="prompt_set", max_length=80)


def _clean_rows(rows: list) -> tuple[list[dict], list[dict]]:
    """(cleaned rows, [{row, field, message}]); rows are numbered from 1. A prompt_id names one prompt text."""
    cleaned, errors, prompts = [], [], {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            errors.append({"row": number, "field": "row", "message": "each row must be an object"})
            continue
        out, ok = {}, True
        for field in FIELDS:
            try:
                out[field] = _clean_text(row.get(field), field=field, max_length=MAX_LABEL if field.startswith("source") else MAX_TEXT)
            except Invalid as exc:
                errors.append({"row": number, "field": field, "message": exc.message})
                ok = False
        if ok and out["source_a"] == out["source_b"]:
            errors.append({"row": number, "field": "source_b", "message": "source_b must differ from source_a"})
            ok = False
        prompt_id = str(row.get("prompt_id") or "").strip()
        if ok and prompt_id:
            first = prompts.setdefault(prompt_id, (number, out["prompt"]))
            if first[1] != out["prompt"]:
                errors.append({"row": number, "field": "prompt", "message": f"prompt differs from row {first[0]}'s prompt for prompt_id {prompt_id}"})
                ok = False
        if ok:
            cleaned.append(out)
    return cleaned, errors


# --- comparisons ---------------------------------------------------------------------------------


def _require_manage(principal: Principal) -> None:
    principal.require_scope("personas:write")


def review_pool_for(persona: Persona) -> ReviewPool:
    pool, _ = ReviewPool.objects.get_or_create(persona=persona, defaults={"organization": persona.organization})
    return pool


def _sources(persona: Persona, labels) -> dict[str, Source]:
    found = {s.label: s for s in Source.objects.filter(persona=persona, label__in=set(labels))}
    for label in set(labels) - set(found):
        found[label], _ = Source.objects.get_or_create(organization=persona.organization, persona=persona, label=label)
    return found


@transaction.atomic
def _store(*, created_by, persona: Persona, prompt_set: str, rows: list[dict], origin: str) -> list[Comparison]:
    review_pool_for(persona)
    sources = _sources(persona, [r[f] for r in rows for f in ("source_a", "source_b")])
    return Comparison.objects.bulk_create([
        Comparison(
            organization=persona.organization, persona=persona, prompt_set=prompt_set, prompt=r["prompt"],
            text_a=r["text_a"], text_b=r["text_b"], source_a=sources[r["source_a"]], source_b=sources[r["source_b"]],
            origin=origin, created_by=created_by,
        )
        for r in rows
    ])


def comparisons_create(*, principal: Principal, persona: Persona, rows: list, prompt_set=None, origin: str = Origin.API) -> list[Comparison]:
    """Store every row, or none: RowErrors lists each bad row and field."""
    _require_manage(principal)
    prompt_set = clean_prompt_set(prompt_set)
    if not rows:
        raise Invalid("give at least one comparison", field="items")
    if len(rows) > MAX_ROWS:
        raise Invalid(f"at most {MAX_ROWS} comparisons at once", field="items")
    cleaned, errors = _clean_rows(rows)
    if errors:
        raise RowErrors(errors)
    return _store(created_by=principal.user, persona=persona, prompt_set=prompt_set, rows=cleaned, origin=origin)


def _parse_file(fmt: str, content: str) -> list:
    if fmt == "csv":
        return [dict(row) for row in csv.DictReader(io.StringIO(content))]
    rows = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            rows.append({"_error": f"line {number} is not JSON ({exc.msg})"})
    return rows


def comparisons_add_generated(*, persona: Persona, prompt_set: str, rows: list[dict], created_by=None) -> list[Comparison]:
    """Pairs another part of the studio wrote (a training job's evaluation: base vs tuned), stored as generated."""
    return _store(created_by=created_by, persona=persona, prompt_set=clean_prompt_set(prompt_set), rows=rows, origin=Origin.GENERATED)


def comparison_import_preview(*, principal: Principal, persona: Persona, fmt: str, content: str, prompt_set=None) -> ComparisonImport:
    """Parse and check an uploaded file; nothing becomes a comparison until the preview is confirmed."""
    _require_manage(principal)
    prompt_set = clean_prompt_set(prompt_set)
    fmt = (fmt or "").lower()
    if fmt not in ("csv", "jsonl"):
        raise Invalid("format must be csv or jsonl", field="format")
    if not isinstance(content, str) or not content.strip():
        raise Invalid("the file is empty", field="content")
    rows = _parse_file(fmt, content)
    if len(rows) > MAX_ROWS:
        raise Invalid(f"at most {MAX_ROWS} rows per import (got {len(rows)})", field="content")
    cleaned, errors = _clean_rows([r if not (isinstance(r, dict) and "_error" in r) else None for r in rows])
    for number, row in enumerate(rows, start=1):  # a JSONL line that is not JSON: say why, not just "not an object"
        if isinstance(row, dict) and "_error" in row:
            errors = [e for e in errors if e["row"] != number] + [{"row": number, "field": "row", "message": row["_error"]}]
    errors.sort(key=lambda e: e["row"])
    return ComparisonImport.objects.create(
        organization=persona.organization, persona=persona, prompt_set=prompt_set, format=fmt,
        rows=cleaned, errors=errors, row_count=len(rows), created_by=principal.user,
    )


def comparison_import_confirm(*, principal: Principal, comparison_import: ComparisonImport) -> list[Comparison]:
    _require_manage(principal)
    with transaction.atomic():
        locked = ComparisonImport.objects.select_for_update().get(pk=comparison_import.pk)
        if locked.status == ComparisonImport.Status.CONFIRMED:
            raise Conflict("this import was already confirmed")
        if locked.errors:
            raise Invalid(f"the import has {plural(len(locked.errors), 'row error')}: fix the file and upload it again", field="errors")
        created = _store(created_by=principal.user, persona=locked.persona, prompt_set=locked.prompt_set, rows=locked.rows, origin=Origin.IMPORT)
        locked.status, locked.confirmed_at = ComparisonImport.Status.CONFIRMED, timezone.now()
        locked.save(update_fields=["status", "confirmed_at"])
    comparison_import.refresh_from_db()
    return created


def comparison_generation_start(
    *, principal: Principal, persona: Persona, prompts: list, version_a: int, version_b: int, samples: int = 1, prompt_set=None,
) -> ComparisonGeneration:
    """Queue the studio writing pairs: each prompt answered by two persona versions, `samples` times."""
    from studio.llm.engines import engine_plan

    _require_manage(principal)
    prompt_set = clean_prompt_set(prompt_set)
    if not isinstance(prompts, list) or not prompts or len(prompts) > MAX_PROMPTS:
        raise Invalid(f"prompts must list 1–{MAX_PROMPTS} prompts", field="prompts")
    prompts = [_clean_text(p, field="prompts") for p in prompts]
    if not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
        raise Invalid(f"samples must be 1–{MAX_SAMPLES}", field="samples")
    numbers = set(persona.versions.values_list("number", flat=True))
    for field, number in (("version_a", version_a), ("version_b", version_b)):
        if number not in numbers:
            raise Invalid(f"this persona has no version {number}", field=field)
    if version_a == version_b:
        raise Invalid("compare two different versions", field="version_b")
    engine = engine_plan(persona.workspace).engine
    generation = ComparisonGeneration.objects.create(
        organization=persona.organization, persona=persona, prompt_set=prompt_set, prompts=prompts,
        version_a=version_a, version_b=version_b, samples=samples, engine=engine, created_by=principal.user,
    )
    transaction.on_commit(lambda: enqueue("audits.reviews.tasks.generate_comparisons", generation.pk))
    return generation


# --- reviewers -----------------------------------------------------------------------------------


def _require_admin(principal: Principal) -> None:
    if not principal.has_role(Role.ADMIN):
        raise Forbidden("granting review permission needs the admin role or higher")


def reviewer_grant(*, actor: Principal, persona: Persona, member: Membership) -> None:
    _require_admin(actor)
    if not member.has_role(Role.REVIEWER):
        raise Invalid("viewers cannot review: give the member the reviewer role first", field="member")
    assign_perm(PERMISSION, member.user, review_pool_for(persona))


def reviewer_revoke(*, actor: Principal, persona: Persona, member: Membership) -> None:
    _require_admin(actor)
    remove_perm(PERMISSION, member.user, review_pool_for(persona))


# --- the queue -----------------------------------------------------------------------------------


def _reviewer(principal: Principal):
    principal.require_scope("reviews:write")
    if principal.user is None:
        raise Forbidden("the review queue is for people: sign in to review")
    return principal.user


def reviewable_pools(user, organization):
    """The persona pools this user holds the review permission on (guardian), in this org."""
    pools = ReviewPool.objects.filter(organization=organization).select_related("persona__workspace")
    return get_objects_for_user(user, PERMISSION, klass=pools, accept_global_perms=False)


def _open_assignments(user, pools):
    return Assignment.objects.filter(
        reviewer=user, skipped_at=None, judgment__isnull=True, comparison__persona__review_pool__in=pools,
    ).select_related("comparison__persona", "comparison__source_a", "comparison__source_b")


def _candidates(user, organization, pools):
    """Comparisons this user could still be given: permitted, never theirs, and short of `reviews.overlap` reviewers."""
    overlap = {}
    for pool in pools:
        ws = pool.persona.workspace
        if ws.pk not in overlap:
            overlap[ws.pk] = effective_tree(organization, ws)["reviews.overlap"]
    if not overlap:
        return Comparison.objects.none()
    room = Q()
    for workspace_id, n in overlap.items():
        room |= Q(persona__workspace_id=workspace_id, taken__lt=n)
    return (
        Comparison.objects.filter(organization=organization, persona__review_pool__in=pools)
        .exclude(assignments__reviewer=user)
        .annotate(taken=Count("assignments", filter=Q(assignments__skipped_at=None)))
        .filter(room)
        .order_by("taken", "created_at", "id")
    )


def queue_next(*, principal: Principal) -> Assignment | None:
    """The reviewer's open pair, else a new assignment (random sides), marked shown now; None when nothing is left."""
    user = _reviewer(principal)
    pools = reviewable_pools(user, principal.organization)
    assignment = _open_assignments(user, pools).first()
    while assignment is None:
        candidate = _candidates(user, principal.organization, pools).first()
        if candidate is None:
            return None
        try:
            with transaction.atomic():
                # Lock the pair so two reviewers cannot both take its last open seat.
                Comparison.objects.select_for_update().filter(pk=candidate.pk).first()
                if _candidates(user, principal.organization, pools).filter(pk=candidate.pk).exists():
                    assignment = Assignment.objects.create(comparison=candidate, reviewer=user, flipped=_rng.random() < 0.5)
        except IntegrityError:
            continue
    if assignment.shown_at is None:
        assignment.shown_at = timezone.now()
        assignment.save(update_fields=["shown_at"])
    return assignment


def queue_progress(*, principal: Principal) -> dict:
    """{done, total}: votes cast, and votes cast plus pairs still open or available to this reviewer."""
    user = principal.user
    if user is None:
        return {"done": 0, "total": 0}
    pools = reviewable_pools(user, principal.organization)
    done = Judgment.objects.filter(kind=Judgment.Kind.HUMAN, reviewer=user, comparison__persona__review_pool__in=pools).count()
    remaining = _open_assignments(user, pools).count() + _candidates(user, principal.organization, pools).count()
    return {"done": done, "total": done + remaining}


def _assignment_of(user, comparison: Comparison) -> Assignment:
    try:
        return Assignment.objects.select_related("comparison__persona__workspace", "comparison__source_a", "comparison__source_b").get(
            comparison=comparison, reviewer=user
        )
    except Assignment.DoesNotExist:
        raise NotFound("comparison not found") from None  # not assigned to you: the same answer as not existing


def assignment_skip(*, principal: Principal, comparison: Comparison) -> Assignment:
    assignment = _assignment_of(_reviewer(principal), comparison)
    if hasattr(assignment, "judgment"):
        raise Conflict("you already judged this pair")
    if assignment.skipped_at is None:
        assignment.skipped_at = timezone.now()
        assignment.save(update_fields=["skipped_at"])
    return assignment


UNDO_WINDOW = timedelta(minutes=10)


def last_undoable(*, principal: Principal) -> dict | None:
    """The reviewer's latest vote or skip in this org, while it can still be undone: {kind, assignment, at}."""
    user = principal.user
    if user is None:
        return None
    since = timezone.now() - UNDO_WINDOW
    vote = (Judgment.objects.filter(kind=Judgment.Kind.HUMAN, reviewer=user, organization=principal.organization,
                                    created_at__gte=since, assignment__isnull=False)
            .select_related("assignment__comparison").order_by("-created_at", "-id").first())
    skip = (Assignment.objects.filter(reviewer=user, comparison__organization=principal.organization, skipped_at__gte=since)
            .select_related("comparison").order_by("-skipped_at", "-id").first())
    candidates = [c for c in (vote and {"kind": "vote", "assignment": vote.assignment, "at": vote.created_at},
                              skip and {"kind": "skip", "assignment": skip, "at": skip.skipped_at}) if c]
    return max(candidates, key=lambda c: c["at"]) if candidates else None


def review_undo(*, principal: Principal, comparison: Comparison) -> Assignment:
    """Take back the reviewer's last vote or skip (it must be on `comparison`, and less than 10 minutes old): the pair
    is theirs to judge again, first in their queue."""
    user = _reviewer(principal)
    assignment = _assignment_of(user, comparison)
    last = last_undoable(principal=principal)
    if last is None or last["assignment"].pk != assignment.pk:
        raise Conflict("only your last vote or skip can be undone, within 10 minutes of it")
    with transaction.atomic():
        if last["kind"] == "vote":
            Judgment.objects.filter(assignment=assignment, kind=Judgment.Kind.HUMAN).delete()
        assignment.skipped_at = None
        assignment.shown_at = timezone.now()  # the time to a vote counts from seeing the pair again
        assignment.save(update_fields=["skipped_at", "shown_at"])
    return assignment


def guideline_for(comparison: Comparison):
    return Guideline.objects.filter(persona_id=comparison.persona_id, prompt_set=comparison.prompt_set).first()


def guideline_save(*, principal: Principal, persona, prompt_set: str, text: str):
    """Set (or, with empty text, remove) what reviewers of a prompt set should look for. Editors and up."""
    principal.require_scope("personas:write")
    prompt_set = (prompt_set or "").strip() or DEFAULT_PROMPT_SET
    if len(prompt_set) > 80:
        raise Invalid("prompt set must be at most 80 characters", field="prompt_set")
    text = (text or "").strip()
    if len(text) > 4000:
        raise Invalid("guidelines must be at most 4,000 characters", field="text")
    if not text:
        Guideline.objects.filter(persona=persona, prompt_set=prompt_set).delete()
        return None
    guideline, _ = Guideline.objects.update_or_create(persona=persona, prompt_set=prompt_set,
                                                      defaults={"text": text, "updated_by": principal.user})
    return guideline


def clean_scores(scores) -> dict[str, int]:
    if not isinstance(scores, dict):
        raise Invalid("scores must be an object of axis → 1–5", field="scores")
    if unknown := set(scores) - set(REVIEW_AXES):
        raise Invalid(f"unknown axis {sorted(unknown)[0]}: the axes are {', '.join(REVIEW_AXES)}", field=sorted(unknown)[0])
    cleaned = {}
    for axis in REVIEW_AXES:
        value = scores.get(axis)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise Invalid(f"{axis} must be a whole number from 1 to 5", field=axis)
        cleaned[axis] = value
    return cleaned


def weighted_score(scores: dict, weights: dict) -> float:
    return round(sum(weights[axis] * scores[axis] for axis in REVIEW_AXES), 3)


def judgment_record(*, principal: Principal, comparison: Comparison, choice: str, scores, comment: str = "") -> Judgment:
    """A reviewer's vote on the pair as they saw it (A = their left side); stored in the comparison's frame."""
    user = _reviewer(principal)
    assignment = _assignment_of(user, comparison)
    if hasattr(assignment, "judgment"):
        raise Conflict("you already judged this pair")
    if assignment.skipped_at is not None:
        raise Conflict("you skipped this pair; it went back to the queue")
    shown = str(choice or "").strip().lower()
    if shown not in ("a", "b", "tie"):
        raise Invalid("choice must be A, B or tie", field="choice")
    if assignment.flipped and shown != "tie":
        shown = "b" if shown == "a" else "a"
    scores = clean_scores(scores)
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise Invalid("comment must be at most 2000 characters", field="comment")
    persona = comparison.persona
    weights = effective_tree(persona.organization, persona.workspace).axis_weights(persona.public_id)
    try:
        with transaction.atomic():
            return Judgment.objects.create(
                organization=comparison.organization, comparison=comparison, assignment=assignment, reviewer=user,
                kind=Judgment.Kind.HUMAN, choice=Choice(shown), **scores, weighted_score=weighted_score(scores, weights),
                comment=comment, shown_at=assignment.shown_at,
            )
    except IntegrityError:
        raise Conflict("you already judged this pair") from None


# --- the LLM judge -------------------------------------------------------------------------------


def judge_run_start(*, principal: Principal, persona: Persona, prompt_set=None) -> JudgeRun | None:
    """Queue the LLM judge on the persona's pairs it has not judged yet; None when there are none."""
    _require_manage(principal)
    pending = Comparison.objects.filter(persona=persona).exclude(judgments__kind=Judgment.Kind.JUDGE)
    if prompt_set:
        pending = pending.filter(prompt_set=prompt_set)
    ids = list(pending.values_list("pk", flat=True))
    if not ids:
        return None
    run = JudgeRun.objects.create(organization=persona.organization, persona=persona, comparison_ids=ids, calls_total=2 * len(ids))
    transaction.on_commit(lambda: enqueue("audits.reviews.tasks.judge_comparisons", run.pk))
    return run


# --- background work (the Celery tasks call these with ids) ----------------------------------------


def _config(persona: Persona, step: str, **overrides):
    """The offline engine when the org has no credentials at all (as the pipeline decides), else the step's models."""
    from studio.llm.engines import OFFLINE_MODEL
    from studio.llm.gateway import StepConfig
    from studio.services import org_has_llm_credentials

    if not org_has_llm_credentials(organization=persona.organization):
        return StepConfig(model=OFFLINE_MODEL)
    return StepConfig.from_step(effective_tree(persona.organization, persona.workspace).step(step), **overrides)


def _batch(requests, organization, parse=None) -> list:
    from asgiref.sync import async_to_sync

    from studio.llm.gateway import abatch

    return async_to_sync(abatch)(requests, organization=organization, parse=parse)


PROGRESS_CHUNK = 64  # calls per batch (the gateway's default concurrency); progress is saved between batches


def _mine(record):
    """The record while this worker still holds it: an update through it that changes no row means it was taken over."""
    return type(record).objects.filter(pk=record.pk, claimed_by=record.claimed_by, status__in=record.RUNNING)


def _taken_over(record) -> TakenOver:
    return TakenOver(f"{record._meta.verbose_name} {record.public_id} was taken over or ended elsewhere")


def _batch_with_progress(requests, record, parse=None) -> list:
    """`_batch` in chunks, saving `record.calls_done` after each so its page can show progress."""
    results = []
    for start in range(0, len(requests), PROGRESS_CHUNK):
        results += _batch(requests[start:start + PROGRESS_CHUNK], record.persona.organization, parse=parse)
        record.calls_done = len(results)
        if not _mine(record).update(calls_done=record.calls_done, heartbeat_at=timezone.now()):
            raise _taken_over(record)
    return results


def _failures(failed: list[str], units: int, noun: str) -> str:
    """How many of the units failed, with the first few errors: "3 of 10 pairs failed: …"."""
    head = f"all {units} {noun} failed" if len(failed) == units else f"{len(failed)} of {units} {noun} failed"
    return "\n".join([f"{head}; the first error{'s' if len(failed) > 1 else ''}:", *failed[:5]])[:4000]


def _end(record, **fields) -> None:
    """Save the outcome while this worker still holds the record (else TakenOver); call inside the transaction that stores."""
    fields["finished_at"] = timezone.now()
    if not _mine(record).update(**fields):
        raise _taken_over(record)
    for name, value in fields.items():
        setattr(record, name, value)


def background_work_fail(record, error: str) -> None:
    """End a generation or a judge run as failed with `error` (the worker's ending, or the reaper's); the page polls it."""
    record.status, record.error, record.finished_at = record.Status.FAILED, error[:4000], timezone.now()
    record.save(update_fields=["status", "error", "finished_at"])


def comparison_generation_execute(generation: ComparisonGeneration) -> None:
    """Answer every prompt with both versions, `samples` times (a generation its worker claimed); pairs whose two
    answers both came back are stored. It fails when every pair failed; otherwise it completes, counting the failed."""
    from personas.prompting import persona_system_prompt
    from studio.llm.gateway import LLMError

    persona = generation.persona
    versions = {v.number: v for v in persona.versions.filter(number__in=[generation.version_a, generation.version_b])}
    config = _config(persona, "mask_build", json_mode=False)
    systems = [persona_system_prompt(versions[n].layers) for n in (generation.version_a, generation.version_b)]
    asks = [(p, k) for p in generation.prompts for k in range(generation.samples)]
    # each sample of a prompt is its own draw: the sample number is the sampling seed (both sources share it)
    requests = [
        ([{"role": "system", "content": s}, {"role": "user", "content": p}], replace(config, seed=k))
        for p, k in asks for s in systems
    ]
    generation.calls_total = len(requests)
    generation.save(update_fields=["calls_total"])
    results = _batch_with_progress(requests, generation)
    rows, failures = [], []
    for i, (prompt, _) in enumerate(asks):
        first, second = results[2 * i], results[2 * i + 1]
        if isinstance(first, LLMError) or isinstance(second, LLMError):
            failures.append(str(first if isinstance(first, LLMError) else second)[:300])
            continue
        rows.append({"prompt": prompt, "text_a": first.text.strip() or "…", "text_b": second.text.strip() or "…",
                     "source_a": f"persona v{generation.version_a}", "source_b": f"persona v{generation.version_b}"})
    with transaction.atomic():
        _end(generation, status=ComparisonGeneration.Status.COMPLETED if rows else ComparisonGeneration.Status.FAILED,
             created_count=len(rows), errored=len(failures), error=_failures(failures, len(asks), "pairs") if failures else "")
        if rows:
            _store(created_by=generation.created_by, persona=persona, prompt_set=generation.prompt_set, rows=rows, origin=Origin.GENERATED)


def _judge_panel(persona: Persona) -> list:
    """The judges' configs: the audit step's model, or the models of `reviews.judge_panel` with its settings (with
    credentials; the offline engine judges alone)."""
    from studio.llm.engines import OFFLINE_MODEL

    config = _config(persona, "audit", json_mode=True)
    panel = effective_tree(persona.organization, persona.workspace)["reviews.judge_panel"]
    if config.model == OFFLINE_MODEL or not panel:
        return [config]
    return [replace(config, model=model, fallbacks=()) for model in panel]


def judge_comparisons_execute(run: JudgeRun) -> int:
    """The LLM judge (or the judge panel) on each pair in both orders (a run its worker claimed); a judge's verdict that
    follows the position is its tie, and a panel's vote is its judges' majority (none: a tie). It fails when no pair got
    a verdict; otherwise it completes, counting the pairs without one. Returns votes stored."""
    from audits.reviews.agreement import majority
    from audits.reviews.judge import combine, judge_messages, parse_verdict
    from personas.prompting import persona_system_prompt
    from studio.llm.gateway import LLMError

    persona = run.persona
    comparisons = list(
        Comparison.objects.filter(persona=persona, pk__in=run.comparison_ids).exclude(judgments__kind=Judgment.Kind.JUDGE)
    )
    judges = _judge_panel(persona)
    per_pair = 2 * len(judges)
    run.calls_total = per_pair * len(comparisons)
    run.save(update_fields=["calls_total"])
    system = persona_system_prompt(persona.layers)
    requests = []
    for c in comparisons:
        for config in judges:
            requests.append((judge_messages(persona_system=system, prompt=c.prompt, first=c.text_a, second=c.text_b), config))
            requests.append((judge_messages(persona_system=system, prompt=c.prompt, first=c.text_b, second=c.text_a), config))
    results = _batch_with_progress(requests, run, parse=parse_verdict)
    verdicts, failures = [], []
    for i, c in enumerate(comparisons):
        answers = results[per_pair * i:per_pair * (i + 1)]
        if error := next((r for r in answers if isinstance(r, LLMError)), None):
            failures.append(str(error)[:300])
            continue
        verdicts.append((c, list(zip(answers[0::2], answers[1::2]))))
    with transaction.atomic():
        failed = bool(comparisons) and not verdicts
        _end(run, status=JudgeRun.Status.FAILED if failed else JudgeRun.Status.COMPLETED, errored=len(failures),
             error=_failures(failures, len(comparisons), "pairs") if failures else "")
        stored = 0
        for c, orders in verdicts:
            try:
                with transaction.atomic():
                    Judgment.objects.create(organization=c.organization, comparison=c, kind=Judgment.Kind.JUDGE,
                                            **_panel_vote(orders, combine, majority))
                stored += 1
            except IntegrityError:
                continue  # judged meanwhile
        JudgeRun.objects.filter(pk=run.pk).update(stored=stored)
        run.stored = stored
    return stored


def _panel_vote(orders, combine, majority) -> dict:
    """A judge's vote (its two orders combined), or a panel's: its judges' majority, each judge's orders kept."""
    if len(orders) == 1:
        forward, backward = orders[0]
        return {"choice": combine(forward.parsed.winner, backward.parsed.winner), "judge_model": forward.model,
                "judge_detail": {"forward": forward.parsed.model_dump(), "backward": backward.parsed.model_dump()}}
    members = [{"model": f.model, "choice": combine(f.parsed.winner, b.parsed.winner),
                "forward": f.parsed.model_dump(), "backward": b.parsed.model_dump()} for f, b in orders]
    return {"choice": majority([m["choice"] for m in members]) or "tie",
            "judge_model": ("panel: " + ", ".join(m["model"] for m in members))[:200], "judge_detail": {"panel": members}}
