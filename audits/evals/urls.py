from django.urls import path

from audits.evals import views

urlpatterns = [
    path("personas/<uuid:persona_id>/evals/", views.persona_evals, name="persona_evals"),
    path("personas/<uuid:persona_id>/evals/cases/", views.eval_case_add, name="eval_case_add"),
    path("personas/<uuid:persona_id>/evals/runs/", views.eval_run_create, name="eval_run_create"),
    path("personas/<uuid:persona_id>/evals/latest/", views.persona_evals_latest, name="persona_evals_latest"),
    path("personas/<uuid:persona_id>/evals/compare/", views.persona_evals_compare, name="persona_evals_compare"),
    path("eval-cases/<uuid:case_id>/delete/", views.eval_case_remove, name="eval_case_remove"),
    path("eval-runs/<uuid:eval_run_id>/", views.eval_run_detail, name="eval_run_detail"),
]
