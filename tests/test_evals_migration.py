"""Runs saved before the three-state gate are decided again from their trials when the migration runs."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audits.evals.models import EvalRun
from audits.evals.stats import pass_rate_interval
from personas.models import Persona, PersonaVersion
from tests.evals_helpers import completed_run

BEFORE, AFTER = [("evals", "0001_initial")], [("evals", "0002_gate_state")]


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

    run.refresh_from_db()
    persona_row = run.results["persona"]
    assert persona_row["state"] == "pass" and persona_row["interval"] == list(pass_rate_interval([(2, 2)] * 20))
    assert run.results["floor"]["state"] == "inconclusive" and run.results["closure"]["state"] == "fail"  # no closure cases
    assert run.gate_state == "fail" and run.gate_passed is False and len(run.gate_reasons) == 3
