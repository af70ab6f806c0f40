"""Constitution versions, jobs, stages and events are a record: viewable, not editable (act through the app)."""

from django.contrib import admin

from studio.admin import ReadOnly
from training_jobs.models import ConstitutionVersion, JobEvent, StageRun, TrainingJob, TunedChat, TunedChatTurn


class StageRunInline(admin.TabularInline):
    model = StageRun
    extra = 0
    fields = ["stage", "status", "done", "total", "unit", "runs", "cost_usd", "error"]
    readonly_fields = fields
    can_delete = False


@admin.register(ConstitutionVersion)
class ConstitutionVersionAdmin(ReadOnly):
    list_display = ["persona", "number", "source", "organization", "created_at"]
    list_filter = ["source"]


@admin.register(TrainingJob)
class TrainingJobAdmin(ReadOnly):
    list_display = ["name", "kind", "organization", "persona", "status", "outcome", "cost_usd", "created_at"]
    list_filter = ["kind", "status", "outcome", "organization"]
    inlines = [StageRunInline]


@admin.register(StageRun)
class StageRunAdmin(ReadOnly):
    list_display = ["job", "stage", "status", "done", "total", "cost_usd"]
    list_filter = ["stage", "status"]


@admin.register(JobEvent)
class JobEventAdmin(ReadOnly):
    list_display = ["job", "seq", "type", "created_at"]
    list_filter = ["type"]


class TunedChatTurnInline(admin.TabularInline):
    model = TunedChatTurn
    extra = 0
    fields = ["message", "reply", "reply_drift", "base_reply", "base_drift", "created_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(TunedChat)
class TunedChatAdmin(ReadOnly):
    list_display = ["job", "checkpoint", "user", "api_key", "organization", "updated_at"]
    list_filter = ["checkpoint", "organization"]
    inlines = [TunedChatTurnInline]


@admin.register(TunedChatTurn)
class TunedChatTurnAdmin(ReadOnly):
    list_display = ["chat", "reply_drift", "reply_flagged", "base_drift", "created_at"]
    list_filter = ["reply_flagged"]
