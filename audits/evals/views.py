"""Pages: a persona's eval suite (cases by layer, add a case), running it live, the latest run, the runs over time,
and two runs compared."""

import re

from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from audits.evals.access import access_eval_case, access_eval_run
from audits.evals.catalog import render_case
from audits.evals.checks import STRUCTURAL_RULES
from audits.evals.conversation import band_chart
from audits.evals.models import EvalRun
from audits.evals.runner import progress_payload
from audits.evals.selectors import eval_run_comparison
from audits.evals.services import DEFAULT_EPOCHS, MAX_EPOCHS, eval_case_create, eval_case_delete, eval_run_start, persona_suite
from audits.evals.stats import LAYERS, THRESHOLDS, TOLERANCES
from personas.access import access_persona
from studio.errors import Invalid, StudioError
from studio.views import org_page

CHECK_KINDS = ("judge", "required_phrases", "forbidden_phrases", "structural", "long_conversation")
LONG_FIELDS = {"turns": int, "threshold": float, "before_turn": int, "repeats": int}
_TURN = re.compile(r"^\s*(user|assistant)\s*:\s*", re.I | re.M)


def describe_check(check: dict) -> str:
    kind = check.get("kind")
    if kind == "judge":
        return f"judge: {check.get('rubric', '')}"
    if kind in ("required_phrases", "forbidden_phrases"):
        return f"{'must say' if kind == 'required_phrases' else 'must not say'}: " + " · ".join(check.get("phrases", []))
    if kind == "long_conversation":
        before = check.get("before_turn")
        return (f"long conversation: {check.get('turns')} turns × {check.get('repeats', 3)}, no reply drifting above "
                f"{check.get('threshold') or 'the drift threshold'}" + (f" before turn {before}" if before else ""))
    rules = [f"{rule.replace('_', ' ')}{'' if check[rule] is True else ' = ' + str(check[rule]).lower()}"
             for rule in STRUCTURAL_RULES if check.get(rule) is not None]
    return "structure: " + ", ".join(rules)


def _suite_by_layer(persona) -> list[dict]:
    shown = [render_case(case, persona.layers) for case in persona_suite(persona)]  # the persona's values, not {name}
    suite = [{**case, "summary": describe_check(case["check"])} for case in shown]
    return [{"layer": layer, "threshold": float(THRESHOLDS[layer]) * 100, "bar": float(THRESHOLDS[layer] - TOLERANCES[layer]) * 100,
             "cases": [c for c in suite if c["layer"] == layer]} for layer in LAYERS]


def _context(request, persona, **extra) -> dict:
    runs = list(persona.eval_runs.select_related("version")[:20])
    latest = next((r for r in runs if r.is_finished), None)
    active = next((r for r in runs if not r.is_finished), None)
    return {
        "persona": persona, "suite": _suite_by_layer(persona), "runs": runs, "latest": latest,
        "bars": result_bars(latest), "failing": latest.failing_cases() if latest else [],
        "eval_status": progress_payload(active) if active else None, "history": _history(runs),
        "can_edit": request.principal.has_scope("personas:write"), "layers": LAYERS, "check_kinds": CHECK_KINDS,
        "epochs": DEFAULT_EPOCHS, "max_epochs": MAX_EPOCHS, "form": {}, "gate_rules": gate_rules(),
        "comparable": [r for r in runs if r.status == EvalRun.Status.COMPLETED], **extra,
    }


def gate_rules() -> list[dict]:
    """Per layer: the threshold and the bar the interval's low end must clear (threshold − tolerance), in %."""
    return [{"layer": layer, "threshold": float(THRESHOLDS[layer]) * 100, "tolerance": float(TOLERANCES[layer]) * 100,
             "bar": float(THRESHOLDS[layer] - TOLERANCES[layer]) * 100} for layer in LAYERS]


def percent(value: float) -> float:
    """A share as a percentage with one decimal; never rounded up to 100 when short of it (99.96% shows 99.9)."""
    shown = round(value * 100, 1)
    return 99.9 if shown == 100 and value < 1 else shown


def result_bars(run) -> dict | None:
    """Inline-SVG geometry for a run's layers: bar = pass rate (coloured by gate state), whisker = 95% interval,
    tick = threshold.

    The axis starts below the lowest value shown (at most 80%), so 96% and 99.5% are told apart.
    """
    rows = run.layer_rows() if run else []
    if not rows:
        return None
    values = [v for row in rows for v in (row["rate"], *(row["interval"] or [])) if v is not None]
    low = min([0.8, *(int(v * 10) / 10 for v in values)])
    left, width = 78.0, 190.0

    def x(value: float) -> float:
        return round(left + (value - low) / (1 - low) * width, 1)

    bars = []
    for i, row in enumerate(rows):
        y = 6 + i * 16
        bar = {**row, "y": y, "mid": y + 4.5, "top": y + 2, "bottom": y + 7, "above": y - 2, "below": y + 11,
               "threshold_x": x(row["threshold"]), "threshold_pct": round(row["threshold"] * 100, 1),
               "rate_pct": None, "lo_x": None, "hi_x": None, "state": row.get("state") or ("pass" if row["met"] else "fail"),
               "pass_k_pct": percent(row["pass_k"]) if row.get("pass_k") is not None else None}
        if row["rate"] is not None:
            bar.update(width=round(max(0.5, x(row["rate"]) - left), 1), rate_pct=percent(row["rate"]))
        if row["interval"]:
            bar.update(lo_x=x(row["interval"][0]), hi_x=x(row["interval"][1]),
                       lo_pct=percent(row["interval"][0]), hi_pct=percent(row["interval"][1]))
        bars.append(bar)
    return {"rows": bars, "height": 10 + len(bars) * 16, "left": left, "right": left + width, "value_x": left + width + 4,
            "axis_low": round(low * 100)}


def _history(runs) -> list[dict]:
    """Completed runs oldest first, with x positions for the sparkline of the share of layers met."""
    done = [r for r in reversed(runs) if r.status == "completed" and r.results]
    points = []
    for i, run in enumerate(done):
        met = sum(1 for row in run.results.values() if row["met"]) / len(LAYERS)
        points.append({"run": run, "x": 10 + i * (180 / max(1, len(done) - 1)), "y": 35 - met * 30, "met": round(met * len(LAYERS))})
    return points


def _case_data(post) -> dict:
    """The add-case form as the API's case fields; a conversation may be written as 'user: …' / 'assistant: …' lines."""
    text = post.get("prompt", "").strip()
    kind = post.get("kind", "")
    data = {"layer": post.get("layer", ""), "title": post.get("title", "").strip(), "check": {"kind": kind}}
    if _TURN.match(text):
        parts = _TURN.split(text)[1:]
        data["turns"] = [{"role": role.lower(), "content": content.strip()} for role, content in zip(parts[::2], parts[1::2])]
    elif text:
        data["prompt"] = text
    if kind == "judge":
        data["check"]["rubric"] = post.get("rubric", "")
    elif kind in ("required_phrases", "forbidden_phrases"):
        data["check"]["phrases"] = [line.strip() for line in post.get("phrases", "").splitlines() if line.strip()]
    elif kind == "structural":
        for rule in ("max_words", "max_sentences"):
            if value := post.get(rule, "").strip():
                if not value.isdigit():
                    raise Invalid(f"{rule} must be a whole number", field=f"check.{rule}")
                data["check"][rule] = int(value)
        for rule in ("ends_with_question", "no_markdown", "first_person"):
            if post.get(rule):
                data["check"][rule] = post.get(rule) == "yes"
    elif kind == "long_conversation":
        for name, kind_of in LONG_FIELDS.items():
            if value := post.get(f"long_{name}", "").strip():
                try:
                    data["check"][name] = kind_of(value)
                except ValueError:
                    raise Invalid(f"{name} must be a {'whole ' if kind_of is int else ''}number", field=f"check.{name}") from None
    return data


@org_page
@require_GET
def persona_evals(request, persona_id):
    persona = access_persona(request.principal.organization, persona_id)
    return render(request, "evals/persona_evals.html", _context(request, persona))


@org_page
@require_POST
def eval_case_add(request, persona_id):
    persona = access_persona(request.principal.organization, persona_id)
    try:
        request.principal.require_scope("personas:write")
        eval_case_create(principal=request.principal, persona=persona, data=_case_data(request.POST))
    except StudioError as exc:
        context = _context(request, persona, form=request.POST, form_error={"field": exc.field or "", "message": exc.message})
        return render(request, "evals/partials/suite.html", context, status=exc.status_code)
    return render(request, "evals/partials/suite.html", _context(request, persona, saved=True))


@org_page
@require_POST
def eval_case_remove(request, case_id):
    case = access_eval_case(request.principal.organization, case_id)
    persona = case.persona
    eval_case_delete(principal=request.principal, case=case)
    if request.htmx:
        return render(request, "evals/partials/suite.html", _context(request, persona))
    return redirect("persona_evals", request.principal.organization.slug, persona.public_id)


@org_page
@require_POST
def eval_run_create(request, persona_id):
    persona = access_persona(request.principal.organization, persona_id)
    try:
        epochs = int(request.POST.get("epochs") or DEFAULT_EPOCHS)
    except ValueError:
        epochs = -1  # the service says what is allowed
    try:
        run = eval_run_start(principal=request.principal, persona=persona, epochs=epochs)
    except StudioError as exc:
        context = {"persona": persona, "eval_status": {"persona_id": persona.public_id}, "run_error": exc.message}
        return render(request, "evals/partials/run_status.html", context, status=exc.status_code)
    run = access_eval_run(request.principal.organization, run.public_id)
    return render(request, "evals/partials/run_status.html", {"persona": persona, "eval_status": progress_payload(run)})


@org_page
@require_GET
def persona_evals_latest(request, persona_id):
    """The latest finished run, the runs over time and the run controls: what a finished run's progress event reloads."""
    persona = access_persona(request.principal.organization, persona_id)
    return render(request, "evals/partials/results.html", _context(request, persona))


@org_page
@require_GET
def eval_run_detail(request, eval_run_id):
    run = access_eval_run(request.principal.organization, eval_run_id)
    context = {"persona": run.persona, "run": run, "bars": result_bars(run), "failing": run.failing_cases(), "gate_rules": gate_rules(),
               "conversations": drift_curves(run), "eval_status": progress_payload(run) if not run.is_finished else None}
    return render(request, "evals/run_detail.html", context)


def drift_curves(run) -> list[dict]:
    """The run's long conversations with their drift-vs-turn charts (audits.evals.conversation.band_chart)."""
    out = []
    for conv in run.long_conversations():
        chart = base = None
        if conv.get("band"):
            geometry = {"threshold": conv["threshold"], "before_turn": conv["before_turn"], "turns": conv["turns"]}
            chart = band_chart(conv["band"], crossing=conv["mean_crossing"], **geometry)
            if conv.get("base"):
                top = max(p["max"] for p in conv["band"] + conv["base"]["band"])  # one scale for both lines
                chart = band_chart(conv["band"], crossing=conv["mean_crossing"], top=top, **geometry)
                base = band_chart(conv["base"]["band"], crossing=None, top=top, **geometry)
        out.append({**conv, "chart": chart, "base_chart": base})
    return out


def _pp(value: float) -> str:
    return f"{value * 100:+.1f} pp".replace("-", "−")


def compare_row(row: dict) -> dict:
    """One scope of a comparison as printed: rates in %, the difference and its interval in percentage points."""
    low, high = row["interval"]
    return {**row, "first": f"{percent(row['first_rate'])}%", "second": f"{percent(row['second_rate'])}%",
            "difference": _pp(row["difference"]), "interval": f"{_pp(low)} to {_pp(high)}",
            "p": "1" if row["p_value"] >= 1 else f"{row['p_value']:.3g}",
            "method": "exact McNemar · Newcombe interval" if row["method"] == "mcnemar" else "paired bootstrap interval · sign-flip p"}


@org_page
@require_GET
def persona_evals_compare(request, persona_id):
    """Two completed runs (?first=, ?second=) compared case by case: the second − the first, overall and per layer."""
    persona = access_persona(request.principal.organization, persona_id)
    context = {"persona": persona, "comparable": list(persona.eval_runs.filter(status=EvalRun.Status.COMPLETED)
                                                       .select_related("version")[:20])}
    first_id, second_id = request.GET.get("first", ""), request.GET.get("second", "")
    status = 200
    if not first_id or not second_id:
        context["compare_error"] = "pick two completed runs to compare"
        status = 422 if request.GET else 200
    else:
        org = request.principal.organization
        first, second = access_eval_run(org, first_id), access_eval_run(org, second_id)
        context.update(first=first, second=second)
        try:
            context["comparison"] = eval_run_comparison(first, second)
            context["compare_rows"] = [compare_row(row) for row in context["comparison"]["rows"]]
        except StudioError as exc:
            context["compare_error"], status = exc.message, exc.status_code
    template = "evals/partials/compare.html" if request.htmx else "evals/compare.html"
    return render(request, template, context, status=status)
