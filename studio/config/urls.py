"""Config pages, included under /o/<org_slug>/config/."""

from django.urls import path

from studio.config import views

urlpatterns = [
    path("", views.config_tree, name="config_tree"),
    path("set/", views.config_set, name="config_set"),
    path("unset/", views.config_unset, name="config_unset"),
    path("lock/", views.config_lock, name="config_lock"),
    path("unlock/", views.config_unlock, name="config_unlock"),
    path("preset/", views.config_preset, name="config_preset"),
    path("snapshots/", views.config_snapshots, name="config_snapshots"),
    path("snapshots/new/", views.config_snapshot_create, name="config_snapshot_create"),
    path("snapshots/<uuid:snapshot_id>/diff/", views.config_snapshot_diff, name="config_snapshot_diff"),
    path("snapshots/<uuid:snapshot_id>/rollback/", views.config_rollback, name="config_rollback"),
    path("history/", views.config_history, name="config_history"),
]
