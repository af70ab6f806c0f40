from django.db import migrations


class Migration(migrations.Migration):
    """PersonaVersion.run is gone: the run points to its version (PipelineRun.version, filled by pipeline 0005)."""

    dependencies = [
        ('personas', '0002_initial'),
        ('pipeline', '0005_run_version_data'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='personaversion',
            name='run',
        ),
    ]
