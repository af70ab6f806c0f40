"""The beat tasks that keep background work from waiting forever: lost webhook retries, silent eval
runs, comparison generations whose worker died."""

from datetime import timedelta

from django.utils import timezone

from audits.evals.models import EvalRun
from audits.reviews.models import ComparisonGeneration
from audits.reviews.tasks import generate_comparisons, reap_comparison_generations
from audits.evals.tasks import reap_eval_runs
from studio.webhooks.models import WebhookDelivery
from studio.webhooks.services import webhook_endpoint_create
from studio.webhooks.tasks import requeue_overdue_deliveries
from tests import webhook_receiver

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


def test_an_eval_run_that_went_silent_is_failed_by_the_beat(tenant, persona, settings):
    run = EvalRun.objects.create(organization=tenant.org, persona=persona, version=persona.current_version, status="running")
    EvalRun.objects.filter(pk=run.pk).update(updated_at=timezone.now() - timedelta(seconds=settings.EVAL_RUN_STALE_S + 5))
    assert reap_eval_runs() == 1
    run.refresh_from_db()
    assert run.status == "failed" and "no progress" in run.error


def test_a_comparison_generation_never_stays_running(tenant, persona, monkeypatch):
    generation = ComparisonGeneration.objects.create(
        organization=tenant.org, persona=persona, prompts=["Hello?"], version_a=1, version_b=1, status="queued",
    )

    def broken(generation_id):
        raise RuntimeError("provider table missing")

    monkeypatch.setattr("audits.reviews.tasks.comparison_generation_execute", broken)
    generate_comparisons(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "failed" and "provider table missing" in generation.error

    stuck = ComparisonGeneration.objects.create(
        organization=tenant.org, persona=persona, prompts=["Hello?"], version_a=1, version_b=1, status="running",
    )
    ComparisonGeneration.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(hours=1))
    from audits.reviews.models import JudgeRun

    judging = JudgeRun.objects.create(organization=tenant.org, persona=persona, comparison_ids=[], status="running")
    JudgeRun.objects.filter(pk=judging.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert reap_comparison_generations() == 2
    judging.refresh_from_db()
    assert judging.status == "failed" and "judge" in judging.error
    stuck.refresh_from_db()
    assert stuck.status == "failed" and "worker stopped" in stuck.error
