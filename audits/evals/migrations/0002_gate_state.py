"""The ship gate's three states (pass, fail, inconclusive): a field, and completed runs decided again from their trials
with Wilson intervals (audits.evals.stats), replacing the bootstrap intervals and two-state gate they were saved with."""

from django.db import migrations, models


def decide_again(apps, schema_editor):
    from audits.evals import stats

    EvalRun = apps.get_model("evals", "EvalRun")
    EvalTrial = apps.get_model("evals", "EvalTrial")
    for run in EvalRun.objects.filter(status="completed").iterator():
        outcomes = {layer: {} for layer in stats.LAYERS}
        for case in run.suite:
            outcomes.setdefault(case["layer"], {}).setdefault(case["key"], [])
        for key, layer, verdict in EvalTrial.objects.filter(run=run).order_by("epoch").values_list("case_key", "layer", "verdict"):
            outcomes.setdefault(layer, {}).setdefault(key, []).append(verdict)
        run.results, run.gate_state, run.gate_reasons = stats.run_gate(outcomes, epochs=run.epochs)
        run.gate_passed = run.gate_state == stats.PASS
        run.save(update_fields=["results", "gate_state", "gate_reasons", "gate_passed"])


class Migration(migrations.Migration):
    dependencies = [("evals", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="evalrun",
            name="gate_state",
            field=models.CharField(blank=True, choices=[("pass", "pass"), ("fail", "fail"), ("inconclusive", "inconclusive")],
                                   help_text="The ship gate once completed: pass, fail or inconclusive (audits.evals.stats)", max_length=16),
        ),
        migrations.AlterField(
            model_name="evalrun",
            name="gate_passed",
            field=models.BooleanField(blank=True, help_text="gate_state == pass; kept for older clients", null=True),
        ),
        migrations.RunPython(decide_again, migrations.RunPython.noop),
    ]
