"""Comparison generations and judge runs on the work engine (studio.work): a claim count, the worker holding it, a
heartbeat and a start time (finished_at stays), and how many pairs failed.

Their liveness clock was created_at (a generation queued or running for 30 minutes was failed): it becomes the
heartbeat, so one left unfinished by the old workers is failed by the next reap. Running ones count as claimed once.
A completed generation's failed pairs are the ones it asked for and did not write."""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def forwards(apps, schema_editor):
    for name in ("ComparisonGeneration", "JudgeRun"):
        model = apps.get_model("reviews", name)
        model.objects.update(heartbeat_at=F("created_at"))
        model.objects.filter(status="running").update(started_at=F("created_at"), attempt=1)
    ComparisonGeneration = apps.get_model("reviews", "ComparisonGeneration")
    for generation in ComparisonGeneration.objects.filter(status="completed").only("prompts", "samples", "created_count"):
        asked = len(generation.prompts) * generation.samples
        if asked > generation.created_count:
            ComparisonGeneration.objects.filter(pk=generation.pk).update(errored=asked - generation.created_count)


class Migration(migrations.Migration):

    dependencies = [
        ('reviews', '0003_judge_runs'),
    ]

    operations = [
        migrations.AddField(
            model_name='comparisongeneration',
            name='attempt',
            field=models.PositiveSmallIntegerField(default=0, help_text='Claims so far: a resume after a dead worker adds one'),
        ),
        migrations.AddField(
            model_name='comparisongeneration',
            name='claimed_by',
            field=models.CharField(blank=True, help_text='host:pid of the worker that holds it', max_length=120),
        ),
        migrations.AddField(
            model_name='comparisongeneration',
            name='errored',
            field=models.PositiveIntegerField(default=0, help_text='Pairs that failed (a call with no usable answer)'),
        ),
        migrations.AddField(
            model_name='comparisongeneration',
            name='heartbeat_at',
            field=models.DateTimeField(default=django.utils.timezone.now, help_text='Last sign of life of its worker (or when it was queued)'),
        ),
        migrations.AddField(
            model_name='comparisongeneration',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='judgerun',
            name='attempt',
            field=models.PositiveSmallIntegerField(default=0, help_text='Claims so far: a resume after a dead worker adds one'),
        ),
        migrations.AddField(
            model_name='judgerun',
            name='claimed_by',
            field=models.CharField(blank=True, help_text='host:pid of the worker that holds it', max_length=120),
        ),
        migrations.AddField(
            model_name='judgerun',
            name='errored',
            field=models.PositiveIntegerField(default=0, help_text='Pairs that failed (a call with no usable answer)'),
        ),
        migrations.AddField(
            model_name='judgerun',
            name='heartbeat_at',
            field=models.DateTimeField(default=django.utils.timezone.now, help_text='Last sign of life of its worker (or when it was queued)'),
        ),
        migrations.AddField(
            model_name='judgerun',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
