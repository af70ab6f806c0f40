from django.db import migrations


def version_to_run(apps, schema_editor):
    """PersonaVersion.run → PipelineRun.version (a run generates one version; were there two, the later wins)."""
    PersonaVersion = apps.get_model("personas", "PersonaVersion")
    PipelineRun = apps.get_model("pipeline", "PipelineRun")
    links = PersonaVersion.objects.filter(run__isnull=False).order_by("run_id", "-number").values_list("run_id", "pk")
    seen = set()
    for run_id, version_id in links.iterator():
        if run_id not in seen:
            seen.add(run_id)
            PipelineRun.objects.filter(pk=run_id).update(version_id=version_id)


def run_to_version(apps, schema_editor):
    PersonaVersion = apps.get_model("personas", "PersonaVersion")
    PipelineRun = apps.get_model("pipeline", "PipelineRun")
    for run_id, version_id in PipelineRun.objects.filter(version__isnull=False).values_list("pk", "version_id").iterator():
        PersonaVersion.objects.filter(pk=version_id).update(run_id=run_id)


class Migration(migrations.Migration):
    dependencies = [
        ('pipeline', '0004_run_version'),
    ]

    operations = [
        migrations.RunPython(version_to_run, run_to_version),
    ]
