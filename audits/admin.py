from django.contrib import admin

from audits.models import AttackReply, AuditJob, BaselineFingerprint, Fingerprint, ProvocationResult
from studio.admin import ReadOnly


@admin.register(Fingerprint)
class FingerprintAdmin(ReadOnly):
    list_display = ["public_id", "organization", "persona", "status", "engine", "scenarios", "created_at"]
    list_filter = ["status", "engine"]
    exclude = ["vector"]


class ProvocationResultInline(admin.TabularInline):
    model = ProvocationResult
    fields = ["test_id", "category", "verdict", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(AuditJob)
class AuditJobAdmin(ReadOnly):
    list_display = ["public_id", "organization", "persona", "kind", "status", "engine", "done", "total", "pass_rate", "created_at"]
    list_filter = ["kind", "status", "engine"]
    inlines = [ProvocationResultInline]


@admin.register(ProvocationResult)
class ProvocationResultAdmin(ReadOnly):
    list_display = ["job", "test_id", "category", "verdict"]
    list_filter = ["verdict", "category"]


@admin.register(BaselineFingerprint)
class BaselineFingerprintAdmin(ReadOnly):
    list_display = ["organization", "chat_model", "embedding_model", "scenarios", "answers", "created_at"]
    list_filter = ["organization"]


@admin.register(AttackReply)
class AttackReplyAdmin(ReadOnly):
    list_display = ["job", "attack", "side", "prompt_index", "verdict", "drift", "within_bound"]
    list_filter = ["attack", "side", "verdict"]
