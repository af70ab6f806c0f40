from django.contrib import admin

from audits.evals.models import EvalCase, EvalRun, EvalTrial
from studio.admin import ReadOnly


@admin.register(EvalCase)
class EvalCaseAdmin(ReadOnly):
    list_display = ["public_id", "organization", "persona", "layer", "title", "created_at"]
    list_filter = ["layer"]


class EvalTrialInline(admin.TabularInline):
    model = EvalTrial
    fields = ["case_key", "layer", "epoch", "verdict", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(EvalRun)
class EvalRunAdmin(ReadOnly):
    list_display = ["public_id", "organization", "persona", "status", "engine", "epochs", "progress_done", "progress_total",
                    "gate_state", "created_at"]
    list_filter = ["status", "engine", "gate_state"]
    exclude = ["suite"]
    inlines = [EvalTrialInline]


@admin.register(EvalTrial)
class EvalTrialAdmin(ReadOnly):
    list_display = ["run", "case_key", "layer", "epoch", "verdict"]
    list_filter = ["verdict", "layer"]
