"""Dataset generations on the work engine: a dead worker's generation is failed by the reaper (never by a read), an
exception ends it failed, a slow worker cannot overwrite the reaper's outcome, and the end states are honest: every
prompt failed is a failed generation, some failed is a completed one that counts them."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from studio.llm import gateway
from studio.llm.results import LLMError
from studio.work.lifecycle import TakenOver, claim
from studio.work.reaper import reap
from training_jobs.datasets.models import Dataset, DatasetGeneration
from training_jobs.datasets.services import dataset_generation_execute
from training_jobs.datasets.tasks import generate_dataset_rows


@pytest.fixture
def dataset(owner_api) -> Dataset:
    response = owner_api.post("/v1/datasets", json={"name": "Range v1"})
    assert response.status_code == 201, response.content
    return Dataset.objects.get(public_id=response.json()["id"])


@pytest.fixture
def generation(owner_api, dataset) -> DatasetGeneration:
    response = owner_api.post(f"/v1/datasets/{dataset.public_id}/generate", json={"per_category": {"technical": 3, "empathetic": 1}})
    assert response.status_code == 202, response.content
    return DatasetGeneration.objects.get(public_id=response.json()["id"])  # queued: the test transaction never commits


def _dead(generation, *, calls_done=0):
    """As a killed worker leaves it: claimed, some prompts answered, its heartbeat long silent."""
    claimed = claim(DatasetGeneration.objects.select_related("dataset", "organization"), generation.pk,
                    running_status=DatasetGeneration.Status.RUNNING)
    DatasetGeneration.objects.filter(pk=generation.pk).update(calls_done=calls_done, heartbeat_at=timezone.now() - timedelta(hours=1))
    return claimed


def _flaky_gateway(monkeypatch, failing):
    """The gateway as before, but the prompts whose index `failing` picks come back as errors."""
    real = gateway.abatch

    async def abatch(requests, **kwargs):
        results = await real(requests, **kwargs)
        return [LLMError([], f"the provider is down (prompt {i})") if failing(i) else r for i, r in enumerate(results)]

    monkeypatch.setattr(gateway, "abatch", abatch)


def test_a_generation_whose_worker_died_is_failed_by_the_reaper_and_not_by_reads(tenant, owner_api, client_for, generation):
    _dead(generation, calls_done=2)
    assert owner_api.get(f"/v1/dataset-generations/{generation.public_id}").json()["status"] == "running"
    client = client_for(tenant.owner)
    assert "every 1s" in client.get(f"/o/acme/datasets/generations/{generation.public_id}/").content.decode()
    assert client.get(f"/o/acme/datasets/{generation.dataset.public_id}/").status_code == 200
    generation.refresh_from_db()
    assert generation.status == "running" and generation.error == ""

    assert reap() == {"dataset generation": {"resumed": 0, "failed": 1}}
    body = owner_api.get(f"/v1/dataset-generations/{generation.public_id}").json()
    assert body["status"] == "failed" and body["finished_at"]
    assert body["error"] == (f"the worker stopped after 2 of 4 prompts (no heartbeat for {django_settings.WORK_STALE_AFTER_S} s); "
                             "no rows were written; start the generation again")
    assert "every 1s" not in client.get(f"/o/acme/datasets/generations/{generation.public_id}/").content.decode()
    assert reap() == {}


def test_a_queued_generation_no_worker_picked_up_is_failed_after_the_queue_limit(generation, settings):
    DatasetGeneration.objects.filter(pk=generation.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert reap() == {}
    DatasetGeneration.objects.filter(pk=generation.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.WORK_QUEUED_STALE_S + 1))
    assert reap() == {"dataset generation": {"resumed": 0, "failed": 1}}
    generation.refresh_from_db()
    assert generation.status == "failed" and generation.error.startswith("no worker picked it up")


def test_an_exception_ends_the_generation_failed_saying_what(generation, monkeypatch):
    def broken(item):
        raise RuntimeError("the teacher model vanished")

    monkeypatch.setattr("training_jobs.datasets.tasks.dataset_generation_execute", broken)
    generate_dataset_rows(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "failed" and generation.error == "internal error: RuntimeError: the teacher model vanished"


def test_a_slow_worker_whose_generation_was_reaped_writes_no_rows(generation, dataset):
    claimed = _dead(generation)
    reap()
    with pytest.raises(TakenOver):
        dataset_generation_execute(claimed)  # the old worker wakes up with its claim
    generation.refresh_from_db()
    dataset.refresh_from_db()
    assert generation.status == "failed" and dataset.row_count == 0 and not dataset.rows.exists()


def test_a_generation_whose_every_prompt_failed_ends_failed_with_the_count(tenant, owner_api, client_for, generation, monkeypatch):
    _flaky_gateway(monkeypatch, lambda i: True)
    generate_dataset_rows(generation.pk)
    body = owner_api.get(f"/v1/dataset-generations/{generation.public_id}").json()
    assert body["status"] == "failed" and body["created"] == 0 and body["failed"] == 4
    assert body["error"].startswith("all 4 prompts failed, so no row was written; the first errors:\n")
    fragment = client_for(tenant.owner).get(f"/o/acme/datasets/generations/{generation.public_id}/").content.decode()
    assert "4 call(s) failed" in fragment


def test_a_generation_with_some_failed_prompts_completes_and_counts_them(tenant, owner_api, client_for, generation, monkeypatch):
    _flaky_gateway(monkeypatch, lambda i: i == 0)
    generate_dataset_rows(generation.pk)
    body = owner_api.get(f"/v1/dataset-generations/{generation.public_id}").json()
    assert body["status"] == "completed" and body["failed"] == 1 and body["error"] == ""
    assert body["created"] + body["duplicates"]["exact"] + body["duplicates"]["near"] == 3
    fragment = client_for(tenant.owner).get(f"/o/acme/datasets/generations/{generation.public_id}/").content.decode()
    assert "1 call(s) failed" in fragment and "row(s) added" in fragment
