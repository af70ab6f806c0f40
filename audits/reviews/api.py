"""Reviews API: comparisons (create, bulk, import, generate), the blind review queue, votes, agreement,
leaderboards and exports.

Managing comparisons and exports (which show sources) needs `personas:write`; voting needs
`reviews:write` and a person; agreement and leaderboards need `audits:read`. Objects load through
org-scoped access helpers: another org's persona or pair is a 404, and so is a pair not assigned to you.
"""

from uuid import UUID

from django.http import HttpResponse
from ninja import Router, Status

from audits.reviews import selectors, services
from audits.reviews.models import Judgment
from audits.reviews.schemas import (
    AgreementOut,
    ComparisonBulkIn,
    ComparisonIn,
    ComparisonOut,
    CreatedOut,
    GenerationIn,
    ComparisonGenerationOut,
    ComparisonImportIn,
    ComparisonImportOut,
    JudgeRunOut,
    JudgeStartOut,
    JudgmentIn,
    JudgmentOut,
    LeaderboardOut,
    QueueOut,
    ReviewerOut,
    SkipOut,
)
from personas.access import access_persona
from studio.access import access_member
from studio.errors import Invalid
from studio.models import Membership
from studio.pagination import paginated

router = Router(tags=["reviews"])


def _created(comparisons) -> dict:
    return {"created": len(comparisons), "ids": [c.public_id for c in comparisons]}


# --- comparisons ---------------------------------------------------------------------------------------


@router.post("/comparisons", response={201: ComparisonOut}, summary="Create one comparison (a pair of outputs for one prompt)")
def create_comparison(request, payload: ComparisonIn):
    persona = access_persona(request.auth.organization, payload.persona_id)
    row = payload.dict(include={"prompt", "text_a", "text_b", "source_a", "source_b"})
    try:
        [comparison] = services.comparisons_create(principal=request.auth, persona=persona, rows=[row], prompt_set=payload.prompt_set)
    except services.RowErrors as exc:
        first = exc.errors[0]
        raise Invalid(first["message"], field=first["field"]) from None
    return Status(201, selectors.access_comparison(request.auth.organization, comparison.public_id))


@router.post("/comparisons/bulk", response={201: CreatedOut}, summary="Create many comparisons: all or none, errors per row")
def create_comparisons(request, payload: ComparisonBulkIn):
    persona = access_persona(request.auth.organization, payload.persona_id)
    return Status(201, _created(services.comparisons_create(principal=request.auth, persona=persona, rows=payload.items, prompt_set=payload.prompt_set)))


@router.get("/comparisons", response=list[ComparisonOut], summary="Comparisons with their sources (for people managing reviews)")
@paginated
def list_comparisons(request, persona_id: UUID | None = None, prompt_set: str | None = None):
    request.auth.require_scope("personas:write")  # lists show sources: not for blind reviewers
    comparisons = selectors.comparisons_of(request.auth.organization, prompt_set=prompt_set)
    if persona_id:
        comparisons = comparisons.filter(persona=access_persona(request.auth.organization, persona_id))
    return comparisons


@router.post("/comparisons/imports", response={201: ComparisonImportOut}, summary="Upload CSV/JSONL: a preview with row errors; nothing stored yet")
def preview_import(request, payload: ComparisonImportIn):
    persona = access_persona(request.auth.organization, payload.persona_id)
    imported = services.comparison_import_preview(
        principal=request.auth, persona=persona, fmt=payload.format, content=payload.content, prompt_set=payload.prompt_set
    )
    return Status(201, imported)


@router.get("/comparisons/imports/{import_id}", response=ComparisonImportOut)
def get_import(request, import_id: UUID):
    request.auth.require_scope("personas:write")
    return selectors.access_import(request.auth.organization, import_id)


@router.post("/comparisons/imports/{import_id}/confirm", response={201: CreatedOut}, summary="Store an import's rows (only when it has no errors)")
def confirm_import(request, import_id: UUID):
    imported = selectors.access_import(request.auth.organization, import_id)
    return Status(201, _created(services.comparison_import_confirm(principal=request.auth, comparison_import=imported)))


@router.post("/comparisons/generations", response={202: ComparisonGenerationOut}, summary="The studio writes pairs: prompts × two persona versions × samples")
def start_generation(request, payload: GenerationIn):
    persona = access_persona(request.auth.organization, payload.persona_id)
    generation = services.comparison_generation_start(
        principal=request.auth, persona=persona, prompts=payload.prompts, version_a=payload.version_a,
        version_b=payload.version_b, samples=payload.samples, prompt_set=payload.prompt_set,
    )
    return Status(202, selectors.access_generation(request.auth.organization, generation.public_id))


@router.get("/comparisons/generations/{generation_id}", response=ComparisonGenerationOut)
def get_generation(request, generation_id: UUID):
    request.auth.require_scope("personas:write")
    return selectors.access_generation(request.auth.organization, generation_id)


# --- the blind queue -----------------------------------------------------------------------------------


@router.get("/review-queue/next", response=QueueOut, summary="Your next blind pair (sources hidden, sides randomized for you)")
def queue_next(request):
    assignment = services.queue_next(principal=request.auth)
    return {"item": assignment, "progress": services.queue_progress(principal=request.auth)}


@router.post("/comparisons/{comparison_id}/skip", response=SkipOut, summary="Pass on a pair: it goes to another reviewer")
def skip_comparison(request, comparison_id: UUID):
    comparison = selectors.access_comparison(request.auth.organization, comparison_id)
    services.assignment_skip(principal=request.auth, comparison=comparison)
    return {"comparison_id": comparison.public_id, "skipped": True, "progress": services.queue_progress(principal=request.auth)}


@router.post("/comparisons/{comparison_id}/judgments", response={201: JudgmentOut}, summary="Vote on a pair assigned to you")
def judge_comparison(request, comparison_id: UUID, payload: JudgmentIn):
    comparison = selectors.access_comparison(request.auth.organization, comparison_id)
    judgment = services.judgment_record(
        principal=request.auth, comparison=comparison, choice=payload.choice, scores=payload.scores, comment=payload.comment
    )
    return Status(201, judgment)


# --- per persona: reviewers, the judge, agreement, leaderboard, exports ------------------------------------


@router.get("/personas/{persona_id}/reviews/reviewers", response=list[ReviewerOut], summary="Members allowed to review this persona's pairs")
@paginated
def list_reviewers(request, persona_id: UUID):
    request.auth.require_scope("audits:read")
    persona = access_persona(request.auth.organization, persona_id)
    return selectors.reviewers_of(persona)


@router.put("/personas/{persona_id}/reviews/reviewers/{member_id}", response={204: None}, summary="Let a member review this persona's pairs")
def grant_reviewer(request, persona_id: UUID, member_id: UUID):
    persona = access_persona(request.auth.organization, persona_id)
    member: Membership = access_member(request.auth.organization, member_id)
    services.reviewer_grant(actor=request.auth, persona=persona, member=member)
    return Status(204, None)


@router.delete("/personas/{persona_id}/reviews/reviewers/{member_id}", response={204: None}, summary="Stop a member reviewing this persona's pairs")
def revoke_reviewer(request, persona_id: UUID, member_id: UUID):
    persona = access_persona(request.auth.organization, persona_id)
    member: Membership = access_member(request.auth.organization, member_id)
    services.reviewer_revoke(actor=request.auth, persona=persona, member=member)
    return Status(204, None)


@router.post("/personas/{persona_id}/reviews/judge", response={202: JudgeStartOut}, summary="LLM judge on pairs not judged yet (both orders)")
def start_judge(request, persona_id: UUID, prompt_set: str | None = None):
    persona = access_persona(request.auth.organization, persona_id)
    run = services.judge_run_start(principal=request.auth, persona=persona, prompt_set=prompt_set)
    return Status(202, {"queued": len(run.comparison_ids) if run else 0, "judge_run_id": run.public_id if run else None})


@router.get("/judge-runs/{judge_run_id}", response=JudgeRunOut, summary="An LLM-judge run's progress and outcome")
def get_judge_run(request, judge_run_id: UUID):
    request.auth.require_scope("audits:read")
    return selectors.access_judge_run(request.auth.organization, judge_run_id)


@router.get("/personas/{persona_id}/reviews/agreement", response=AgreementOut, summary="Cohen's κ per reviewer pair, Krippendorff's α per axis, reviewers")
def get_agreement(request, persona_id: UUID, prompt_set: str | None = None):
    request.auth.require_scope("audits:read")
    persona = access_persona(request.auth.organization, persona_id)
    return {"persona_id": persona.public_id, "prompt_set": prompt_set, **selectors.agreement(persona, prompt_set=prompt_set)}


@router.get("/personas/{persona_id}/reviews/leaderboard", response=LeaderboardOut, summary="Bradley–Terry and Elo with bootstrap intervals")
def get_leaderboard(request, persona_id: UUID, prompt_set: str | None = None, kind: str = "human"):
    request.auth.require_scope("audits:read")
    persona = access_persona(request.auth.organization, persona_id)
    if kind not in Judgment.Kind.values:
        raise Invalid("kind must be human or judge", field="kind")
    return {"persona_id": persona.public_id, **selectors.leaderboard(persona, prompt_set=prompt_set, kind=kind)}


@router.get("/personas/{persona_id}/reviews/judgments", summary="Every vote as CSV or JSONL (?format=csv|jsonl, ?kind=human|judge)")
def export_judgments(request, persona_id: UUID, format: str = "jsonl", prompt_set: str | None = None, kind: str | None = None):
    request.auth.require_scope("personas:write")  # exports show sources
    persona = access_persona(request.auth.organization, persona_id)
    return file_response(*selectors.export_file(persona, fmt=format, prompt_set=prompt_set, kind=kind))


@router.get("/personas/{persona_id}/reviews/dpo-pairs", summary="Preference pairs {prompt, chosen, rejected} as JSONL (ties left out)")
def export_dpo_pairs(request, persona_id: UUID, prompt_set: str | None = None, kind: str = "human"):
    request.auth.require_scope("personas:write")
    persona = access_persona(request.auth.organization, persona_id)
    return file_response(*selectors.export_file(persona, fmt="dpo", prompt_set=prompt_set, kind=kind))


def file_response(content: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

