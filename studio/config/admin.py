"""Read-only admin: config changes go through the services (validation, locks, history), never the admin.

History and snapshots are append-only: no add, change or delete permission here.
"""

from django.contrib import admin

from studio.config.models import ConfigChange, ConfigItem, ConfigLock, ConfigScope, ConfigSnapshot


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConfigScope)
class ConfigScopeAdmin(ReadOnlyAdmin):
    list_display = ["organization", "workspace", "version"]
    list_filter = ["organization"]


@admin.register(ConfigItem)
class ConfigItemAdmin(ReadOnlyAdmin):
    list_display = ["key", "scope", "version", "updated_at"]
    list_filter = ["scope__organization"]
    search_fields = ["key"]


@admin.register(ConfigLock)
class ConfigLockAdmin(ReadOnlyAdmin):
    list_display = ["key", "organization", "reason", "author_label", "created_at"]
    list_filter = ["organization"]


@admin.register(ConfigSnapshot)
class ConfigSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["label", "organization", "workspace", "kind", "item_count", "author_label", "created_at"]
    list_filter = ["organization", "kind"]
    exclude = ["items"]  # can be thousands of keys; the API serves them


@admin.register(ConfigChange)
class ConfigChangeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "workspace", "action", "key", "author_label", "reason"]
    list_filter = ["organization", "action"]
    search_fields = ["key", "reason", "author_label"]
    date_hierarchy = "created_at"
