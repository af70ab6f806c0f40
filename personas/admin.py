from django.contrib import admin

from personas.models import Persona, PersonaCard, PersonaVersion


class PersonaVersionInline(admin.TabularInline):
    model = PersonaVersion
    extra = 0
    fields = ["number", "source", "note", "created_at"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ["display_name", "organization", "workspace", "status", "cost_usd", "created_at"]
    list_filter = ["status", "organization"]
    search_fields = ["name", "brief"]
    readonly_fields = ["public_id", "current_version", "cost_usd", "created_by", "created_by_key"]
    inlines = [PersonaVersionInline]


@admin.register(PersonaVersion)
class PersonaVersionAdmin(admin.ModelAdmin):
    """Versions are history: edit a persona by adding a version (page or API), not by changing one."""

    list_display = ["persona", "number", "source", "note", "created_at"]
    list_filter = ["source"]
    readonly_fields = [f.name for f in PersonaVersion._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PersonaCard)
class PersonaCardAdmin(admin.ModelAdmin):
    """The imported card, kept as it came: read only."""

    list_display = ["persona", "spec", "container", "file_name", "created_at"]
    list_filter = ["spec", "container"]
    exclude = ["original", "avatar"]
    readonly_fields = ["persona", "spec", "container", "file_name", "document", "data", "lorebook", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
