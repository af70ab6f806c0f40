"""Eval runs on the work engine: `updated_at`, now the heartbeat, goes (see 0003 for why this is a migration of its own)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('evals', '0004_work_engine_data'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='evalrun',
            name='updated_at',
        ),
    ]
