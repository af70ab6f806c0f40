"""Migrations of saved eval runs: decided again from their trials for the three-state gate; moved onto the work engine
with their liveness clock and error counts. Each test leaves the database at the latest migration."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audits.evals.models import EvalRun
from audits.evals.stats import pass_rate_interval
from personas.models import Persona, PersonaVersion
from tests.evals_helpers import completed_run

BEFORE, AFTER = [("evals", "0001_initial")], [("evals", "0002_gate_state")]
WORK_ENGINE = [("evals", "0005_drop_updated_at")]
PERSONAS_NOW = [("personas", "0003_remove_personaversion_run")]  # these tests move evals only: personas stays as it is


def migrate(executor: MigrationExecutor, targets) -> None:
    executor.loader.build_graph()
    executor.migrate(targets)


def migrate_to_latest(executor: MigrationExecutor) -> None:
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_completed_runs_get_wilson_intervals_and_a_gate_state(tenant):
    persona = Persona.objects.create(organization=tenant.org, workspace=tenant.org.workspaces.get(), brief="a keeper of tides")
    version = PersonaVersion.objects.create(persona=persona, number=1, soul={}, self_layer={}, mask={}, surface={}, source="generated")
    persona.current_version = version
    persona.save()
    run = completed_run(persona, {f"persona.{i}": "pp" for i in range(20)} | {"floor.0": "pp"})
    # as the bootstrap version saved it: a point interval, met, no state
    EvalRun.objects.filter(pk=run.pk).update(gate_state="", gate_passed=True, gate_reasons=[], results={
        "persona": {"layer": "persona", "rate": 1.0, "interval": [1.0, 1.0], "met": True}})

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    migrate_to_latest(executor)

    run.refresh_from_db()
    persona_row = run.results["persona"]
    assert persona_row["state"] == "pass" and persona_row["interval"] == list(pass_rate_interval([(2, 2)] * 20))
    assert run.results["floor"]["state"] == "inconclusive" and run.results["closure"]["state"] == "fail"  # no closure cases
    assert run.gate_state == "fail" and run.gate_passed is False and len(run.gate_reasons) == 3


@pytest.mark.django_db(transaction=True)
def test_runs_move_onto_the_work_engine_with_their_last_progress_as_heartbeat_and_their_errors_counted(tenant):
    from django.utils import timezone

    executor = MigrationExecutor(connection)
    migrate(executor, AFTER)
    apps = executor.loader.project_state(AFTER + PERSONAS_NOW).apps
    Run, Trial = apps.get_model("evals", "EvalRun"), apps.get_model("evals", "EvalTrial")
    Persona_, Version = apps.get_model("personas", "Persona"), apps.get_model("personas", "PersonaVersion")
    persona = Persona_.objects.create(organization_id=tenant.org.pk, workspace_id=tenant.org.workspaces.get().pk, brief="tides")
    version = Version.objects.create(persona=persona, number=1, soul={}, self_layer={}, mask={}, surface={}, source="generated")
    done = Run.objects.create(organization_id=tenant.org.pk, persona=persona, version=version, status="completed")
    Trial.objects.bulk_create([Trial(run=done, case_key=f"c{i}", layer="persona", epoch=1, verdict=v)
                               for i, v in enumerate(["pass", "error", "fail", "error"])])
    running = Run.objects.create(organization_id=tenant.org.pk, persona=persona, version=version, status="running")
    silent_since = timezone.now() - timedelta(hours=2)
    Run.objects.filter(pk=running.pk).update(updated_at=silent_since)

    migrate(executor, WORK_ENGINE)
    migrate_to_latest(executor)

    done, running = EvalRun.objects.get(pk=done.pk), EvalRun.objects.get(pk=running.pk)
    assert done.errored == 2 and done.attempt == 0 and done.started_at is None
    assert running.heartbeat_at == silent_since and running.heartbeat_is_stale()  # the reaper takes it from here
    assert running.attempt == 1 and running.started_at == running.created_at and running.errored == 0
