from django.urls import path

from training_jobs import attack_views, views
from training_jobs.job_kinds import all_kinds

urlpatterns = [
    path("training/", views.training_job_list, name="training_job_list"),
    path("training/new/", views.training_job_new, name="training_job_new"),
    path("training/new/fields/", views.training_job_form_fields, name="training_job_form_fields"),
    path("training/new/preflight/", views.training_job_preflight_panel, name="training_job_preflight"),
    path("training/compare/", views.training_job_compare, name="training_job_compare"),
    *(pattern for kind in all_kinds() for pattern in kind.urlpatterns()),  # each kind's own pages
    path("training/<uuid:training_job_id>/", views.training_job_detail, name="training_job_detail"),
    path("training/<uuid:training_job_id>/attacks/", attack_views.training_job_attacks, name="training_job_attacks"),
    path("training/<uuid:training_job_id>/cancel/", views.training_job_cancel_view, name="training_job_cancel"),
    path("training/<uuid:training_job_id>/resume/", views.training_job_resume_view, name="training_job_resume"),
    path("training/<uuid:training_job_id>/chat/", views.training_job_chat, name="training_job_chat"),
    path("training/<uuid:training_job_id>/chat/send/", views.training_job_chat_send, name="training_job_chat_send"),
    path("training/<uuid:training_job_id>/model/", views.training_job_model, name="training_job_model"),
    path("training/<uuid:training_job_id>/artifacts/<path:path>", views.training_job_artifact, name="training_job_artifact"),
    path("personas/<uuid:persona_id>/constitution/", views.persona_constitution, name="persona_constitution"),
    path("personas/<uuid:persona_id>/constitution/derive/", views.persona_constitution_derive, name="persona_constitution_derive"),
]
