"""Trait profiles on the work engine: a profile whose worker died goes on from its saved judgments (up to
WORK_MAX_ATTEMPTS claims), then fails saying how far it got — never left running."""

from audits.traits.models import TraitProfile
from studio.work.reaper import Kind, register


def _fail(profile: TraitProfile, error: str) -> None:
    from audits.traits.runner import trait_profile_fail  # the runner pulls in the LLM gateway

    trait_profile_fail(profile, error)


def _resume(profile: TraitProfile) -> None:
    from audits.traits.runner import trait_profile_requeue

    trait_profile_requeue(profile)


def _where(profile: TraitProfile) -> str:
    return f" after {profile.progress_done} of {profile.progress_total} prompts" if profile.status in TraitProfile.RUNNING else ""


register(Kind(name="trait profile", model=TraitProfile, fail=_fail, resume=_resume, stale_reason=_where,
              advice=lambda profile: "start the profile again"))
