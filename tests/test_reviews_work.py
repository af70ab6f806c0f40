"""Comparison generations and judge runs on the work engine: a dead worker's item is failed by the reaper (never by a
read), an exception ends it failed, a slow worker cannot overwrite the reaper's outcome, and the end states are honest:
every pair failed is a failed run, some failed is a completed one that counts them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audits.reviews import services
from audits.reviews.models import Comparison, ComparisonGeneration, JudgeRun, Judgment
from audits.reviews.tasks import generate_comparisons, judge_comparisons
from studio.llm.results import LLMError
from studio.work.lifecycle import TakenOver, claim
from studio.work.reaper import reap
from tests.reviews_helpers import make_pairs

PROMPTS = ["How are you?", "What do you fear?"]


def _generation(tenant, persona, **fields) -> ComparisonGeneration:
    return ComparisonGeneration.objects.create(organization=tenant.org, persona=persona, prompts=PROMPTS, version_a=1,
                                               version_b=2, samples=2, **fields)


def _dead(model, item, *, calls_done=0, calls_total=0):
    """As a killed worker leaves it: claimed, some calls answered, its heartbeat long silent."""
    claimed = claim(model.objects, item.pk, running_status=model.Status.RUNNING)
    model.objects.filter(pk=item.pk).update(calls_done=calls_done, calls_total=calls_total,
                                            heartbeat_at=timezone.now() - timedelta(hours=1))
    return claimed


@pytest.fixture
def two_versions(owner_api, persona):
    layers = owner_api.get(f"/v1/personas/{persona.public_id}").json()["layers"]
    assert owner_api.patch(f"/v1/personas/{persona.public_id}", json={"layers": {"mask": {**layers["mask"], "tone": "drier"}}}).status_code == 200
    return persona


def _flaky_batch(monkeypatch, failing):
    """The gateway as before, but the calls whose index (in the batch) `failing` picks come back as errors."""
    real = services._batch

    def batch(requests, organization, parse=None):
        results = real(requests, organization, parse=parse)
        return [LLMError([], f"the provider is down (call {i})") if failing(i) else r for i, r in enumerate(results)]

    monkeypatch.setattr(services, "_batch", batch)


# --- the reaper, and reads --------------------------------------------------------------------------


def test_a_generation_whose_worker_died_is_failed_by_the_reaper_and_not_by_reads(tenant, persona, owner_api, client_for, settings):
    generation = _dead(ComparisonGeneration, _generation(tenant, persona), calls_done=3, calls_total=8)
    assert owner_api.get(f"/v1/comparisons/generations/{generation.public_id}").json()["status"] == "running"
    fragment = client_for(tenant.user("owner")).get(f"/o/acme/reviews/generations/{generation.public_id}/").content.decode()
    assert "<progress" in fragment
    generation.refresh_from_db()
    assert generation.status == "running" and generation.error == ""

    assert reap() == {"comparison generation": {"resumed": 0, "failed": 1}}
    body = owner_api.get(f"/v1/comparisons/generations/{generation.public_id}").json()
    assert body["status"] == "failed" and body["finished_at"]
    assert body["error"] == (f"the worker stopped after 3 of 8 calls (no heartbeat for {settings.WORK_STALE_AFTER_S} s); "
                             "no pairs were written; start the generation again")
    assert reap() == {}


def test_a_judge_run_whose_worker_died_is_failed_by_the_reaper_and_not_by_reads(tenant, persona, owner_api, client_for, settings):
    run = _dead(JudgeRun, JudgeRun.objects.create(organization=tenant.org, persona=persona, comparison_ids=[1, 2]),
                calls_done=2, calls_total=4)
    assert owner_api.get(f"/v1/judge-runs/{run.public_id}").json()["status"] == "running"
    client = client_for(tenant.user("owner"))
    assert client.get(f"/o/acme/reviews/judge-runs/{run.public_id}/").status_code == 200
    assert client.get(f"/o/acme/reviews/personas/{persona.public_id}/").status_code == 200
    run.refresh_from_db()
    assert run.status == "running"

    assert reap() == {"judge run": {"resumed": 0, "failed": 1}}
    body = owner_api.get(f"/v1/judge-runs/{run.public_id}").json()
    assert body["status"] == "failed" and body["error"] == (
        f"the worker stopped after 2 of 4 calls (no heartbeat for {settings.WORK_STALE_AFTER_S} s); "
        "no votes were stored; run the judge again")


def test_a_queued_generation_no_worker_picked_up_is_failed_after_the_queue_limit(tenant, persona, settings):
    generation = _generation(tenant, persona)
    ComparisonGeneration.objects.filter(pk=generation.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert reap() == {}  # queued for a while: a busy queue, not a lost message
    ComparisonGeneration.objects.filter(pk=generation.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.WORK_QUEUED_STALE_S + 1))
    assert reap() == {"comparison generation": {"resumed": 0, "failed": 1}}
    generation.refresh_from_db()
    assert generation.status == "failed" and generation.error.startswith("no worker picked it up")


def test_an_exception_ends_the_generation_or_judge_run_failed_saying_what(tenant, persona, monkeypatch):
    def broken(item):
        raise RuntimeError("provider table missing")

    monkeypatch.setattr("audits.reviews.tasks.comparison_generation_execute", broken)
    monkeypatch.setattr("audits.reviews.tasks.judge_comparisons_execute", broken)
    generation = _generation(tenant, persona)
    generate_comparisons(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "failed" and generation.error == "internal error: RuntimeError: provider table missing"
    assert generation.attempt == 1 and generation.finished_at

    run = JudgeRun.objects.create(organization=tenant.org, persona=persona, comparison_ids=[])
    assert judge_comparisons(run.pk) == 0
    run.refresh_from_db()
    assert run.status == "failed" and "provider table missing" in run.error
    generate_comparisons(generation.pk)  # a duplicate delivery of an ended item does nothing
    generation.refresh_from_db()
    assert generation.attempt == 1


def test_a_slow_worker_whose_generation_was_reaped_stores_nothing(tenant, two_versions, settings):
    generation = _dead(ComparisonGeneration, _generation(tenant, two_versions))
    reap()
    with pytest.raises(TakenOver):
        services.comparison_generation_execute(generation)  # the old worker wakes up with its claim
    generation.refresh_from_db()
    assert generation.status == "failed" and "worker stopped" in generation.error
    assert not Comparison.objects.filter(persona=two_versions).exists()


# --- honest end states -----------------------------------------------------------------------------


def test_a_generation_whose_every_pair_failed_ends_failed_with_the_count(tenant, two_versions, client_for, monkeypatch):
    _flaky_batch(monkeypatch, lambda i: True)
    generation = _generation(tenant, two_versions)
    generate_comparisons(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "failed" and generation.created_count == 0 and generation.errored == 4
    assert generation.error.startswith("all 4 pairs failed; the first errors:\nthe provider is down")
    fragment = client_for(tenant.user("owner")).get(f"/o/acme/reviews/generations/{generation.public_id}/").content.decode()
    assert "<strong>failed</strong>, 0 pairs" in fragment and "4 failed" in fragment


def test_a_generation_with_some_failed_pairs_completes_and_counts_them(tenant, two_versions, owner_api, client_for, monkeypatch):
    _flaky_batch(monkeypatch, lambda i: i == 0)  # the first pair's first answer
    generation = _generation(tenant, two_versions)
    generate_comparisons(generation.pk)
    body = owner_api.get(f"/v1/comparisons/generations/{generation.public_id}").json()
    assert body["status"] == "completed" and body["created"] == 3 and body["errored"] == 1
    assert body["error"].startswith("1 of 4 pairs failed; the first error:\nthe provider is down (call 0)")
    assert Comparison.objects.filter(persona=two_versions, origin="generated").count() == 3
    fragment = client_for(tenant.user("owner")).get(f"/o/acme/reviews/generations/{generation.public_id}/").content.decode()
    assert "<strong>completed</strong>, 3 pairs" in fragment and "1 failed" in fragment


def test_a_judge_run_with_no_verdict_at_all_ends_failed_and_some_missing_complete_counted(
        tenant, persona, owner_principal, owner_api, monkeypatch):
    make_pairs(owner_principal, persona, 3)
    _flaky_batch(monkeypatch, lambda i: True)
    run = services.judge_run_start(principal=owner_principal, persona=persona)
    judge_comparisons(run.pk)
    body = owner_api.get(f"/v1/judge-runs/{run.public_id}").json()
    assert body["status"] == "failed" and body["stored"] == 0 and body["errored"] == 3
    assert body["error"].startswith("all 3 pairs failed")

    monkeypatch.undo()
    _flaky_batch(monkeypatch, lambda i: i == 3)  # the second pair's backward order
    run = services.judge_run_start(principal=owner_principal, persona=persona)
    assert judge_comparisons(run.pk) == 2
    body = owner_api.get(f"/v1/judge-runs/{run.public_id}").json()
    assert body["status"] == "completed" and body["stored"] == 2 and body["errored"] == 1
    assert body["error"].startswith("1 of 3 pairs failed")
    assert Judgment.objects.filter(kind="judge").count() == 2
