from django.urls import path

from audits import views

urlpatterns = [
    path("personas/<uuid:persona_id>/tests/", views.persona_tests, name="persona_tests"),
    path("personas/<uuid:persona_id>/tests/provocations/", views.persona_tests_provocations, name="persona_tests_provocations"),
    path("personas/<uuid:persona_id>/tests/fingerprint/", views.persona_tests_fingerprint, name="persona_tests_fingerprint"),
    path("personas/<uuid:persona_id>/tests/results/", views.persona_tests_results, name="persona_tests_results"),
    path("personas/<uuid:persona_id>/tests/attacks/", views.persona_tests_attacks, name="persona_tests_attacks"),
    path("audit-jobs/<uuid:job_id>/", views.audit_job, name="audit_job"),
    path("attack-runs/<uuid:job_id>/", views.attack_run_page, name="attack_run"),
]
