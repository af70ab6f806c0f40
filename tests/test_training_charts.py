"""Issue 18, charts you can read: every point of the loss, reward-accuracy and eval curves shows its value on hover
(or keyboard focus), and /o/<org>/training/compare/?jobs=… lays two or more jobs' curves over each other."""

import re

from training_jobs import display
from training_jobs.compare import curriculum_history, range_history
from training_jobs.models import StageRun
from tests.test_training_pages import HISTORY, make_job


def labels(html: str) -> list[str]:
    return re.findall(r'<text class="hover-value"[^>]*>([^<]+)</text>', html)


def test_every_logged_point_of_a_job_s_curves_has_its_value_on_hover(persona, tenant, client_for):
    job = make_job(persona)
    page = client_for(tenant.user("viewer")).get(f"/o/acme/training/{job.public_id}/").content.decode()
    dpo = re.search(r'data-testid="curves-dpo_train-dpo".*?</div>\s*</div>', page, re.S).group(0)
    shown = labels(dpo)
    # Independently: the 8 logged steps' loss (0.9 − 0.05 s) and reward accuracy (0.4 + 0.05 s), four significant digits.
    assert [f"step {e['step']} · {e['loss']:.4g}" for e in HISTORY] == shown[:8]
    assert [f"step {e['step']} · {e['rewards/accuracies']:.4g}" for e in HISTORY] == shown[8:16]
    assert dpo.count('class="hover-point" tabindex="0"') == 16


def test_hover_columns_cover_the_chart_without_gaps_and_labels_stay_inside():
    chart = display.line_chart("loss", HISTORY, "loss", width=320, height=110)
    hover = chart.hover
    assert hover[0]["hit_x"] == 0 and abs(hover[-1]["hit_x"] + hover[-1]["hit_w"] - 320) < 1e-6
    for a, b in zip(hover, hover[1:]):
        assert abs(a["hit_x"] + a["hit_w"] - b["hit_x"]) < 1e-6
    assert hover[0]["anchor"] == "start" and hover[-1]["anchor"] == "end"


def test_the_compare_page_overlays_two_jobs_curves(persona, tenant, client_for):
    first = make_job(persona, name="calm-run")
    second = make_job(persona, name="hot-run")
    StageRun.objects.filter(job=second, stage="dpo_train").update(stats={"dpo_history": [
        {"step": s, "loss": 0.7 - 0.01 * s, "rewards/accuracies": 0.5} for s in range(1, 13)]})
    page = client_for(tenant.user("viewer")).get(f"/o/acme/training/compare/?jobs={first.public_id},{second.public_id}").content.decode()
    assert page.count('data-testid="compare-chart"') == 3  # DPO loss, DPO reward accuracy, SFT loss
    dpo_loss = re.search(r"<strong>DPO loss</strong>.*?</svg>", page, re.S).group(0)
    assert dpo_loss.count('class="series"') == 2 and 'data-series="calm-run"' in dpo_loss and 'data-series="hot-run"' in dpo_loss
    assert "hot-run · step 12 · 0.58" in labels(dpo_loss) and "calm-run · step 8 · 0.5" in labels(dpo_loss)
    assert "step 12" in dpo_loss  # shared x axis: the longer run's last step
    assert "calm-run" in page and "hot-run" in page and 'data-testid="compare-legend"' in page


def test_one_job_asks_for_another_and_the_picker_lists_recent_jobs(persona, tenant, client_for):
    job = make_job(persona, name="solo")
    page = client_for(tenant.user("viewer")).get(f"/o/acme/training/compare/?jobs={job.public_id}").content.decode()
    assert "Pick at least one more job" in page and 'data-testid="compare-chart"' not in page
    assert f'name="jobs" value="{job.public_id}" checked' in page
    assert client_for(tenant.user("viewer")).get("/o/acme/training/compare/").status_code == 200


def test_another_org_s_job_is_404_and_too_many_is_422(persona, tenant, client_for, outsider):
    job = make_job(persona)
    assert client_for(outsider).get(f"/o/globex/training/compare/?jobs={job.public_id},{job.public_id}").status_code == 404
    many = ",".join(str(make_job(persona, name=f"j{i}").public_id) for i in range(7))
    response = client_for(tenant.owner).get(f"/o/acme/training/compare/?jobs={many}")
    assert response.status_code == 422 and "at most 6" in response.content.decode()


def test_the_list_links_to_the_compare_page_once_there_are_two_jobs(persona, tenant, client_for):
    make_job(persona, name="a")
    assert 'data-testid="compare-jobs"' not in client_for(tenant.owner).get("/o/acme/training/").content.decode()
    make_job(persona, name="b")
    assert 'href="/o/acme/training/compare/" data-testid="compare-jobs"' in client_for(tenant.owner).get("/o/acme/training/").content.decode()


def test_unified_phases_line_up_one_after_another_and_the_eval_is_one_point_per_checkpoint():
    stats = {"phase_1_history": [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}], "phase_2_history": [{"step": 1, "loss": 1.4}]}
    assert [(e["step"], e["loss"]) for e in curriculum_history(stats)] == [(1, 2.0), (2, 1.5), (3, 1.4)]
    table = {"eval": {"table": [{"kind": "overall", "context": None, "cells": [{"rate": 0.5}, {"rate": 0.625}, {"rate": 0.75}]},
                                {"kind": "tool", "context": "x", "cells": [{"rate": 0.1}]}]}}
    assert range_history(table) == [{"step": 0, "pass_rate": 0.5}, {"step": 1, "pass_rate": 0.625}, {"step": 2, "pass_rate": 0.75}]
