"""Pages: the blind review queue (keyboard-driven), and per persona the leaderboards, agreement, reviewers,
imports, generation, the LLM judge and exports."""

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from urllib.parse import urlencode
from django.views.decorators.http import require_GET, require_POST

from audits.reviews import selectors, services
from audits.reviews.axes import AXES
from audits.reviews.models import Judgment
from personas.access import access_persona
from personas.models import Persona
from studio.access import access_member
from studio.config.schema import REVIEW_AXES
from studio.errors import StudioError
from studio.roles import Role
from studio.views import org_page
from studio.words import plural

AXIS_KEYS = {"in_character": "qwert", "protocol_adherent": "asdfg", "closure_complete": "zxcvb"}


def _card_context(request, *, revealed=None, error=None, notice="") -> dict:
    assignment = services.queue_next(principal=request.principal) if request.principal.user else None
    progress = services.queue_progress(principal=request.principal)
    a, b = assignment.sides() if assignment else ("", "")
    last = services.last_undoable(principal=request.principal)
    return {
        "assignment": assignment, "text_a": a, "text_b": b, "progress": progress,
        "position": progress["done"] + (1 if assignment else 0),
        "axes": [{"name": axis, "keys": AXIS_KEYS[axis], "label": AXES[axis][0], "help": AXES[axis][1]} for axis in REVIEW_AXES],
        "guideline": services.guideline_for(assignment.comparison) if assignment else None,
        "revealed": revealed, "error": error, "notice": notice,
        "undoable": last if last and (assignment is None or last["assignment"].pk != assignment.pk) else None,
    }


@org_page
@require_GET
def review_queue(request):
    request.principal.require_scope("reviews:write")
    return render(request, "reviews/queue.html", _card_context(request))


@org_page
@require_POST
def review_vote(request, comparison_id):
    comparison = selectors.access_comparison(request.principal.organization, comparison_id)
    scores = {axis: request.POST.get(axis) for axis in REVIEW_AXES}
    try:
        judgment = services.judgment_record(
            principal=request.principal, comparison=comparison, choice=request.POST.get("choice", ""),
            scores=scores, comment=request.POST.get("comment", ""),
        )
    except StudioError as exc:
        if exc.status_code in (404, 403):
            raise
        context = _card_context(request, error=exc)
        return render(request, "reviews/partials/card.html", context, status=exc.status_code)
    source_a, source_b = judgment.assignment.shown_sources()
    shown = judgment.choice if not judgment.assignment.flipped else {"a": "b", "b": "a", "tie": "tie"}[judgment.choice]
    revealed = {"judgment": judgment, "choice": shown.upper() if shown != "tie" else "tie", "source_a": source_a, "source_b": source_b,
                "prompt": comparison.prompt}
    return _card(request, revealed=revealed)


def _card(request, **extra):
    template = "reviews/partials/card.html" if request.htmx else "reviews/queue.html"
    return render(request, template, _card_context(request, **extra))


@org_page
@require_POST
def review_skip(request, comparison_id):
    comparison = selectors.access_comparison(request.principal.organization, comparison_id)
    services.assignment_skip(principal=request.principal, comparison=comparison)
    return _card(request)


@org_page
@require_POST
def review_undo(request, comparison_id):
    """Take back the last vote or skip (within 10 minutes): the pair comes back to be judged again."""
    request.principal.require_scope("reviews:write")
    comparison = selectors.access_comparison(request.principal.organization, comparison_id)
    try:
        services.review_undo(principal=request.principal, comparison=comparison)
    except StudioError as exc:
        if exc.status_code in (404, 403):
            raise
        template = "reviews/partials/card.html" if request.htmx else "reviews/queue.html"
        return render(request, template, _card_context(request, error=exc), status=exc.status_code)
    return _card(request, notice="Undone: the pair is back for you to judge again.")


@org_page
@require_POST
def review_guideline_save(request, persona_id):
    persona = access_persona(request.principal.organization, persona_id)
    prompt_set = request.POST.get("prompt_set", "")
    try:
        services.guideline_save(principal=request.principal, persona=persona, prompt_set=prompt_set, text=request.POST.get("text", ""))
    except StudioError as exc:
        if exc.status_code in (404, 403):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Guidelines for the prompt set “{prompt_set.strip() or 'default'}” saved.")
    query = urlencode({"prompt_set": prompt_set.strip()[:80]})
    return redirect(reverse("review_persona", args=[request.principal.organization.slug, persona.public_id]) + f"?{query}#guidelines")


@org_page
@require_GET
def judge_run_progress(request, judge_run_id):
    """The progress fragment of a judge run the page polls until it is finished."""
    run = selectors.access_judge_run(request.principal.organization, judge_run_id)
    return render(request, "reviews/partials/judge_run.html", {"run": run})


@org_page
@require_GET
def generation_progress(request, generation_id):
    """The progress fragment of a generation the page polls until it is finished."""
    generation = selectors.access_generation(request.principal.organization, generation_id)
    return render(request, "reviews/partials/generation.html", {"g": generation})


@org_page
@require_GET
def review_home(request):
    org = request.principal.organization
    personas = (
        Persona.objects.filter(organization=org, comparisons__isnull=False)
        .annotate(pairs=Count("comparisons", distinct=True),
                  votes=Count("comparisons__judgments", filter=Q(comparisons__judgments__kind=Judgment.Kind.HUMAN), distinct=True))
        .order_by("name")
    )
    others = Persona.objects.filter(organization=org, comparisons__isnull=True).exclude(current_version=None).order_by("name")
    progress = services.queue_progress(principal=request.principal) if request.principal.has_scope("reviews:write") else None
    return render(request, "reviews/home.html", {"personas": personas, "others": others, "progress": progress})


def _persona_context(request, persona: Persona) -> dict:
    prompt_set = request.GET.get("prompt_set", "")[:80] or None
    human = selectors.leaderboard(persona, prompt_set=prompt_set, kind=Judgment.Kind.HUMAN)
    judge = selectors.leaderboard(persona, prompt_set=prompt_set, kind=Judgment.Kind.JUDGE)
    agreement = selectors.agreement(persona, prompt_set=prompt_set)
    can_manage = request.principal.has_scope("personas:write")
    context = {
        "persona": persona, "prompt_set": prompt_set or "", "prompt_sets": selectors.prompt_sets(persona),
        "human": human, "human_boards": selectors.boards(human),
        "judge": judge, "judge_boards": selectors.boards(judge),
        "agreement": agreement, "kappa_rows": selectors.kappa_rows(agreement["kappa_matrix"]), "weights": selectors.axis_weights(persona),
        "can_manage": can_manage, "can_grant": request.principal.has_role(Role.ADMIN),
        "reviewers": selectors.reviewers_of(persona), "versions": persona.versions.values_list("number", flat=True),
        "guidelines": {g.prompt_set: g for g in persona.review_guidelines.all()}, "axis_info": AXES,
    }
    context["guideline_set"] = prompt_set or (context["prompt_sets"][0] if context["prompt_sets"] else "default")
    context["guideline"] = context["guidelines"].get(context["guideline_set"])
    if context["can_grant"]:
        granted = {m.pk for m in context["reviewers"]}
        context["grantable"] = [m for m in persona.organization.memberships.select_related("user").order_by("user__email")
                                if m.pk not in granted and m.has_role(Role.REVIEWER)]
    if can_manage:
        context["recent"] = selectors.comparisons_of(persona.organization, persona=persona, prompt_set=prompt_set)[:20]
        context["generations"] = persona.comparison_generations.all()[:5]
        context["judge_runs"] = persona.judge_runs.all()[:3]
    return context


@org_page
@require_GET
def review_persona(request, persona_id):
    request.principal.require_scope("audits:read")
    persona = access_persona(request.principal.organization, persona_id)
    return render(request, "reviews/persona.html", _persona_context(request, persona))


def _back(request, persona):
    return redirect("review_persona", org_slug=request.principal.organization.slug, persona_id=persona.public_id)


@org_page
@require_POST
def reviewer_grant(request, persona_id):
    persona = access_persona(request.principal.organization, persona_id)
    member = access_member(request.principal.organization, request.POST.get("member_id", ""))
    services.reviewer_grant(actor=request.principal, persona=persona, member=member)
    messages.success(request, f"{member.user.email} can now review {persona.display_name}'s pairs.")
    return _back(request, persona)


@org_page
@require_POST
def reviewer_revoke(request, persona_id, member_id):
    persona = access_persona(request.principal.organization, persona_id)
    member = access_member(request.principal.organization, member_id)
    services.reviewer_revoke(actor=request.principal, persona=persona, member=member)
    messages.success(request, f"{member.user.email} no longer reviews {persona.display_name}'s pairs.")
    return _back(request, persona)


@org_page
@require_POST
def import_upload(request, persona_id):
    persona = access_persona(request.principal.organization, persona_id)
    upload = request.FILES.get("file")
    name = upload.name.lower() if upload else ""
    fmt = request.POST.get("format") or ("csv" if name.endswith(".csv") else "jsonl")
    try:
        content = upload.read().decode("utf-8-sig") if upload else request.POST.get("content", "")
    except UnicodeDecodeError:
        messages.error(request, "the file is not UTF-8 text")
        return _back(request, persona)
    try:
        imported = services.comparison_import_preview(
            principal=request.principal, persona=persona, fmt=fmt, content=content, prompt_set=request.POST.get("prompt_set")
        )
    except StudioError as exc:
        messages.error(request, exc.message)
        return _back(request, persona)
    return redirect("review_import", org_slug=request.principal.organization.slug, import_id=imported.public_id)


@org_page
@require_GET
def import_preview(request, import_id):
    request.principal.require_scope("personas:write")
    imported = selectors.access_import(request.principal.organization, import_id)
    return render(request, "reviews/import.html", {"imported": imported, "preview": imported.rows[:10]})


@org_page
@require_POST
def import_confirm(request, import_id):
    imported = selectors.access_import(request.principal.organization, import_id)
    created = services.comparison_import_confirm(principal=request.principal, comparison_import=imported)
    messages.success(request, f"{len(created)} comparisons stored.")
    return _back(request, imported.persona)


@org_page
@require_POST
def generation_start(request, persona_id):
    persona = access_persona(request.principal.organization, persona_id)
    prompts = [line.strip() for line in request.POST.get("prompts", "").splitlines() if line.strip()]
    try:
        generation = services.comparison_generation_start(
            principal=request.principal, persona=persona, prompts=prompts, prompt_set=request.POST.get("prompt_set"),
            version_a=_int(request.POST.get("version_a")), version_b=_int(request.POST.get("version_b")),
            samples=_int(request.POST.get("samples")) or 1,
        )
        messages.success(request, f"Writing {plural(len(prompts) * generation.samples, 'pair')} ({generation.engine} engine).")
    except StudioError as exc:
        messages.error(request, exc.message)
    return _back(request, persona)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@org_page
@require_POST
def judge_start(request, persona_id):
    persona = access_persona(request.principal.organization, persona_id)
    run = services.judge_run_start(principal=request.principal, persona=persona, prompt_set=request.POST.get("prompt_set") or None)
    if run is None:
        messages.success(request, "Every pair has a judge vote already.")
    else:
        messages.success(request, f"The LLM judge is reading {plural(len(run.comparison_ids), 'pair')} in both orders.")
    return _back(request, persona)


@org_page
@require_GET
def export(request, persona_id, fmt):
    request.principal.require_scope("personas:write")
    persona = access_persona(request.principal.organization, persona_id)
    content, content_type, filename = selectors.export_file(
        persona, fmt=fmt, prompt_set=request.GET.get("prompt_set") or None, kind=request.GET.get("kind") or None
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
