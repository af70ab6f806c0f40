from django.contrib import admin

from pipeline.models import PipelineRun, RunEvent, StepRun
from studio.admin import ReadOnly


class StepRunInline(admin.TabularInline):
    model = StepRun
    extra = 0
    fields = ["step", "attempt", "status", "model_used", "duration_ms", "cost_usd", "error"]
    readonly_fields = fields
    can_delete = False


@admin.register(PipelineRun)
class PipelineRunAdmin(ReadOnly):
    list_display = ["public_id", "organization", "persona", "status", "engine", "cost_usd", "created_at"]
    list_filter = ["status", "engine", "organization"]
    inlines = [StepRunInline]


@admin.register(StepRun)
class StepRunAdmin(ReadOnly):
    list_display = ["run", "step", "attempt", "status", "model_used", "duration_ms", "cost_usd"]
    list_filter = ["status", "step"]


@admin.register(RunEvent)
class RunEventAdmin(ReadOnly):
    list_display = ["run", "seq", "type", "created_at"]
    list_filter = ["type"]
