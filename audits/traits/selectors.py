"""Reading trait profiles: a profile's ratings, two profiles compared, a subject's profiles."""

from __future__ import annotations

from audits.traits.compare import boosted_and_suppressed, rating_differences, spearman
from audits.traits.models import TraitJudgment, TraitProfile
from studio.errors import Conflict

COMPARE_ROUNDS = 200


def shown_judgments(profile: TraitProfile) -> list[tuple[str, str, str]]:
    return list(profile.judgments.filter(outcome=TraitJudgment.Outcome.SHOWN).values_list("first", "second", "shown"))


def ratings_by_trait(profile: TraitProfile) -> dict[str, float]:
    return {row["trait"]: row["rating"] for row in (profile.results or {}).get("ratings", [])}


def profile_comparison(before: TraitProfile, after: TraitProfile) -> dict:
    """`after` against `before` (e.g. a tuned checkpoint against its base): each shared trait's rating difference with
    its 95 % interval, the most boosted and suppressed traits, and Spearman's ρ of the two profiles. Conflict while
    either has not completed."""
    for which, profile in (("compare_to", before), ("profile", after)):
        if profile.status != TraitProfile.Status.COMPLETED:
            raise Conflict(f"the {which} trait profile is {profile.status}: profiles are compared once both have completed",
                           field=which if which == "compare_to" else None)
    differences = rating_differences(shown_judgments(before), shown_judgments(after), rounds=COMPARE_ROUNDS,
                                     seed=before.seed + after.seed)
    boosted, suppressed = boosted_and_suppressed(differences)
    constitution = set(after.constitution_traits) | set(before.constitution_traits)
    mark = lambda rows: [{**row, "constitution": row["trait"] in constitution} for row in rows]  # noqa: E731
    return {
        "profile_id": after.public_id, "compare_to_id": before.public_id,
        "subject_label": after.subject_label, "compare_to_label": before.subject_label,
        "spearman": spearman(ratings_by_trait(before), ratings_by_trait(after)),
        "boosted": mark(boosted), "suppressed": mark(suppressed), "differences": mark(differences),
    }


def subject_profiles(organization, kind: str, subject_id, side: str | None = None):
    profiles = TraitProfile.objects.filter(organization=organization, subject_kind=kind, subject_id=subject_id)
    return profiles.filter(side=side) if side is not None else profiles


def latest_finished(organization, kind: str, subject_id, side: str = "") -> TraitProfile | None:
    return subject_profiles(organization, kind, subject_id, side).filter(status=TraitProfile.Status.COMPLETED).first()
