import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """The link between a run and the version it generated moves to the run (personas no longer knows pipeline):
    this adds PipelineRun.version, 0005 copies PersonaVersion.run into it, personas 0003 drops PersonaVersion.run.
    Three migrations, so PostgreSQL never alters a table after updating rows in the same transaction."""

    dependencies = [
        ('personas', '0002_initial'),
        ('pipeline', '0003_work_engine'),
    ]

    operations = [
        migrations.AddField(
            model_name='pipelinerun',
            name='version',
            field=models.OneToOneField(blank=True, help_text='The persona version this run generated, once it finished', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='personas.personaversion'),
        ),
    ]
