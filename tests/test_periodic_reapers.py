"""The beat tasks that keep background work from waiting forever: lost webhook retries, and the one reaper
(studio.work) for every kind whose worker died — eval runs, comparison generations, judge runs, dataset generations."""

from datetime import timedelta

from django.conf import settings as django_settings
from django.utils import timezone

from audits.evals.models import EvalRun
from audits.reviews.models import ComparisonGeneration, JudgeRun
from studio.webhooks.models import WebhookDelivery
from studio.webhooks.services import webhook_endpoint_create
from studio.webhooks.tasks import requeue_overdue_deliveries
from studio.work.reaper import REGISTRY, reap
from tests import webhook_receiver
from training_jobs.datasets.models import Dataset, DatasetGeneration

receiver = webhook_receiver.receiver


def test_a_pending_delivery_whose_retry_was_lost_is_sent_again(tenant, receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    endpoint = webhook_endpoint_create(organization=tenant.org, url=receiver.url, events=["persona.generated"]).endpoint
    delivery = WebhookDelivery.objects.create(
        organization=tenant.org, endpoint=endpoint, event="persona.generated", payload={"event": "persona.generated", "data": {}},
        next_attempt_at=timezone.now() - timedelta(minutes=10),  # its retry task never ran (broker restarted)
    )
    fresh = WebhookDelivery.objects.create(
        organization=tenant.org, endpoint=endpoint, event="persona.generated", payload={"event": "persona.generated", "data": {}},
        next_attempt_at=timezone.now(),  # its task is on its way: left alone
    )
    assert requeue_overdue_deliveries() == 1
    delivery.refresh_from_db()
    fresh.refresh_from_db()
    assert delivery.status == "succeeded" and len(receiver.requests) == 1
    assert fresh.status == "pending"


def test_every_kind_of_background_work_is_reaped_by_the_one_beat_task(db):
    beat = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "studio.work.tasks.reap_stale_work" in beat
    own = {task for task in beat if task.startswith(("audits.evals.", "audits.reviews.", "training_jobs.datasets."))}
    assert own == {"training_jobs.datasets.tasks.clear_stale_dataset_imports"}  # housekeeping; no reaper of their own
    reap()  # loads the kinds
    assert {"eval run", "comparison generation", "judge run", "dataset generation"} <= set(REGISTRY)


def test_one_reap_fails_a_dead_worker_item_of_each_kind_and_leaves_live_ones(tenant, persona, settings):
    silent = timezone.now() - timedelta(seconds=settings.WORK_STALE_AFTER_S + 5)
    live = timezone.now()
    running = {"status": "running", "attempt": settings.WORK_MAX_ATTEMPTS, "started_at": silent, "claimed_by": "gone:1"}
    dataset = Dataset.objects.create(organization=tenant.org, name="range")
    items = {}
    for heartbeat in (silent, live):
        items[heartbeat] = [
            EvalRun.objects.create(organization=tenant.org, persona=persona, version=persona.current_version,
                                   heartbeat_at=heartbeat, progress_total=10, **running),
            ComparisonGeneration.objects.create(organization=tenant.org, persona=persona, prompts=["Hello?"], version_a=1,
                                                version_b=1, heartbeat_at=heartbeat, **running),
            JudgeRun.objects.create(organization=tenant.org, persona=persona, comparison_ids=[], heartbeat_at=heartbeat, **running),
            DatasetGeneration.objects.create(organization=tenant.org, dataset=dataset, per_category={"technical": 1}, model="m",
                                             engine="offline", heartbeat_at=heartbeat, **running),
        ]
    assert reap() == {kind: {"resumed": 0, "failed": 1}
                      for kind in ("eval run", "comparison generation", "judge run", "dataset generation")}
    for item in items[silent]:
        item.refresh_from_db()
        assert item.status == "failed" and item.finished_at, item
        assert item.error.startswith("the worker stopped") and f"no heartbeat for {settings.WORK_STALE_AFTER_S} s" in item.error
    for item in items[live]:
        item.refresh_from_db()
        assert item.status == "running" and item.error == ""
    assert reap() == {}
