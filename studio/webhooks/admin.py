from django.contrib import admin

from studio.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """The signing secret is never shown: rotate it from the org's Webhooks page or the API."""

    list_display = ["url", "organization", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "organization__slug"]
    fields = ["organization", "url", "description", "events", "active", "created_at", "secret_rotated_at"]
    readonly_fields = ["organization", "url", "created_at", "secret_rotated_at"]

    def has_add_permission(self, request):
        return False  # created through the UI or API, which check the URL and issue the secret


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["cycle", "number", "at", "status_code", "error", "duration_ms"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["public_id", "event", "endpoint", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "event"]
    raw_id_fields = ["endpoint", "organization"]
    inlines = [WebhookAttemptInline]


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(admin.ModelAdmin):
    list_display = ["delivery", "cycle", "number", "at", "status_code", "duration_ms"]
    raw_id_fields = ["delivery"]
