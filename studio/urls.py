from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from studio import views
from studio.api import api

org_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("workspaces/", views.workspace_create, name="workspace_create"),
    path("worker-check/", views.worker_check, name="worker_check"),
    path("members/", views.members, name="members"),
    path("members/invite/", views.member_invite, name="member_invite"),
    path("members/<uuid:member_id>/role/", views.member_role, name="member_role"),
    path("members/<uuid:member_id>/remove/", views.member_remove, name="member_remove"),
    path("invitations/<uuid:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/new/", views.api_key_create, name="api_key_create"),
    path("api-keys/<uuid:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("credentials/", views.credentials, name="credentials"),
    path("credentials/<slug:provider>/", views.credential_set, name="credential_set"),
    path("credentials/<slug:provider>/clear/", views.credential_clear, name="credential_clear"),
    path("config/", include("studio.config.urls")),
    path("personas/", include("personas.urls")),
    path("", include("pipeline.urls")),
    path("", include("audits.urls")),
    path("", include("audits.chat.urls")),
    path("", include("audits.evals.urls")),
    path("", include("audits.reviews.urls")),
    path("", include("audits.traits.urls")),
    path("", include("training_jobs.urls")),
    path("datasets/", include("training_jobs.datasets.urls")),
    path("webhooks/", include("studio.webhooks.urls")),
    path("", include("studio.safety.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico on pages without a <link rel=icon> (the API docs): the same icon.
    path("favicon.ico", RedirectView.as_view(url=static("studio/favicon.svg"), permanent=True)),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("invite/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("orgs/", views.organizations, name="organizations"),
    path("o/<slug:org_slug>/", include(org_patterns)),
    path("v1/", api.urls),
    path("admin/", admin.site.urls),
]
