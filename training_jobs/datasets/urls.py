from django.urls import path

from training_jobs.datasets import views

urlpatterns = [
    path("", views.dataset_list, name="dataset_list"),
    path("new/", views.dataset_create, name="dataset_create"),
    path("import/", views.dataset_import, name="dataset_import"),
    path("imports/<uuid:dataset_import_id>/", views.dataset_import_preview, name="dataset_import_preview"),
    path("imports/<uuid:dataset_import_id>/confirm/", views.dataset_import_confirm, name="dataset_import_confirm"),
    path("generations/<uuid:dataset_generation_id>/", views.dataset_generation_progress, name="dataset_generation"),
    path("<uuid:dataset_id>/", views.dataset_detail, name="dataset_detail"),
    path("<uuid:dataset_id>/export/", views.dataset_export, name="dataset_export"),
    path("<uuid:dataset_id>/generate/", views.dataset_generate, name="dataset_generate"),
    path("<uuid:dataset_id>/include-job/", views.dataset_include_job, name="dataset_include_job"),
    path("<uuid:dataset_id>/include-job/preview/", views.dataset_include_job_preview, name="dataset_include_job_preview"),
]
