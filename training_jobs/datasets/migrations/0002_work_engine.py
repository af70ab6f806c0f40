"""Dataset generations on the work engine (studio.work): a claim count, the worker holding it, a heartbeat and a
start time (finished_at stays). Their liveness clock was created_at (a generation unfinished for 30 minutes was
failed): it becomes the heartbeat, so one left unfinished by the old workers is failed by the next reap. Running
ones count as claimed once."""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def forwards(apps, schema_editor):
    DatasetGeneration = apps.get_model("datasets", "DatasetGeneration")
    DatasetGeneration.objects.update(heartbeat_at=F("created_at"))
    DatasetGeneration.objects.filter(status="running").update(started_at=F("created_at"), attempt=1)


class Migration(migrations.Migration):

    dependencies = [
        ('datasets', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='datasetgeneration',
            name='attempt',
            field=models.PositiveSmallIntegerField(default=0, help_text='Claims so far: a resume after a dead worker adds one'),
        ),
        migrations.AddField(
            model_name='datasetgeneration',
            name='claimed_by',
            field=models.CharField(blank=True, help_text='host:pid of the worker that holds it', max_length=120),
        ),
        migrations.AddField(
            model_name='datasetgeneration',
            name='heartbeat_at',
            field=models.DateTimeField(default=django.utils.timezone.now, help_text='Last sign of life of its worker (or when it was queued)'),
        ),
        migrations.AddField(
            model_name='datasetgeneration',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
