from django.urls import path

from pipeline import views

urlpatterns = [
    path("personas/new/", views.persona_new, name="persona_new"),
    path("personas/import/", views.persona_import_page, name="persona_import"),
    path("personas/<uuid:persona_id>/fork/", views.persona_fork_page, name="persona_fork"),
    path("personas/<uuid:persona_id>/versions/<int:number>/audit/", views.persona_version_audit, name="persona_version_audit"),
    path("runs/<uuid:run_id>/", views.run_detail, name="run_detail"),
]
