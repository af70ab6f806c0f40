"""The run page in audit rounds (issue 18): round 1 stays as it ran, round 2 appears below it with its own
durations and tokens, and the progress bar never goes backwards, whatever the audit decides."""

import re

import pytest
from django.template.loader import render_to_string

from personas.models import Persona
from pipeline.models import PipelineRun, RunStatus, StepRun
from pipeline.views import run_panel_context

LAYER_STEPS = ("soul_draft", "self_enrich", "mask_build", "surface_ground")
AUDIT_LOW = {"coherence": 3, "depth": 3, "cultural_fidelity": 3, "voice_distinctiveness": 3, "realism": 3, "overall": 3.0, "notes": "thin"}


@pytest.fixture
def run(generate):
    persona = Persona.objects.get(public_id=generate().json()["id"])
    return PipelineRun.objects.create(
        organization=persona.organization, workspace=persona.workspace, persona=persona, status=RunStatus.RUNNING,
        step_config={"_audit": {"max_retries": 3, "min_overall_score": 3.5}},
    )


def walk(run, plan):
    """Each step starts (running), then completes; the progress after every change, in order."""
    seen = []
    for number, (step, duration) in enumerate(plan, start=1):
        attempt = 1 if step == "intent_parse" else plan_round(plan, number)
        record = StepRun.objects.create(run=run, step=step, attempt=attempt, model_requested="m")
        seen.append(run_panel_context(run)["progress"])
        record.status, record.duration_ms, record.prompt_tokens = StepRun.Status.COMPLETED, duration, duration // 10
        record.output = AUDIT_LOW if step == "audit" else {}
        record.save()
        seen.append(run_panel_context(run)["progress"])
    return seen


def plan_round(plan, number):
    return sum(1 for step, _ in plan[: number - 1] if step == "audit") + 1


def two_rounds():
    round_1 = [("intent_parse", 100)] + [(step, 1000 + i) for i, step in enumerate(LAYER_STEPS)] + [("audit", 1500)]
    round_2 = [(step, 2000 + i) for i, step in enumerate(LAYER_STEPS)] + [("audit", 2500)]
    return round_1 + round_2


def test_the_progress_bar_never_goes_backwards_across_audit_rounds(run):
    seen = walk(run, two_rounds())
    assert seen == sorted(seen), seen
    assert seen[11] == 80  # round 1 done: its share of the bar
    assert 80 < seen[-1] < 100  # round 2 done, the run not finished yet
    run.status = RunStatus.FLAGGED
    run.save()
    assert run_panel_context(run)["progress"] == 100


def test_without_retries_one_round_fills_the_bar(run):
    run.step_config = {"_audit": {"max_retries": 0, "min_overall_score": 3.5}}
    run.save()
    seen = walk(run, two_rounds()[:6])
    assert seen == sorted(seen) and seen[-1] == 99 and seen[0] == 0


def test_round_one_is_kept_with_its_durations_and_round_two_is_shown_below_it(run):
    walk(run, two_rounds()[:8])  # round 2 is under way: soul and self redone
    context = run_panel_context(run)
    assert [r["number"] for r in context["rounds"]] == [1, 2] and context["current_round"] == 2
    html = render_to_string("pipeline/partials/run_panel.html", {**context, "org": run.organization})
    round_1, round_2 = html.split('data-testid="run-round-2"')
    assert 'data-testid="run-round-1"' in round_1
    for step, duration in two_rounds()[:6]:  # round 1: every step completed, with its own duration
        row = re.search(rf'<tr id="step-{step}-r1".*?</tr>', round_1, re.S).group(0)
        assert 'data-state="completed"' in row and f"{duration} ms" in row
    assert "Round 1 audit" in round_1 and "below it, so the layers were redone" in round_1
    states = {step: re.search(rf'<tr id="step-{step}-r2"[^>]*data-state="(\w+)"', round_2).group(1) for step in LAYER_STEPS + ("audit",)}
    assert states == {"soul_draft": "completed", "self_enrich": "completed", "mask_build": "pending", "surface_ground": "pending",
                      "audit": "pending"}
    assert "1001 ms" not in round_2 and "2001 ms" in round_2
    assert 'data-testid="step-soul_draft"' in round_2 and 'data-testid="step-intent_parse"' in round_1  # the newest rows
    assert "audit round 2 of up to 4" in html


def test_a_run_in_one_round_shows_no_round_headings(run):
    walk(run, two_rounds()[:6])
    html = render_to_string("pipeline/partials/run_panel.html", {**run_panel_context(run), "org": run.organization})
    assert "Round 1" not in html and html.count('class="run-round"') == 1
    for step in ("intent_parse", *LAYER_STEPS, "audit"):
        assert f'data-testid="step-{step}"' in html


def test_the_run_page_renders_both_rounds(run, tenant, client_for):
    walk(run, two_rounds())
    page = client_for(tenant.user("editor")).get(f"/o/acme/runs/{run.public_id}/").content.decode()
    assert 'data-testid="run-round-1"' in page and 'data-testid="run-round-2"' in page
    assert page.index('data-testid="run-round-1"') < page.index('data-testid="run-round-2"')
