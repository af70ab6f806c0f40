from django.contrib import admin

from audits.chat.models import ChatMessage, ChatSession
from studio.admin import ReadOnly


class ChatMessageInline(admin.TabularInline):
    model = ChatMessage
    extra = 0
    fields = ["role", "content", "drift_score", "flagged", "blocked", "model", "cost_usd", "created_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(ChatSession)
class ChatSessionAdmin(ReadOnly):
    list_display = ["public_id", "organization", "persona", "user", "api_key", "engine", "created_at"]
    list_filter = ["engine"]
    inlines = [ChatMessageInline]


@admin.register(ChatMessage)
class ChatMessageAdmin(ReadOnly):
    list_display = ["session", "role", "drift_score", "flagged", "blocked", "model", "created_at"]
    list_filter = ["role", "flagged", "blocked"]
