"""Trait profiles by revealed preference: start one (/trait-profiles), read it with its ratings (and a comparison with
`compare_to`), and a persona's or a training job's profiles."""

from uuid import UUID

from ninja import Router, Status

from audits.traits.access import access_trait_profile
from audits.traits.schemas import TraitProfileDetailOut, TraitProfileIn, TraitProfileOut
from audits.traits.selectors import profile_comparison, subject_profiles
from audits.traits.services import trait_profile_start
from audits.traits.subjects import source_for
from studio.errors import Invalid
from studio.pagination import paginated

router = Router(tags=["trait profiles"])


def _readable(request, profile):
    """The profile, once the caller may read its subject (which must still be in the org: else 404)."""
    request.auth.require_scope("training:read" if profile.subject_kind == "training_job" else "personas:read")
    return profile


@router.post("/trait-profiles", response={202: TraitProfileOut}, summary="Start a trait profile")
def start_trait_profile(request, payload: TraitProfileIn):
    """202 with the queued profile. Give persona_id, or training_job_id with side (base | tuned). For each of `prompts`
    everyday first turns the subject is offered two random traits and answers as the one that feels most like it; a
    judge names the trait shown, in both orders (orders that disagree are dropped); Bradley–Terry rates each trait."""
    if (payload.persona_id is None) == (payload.training_job_id is None):
        raise Invalid("give either persona_id or training_job_id (with side)", field="persona_id")
    if payload.training_job_id is not None and payload.side is None:
        raise Invalid("side is base or tuned for a training job", field="side")
    if payload.persona_id is not None and payload.side is not None:
        raise Invalid("side is for a training job only", field="side")
    kind, subject_id = ("persona", payload.persona_id) if payload.persona_id else ("training_job", payload.training_job_id)
    profile = trait_profile_start(principal=request.auth, subject_kind=kind, subject_id=subject_id, side=payload.side or "",
                                  prompts=payload.prompts, judge_model=payload.judge_model, seed=payload.seed,
                                  traits=payload.traits)
    return Status(202, access_trait_profile(request.auth.organization, profile.public_id))


@router.get("/trait-profiles/{trait_profile_id}", response=TraitProfileDetailOut)
def get_trait_profile(request, trait_profile_id: UUID, compare_to: UUID | None = None):
    """Status and progress; once completed each trait's rating with its 95 % interval and rank (constitution traits
    flagged), the judge and its order-disagreement rate. With `compare_to` (another profile, e.g. the base beside a
    tuned checkpoint): rating differences with intervals, the most boosted and suppressed traits and Spearman's ρ —
    409 until both have completed."""
    profile = _readable(request, access_trait_profile(request.auth.organization, trait_profile_id))
    if compare_to is not None:
        other = _readable(request, access_trait_profile(request.auth.organization, compare_to))
        profile.comparison = profile_comparison(other, profile)
    return profile


@router.get("/personas/{persona_id}/trait-profiles", response=list[TraitProfileOut])
@paginated
def list_persona_trait_profiles(request, persona_id: UUID):
    request.auth.require_scope("personas:read")
    persona = source_for("persona").find(request.auth.organization, persona_id)
    return subject_profiles(request.auth.organization, "persona", persona.public_id).select_related("prompt_set")


@router.get("/training-jobs/{training_job_id}/trait-profiles", response=list[TraitProfileOut])
@paginated
def list_job_trait_profiles(request, training_job_id: UUID):
    """The job's base and tuned profiles, newest first."""
    request.auth.require_scope("training:read")
    job = source_for("training_job").find(request.auth.organization, training_job_id)
    return subject_profiles(request.auth.organization, "training_job", job.public_id).select_related("prompt_set")
