"""Trait profiles in the evaluation stage (issue 20.1, launch option `eval_trait_profile_prompts`).

When the option is on (N prompts, 20–500), the evaluation stage profiles the job's base model and its tuned
checkpoint by revealed preference (audits.traits), one after the other, in the stage's own process: the same N
prompts, trait pairs and seed (the job's) for both sides, so the two profiles are comparable. Each prompt is one
reply from the model and two judge calls (the judge names the trait shown with the pair in both orders); the stage's
progress counts them as it counts its own samples and judgments. A profile runs to its end before the next starts, so
progress moves when each profile ends, and a cancel is seen before each profile starts (not inside one).

The stage's report keeps both profile ids and statuses and, when both completed, what training changed: the top
boosted and suppressed traits with their 95 % intervals and Spearman's ρ, computed once by the traits app's
comparison (audits.traits.selectors.profile_comparison) and shown on the job page. A profile that fails (no reply
could be judged) or cannot start (no credentials for the judge's model) is recorded with its reason; the evaluation's
own result stands.
"""

from __future__ import annotations

from decimal import Decimal

from studio.errors import StudioError

SIDES = ("base", "tuned")
UNITS_PER_PROMPT = 3  # one reply and the judge in both orders: "samples+judgments", the evaluation stage's unit
JUDGE_CALLS_PER_PROMPT = 2  # both orders (a parse failure is asked once more: up to 4)
MIN_PROMPTS, MAX_PROMPTS = 20, 500


def prompts_of(params) -> int:
    return getattr(params, "eval_trait_profile_prompts", 0) or 0


def workload(params) -> dict[str, int]:
    """The profiles' subject replies and judge calls (both sides), before retries of unparseable judge answers."""
    n = prompts_of(params)
    return {"profiles": len(SIDES) if n else 0, "replies": len(SIDES) * n, "judge_calls": len(SIDES) * JUDGE_CALLS_PER_PROMPT * n}


def stage_units(params) -> int:
    """What the profiles add to the evaluation stage's total (samples+judgments)."""
    return len(SIDES) * UNITS_PER_PROMPT * prompts_of(params)


def _profile_entry(profile) -> dict:
    return {"id": str(profile.public_id), "status": profile.status, "label": profile.subject_label,
            "prompts_done": profile.progress_done, "error": profile.error[:500]}


def _charge(ctx, cost: Decimal) -> None:
    if not cost:
        return
    for record in (ctx.stage, ctx.job):
        record.cost_usd += cost
    ctx.job.save(update_fields=["cost_usd"])


def _row(row: dict) -> dict:
    return {k: row[k] for k in ("trait", "difference", "low", "high", "clear", "constitution")}


def run_trait_profiles(ctx) -> dict | None:
    """Profile base and tuned (run_now) and compare them; None when the option is off."""
    n = prompts_of(ctx.params)
    if not n:
        return None
    from audits.traits.models import TraitProfile
    from audits.traits.selectors import profile_comparison
    from audits.traits.services import profile_for_checkpoint

    report: dict = {"prompts": n, "seed": ctx.params.seed, "comparison": None, "error": ""}
    profiles = {}
    for side in SIDES:
        ctx.check_cancel(force=True)
        try:
            profile = profile_for_checkpoint(organization=ctx.organization, job_id=ctx.job.public_id, side=side, prompts=n,
                                             seed=ctx.params.seed, run_now=True)
        except StudioError as exc:
            report["error"] = f"the {side} trait profile could not start: {exc.message}"
            break
        profiles[side] = profile
        report[side] = _profile_entry(profile)
        _charge(ctx, profile.cost_usd)
        ctx.advance(UNITS_PER_PROMPT * n, force=True)  # the profile's prompts, answered and judged (or dropped)
    if len(profiles) == len(SIDES) and all(p.status == TraitProfile.Status.COMPLETED for p in profiles.values()):
        found = profile_comparison(profiles["base"], profiles["tuned"])
        report["comparison"] = {"spearman": found["spearman"], "boosted": [_row(r) for r in found["boosted"]],
                                "suppressed": [_row(r) for r in found["suppressed"]], "traits_compared": len(found["differences"])}
    elif not report["error"]:
        failed = [f"{side}: {p.error}" for side, p in profiles.items() if p.status != TraitProfile.Status.COMPLETED]
        report["error"] = ("no comparison: " + "; ".join(failed))[:1000]
    return report
