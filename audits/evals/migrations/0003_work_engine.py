"""Eval runs on the work engine (studio.work): a claim count, the worker holding it, a heartbeat and a start time
(finished_at stays), and how many trials errored. `updated_at` was only the reaper's liveness clock: its value
becomes the heartbeat, then it goes. Running runs count as claimed once, since their creation.

Three migrations, one transaction each: PostgreSQL refuses an ALTER TABLE after an UPDATE of the same table in one
transaction ("pending trigger events"), so the fields come first (0003), the data second (0004), the drop last (0005)."""

import django.utils.timezone
from django.db import migrations, models


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
    ]
