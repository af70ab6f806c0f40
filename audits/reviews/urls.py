from django.urls import path

from audits.reviews import views

urlpatterns = [
    path("reviews/", views.review_home, name="review_home"),
    path("reviews/queue/", views.review_queue, name="review_queue"),
    path("reviews/queue/<uuid:comparison_id>/vote/", views.review_vote, name="review_vote"),
    path("reviews/queue/<uuid:comparison_id>/skip/", views.review_skip, name="review_skip"),
    path("reviews/queue/<uuid:comparison_id>/undo/", views.review_undo, name="review_undo"),
    path("reviews/personas/<uuid:persona_id>/guidelines/", views.review_guideline_save, name="review_guideline_save"),
    path("reviews/personas/<uuid:persona_id>/", views.review_persona, name="review_persona"),
    path("reviews/personas/<uuid:persona_id>/reviewers/", views.reviewer_grant, name="review_reviewer_grant"),
    path("reviews/personas/<uuid:persona_id>/reviewers/<uuid:member_id>/revoke/", views.reviewer_revoke, name="review_reviewer_revoke"),
    path("reviews/personas/<uuid:persona_id>/imports/", views.import_upload, name="review_import_upload"),
    path("reviews/personas/<uuid:persona_id>/generate/", views.generation_start, name="review_generate"),
    path("reviews/personas/<uuid:persona_id>/judge/", views.judge_start, name="review_judge"),
    path("reviews/generations/<uuid:generation_id>/", views.generation_progress, name="review_generation"),
    path("reviews/judge-runs/<uuid:judge_run_id>/", views.judge_run_progress, name="review_judge_run"),
    path("reviews/personas/<uuid:persona_id>/export/<slug:fmt>/", views.export, name="review_export"),
    path("reviews/imports/<uuid:import_id>/", views.import_preview, name="review_import"),
    path("reviews/imports/<uuid:import_id>/confirm/", views.import_confirm, name="review_import_confirm"),
]
