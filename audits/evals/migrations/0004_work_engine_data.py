"""Eval runs on the work engine, the data: `updated_at` becomes the heartbeat, running runs count one claim, and the
errored trials are counted (see 0003 for why this is a migration of its own)."""

from django.db import migrations
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
        ('evals', '0003_work_engine'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
