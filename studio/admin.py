from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from studio.models import ApiKey, Invitation, Membership, Organization, ProviderCredential, Workspace


class ReadOnly(admin.ModelAdmin):
    """For records of what happened (runs, steps, events, jobs, transcripts): viewable, not editable."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "public_id", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["public_id"]
    inlines = [MembershipInline]


@admin.register(Workspace)
class WorkspaceAdmin(GuardedModelAdmin):
    list_display = ["name", "slug", "organization", "created_at"]
    list_filter = ["organization"]
    readonly_fields = ["public_id"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__email", "user__username"]
    raw_id_fields = ["user"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "created_at", "accepted_at", "revoked_at"]
    list_filter = ["organization"]
    readonly_fields = ["public_id", "token_hash"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "organization", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["organization"]
    readonly_fields = ["public_id", "prefix", "key_hash", "last_used_at"]


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    """Secrets are write-only: the admin shows the masked form and never the ciphertext's plaintext."""

    list_display = ["organization", "provider", "masked", "api_base", "updated_at"]
    list_filter = ["provider"]
    fields = ["organization", "provider", "masked", "api_base", "updated_by", "updated_at"]
    readonly_fields = ["organization", "provider", "masked", "updated_by", "updated_at"]

    def has_add_permission(self, request):
        return False  # set keys through the org's Providers page or the API, which encrypt them
