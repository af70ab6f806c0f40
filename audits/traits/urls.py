from django.urls import path

from audits.traits import views

urlpatterns = [
    path("trait-profiles/<uuid:trait_profile_id>/", views.trait_profile_detail, name="trait_profile_detail"),
    path("trait-profiles/<uuid:trait_profile_id>/panel/", views.trait_profile_panel, name="trait_profile_panel"),
    path("personas/<uuid:persona_id>/trait-profile/", views.persona_trait_profile, name="persona_trait_profile"),
    path("training/<uuid:training_job_id>/trait-profiles/", views.job_trait_profiles, name="job_trait_profiles"),
]
