"""A finished job's outcome end to end: planted better and worse checkpoints through the job runner, and a real
tiny job whose outcome shows on its page, the jobs list, the API and the training_job.succeeded webhook."""

import re
from collections import Counter

import pytest
from django.utils.html import escape

from tests.test_training_jobs_run import ScriptedBackend
from training_jobs import backends
from training_jobs.data import eval_prompts
from training_jobs.constitution import has_marker, markers
from training_jobs.models import JobStatus, Outcome
from training_jobs.outcome import OUTCOMES
from training_jobs.engine import read_jsonl
from training_jobs.services import constitution_current


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(settings, tmp_path):
    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "training"


class PlantedBackend(ScriptedBackend):
    """Trains nothing; the replies it samples make the offline judge (it prefers the reply with more distinct
    words) pick the planted winner of each (held-out prompt, sample)."""

    RICH = "Well now, here is a thoughtful and detailed answer, with several distinct words about {prompt}"
    POOR = "Fine."

    def __init__(self, prompts: list[str], tuned_wins: set[tuple[int, int]], marker: str = ""):
        super().__init__()
        self.prompts, self.tuned_wins, self.marker = prompts, tuned_wins, marker

    def sample(self, prompts, config, adapter_dir=None, **kwargs):
        if prompts[0] not in self.prompts:  # not the evaluation (the scripted stages never sample here)
            return super().sample(prompts, config)
        tuned = adapter_dir is not None
        out = []
        for prompt in prompts:  # the evaluation samples every prompt at once, once per seed
            cell = (self.prompts.index(prompt), config["seed"])  # the launch's seed is 0: the sample's number
            out.append(f"{self.marker} {self.RICH.format(prompt=prompt)}".strip() if (cell in self.tuned_wins) == tuned
                       else self.POOR)
        return out


@pytest.fixture
def planted(persona, monkeypatch):
    constitution = constitution_current(persona=persona).constitution
    prompts = eval_prompts(constitution, 8, seed=0)

    def install(tuned_wins, *, with_marker: bool = False) -> PlantedBackend:
        backend = PlantedBackend(prompts, set(tuned_wins), markers(constitution)[0] if with_marker else "")
        monkeypatch.setattr(backends, "get_backend", lambda name: backend)
        return backend

    return install


EVERY_CELL = {(prompt, sample) for prompt in range(8) for sample in range(3)}


def test_a_planted_better_checkpoint_is_improved(persona, launch, planted):
    planted(EVERY_CELL, with_marker=True)
    job = launch(persona)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.outcome == Outcome.IMPROVED, job.outcome_detail["reason"]
    detail = job.outcome_detail
    assert (detail["win_rate"]["tuned_wins"], detail["win_rate"]["base_wins"]) == (24, 0)
    assert detail["win_rate"]["signal"] == "good" and detail["marker_difference"]["signal"] == "good"
    assert detail["marker_difference"]["tuned"] == 1.0 and detail["marker_difference"]["base"] == 0.0


def test_a_planted_worse_checkpoint_that_lost_6_to_18_is_worse(persona, launch, planted):
    planted({(prompt, 0) for prompt in range(6)})  # tuned wins one sample of each of six prompts
    job = launch(persona)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.outcome == Outcome.WORSE, job.outcome_detail["reason"]
    wins = job.outcome_detail["win_rate"]
    assert (wins["tuned_wins"], wins["base_wins"], wins["prompts"]) == (6, 18, 8)
    assert wins["interval"][1] < 0.5
    assert job.outcome_detail["reason"].startswith("tuned is worse than base: tuned won 6 of 24 decided pairs (25%")


def test_a_real_tiny_job_shows_its_outcome_on_the_page_list_api_and_webhook(persona, launch, tenant, client_for, api_for,
                                                                             settings):
    from studio.webhooks.models import WebhookDelivery
    from studio.webhooks.services import webhook_endpoint_create

    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    webhook_endpoint_create(organization=tenant.org, url="http://127.0.0.1:9/hook", events=["training_job.*"])
    job = launch(persona)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.outcome in OUTCOMES

    # the figures are the evaluation's samples, counted again here
    eval_stage = job.stages.get(stage="eval")
    samples = read_jsonl(job.artifacts_dir / eval_stage.artifacts["samples"])
    counted = Counter(row["winner"] for row in samples)
    detail = job.outcome_detail
    assert (detail["win_rate"]["tuned_wins"], detail["win_rate"]["base_wins"], detail["win_rate"]["ties"]) == \
        (counted["tuned"], counted["base"], counted["tie"])
    marks = markers(job.constitution.constitution)
    tuned_share = sum(has_marker(row["tuned"], marks) for row in samples) / len(samples)
    base_share = sum(has_marker(row["base"], marks) for row in samples) / len(samples)
    assert detail["marker_difference"]["difference"] == pytest.approx(tuned_share - base_share)
    assert eval_stage.stats["eval"]["outcome"] == detail

    # the job page: the verdict badge, why, the figures, and 5 held-out prompts with both replies
    page = client_for(tenant.user("viewer")).get(f"/o/acme/training/{job.public_id}/").content.decode()
    assert f'data-testid="outcome" data-outcome="{job.outcome}"' in page
    assert f'class="badge outcome-{job.outcome}" data-testid="outcome-badge">{detail["label"]}</span>' in page
    assert 'data-testid="outcome-reason"' in page and "Tuned win rate vs base" in page and "Marker rate, tuned − base" in page
    side_by_side = page[page.index('data-testid="side-by-side"'):]
    assert side_by_side.count('data-testid="sample"') == 5
    prompts = list(dict.fromkeys(row["prompt"] for row in samples))[:5]
    assert all(escape(prompt[:40]) in side_by_side for prompt in prompts)
    assert escape(samples[0]["tuned"][:40]) in side_by_side and escape(samples[0]["base"][:40]) in side_by_side

    # the jobs list
    listing = client_for(tenant.user("viewer")).get("/o/acme/training/").content.decode()
    row = re.search(rf'<tr data-testid="job-{job.public_id}">.*?</tr>', listing, re.S).group(0)
    assert f'class="badge outcome-{job.outcome}" data-testid="outcome"' in row

    # the API: detail and list
    api = api_for(tenant.org, scopes=["training:read"])
    got = api.get(f"/v1/training-jobs/{job.public_id}").json()
    assert got["outcome"] == job.outcome and got["outcome_detail"]["reason"] == detail["reason"]
    assert got["outcome_detail"]["win_rate"]["interval"] == pytest.approx(detail["win_rate"]["interval"])
    listed = api.get("/v1/training-jobs").json()["items"]
    assert [item["outcome"] for item in listed if item["id"] == str(job.public_id)] == [job.outcome]
    assert api.get(f"/v1/training-jobs?outcome={job.outcome}").json()["count"] == 1
    assert api.get("/v1/training-jobs?outcome=better").status_code == 422

    # the webhook
    delivery = WebhookDelivery.objects.filter(event="training_job.succeeded").get()
    assert delivery.payload["data"]["outcome"] == detail


def test_a_job_killed_before_its_evaluation_has_no_data_and_says_so(persona, launch, monkeypatch):
    from tests.test_training_jobs_run import HEALTHY_SFT

    backend = ScriptedBackend(dpo=[{"loss": float("nan"), "rewards/accuracies": 0.5}], sft=HEALTHY_SFT)
    monkeypatch.setattr(backends, "get_backend", lambda name: backend)
    job = launch(persona)
    assert job.status == JobStatus.KILLED
    assert job.outcome == Outcome.NO_CLEAR_CHANGE
    assert job.outcome_detail["reason"] == "no data: the job was killed in dpo_train before its evaluation finished"


def test_a_resumed_job_loses_its_old_outcome_until_it_ends_again(persona, launch, planted, tenant, django_capture_on_commit_callbacks):
    from studio.principal import Principal
    from training_jobs.services import training_job_resume

    planted(EVERY_CELL)
    job = launch(persona)
    assert job.outcome == Outcome.IMPROVED
    with django_capture_on_commit_callbacks(execute=False):
        training_job_resume(principal=Principal.from_membership(tenant.membership("owner")), job=job, stage="eval")
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.outcome == "" and job.outcome_detail is None
