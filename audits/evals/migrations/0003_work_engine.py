"""Eval runs on the work engine (studio.work): a claim count, the worker holding it, a heartbeat and a start time
(finished_at stays), and how many trials errored. `updated_at` was only the reaper's liveness clock: its value
becomes the heartbeat, then it goes. Running runs count as claimed once, since their creation."""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce


def forwards(apps, schema_editor):
    EvalRun = apps.get_model("evals", "EvalRun")
    EvalTrial = apps.get_model("evals", "EvalTrial")
    EvalRun.objects.update(heartbeat_at=F("updated_at"))
    EvalRun.objects.filter(status="running").update(started_at=F("created_at"), attempt=1)
    errors = (EvalTrial.objects.filter(run=OuterRef("pk"), verdict="error").order_by().values("run")
              .annotate(n=Count("pk")).values("n"))
    EvalRun.objects.update(errored=Coalesce(Subquery(errors), 0))


def backwards(apps, schema_editor):
    apps.get_model("evals", "EvalRun").objects.update(updated_at=F("heartbeat_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('evals', '0002_gate_state'),
    ]

    operations = [
        migrations.AddField(
            model_name='evalrun',
            name='attempt',
            field=models.PositiveSmallIntegerField(default=0, help_text='Claims so far: a resume after a dead worker adds one'),
        ),
        migrations.AddField(
            model_name='evalrun',
            name='claimed_by',
            field=models.CharField(blank=True, help_text='host:pid of the worker that holds it', max_length=120),
        ),
        migrations.AddField(
            model_name='evalrun',
            name='errored',
            field=models.PositiveIntegerField(default=0, help_text='Trials that could not be graded (no reply or no valid verdict)'),
        ),
        migrations.AddField(
            model_name='evalrun',
            name='heartbeat_at',
            field=models.DateTimeField(default=django.utils.timezone.now, help_text='Last sign of life of its worker (or when it was queued)'),
        ),
        migrations.AddField(
            model_name='evalrun',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(
            model_name='evalrun',
            name='updated_at',
        ),
    ]
