from django.contrib import admin

from studio.safety.models import Lockout


@admin.register(Lockout)
class LockoutAdmin(admin.ModelAdmin):
    """Read-only: a lockout cannot be changed, shortened or deleted, by staff either."""

    list_display = ("organization", "user", "api_key", "started_at", "ends_at", "reason")
    list_filter = ("organization",)
    readonly_fields = ("public_id", "organization", "user", "api_key", "chat_session_id", "reason", "started_at", "ends_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
