"""Pages: a trait profile (ranked bars with interval whiskers, constitution traits highlighted, live progress), a
persona's latest profile, and a training job's base and tuned profiles side by side with what training changed."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from audits.traits.access import access_trait_profile
from audits.traits.models import TraitProfile
from audits.traits.selectors import profile_comparison, subject_profiles
from audits.traits.services import DEFAULT_PROMPTS, MAX_PROMPTS, trait_profile_start
from audits.traits.subjects import source_for
from studio.errors import Conflict, StudioError
from studio.views import org_page

CHART_TOP = 20
LEFT, WIDTH, ROW = 112.0, 300.0, 15
LABEL_CLEARANCE = 24.0  # a four-digit axis label at font size 8 is ~18 units wide: the ends' labels keep clear of "1000"


def rating_chart(rows: list[dict], top: int = CHART_TOP, width: float = WIDTH) -> dict | None:
    """Inline-SVG geometry of the `top` best-rated traits: a bar from the scale's mean (1000) to the rating, a whisker
    over the 95 % interval; the axis spans every interval shown and 1000. Each end of the axis is labelled unless it
    lies too close to the 1000 mark to be read beside it (every interval above the mean: the low end is 1000)."""
    rows = rows[:top]
    if not rows:
        return None
    low = min([1000.0, *(r["low"] for r in rows)])
    high = max([1000.0, *(r["high"] for r in rows)])
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return round(LEFT + (value - low) / span * width, 1)

    centre = x(1000.0)
    shown = []
    for i, row in enumerate(rows):
        y = 6 + i * ROW
        bar = x(row["rating"])
        shown.append({**row, "y": y, "mid": y + 5, "top": y + 1, "bottom": y + 9, "text_y": y + 9,
                      "bar_x": min(bar, centre), "bar_width": max(0.8, round(abs(bar - centre), 1)),
                      "lo_x": x(row["low"]), "hi_x": x(row["high"])})
    return {"rows": shown, "height": 22 + len(shown) * ROW, "centre": centre, "left": LEFT, "right": LEFT + width,
            "value_x": LEFT + width + 6, "axis_y": 14 + len(shown) * ROW, "low": round(low), "high": round(high),
            "label_low": centre - LEFT >= LABEL_CLEARANCE, "label_high": LEFT + width - centre >= LABEL_CLEARANCE,
            "view_width": LEFT + width + 40}


def profile_context(profile: TraitProfile, *, compact: bool = False) -> dict:
    """The panel's context; `compact` (half a page wide, beside another profile): the top 12 on a narrower axis."""
    ratings = (profile.results or {}).get("ratings", [])
    flagged = [row for row in ratings if row["constitution"]]
    chart = rating_chart(ratings, top=12, width=170.0) if compact else rating_chart(ratings)
    return {"profile": profile, "ratings": ratings, "chart": chart, "constitution_rows": flagged,
            "unrated_constitution": sorted(set(profile.constitution_traits) - {r["trait"] for r in ratings}),
            "results": profile.results or {}, "max_prompts": MAX_PROMPTS,
            "mean_offered": sum(r["offered"] for r in ratings) / len(ratings) if ratings else None}


def _read(request, profile: TraitProfile) -> TraitProfile:
    request.principal.require_scope("training:read" if profile.subject_kind == "training_job" else "personas:read")
    return profile


@org_page
@require_GET
def trait_profile_detail(request, trait_profile_id):
    profile = _read(request, access_trait_profile(request.principal.organization, trait_profile_id))
    return render(request, "traits/profile.html", profile_context(profile))


@org_page
@require_GET
def trait_profile_panel(request, trait_profile_id):
    """The profile's panel, polled by the page while the profile runs."""
    profile = _read(request, access_trait_profile(request.principal.organization, trait_profile_id))
    return render(request, "traits/partials/panel.html", profile_context(profile))


def _start_values(post) -> dict:
    values = {}
    for name in ("prompts", "seed"):
        raw = (post.get(name) or "").strip()
        if raw:
            values[name] = int(raw) if raw.lstrip("-").isdigit() else -1  # the service says what is allowed
    judge = (post.get("judge_model") or "").strip()
    return {**values, **({"judge_model": judge} if judge else {})}


@org_page
@require_http_methods(["GET", "POST"])
def persona_trait_profile(request, persona_id):
    """GET: the persona's newest profile (or the form to start one); POST: start one and go to it."""
    org = request.principal.organization
    persona = source_for("persona").find(org, persona_id)
    error = None
    if request.method == "POST":
        try:
            profile = trait_profile_start(principal=request.principal, subject_kind="persona", subject_id=persona.public_id,
                                          **_start_values(request.POST))
            return redirect("trait_profile_detail", org.slug, profile.public_id)
        except StudioError as exc:
            error = exc
    profiles = list(subject_profiles(org, "persona", persona.public_id)[:10])
    if profiles and error is None:
        return redirect("trait_profile_detail", org.slug, profiles[0].public_id)
    return render(request, "traits/start.html", {"persona": persona, "profiles": profiles, "error": error,
                                                 "default_prompts": DEFAULT_PROMPTS, "max_prompts": MAX_PROMPTS},
                  status=error.status_code if error else 200)


@org_page
@require_http_methods(["GET", "POST"])
def job_trait_profiles(request, training_job_id):
    """GET: the job's base and tuned profiles side by side, with the boosted and suppressed traits and Spearman's ρ;
    POST: profile both (same prompts, traits and seed) and come back here."""
    org = request.principal.organization
    source = source_for("training_job")
    job = source.find(org, training_job_id)
    request.principal.require_scope("training:read")
    error = None
    if request.method == "POST":
        try:
            values = _start_values(request.POST)
            for side in ("base", "tuned"):
                trait_profile_start(principal=request.principal, subject_kind="training_job", subject_id=job.public_id,
                                    side=side, **values)
            return redirect("job_trait_profiles", org.slug, job.public_id)
        except StudioError as exc:
            error = exc
    sides = {side: subject_profiles(org, "training_job", job.public_id, side).select_related("prompt_set").first()
             for side in ("base", "tuned")}
    comparison = None
    if all(p is not None and p.status == TraitProfile.Status.COMPLETED for p in sides.values()):
        try:
            comparison = profile_comparison(sides["base"], sides["tuned"])
        except Conflict:
            comparison = None
    running = any(p is not None and not p.is_finished for p in sides.values())
    context = {"job": job, "sides": [(side, profile_context(p, compact=True) if p else None) for side, p in sides.items()],
               "comparison": comparison, "running": running, "error": error, "default_prompts": DEFAULT_PROMPTS,
               "max_prompts": MAX_PROMPTS}
    if request.htmx and request.GET.get("part") == "sides":
        return render(request, "traits/partials/job_sides.html", context)
    return render(request, "traits/job.html", context, status=error.status_code if error else 200)
