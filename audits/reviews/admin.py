from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from audits.reviews.models import (
    Assignment, Comparison, ComparisonGeneration, ComparisonImport, Guideline, JudgeRun, Judgment, ReviewPool, Source,
)


@admin.register(ReviewPool)
class ReviewPoolAdmin(GuardedModelAdmin):
    """Who may review a persona's pairs: guardian's object permissions (Object permissions button)."""

    list_display = ["persona", "organization", "created_at"]
    readonly_fields = ["public_id"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["label", "persona", "organization"]
    search_fields = ["label"]


@admin.register(Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = ["persona", "prompt_set", "source_a", "source_b", "origin", "created_at"]
    list_filter = ["origin", "organization"]
    search_fields = ["prompt"]
    readonly_fields = ["public_id"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["comparison", "reviewer", "flipped", "shown_at", "skipped_at"]


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    """Votes are evidence: readable, never edited."""

    list_display = ["comparison", "kind", "reviewer", "choice", "weighted_score", "created_at"]
    list_filter = ["kind", "choice"]
    readonly_fields = [f.name for f in Judgment._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ComparisonImport)
class ComparisonImportAdmin(admin.ModelAdmin):
    list_display = ["persona", "format", "row_count", "status", "created_at"]
    list_filter = ["status"]


@admin.register(ComparisonGeneration)
class ComparisonGenerationAdmin(admin.ModelAdmin):
    list_display = ["persona", "version_a", "version_b", "samples", "status", "created_count", "created_at"]
    list_filter = ["status"]


@admin.register(JudgeRun)
class JudgeRunAdmin(admin.ModelAdmin):
    list_display = ["public_id", "organization", "persona", "status", "calls_done", "calls_total", "stored", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["comparison_ids"]


@admin.register(Guideline)
class GuidelineAdmin(admin.ModelAdmin):
    """What reviewers of a persona's prompt set should look for (editors write it on the persona's review page)."""

    list_display = ["persona", "prompt_set", "updated_by", "updated_at"]
    search_fields = ["text", "prompt_set"]
