from django.contrib import admin

from training_jobs.datasets.models import Dataset, DatasetGeneration, DatasetImport, DatasetRow


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "row_count", "updated_at"]
    list_filter = ["organization"]
    search_fields = ["name"]
    readonly_fields = ["public_id", "row_count", "revision", "stats"]


@admin.register(DatasetRow)
class DatasetRowAdmin(admin.ModelAdmin):
    """Large tables: no full count, the dataset by id."""

    list_display = ["dataset", "position", "category", "source"]
    list_filter = ["category"]
    raw_id_fields = ["dataset"]
    list_select_related = ["dataset"]
    show_full_result_count = False


@admin.register(DatasetImport)
class DatasetImportAdmin(admin.ModelAdmin):
    list_display = ["file_name", "organization", "dataset", "status", "imported_count", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["public_id", "report"]


@admin.register(DatasetGeneration)
class DatasetGenerationAdmin(admin.ModelAdmin):
    list_display = ["dataset", "organization", "status", "model", "created_count", "created_at"]
    list_filter = ["status", "engine"]
    readonly_fields = ["public_id", "report"]
